"""Rebound: split the month-on-month change in emissions into a volume and an intensity effect.

With ``E_t = V_t x I_t`` (emissions = inferences x g per inference), the change from month
``t-1`` to ``t`` is split by the **additive LMDI-I** index decomposition (Ang 2004, "Decomposition
analysis for policymaking in energy", Energy Policy 32(9)):

::

    dE        = E_t - E_{t-1} = volume_g + intensity_g                      (exact, no residual)
    volume_g    = L(E_t, E_{t-1}) x ln(V_t / V_{t-1})
    intensity_g = L(E_t, E_{t-1}) x ln(I_t / I_{t-1})
    L(a, b)     = (a - b) / (ln a - ln b)   (logarithmic mean; L(a, a) = a)

LMDI has no interaction term: the interaction of the simple two-factor split
(``dV x dI``) is shared between the factors by the logarithmic weights, so the two effects add
up to the change exactly.  It needs positive values: a month with zero emissions is not
decomposed (the row says so).

The rebound indicator is ``rebound_frac = volume_g / -intensity_g`` when the intensity effect
is a saving (< 0): the share of the efficiency saving that volume growth took back (``> 1``:
backfire, emissions rose although each inference got cleaner).

Ranges: the decomposition is repeated with every month's emissions at its low and at its
high bound (the aggregate p5..p95 of the ledger, whose shared factor errors move all months
together), and each effect's range is the span of the three.

>>> r = decompose(np.array([100.0, 200.0]), np.array([1000.0, 1500.0]))
>>> bool(round(r["volume_g"][1] + r["intensity_g"][1], 9) == 500.0)
True
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from infercarbon.arrays import FloatArray
from infercarbon.errors import InputError

__all__ = ["METHOD", "decompose", "log_mean", "monthly_rebound", "rebound_rows"]

METHOD = (
    "additive LMDI-I (logarithmic mean Divisia index; Ang 2004): "
    "dE = L(E1,E0) ln(V1/V0) + L(E1,E0) ln(I1/I0), exact, no residual; "
    "V = inferences, I = g per inference"
)


def log_mean(a: FloatArray, b: FloatArray) -> FloatArray:
    """Logarithmic mean ``(a - b) / (ln a - ln b)``, ``a`` where ``a == b`` (positive inputs)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = (a - b) / (np.log(a) - np.log(b))
    return np.where(np.isclose(a, b, rtol=1e-12, atol=0.0), a, out)


def decompose(volume: npt.ArrayLike, emissions_g: npt.ArrayLike) -> dict[str, FloatArray]:
    """LMDI-I effects of consecutive periods (index 0 has no predecessor: NaN)."""
    v = np.asarray(volume, dtype=np.float64)
    e = np.asarray(emissions_g, dtype=np.float64)
    if v.shape != e.shape or v.ndim != 1:
        raise InputError("volume and emissions must be 1-D arrays of equal length", field="volume")
    if (v < 0).any() or (e < 0).any():
        raise InputError("volume and emissions cannot be negative", field="volume")
    n = len(v)
    vol = np.full(n, np.nan)
    inten = np.full(n, np.nan)
    change = np.full(n, np.nan)
    if n > 1:
        e0, e1, v0, v1 = e[:-1], e[1:], v[:-1], v[1:]
        ok = (e0 > 0) & (e1 > 0) & (v0 > 0) & (v1 > 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            lm = log_mean(e1, e0)
            i0, i1 = e0 / v0, e1 / v1
            vol[1:] = np.where(ok, lm * np.log(v1 / v0), np.nan)
            inten[1:] = np.where(ok, lm * np.log(i1 / i0), np.nan)
        change[1:] = e1 - e0
    with np.errstate(divide="ignore", invalid="ignore"):
        intensity = np.where(v > 0, e / v, np.nan)
        rebound = np.where((inten < 0) & (vol > 0), vol / -inten, np.nan)
    return {
        "change_g": change,
        "volume_g": vol,
        "intensity_g": inten,
        "g_per_inference": intensity,
        "rebound_frac": rebound,
    }


def rebound_rows(
    months: list[str],
    volume: npt.ArrayLike,
    emissions_g: npt.ArrayLike,
    low_g: npt.ArrayLike,
    high_g: npt.ArrayLike,
) -> list[dict[str, Any]]:
    """One row per month: volume, emissions with range, and the effects with their ranges."""
    mid = decompose(volume, emissions_g)
    lo = decompose(volume, low_g)
    hi = decompose(volume, high_g)
    v = np.asarray(volume, dtype=np.float64)
    e = np.asarray(emissions_g, dtype=np.float64)
    out = []
    for i, m in enumerate(months):
        row: dict[str, Any] = {
            "month": m,
            "inferences": float(v[i]),
            "emissions_g": float(e[i]),
            "low_g": float(np.asarray(low_g)[i]),
            "high_g": float(np.asarray(high_g)[i]),
            "g_per_inference": float(mid["g_per_inference"][i]),
        }
        for k in ("change_g", "volume_g", "intensity_g"):
            trio = np.array([mid[k][i], lo[k][i], hi[k][i]])
            row[k] = None if np.isnan(trio[0]) else float(trio[0])
            row[f"{k.removesuffix('_g')}_low_g"] = (
                None if np.isnan(trio).any() else float(trio.min())
            )
            row[f"{k.removesuffix('_g')}_high_g"] = (
                None if np.isnan(trio).any() else float(trio.max())
            )
        rb = mid["rebound_frac"][i]
        row["rebound_frac"] = None if np.isnan(rb) else float(rb)
        if i == 0:
            row["note"] = "first month: no predecessor"
        elif row["volume_g"] is None:
            row["note"] = "not decomposed: a month with zero emissions or inferences"
        elif (row["change_g"] or 0) > 0 and (row["intensity_g"] or 0) < 0:
            row["note"] = "rebound: volume growth outpaced the fall in g per inference"
        out.append(row)
    return out


def monthly_rebound(
    store: Any,
    *,
    basis: str = "location",
    tenant: str | None = None,
    start_utc: datetime | None = None,
    end_utc: datetime | None = None,
) -> dict[str, Any]:
    """The decomposition by UTC month from the ledger's rollup: inferences (those with a
    footprint) and emissions, with the aggregate range, from
    :func:`~infercarbon.ledger.rollup.ranged_sums` (the hourly ``footprint_hours`` rollup where
    the question is in whole hours: no scan of the events)."""
    from infercarbon.ledger.rollup import ranged_sums

    if basis not in ("location", "market"):
        raise InputError(f"must be location or market, got {basis!r}", field="basis")
    em = ranged_sums(
        store,
        of="totals",
        keys=("basis",),
        period="month",
        tenant=tenant,
        start_utc=start_utc,
        end_utc=end_utc,
    )
    tot = {r["period_start_utc"]: r for r in em.to_pylist() if r["basis"] == basis}
    keys = sorted(tot)
    months = [k.strftime("%Y-%m") for k in keys]
    rows = rebound_rows(
        months,
        [float(tot[k]["footprints"]) for k in keys],
        [float(tot[k]["value_g"]) for k in keys],
        [float(tot[k]["low_g"]) for k in keys],
        [float(tot[k]["high_g"]) for k in keys],
    )
    return {
        "basis": basis,
        "method": METHOD,
        "rows": rows,
        "volume": "inferences with a footprint (events without one are not counted)",
        "source": "ledger rollup (ranged_sums by month)",
    }
