"""The withdrawal clock (competing risk) and the O(1) capacity pool."""

from __future__ import annotations

import math

import numpy as np
import pytest
import simpy
from hypothesis import given
from hypothesis import strategies as st
from scipy import integrate

from simcj.engine.pools import Pool
from simcj.engine.withdrawal import (
    WithdrawalClock,
    cumulative_hazard,
    time_at_cumulative,
)


@given(st.floats(0.01, 1e4), st.floats(0.2, 3.0), st.floats(1.0, 1e3))
def test_cumulative_hazard_inverse(tau, shape, scale):
    h = cumulative_hazard(tau, shape, scale)
    assert time_at_cumulative(h, shape, scale) == pytest.approx(tau, rel=1e-9)


def test_clock_without_changes_is_the_weibull_quantile():
    # E = H0(tau): with no multiplier the victim withdraws exactly at tau after report.
    shape, scale, t0, tau = 0.5, 40.0, 100.0, 25.0
    clock = WithdrawalClock([t0], [cumulative_hazard(tau, shape, scale)], [0], [shape], [scale])
    assert clock.time(0) == pytest.approx(t0 + tau)


def test_clock_banks_hazard_when_support_starts():
    """Withdrawal time after a hazard change solves the integral of the piecewise hazard = E."""
    shape, scale, e = 0.6, 50.0, 1.3
    clock = WithdrawalClock([0.0], [e], [0], [shape], [scale])
    s, factor = 10.0, 0.5
    assert clock.time(0) > s
    clock.scale_hazard(0, s, factor)
    tw = clock.time(0)

    def h(t):
        return (shape / scale) * (t / scale) ** (shape - 1)

    before, _ = integrate.quad(h, 0, s)
    after, _ = integrate.quad(h, s, tw)
    assert before + factor * after == pytest.approx(e, rel=1e-6)


def test_zero_hazard_never_withdraws_and_factor_one_changes_nothing():
    clock = WithdrawalClock([0.0, 0.0], [1.0, 1.0], [0, 0], [0.5], [40.0])
    t_before = clock.time(1)
    clock.scale_hazard(1, 3.0, 1.0)
    assert clock.time(1) == pytest.approx(t_before)
    clock.scale_hazard(0, 3.0, 0.0)
    assert math.isinf(clock.time(0))


def probability_withdrawn_by(tau: float, shape: float, scale: float) -> float:
    """The Weibull law: P(withdrawal before tau days) with no competing exit."""
    return 1.0 - math.exp(-cumulative_hazard(tau, shape, scale))


def test_withdrawal_times_follow_the_weibull_law():
    rng = np.random.default_rng(7)
    n, shape, scale = 20_000, 0.5, 40.0
    e = rng.exponential(size=n).tolist()
    clock = WithdrawalClock([0.0] * n, e, [0] * n, [shape], [scale])
    times = np.array([clock.time(i) for i in range(n)])
    for tau in (5.0, 40.0, 200.0):
        expected = probability_withdrawn_by(tau, shape, scale)
        assert np.mean(times < tau) == pytest.approx(expected, abs=4 * math.sqrt(expected * (1 - expected) / n))


# --------------------------------------------------------------------------- pools


def _pool(capacity, levels=1, lapsed=None):
    env = simpy.Environment()
    return env, Pool(env, capacity, "test", lapsed=lapsed, levels=levels)


def test_pool_grants_immediately_then_queues_fifo():
    env, pool = _pool(2)
    granted = []
    for i in range(5):
        pool.call_when_free(i, granted.append)
    assert granted == [0, 1] and pool.busy == 2 and pool.waiting() == 3
    pool.release()
    pool.release()
    assert granted == [0, 1, 2, 3] and pool.busy == 2
    pool.release()
    pool.release()
    pool.release()
    assert granted == [0, 1, 2, 3, 4] and pool.busy == 0


def test_pool_priority_levels_served_first():
    env, pool = _pool(1, levels=3)
    granted = []
    pool.call_when_free("first", granted.append)
    pool.call_when_free("low", granted.append, level=2)
    pool.call_when_free("mid", granted.append, level=1)
    pool.call_when_free("high", granted.append, level=0)
    for _ in range(4):
        pool.release()
    assert granted == ["first", "high", "mid", "low"]


def test_lapsed_entries_are_skipped_and_purged():
    gone = {1, 3}
    env, pool = _pool(1, lapsed=lambda i, now: i in gone)
    granted = []
    for i in range(5):
        pool.call_when_free(i, granted.append)
    assert pool.waiting() == 2  # 1 and 3 purged
    pool.release()
    pool.release()
    assert granted == [0, 2, 4]


def test_process_request_and_capacity_never_exceeded():
    env = simpy.Environment()
    pool = Pool(env, 3, "rooms")
    peak = []

    def job(i):
        grant = pool.request(i)
        if grant is not None:
            yield grant
        peak.append(pool.busy)
        yield env.timeout(1.0 + i % 3)
        pool.release()

    for i in range(20):
        env.process(job(i))
    env.run()
    assert max(peak) <= 3 and pool.busy == 0 and pool.waiting() == 0 and len(peak) == 20


def test_pool_rejects_zero_capacity():
    with pytest.raises(ValueError, match="capacity"):
        _pool(0)


def test_the_event_loop_leaves_no_cyclic_garbage(baseline, monkeypatch):
    """World.run pauses the cyclic collector; that is only sound while the run itself makes no cycles.

    (The teardown at the end, stubbed out here, leaves in-flight court processes behind as a few
    cycles, which run_replication collects.)"""
    import gc

    from simcj.engine.world import World
    from simcj.scenario import scaled

    monkeypatch.setattr(World, "_teardown", lambda self: None)
    world = World(scaled(baseline, 0.02), 0, seed=1)
    gc.collect()
    collecting = gc.isenabled()
    gc.disable()
    try:
        world.run()
        assert gc.collect() == 0
    finally:
        if collecting:
            gc.enable()
    assert gc.isenabled() == collecting
