"""Distributions for uncertain inputs, and the seeded, vectorised Monte Carlo helpers.

Any input of the footprint may be a point, a range or a distribution:

- :class:`Fixed` - a point (no uncertainty known);
- :class:`Uniform` - ``LOW..HIGH`` (central value: the midpoint);
- :class:`Triangular` - ``MODE[LOW,HIGH]`` (central value: the mode);
- :class:`LogNormal` - median with p5/p95 (the illustrative-band policy), optionally shifted
  (PUE: the band is on the overhead PUE-1).

>>> parse_quantity("1.8", field="energy_j").central
1.8
>>> parse_quantity("1.5..2.1", field="energy_j").central
1.8
>>> d = parse_quantity("1.8[1.5,2.1]", field="energy_j"); (d.low, d.central, d.high)
(1.5, 1.8, 2.1)
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from infercarbon.arrays import FloatArray
from infercarbon.errors import InputError
from infercarbon.provenance import Figure

__all__ = [
    "Dist",
    "Fixed",
    "LogNormal",
    "Triangular",
    "Uniform",
    "dist_from_figure",
    "parse_quantity",
    "percentiles",
]

#: z-score of the 95th percentile of a standard normal.
Z95 = 1.6448536269514722


class Dist(Protocol):
    @property
    def central(self) -> float: ...
    @property
    def low(self) -> float: ...
    @property
    def high(self) -> float: ...
    def sample(self, rng: np.random.Generator, n: int) -> FloatArray: ...
    def describe(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Fixed:
    value: float

    @property
    def central(self) -> float:
        return self.value

    @property
    def low(self) -> float:
        return self.value

    @property
    def high(self) -> float:
        return self.value

    def sample(self, rng: np.random.Generator, n: int) -> FloatArray:
        return np.full(n, self.value)

    def describe(self) -> str:
        return "point value (no range)"


@dataclass(frozen=True, slots=True)
class Uniform:
    low: float
    high: float

    @property
    def central(self) -> float:
        return (self.low + self.high) / 2

    def sample(self, rng: np.random.Generator, n: int) -> FloatArray:
        return rng.uniform(self.low, self.high, n)

    def describe(self) -> str:
        return f"uniform {self.low:g}..{self.high:g}"


@dataclass(frozen=True, slots=True)
class Triangular:
    low: float
    mode: float
    high: float

    @property
    def central(self) -> float:
        return self.mode

    def sample(self, rng: np.random.Generator, n: int) -> FloatArray:
        if self.high == self.low:
            return np.full(n, self.mode)
        return rng.triangular(self.low, self.mode, self.high, n)

    def describe(self) -> str:
        return f"triangular {self.low:g} / {self.mode:g} / {self.high:g}"


@dataclass(frozen=True, slots=True)
class LogNormal:
    """``shift + X`` with ``X`` log-normal of the given median and p95/median ratio."""

    median: float
    factor95: float
    shift: float = 0.0

    @property
    def sigma(self) -> float:
        return math.log(self.factor95) / Z95

    @property
    def central(self) -> float:
        return self.shift + self.median

    @property
    def low(self) -> float:
        return self.shift + self.median / self.factor95

    @property
    def high(self) -> float:
        return self.shift + self.median * self.factor95

    def sample(self, rng: np.random.Generator, n: int) -> FloatArray:
        return self.shift + self.median * np.exp(rng.standard_normal(n) * self.sigma)

    def describe(self) -> str:
        return f"log-normal, median {self.central:g}, p5..p95 {self.low:g}..{self.high:g}"


def dist_from_figure(fig: Figure, *, shift: float = 0.0) -> Dist:
    """The distribution a Figure's range describes (see ``Figure.dist``)."""
    if not fig.has_range:
        return Fixed(fig.value)
    lo, hi = fig.range
    if fig.dist == "uniform":
        return Uniform(lo, hi)
    if fig.dist == "lognormal":
        med = fig.value - shift
        if med <= 0 or lo - shift <= 0:
            raise InputError("a log-normal range needs positive values", field=fig.source)
        return LogNormal(med, math.sqrt((hi - shift) / (lo - shift)), shift)
    return Triangular(lo, fig.value, hi)


_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|nan|NaN|inf|-inf"
_RANGE = re.compile(rf"^\s*({_NUM})\s*\.\.\s*({_NUM})\s*$")
_TRI = re.compile(rf"^\s*({_NUM})\s*\[\s*({_NUM})\s*,\s*({_NUM})\s*\]\s*$")


def _num(text: str, field: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise InputError(f"{text!r} is not a number", field=field) from None
    if not math.isfinite(v):
        raise InputError(f"{text!r} is not a finite number", field=field)
    return v


def parse_quantity(text: str | float, *, field: str) -> Dist:
    """Parse ``1.8``, ``1.5..2.1`` (uniform) or ``1.8[1.5,2.1]`` (triangular)."""
    if isinstance(text, int | float):
        return Fixed(_num(str(text), field))
    if m := _TRI.match(text):
        mode, lo, hi = (_num(g, field) for g in m.groups())
        if not lo <= mode <= hi:
            raise InputError(f"{text!r}: need LOW <= VALUE <= HIGH in VALUE[LOW,HIGH]", field=field)
        return Triangular(lo, mode, hi)
    if m := _RANGE.match(text):
        lo, hi = (_num(g, field) for g in m.groups())
        if lo > hi:
            raise InputError(f"{text!r}: LOW..HIGH needs LOW <= HIGH", field=field)
        return Uniform(lo, hi)
    return Fixed(_num(text.strip(), field))


def percentiles(samples: FloatArray) -> tuple[float, float, float]:
    """p5, p50, p95 of Monte Carlo samples."""
    p5, p50, p95 = np.percentile(samples, [5.0, 50.0, 95.0])
    return float(p5), float(p50), float(p95)
