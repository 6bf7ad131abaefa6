"""Time series of the system's state: backlogs, waiting lists, busy capacity, utilisation.

A snapshot every ``run.monitor_interval_days`` (a week by default): one event per interval for the
whole world, not a process per queue.
"""

from __future__ import annotations

import pandas as pd


class Monitor:
    def __init__(self, world, interval: float):
        self.world = world
        self.interval = interval
        self.times: list[float] = []
        self.series: dict[str, list[float]] = {}

    def start(self) -> None:
        self.world.env.process(self._run())

    def _record(self, name: str, value: float) -> None:
        self.series.setdefault(name, []).append(float(value))

    def _run(self):
        w, env = self.world, self.world.env
        while True:
            self.times.append(env.now)
            for kind, pools in (("investigators", w.investigators), ("cps", w.lawyers)):
                for name, pool in pools.items():
                    self._pool(f"{kind}_{name}", pool)
            for name, svc in w.support_services.items():
                self._pool(name, svc.pool)
            for tier in w.court_lists():
                self._record(f"{tier.name}_backlog", tier.backlog())
                self._record(f"{tier.name}_courtrooms_busy", tier.pool.busy)
            self._record("sdvc_waiting", w.sdvc.waiting() if w.sdvc is not None else 0)
            yield env.timeout(self.interval)

    def _pool(self, prefix: str, pool) -> None:
        self._record(f"{prefix}_waiting", pool.waiting())
        self._record(f"{prefix}_busy", pool.busy)
        self._record(f"{prefix}_utilisation", pool.busy / pool.capacity)

    def frame(self) -> pd.DataFrame:
        """Long format: day, series, value."""
        n = len(self.times)
        parts = [pd.DataFrame({"day": self.times, "series": name, "value": values[:n]}) for name, values in self.series.items()]
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["day", "series", "value"])
