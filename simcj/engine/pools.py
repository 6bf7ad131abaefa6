"""Capacity with a waiting list, in O(1).

``simpy.Resource`` releases in O(capacity) (``list.remove`` on its users), which is ruinous for a pool
of thousands of investigator or caseload slots. :class:`Pool` keeps a count of busy slots and a
FIFO waiting list per priority level, so request and release are O(1).

A waiter is a function called with the item when the slot is granted: stages driven by event
callbacks pass their own; SimPy processes use :meth:`Pool.request`, which wraps an event.

Waiting entries can lapse (a victim withdraws while the case waits for an investigator). Rather
than schedule an event for every possible lapse, entries are checked when they reach the head of
the list, and at monitor snapshots: the pool's ``lapsed(item, now)`` callback decides, and records
the case's exit itself. Service order is exactly that of eager removal, because a lapsed entry is
never served.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Optional

import simpy

from .alarms import callbacks, set_alarm


class Pool:
    """``capacity`` identical slots; FIFO within each of ``levels`` priorities (0 is served first)."""

    def __init__(
        self,
        env: simpy.Environment,
        capacity: int,
        name: str,
        lapsed: Optional[Callable[[int, float], bool]] = None,
        levels: int = 1,
    ):
        if capacity < 1:
            raise ValueError(f"{name}: capacity must be at least 1, got {capacity}")
        self.env = env
        self.capacity = int(capacity)
        self.name = name
        self.lapsed = lapsed
        self.busy = 0
        self._queues = [deque() for _ in range(levels)]
        self._n_waiting = 0
        self.waits: list[tuple[float, float]] | None = None  # (joined, served) when tracked
        self._release_alarm = callbacks(lambda _alarm: self.release())

    def track_waits(self) -> None:
        """Record when each waiting entry joined and was served (for Little's law checks)."""
        self.waits = []

    def request(self, item, level: int = 0) -> Optional[simpy.Event]:
        """For a SimPy process: None if a slot is granted now, else an event fired on grant."""
        if self.busy < self.capacity and self._n_waiting == 0:
            self.busy += 1
            return None
        event = self.env.event()
        self._enqueue(item, event.succeed, level)
        return event

    def call_when_free(self, item, granted: Callable[[object], None], level: int = 0) -> None:
        """For a callback-driven stage: call ``granted(item)`` now if a slot is free, else on grant."""
        if self.busy < self.capacity and self._n_waiting == 0:
            self.busy += 1
            granted(item)
            return
        self._enqueue(item, granted, level)

    def _enqueue(self, item, granted, level: int) -> None:
        if self.waits is not None:
            granted = self._timed(granted, self.env.now)
        self._queues[level].append((item, granted))
        self._n_waiting += 1

    def _timed(self, granted, joined: float):
        def served(item):
            self.waits.append((joined, self.env.now))
            granted(item)

        served.joined = joined
        return served

    def still_waiting_since(self) -> list[float]:
        """When each entry still on the waiting list joined it (tracked pools only)."""
        return [granted.joined for queue in self._queues for _, granted in queue]

    def resize(self, capacity: int) -> None:
        """A new number of slots from now: more serve the waiting list at once; fewer as work ends
        (nobody's work is cut short)."""
        self.capacity = max(1, int(capacity))
        while self.busy < self.capacity and self._n_waiting:
            self.busy += 1
            self.release()  # the new slot goes to the first waiting entry that has not lapsed

    def release(self) -> None:
        """Free a slot: hand it to the first waiting entry that has not lapsed (unless the pool has shrunk)."""
        if self.busy > self.capacity:
            self.busy -= 1
            return
        now = self.env.now
        lapsed = self.lapsed
        for queue in self._queues:
            while queue:
                item, granted = queue.popleft()
                self._n_waiting -= 1
                if lapsed is not None and item is not None and lapsed(item, now):
                    continue
                granted(item)
                return
        self.busy -= 1

    def release_after(self, delay: float) -> None:
        """Release one slot ``delay`` days from now, without a process to wait for it."""
        if delay <= 0.0:
            self.release()
        else:
            set_alarm(self.env, delay, self._release_alarm, 0)

    def clear(self) -> None:
        """Forget the waiting list (at the end of a run, so its entries are freed at once)."""
        for queue in self._queues:
            queue.clear()
        self._n_waiting = 0

    def snapshot(self, prefix: str) -> tuple[tuple[str, float], ...]:
        """The monitored series of a pool: entries waiting, slots busy, and the busy share."""
        return ((f"{prefix}_waiting", self.waiting()), (f"{prefix}_busy", self.busy), (f"{prefix}_utilisation", self.busy / self.capacity))

    def waiting(self) -> int:
        """Entries on the waiting list after dropping those that have lapsed by now."""
        if self.lapsed is not None and self._n_waiting:
            now, lapsed = self.env.now, self.lapsed
            for level, queue in enumerate(self._queues):
                kept = deque(e for e in queue if e[0] is None or not lapsed(e[0], now))
                self._n_waiting -= len(queue) - len(kept)
                self._queues[level] = kept
        return self._n_waiting
