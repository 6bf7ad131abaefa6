"""Named random streams, and per-case draws that do not depend on event order.

Each replication draws from one ``numpy.random.Generator`` per named stream, seeded with
``SeedSequence(seed, spawn_key=(replication, stream_key(name)))``, where :func:`stream_key` is a
stable hash of the name (BLAKE2b, 64 bits). A stream's draws therefore depend on its name alone:
adding a stream, a stage or an offence class leaves every existing stream's draws unchanged, and
the same seed gives the same numbers whichever worker runs the replication.

Per-case inputs are streams of their own, named ``"{offence}/{column}"`` (``"rape/u_verdict"``,
``"domestic_abuse/d_investigation"``), drawn up front for every case of the class in report order:
a case's decisions depend on its own numbers, never on the order in which the event loop reaches it.

Decisions a case may face any number of times (each listing of a trial: is it ineffective, how
long until it is re-listed) use a counter-based generator keyed by the case: each case carries a
64-bit key drawn from its class's ``listing_key`` stream, and draw number ``k`` of that case is
the ``k``-th output of a SplitMix64 sequence started at the key (:func:`case_uniform`). No shared
stream is consumed in event order for anything that decides a case's fate.
"""

from __future__ import annotations

import hashlib

import numpy as np

_MASK = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15
_TO_UNIT = 2.0**-53


def stream_key(name: str) -> int:
    """A stable 64-bit integer for a stream name (the same in every process and Python version)."""
    return int.from_bytes(hashlib.blake2b(name.encode("utf-8"), digest_size=8).digest(), "little")


class Streams:
    """The named generators of one replication."""

    def __init__(self, seed: int, replication: int):
        self.seed = int(seed)
        self.replication = int(replication)
        self._cache: dict[str, np.random.Generator] = {}

    def __getitem__(self, name: str) -> np.random.Generator:
        gen = self._cache.get(name)
        if gen is None:
            ss = np.random.SeedSequence(self.seed, spawn_key=(self.replication, stream_key(name)))
            gen = self._cache[name] = np.random.Generator(np.random.PCG64(ss))
        return gen

    def uniforms(self, name: str, n: int) -> np.ndarray:
        """``n`` uniforms on [0, 1) from stream ``name`` (case k's draw is the same whatever n is)."""
        return self[name].random(n)

    def keys(self, name: str, n: int) -> np.ndarray:
        """``n`` 64-bit keys for counter-based per-case draws (see :func:`case_uniform`)."""
        return self[name].integers(0, 2**64, size=n, dtype=np.uint64, endpoint=False)


def case_uniform(key: int, k: int) -> float:
    """Draw number ``k`` (0, 1, 2, ...) of the case whose key is ``key``: a uniform on [0, 1).

    The ``k``-th output of SplitMix64 (Steele, Lea & Flood 2014) seeded with the key: a bijective
    mix of ``key + (k + 1) * golden gamma``, so a case's draws are independent of every other case
    and of the order in which they are asked for.
    """
    z = (key + (k + 1) * _GOLDEN) & _MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    return ((z ^ (z >> 31)) >> 11) * _TO_UNIT
