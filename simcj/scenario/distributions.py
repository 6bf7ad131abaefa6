"""Duration distributions used in scenario files.

Every duration in simcj is in days and is sampled by inverse transform from a uniform draw that
belongs to the case (see ``simcj.engine.streams``). Sampling by inverse transform keeps common random
numbers intact: a scenario that changes a median moves each case's duration monotonically instead
of reshuffling who gets a long one.
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, NonNegativeFloat, PositiveFloat
from scipy import special, stats


class _Dist(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def ppf(self, u: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def mean(self) -> float:  # pragma: no cover - abstract
        raise NotImplementedError

    def at(self, u: float) -> float:
        """The duration at one uniform: a single case's draw, by the same inverse transform."""
        return float(self.ppf(np.array([u]))[0])


class LogNormal(_Dist):
    """Log-normal given by its median and the standard deviation of log(duration)."""

    dist: Literal["lognormal"]
    median: PositiveFloat = Field(description="median, days")
    sigma: NonNegativeFloat = Field(description="standard deviation of the log of the duration")

    def ppf(self, u):
        return self.median * np.exp(self.sigma * special.ndtri(u))

    def mean(self):
        return self.median * float(np.exp(self.sigma**2 / 2))


class Exponential(_Dist):
    """Exponential given by its mean (memoryless: the M in M/M/c)."""

    dist: Literal["exponential"]
    mean_days: PositiveFloat = Field(alias="mean", description="mean, days")

    def ppf(self, u):
        return -self.mean_days * np.log1p(-u)

    def mean(self):
        return self.mean_days


class Gamma(_Dist):
    """Gamma given by its mean and shape (shape 1 is the exponential)."""

    dist: Literal["gamma"]
    mean_days: PositiveFloat = Field(alias="mean", description="mean, days")
    shape: PositiveFloat

    def ppf(self, u):
        return stats.gamma.ppf(u, self.shape, scale=self.mean_days / self.shape)

    def mean(self):
        return self.mean_days


class Fixed(_Dist):
    """A fixed duration."""

    dist: Literal["fixed"]
    value: NonNegativeFloat = Field(description="days")

    def ppf(self, u):
        return np.full(np.shape(u), float(self.value))

    def mean(self):
        return float(self.value)


Duration = Annotated[Union[LogNormal, Exponential, Gamma, Fixed], Field(discriminator="dist")]
