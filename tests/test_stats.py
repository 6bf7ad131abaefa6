"""Confidence intervals across replications."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from simcj.experiment.stats import summarise


def _kpis(metric, values):
    return pd.DataFrame({"replication": range(len(values)), "metric": metric, "offence": "all", "group": "all", "value": values})


def test_t_interval_matches_scipy():
    values = [10.0, 12.0, 9.5, 11.0, 13.5]
    row = summarise(_kpis("charged", values)).iloc[0]
    low, high = stats.t.interval(0.95, len(values) - 1, loc=np.mean(values), scale=stats.sem(values))
    assert (row["mean"], row["ci_low"], row["ci_high"], row["n_reps"]) == pytest.approx((np.mean(values), low, high, 5))


def test_intervals_are_clipped_at_natural_bounds():
    rate = summarise(_kpis("rate_conviction", [0.05, 0.95])).iloc[0]
    assert rate["ci_low"] == 0.0 and rate["ci_high"] == 1.0
    count = summarise(_kpis("convicted", [1.0, 30.0])).iloc[0]
    assert count["ci_low"] == 0.0 and count["ci_high"] > 30.0  # counts are not capped above
    per_100 = summarise(_kpis("arrests_per_100_recorded", [20.0, 60.0])).iloc[0]
    assert per_100["ci_high"] > 1.0


def test_one_replication_has_no_interval_and_missing_values_are_not_counted():
    one = summarise(_kpis("charged", [5.0])).iloc[0]
    assert one["n_reps"] == 1 and np.isnan(one["ci_high"])
    some = summarise(_kpis("days_report_to_charge_median", [5.0, np.nan, 7.0])).iloc[0]
    assert some["n_reps"] == 2 and some["mean"] == 6.0


@pytest.mark.parametrize(
    "first, settled, years, verdict",
    [
        ((50, 120), (-10, 20), 3, "one-off: year 1 only"),  # a queue clearing
        ((50, 120), (20, 60), 3, "lasting"),
        ((-10, 20), (20, 60), 3, "builds: clear only once settled"),
        ((-10, 20), (-5, 5), 3, "no clear change"),
        ((50, 120), (-60, -20), 3, "reverses: the settled effect has the opposite sign to year 1's"),
        ((50, 120), (50, 120), 1, "one year measured: one-off and lasting cannot be told apart"),
        ((float("nan"), float("nan")), (20, 60), 2, "builds: clear only once settled"),
    ],
)
def test_when_an_effect_happens_is_read_from_year_1_and_the_settled_year(first, settled, years, verdict):
    from simcj.experiment.compare import timing_verdict

    assert timing_verdict(first, settled, years) == verdict


def test_a_summary_by_year_carries_each_years_calendar_dates():
    from types import SimpleNamespace

    from simcj.experiment.stats import by_year

    yearly = pd.DataFrame(
        [(r, y, "convicted", "all", "all", float(10 * y + r)) for r in range(3) for y in (1, 2)],
        columns=["replication", "year", "metric", "offence", "group", "value"],
    )
    dated = SimpleNamespace(run=SimpleNamespace(start_date=pd.Timestamp("2017-04-01").date()))
    out = by_year(yearly, dated, warmup_days=365.0)
    assert list(out["year"]) == [1, 2] and list(out["mean"]) == [11.0, 21.0]
    assert list(out["from"]) == ["2018-04-01", "2019-04-01"] and list(out["to"]) == ["2019-03-31", "2020-03-30"]
    undated = SimpleNamespace(run=SimpleNamespace(start_date=None))
    assert "from" not in by_year(yearly, undated, 365.0)
