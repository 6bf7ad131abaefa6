"""Time series of the system's state: backlogs, waiting lists, busy capacity, utilisation.

A snapshot every ``run.monitor_interval_days`` (a week by default): one event per interval for the
whole world, not a process per queue. Each stage says what it monitors (``Stage.snapshot``).
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

    def _run(self):
        env, series = self.world.env, self.series
        while True:
            self.times.append(env.now)
            for stage in self.world.stages.values():
                for name, value in stage.snapshot():
                    # a list that opens mid-run (an option's at its date) has no value before
                    series.setdefault(name, [float("nan")] * (len(self.times) - 1)).append(float(value))
            yield env.timeout(self.interval)

    def frame(self) -> pd.DataFrame:
        """Long format: day, series, value."""
        n = len(self.times)
        # a list that closes mid-run (MARACs an option ends) has no value after
        parts = [
            pd.DataFrame({"day": self.times, "series": name, "value": values[:n] + [float("nan")] * (n - len(values))}).dropna(subset=["value"])
            for name, values in self.series.items()
        ]
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["day", "series", "value"])
