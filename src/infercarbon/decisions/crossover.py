"""The embodied-vs-operational crossover: the utilisation at which the two lines are equal.

Per inference (:mod:`infercarbon.accounting.compose`)::

    embodied_g(u)    = embodied_kg x 1000 / lifetime_s x device_time_s / u
    operational_g    = it_energy_j x pue x (1 + td_loss_frac) / 3.6e6 x intensity

so ``embodied_g(u) = operational_g`` at ``u* = embodied_g(1) / operational_g``.  Below ``u*``
the device's embodied carbon per inference exceeds its operational carbon (the seed's
"tipping point": consolidate onto fewer, better-utilised devices); ``u* > 1`` means embodied
exceeds operational even at full use.  The operational line is the location-based
``operational_location`` line item (idle excluded; see ``docs/decisions.md``).

The range of ``u*`` pairs the ends of the two lines' p5..p95 ranges in the worst case:
``[embodied_low(1) / operational_high, embodied_high(1) / operational_low]``.

>>> round(float(crossover_utilisation_frac(2.0, 4.0)), 3)
0.5
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from infercarbon.accounting import EstimateOptions, estimate
from infercarbon.errors import InputError

__all__ = ["Crossover", "crossover", "crossover_utilisation_frac"]


def crossover_utilisation_frac(
    embodied_full_use_g: npt.ArrayLike, operational_g: npt.ArrayLike
) -> Any:
    """``u*`` = embodied at full use / operational (vectorised; inf when operational is 0)."""
    e = np.asarray(embodied_full_use_g, dtype=np.float64)
    o = np.asarray(operational_g, dtype=np.float64)
    with np.errstate(divide="ignore"):
        return np.where(o > 0, e / np.where(o > 0, o, 1.0), np.inf)


@dataclass(frozen=True)
class Crossover:
    """The crossover of one tier in one region."""

    tier: str | None
    region_id: str
    utilisation_frac: float
    low_frac: float
    high_frac: float
    embodied_full_use_g: float
    operational_g: float
    advice: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "tier": self.tier,
            "region": self.region_id,
            "crossover_utilisation_frac": self.utilisation_frac,
            "low_frac": self.low_frac,
            "high_frac": self.high_frac,
            "embodied_at_full_use_g": self.embodied_full_use_g,
            "operational_location_g": self.operational_g,
            "label": "modelled",
            "advice": self.advice,
        }


def crossover(opts: EstimateOptions) -> Crossover:
    """Solve ``embodied = operational`` for the utilisation, from the same engine as
    ``estimate`` (its inputs at full use, ``utilisation = 1``)."""
    if opts.utilisation_frac is not None:
        raise InputError(
            "--crossover solves for the utilisation: do not give --utilisation", field="utilisation"
        )
    with warnings.catch_warnings():
        # fallbacks are recorded in the footprint (warnings, labels)
        warnings.simplefilter("ignore")
        fp = estimate(replace(opts, utilisation_frac="1"))
    emb = fp.item("embodied")
    if not emb.in_total:
        raise InputError(f"no embodied line for this device: {emb.label}", field="tier")
    op = fp.item("operational_location")
    u = float(crossover_utilisation_frac(emb.emissions_g, op.emissions_g))
    lo = float(crossover_utilisation_frac(emb.low_g, op.high_g))
    hi = float(crossover_utilisation_frac(emb.high_g, op.low_g))
    if u > 1:
        advice = (
            "embodied exceeds operational even at full use: the device's manufacture "
            "dominates; extend its life or share it"
        )
    else:
        advice = (
            f"below {u:.3g} utilisation embodied carbon per inference exceeds "
            "operational: consolidate workloads onto fewer, better-utilised devices"
        )
    return Crossover(
        opts.tier, fp.region_id, u, min(lo, u), max(hi, u), emb.emissions_g, op.emissions_g, advice
    )
