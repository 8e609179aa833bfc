"""Figures with provenance: a value, its unit, where it came from, and how sure it is.

Every number infercarbon reports is a :class:`Figure` or is derived from Figures whose
provenance travels with the result.

>>> f = Figure(170.0, "g_per_kwh", source="Ember 2023", label="cited", low=150.0, high=190.0)
>>> f.value, f.label, f.range
(170.0, 'cited', (150.0, 190.0))
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal, get_args

from infercarbon.errors import InputError

__all__ = ["LABELS", "Figure", "Label", "as_label"]

#: How a figure was obtained.
#: measured: read from a sensor or meter; modelled: computed by a calibrated model;
#: cited: taken from a published dataset or document; illustrative: a seed document's
#: example figure, not a measurement; derived: arithmetic on other figures;
#: user: given by the user; excluded: deliberately not counted (see note).
Label = Literal["measured", "modelled", "cited", "illustrative", "derived", "user", "excluded"]
LABELS: tuple[Label, ...] = get_args(Label)


def as_label(value: object, *, field: str = "label") -> Label:
    """``value`` as a :data:`Label`, or an :class:`~infercarbon.errors.InputError` naming
    ``field`` and the labels there are (for text read from files, JSON or stored rows).

    >>> as_label("cited")
    'cited'
    """
    if value not in LABELS:
        raise InputError(f"must be one of {', '.join(LABELS)}, got {value!r}", field=field)
    return value


@dataclass(frozen=True, slots=True)
class Figure:
    """A number with unit, source, label and optional range.

    Parameters
    ----------
    value : float
        Central value, in ``unit``.
    unit : str
        Unit suffix from the closed list in ARCHITECTURE.md (``j``, ``w``, ``g_per_kwh``,
        ``frac`` ...), or a dimensionless ``ratio``/``count``.
    source : str
        Dataset, document, sensor or model that produced the value.
    label : Label
        How the value was obtained.
    vintage : str, optional
        Year or date the value refers to.
    licence : str, optional
        Licence of the source data.
    low, high : float, optional
        A plausible range (p5..p95 unless ``note`` says otherwise).
    note : str, optional
        Anything a reader needs to interpret the figure.
    """

    value: float
    unit: str
    source: str
    label: Label
    vintage: str | None = None
    licence: str | None = None
    low: float | None = None
    high: float | None = None
    note: str | None = None
    #: shape of the range for Monte Carlo: "triangular" (default: low, value, high),
    #: "uniform", or "lognormal" (value is the median, low/high are p5/p95)
    dist: Literal["triangular", "uniform", "lognormal"] | None = None

    def __post_init__(self) -> None:
        if self.label not in LABELS:
            raise InputError(f"label must be one of {', '.join(LABELS)}", field="label")
        for name in ("value", "low", "high"):
            v = getattr(self, name)
            if v is None:
                continue
            if isinstance(v, bool) or not isinstance(v, int | float):
                raise InputError(f"{v!r} is not a number", field=f"{self.source}.{name}")
            v = float(v)
            object.__setattr__(self, name, v)
            if not math.isfinite(v):
                raise InputError(f"{v!r} is not a finite number", field=f"{self.source}.{name}")
        lo = self.value if self.low is None else self.low
        hi = self.value if self.high is None else self.high
        if not lo <= self.value <= hi:
            raise InputError(
                f"range must bracket the value: low={self.low} value={self.value} high={self.high}",
                field=self.source,
            )

    @property
    def range(self) -> tuple[float, float]:
        """``(low, high)``; the value itself when no range is known."""
        return (
            self.value if self.low is None else self.low,
            self.value if self.high is None else self.high,
        )

    @property
    def has_range(self) -> bool:
        lo, hi = self.range
        return hi > lo

    def scaled(self, factor: float, unit: str | None = None) -> Figure:
        """The same figure multiplied by an exact factor (a unit conversion)."""
        return replace(
            self,
            value=self.value * factor,
            unit=unit or self.unit,
            low=None if self.low is None else self.low * factor,
            high=None if self.high is None else self.high * factor,
        )

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}
