"""Named random streams.

Each replication draws from one ``numpy.random.Generator`` per named stream, seeded with
``SeedSequence(seed, spawn_key=(replication, index))`` where ``index`` is the stream's position in
:data:`STREAM_NAMES`. The table is append-only: adding a stream at the end never moves the draws of
another, and a scenario change in one place never shifts an unrelated stream. That is what makes
paired comparisons on common random numbers work, and what makes a replication's results the same
whichever worker runs it.

Per-case randomness is drawn up front, one block of uniforms per case (see ``reporting``), so a
case's decisions depend on its own numbers and not on the order in which the event loop reaches it.
"""

from __future__ import annotations

import numpy as np

from ..scenario.schema import OFFENCE_CLASSES

_PER_CLASS = ("incidents", "decisions", "durations", "attributes")

STREAM_NAMES: tuple[str, ...] = tuple(f"{kind}_{c}" for c in OFFENCE_CLASSES for kind in _PER_CLASS) + (
    "background_crown",
    "background_magistrates",
    "listing",
) + tuple(f"sentencing_{c}" for c in OFFENCE_CLASSES)


class Streams:
    """The named generators of one replication."""

    def __init__(self, seed: int, replication: int):
        self.seed = int(seed)
        self.replication = int(replication)
        self._cache: dict[str, np.random.Generator] = {}

    def __getitem__(self, name: str) -> np.random.Generator:
        gen = self._cache.get(name)
        if gen is None:
            index = STREAM_NAMES.index(name)  # ValueError for an unknown name: a programming error
            ss = np.random.SeedSequence(self.seed, spawn_key=(self.replication, index))
            gen = self._cache[name] = np.random.Generator(np.random.PCG64(ss))
        return gen
