"""Pre-charge casework: a unit's slots and waiting list, and work the victim's withdrawal can cut short.

The police investigation and the CPS charging decision have the same shape: the case waits for a
slot in a staffed unit, is worked on for a sampled time unless the victim withdraws first (then
it closes as a withdrawal before charge and frees the slot), and a decision follows. Both are
driven by event callbacks, one timeout per piece of work, because nearly every case passes here.
"""

from __future__ import annotations

from .pools import Pool
from .victims import work_on


class Casework:
    """Subclasses name their time-stamp and duration columns and implement :meth:`decide`."""

    queued_column: str
    start_column: str
    duration_column: str

    def __init__(self, world, unit: Pool, onward):
        self.world = world
        self.unit = unit
        self.onward = onward  # called with the case id when the case moves to the next stage

    def take(self, i: int) -> None:
        """The case joins the unit's waiting list."""
        getattr(self.world.cases, self.queued_column)[i] = self.world.env.now
        self.unit.call_when_free(i, self._start)

    def _start(self, i: int) -> None:
        c = self.world.cases
        getattr(c, self.start_column)[i] = self.world.env.now
        self.started(i)
        work_on(self.world, i, getattr(c, self.duration_column)[i], self._finish)

    def _finish(self, i: int, completed: bool) -> None:
        self.unit.release()
        if completed:
            self.decide(i, self.world.env.now)

    def started(self, i: int) -> None:
        """Hook: work on case ``i`` has begun."""

    def decide(self, i: int, now: float) -> None:  # pragma: no cover - abstract
        raise NotImplementedError
