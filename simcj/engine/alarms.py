"""Scheduled callbacks that cost a fifth of a SimPy timeout.

Most pending events of a replication are one per piece of police or CPS work in progress (about
13,000 at London scale). A ``simpy.Timeout`` with a closure as its callback holds about 750 bytes
(the event's ``__dict__``, a callbacks list, the closure and its cells); a pending event is
touched again only when it fires, days later, so at four times London's volume those objects no
longer fit in the processor's caches and every event costs more. An :class:`Alarm` carries only
what ``Environment.step`` reads (``callbacks`` and ``_ok``) and the case it is for, in slots, and
shares one callbacks tuple per kind of alarm.

It is scheduled with ``Environment.schedule`` at NORMAL priority, exactly as a timeout is, so the
order of events is the same as with timeouts. (SimPy 4's ``step`` calls each callback with the
event and needs nothing else of it; the dependency is pinned below SimPy 5.)
"""

from __future__ import annotations

from collections.abc import Callable

from simpy.events import NORMAL


class Alarm:
    __slots__ = ("callbacks", "_ok", "i", "end")

    def __init__(self, callbacks: tuple, i: int, end):
        self.callbacks = callbacks
        self._ok = True
        self.i = i
        self.end = end


def callbacks(handler: Callable[[Alarm], None]) -> tuple:
    """The shared callbacks tuple of a kind of alarm (make it once, e.g. in a stage's __init__)."""
    return (handler,)


def set_alarm(env, delay: float, kind: tuple, i: int, end=None) -> None:
    """Call ``kind``'s handler with an :class:`Alarm` for case ``i`` after ``delay`` days.

    ``end`` carries one more value the handler needs (the time the work ends; the arrival queue).
    """
    env.schedule(Alarm(kind, i, end), NORMAL, delay)
