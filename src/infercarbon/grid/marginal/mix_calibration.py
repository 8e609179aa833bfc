"""The bundled merit order calibrated to the period's observed fuel mix.

The bundled fleets (:mod:`.inventory`) and documented prices (:mod:`.assumptions`) describe
one year; a table from another year (or a year whose fuel prices moved) puts coal and gas in
the wrong order.  When the table gives generation by fuel, the stack is calibrated month by
month to what the operator saw:

Classes: ``coal`` (coal and hard coal; lignite too unless the mix has its own lignite
column) and ``lignite``.

1. **capacity**: if the month's observed output of a class at its 99th percentile exceeds
   the class's capacity in the stack (units retired since), its units are scaled up to it
   (never down: a unit out of service is what the cost search below shows);
2. **cost relative to gas**: the short-run cost of a class's units is multiplied by ``p``
   from a log grid (``PRICE_GRID``, 1/8 .. 8); for each ``p`` the month is dispatched and the
   dispatched output of each class compared with the observed; the ``p`` with the smallest
   sum of absolute differences of the month's totals is kept (a coordinate search, two
   passes, when there are two classes).

Each candidate is one vectorised dispatch of the month; loops run over months, classes and
the grid.  The marginal unit, its rate and range then come from
:func:`~.merit_order.dispatch` on the calibrated stack, exactly as for the uncalibrated model.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from infercarbon.arrays import FloatArray
from infercarbon.errors import FallbackWarning, InputError
from infercarbon.grid.marginal.calendar import SEASONS, season_index
from infercarbon.grid.marginal.inventory import FuelCo2, Inventory, build_region_stack
from infercarbon.grid.marginal.merit_order import (
    MeritOrderResult,
    SupplyStack,
    build_stack,
    dispatch,
)

__all__ = ["PRICE_GRID", "CalibratedRun", "merit_order_calibrated"]

#: Multipliers tried on the coal units' short-run cost.
PRICE_GRID: FloatArray = np.exp(np.linspace(np.log(1 / 8), np.log(8), 25))
_COAL = ("coal", "lignite", "hard_coal")


@dataclass(frozen=True)
class CalibratedRun:
    """Per-interval result, the chosen multipliers per month, and notes."""

    result: MeritOrderResult
    residual_mw: FloatArray
    coal_cost_mult: dict[str, float]
    coal_capacity_scale: dict[str, float]
    notes: list[str] = field(default_factory=list)


def _unit_class(label: str, split_lignite: bool) -> str:
    """Calibration class of a stack unit: ``lignite``, ``coal`` or ``other``."""
    f = label.split("-")[0]
    if f == "lignite":
        return "lignite" if split_lignite else "coal"
    return "coal" if f in _COAL else "other"


def _restack(base: SupplyStack, *, cost_mult: FloatArray, cap_mult: FloatArray) -> SupplyStack:
    return build_stack(
        unit_id=list(base.unit_id),
        fuel=list(base.fuel),
        technology=list(base.technology),
        capacity_mw=base.capacity_mw * cap_mult,
        rate_g_per_kwh=base.rate_g_per_kwh,
        rate_low_g_per_kwh=base.rate_low_g_per_kwh,
        rate_high_g_per_kwh=base.rate_high_g_per_kwh,
        heat_rate_mmbtu_per_mwh=np.ones(len(base)),
        fuel_price_per_mmbtu=base.cost_per_mwh * cost_mult,
        vom_per_mwh=0.0,
        ramp_frac_per_min=base.ramp_frac_per_min,
    )


def _class_mw(
    stack: SupplyStack, residual_mw: FloatArray, member: npt.NDArray[np.bool_]
) -> FloatArray:
    """Output [MW] of the units flagged ``member`` (in stack order) in each interval."""
    pos = np.clip(residual_mw, 0.0, stack.total_mw)
    i = np.clip(np.searchsorted(stack.cum_mw, pos, side="left"), 0, len(stack) - 1)
    cap_c = np.where(member, stack.capacity_mw, 0.0)
    cum_c = np.cumsum(cap_c)
    part = pos - (stack.cum_mw[i] - stack.capacity_mw[i])
    out: FloatArray = cum_c[i] - cap_c[i] + np.where(member[i], part, 0.0)
    return out


def merit_order_calibrated(
    time_utc: npt.NDArray[np.datetime64],
    load_mw: npt.ArrayLike,
    mix_mw: npt.ArrayLike,
    fuels: Sequence[str],
    *,
    inventory: Inventory,
    co2: FuelCo2,
    interval_s: int,
    time_local: npt.NDArray[np.datetime64] | None = None,
    must_run: Sequence[bool],
    band_frac: float = 0.03,
    warn: bool = True,
) -> CalibratedRun:
    """Dispatch ``load - must-run`` against a stack calibrated each month to the observed coal.

    ``fuels`` are canonical names; ``must_run`` flags the columns taken from the mix (not
    met by the stack).  Needs at least one coal or lignite column.  ``warn``: warn each
    distinct fallback the stacks took once (they are always in the notes).
    """
    t = np.asarray(time_utc, dtype="datetime64[s]")
    load = np.asarray(load_mw, dtype=np.float64)
    mix = np.asarray(mix_mw, dtype=np.float64)
    if mix.ndim != 2 or mix.shape != (len(t), len(fuels)) or load.shape != (len(t),):
        raise InputError(
            "mix must be (n, k) with n times, n loads and k fuel names", field="mix_mw"
        )
    split, col_cls, classes = _coal_columns(fuels)
    mr = np.asarray(must_run, dtype=bool)
    residual = load - (mix[:, mr].sum(axis=1) if mr.any() else 0.0)
    obs = {c: mix[:, col_cls == c].sum(axis=1) for c in classes}
    tl = t if time_local is None else np.asarray(time_local, dtype="datetime64[s]")
    mkey = tl.astype("datetime64[M]").astype(np.int64)
    months, month_id = np.unique(mkey, return_inverse=True)
    year = t.astype("datetime64[Y]").astype(np.int64) + 1970
    season = season_index(tl)
    base_cache: dict[tuple[int, int], SupplyStack] = {}
    notes: list[str] = []
    parts: dict[str, np.ndarray] = {}
    mult: dict[str, float] = {}
    scale: dict[str, float] = {}
    n = len(t)
    prev_all = np.concatenate([residual[:1], residual[:-1]])
    for j, mk in enumerate(months.tolist()):  # a dozen months a year; the grid is 25 values
        m = month_id == j
        first = int(np.flatnonzero(m)[0])
        key = (int(year[first]), int(season[first]))
        if key not in base_cache:
            base_cache[key], info = build_region_stack(
                inventory, year=key[0], season=SEASONS[key[1]], co2=co2, warn=False
            )
            notes.extend(n_ for n_ in info.notes if n_ not in notes)
        base = base_cache[key]
        ucls = np.array([_unit_class(str(f), split) for f in base.fuel], dtype=object)
        label = str(np.datetime64(int(mk), "M"))
        cap_mult = np.ones(len(base))
        for c in classes:  # never fewer units than the operator ran
            cap = float(base.capacity_mw[ucls == c].sum())
            need = float(np.quantile(obs[c][m], 0.99))
            if cap > 0 and need > cap:
                cap_mult[ucls == c] = need / cap
                scale[f"{label} {c}"] = need / cap
        best, p = _fit_month_costs(
            base,
            ucls,
            cap_mult,
            split,
            {c: float(obs[c][m].sum()) for c in classes},
            residual[m],
        )
        mult.update({f"{label} {c}": v for c, v in p.items()})
        res = dispatch(
            best,
            residual[m],
            interval_s=interval_s,
            previous_residual_mw=prev_all[m],
            band_frac=band_frac,
        )
        for name, arr in vars(res).items():
            if name not in parts:
                parts[name] = np.empty(n, dtype=arr.dtype)
            parts[name][m] = arr
    if warn:
        for msg in notes:  # so far only the stacks' fallback notes, each once
            warnings.warn(msg, FallbackWarning, stacklevel=2)
    notes.append(
        "merit order calibrated to the observed mix each month, cost multiplier: "
        + ", ".join(f"{k} x{v:.2g}" for k, v in mult.items())
    )
    if scale:
        notes.append(
            "capacity scaled up to the observed output in "
            + ", ".join(f"{k} (x{v:.2f})" for k, v in scale.items())
        )
    return CalibratedRun(MeritOrderResult(**parts), residual, mult, scale, notes)


def _coal_columns(fuels: Sequence[str]) -> tuple[bool, npt.NDArray[np.object_], list[str]]:
    """(lignite calibrated apart from hard coal?, each mix column's class: coal, lignite or
    other, the classes present).  Needs a coal or lignite column."""
    split = "lignite" in fuels and any(f in ("coal", "hard_coal") for f in fuels)
    col_cls = np.array(
        [
            "lignite" if (f == "lignite" and split) else "coal" if f in _COAL else "other"
            for f in fuels
        ],
        dtype=object,
    )
    classes = [c for c in ("coal", "lignite") if (col_cls == c).any()]
    if not classes:
        raise InputError("calibration needs a coal or lignite column in the mix", field="fuel")
    return split, col_cls, classes


def _fit_month_costs(
    base: SupplyStack,
    ucls: npt.NDArray[np.object_],
    cap_mult: FloatArray,
    split: bool,
    observed_mwh: dict[str, float],
    r_m: FloatArray,
) -> tuple[SupplyStack, dict[str, float]]:
    """One month's stack with a cost multiplier per class (coal, lignite) from
    :data:`PRICE_GRID`, chosen by a coordinate search so that the dispatched output of each
    class comes closest to the observed one; and the multipliers."""
    classes = list(observed_mwh)

    def build(p: dict[str, float]) -> SupplyStack:
        cm = np.array([p.get(str(u), 1.0) for u in ucls])
        return _restack(base, cost_mult=cm, cap_mult=cap_mult)

    def err(st: SupplyStack) -> float:
        st_cls = np.array([_unit_class(str(f), split) for f in st.fuel], dtype=object)
        return sum(
            abs(float(_class_mw(st, r_m, st_cls == c).sum()) - observed_mwh[c]) for c in classes
        )

    p = dict.fromkeys(classes, 1.0)
    for _ in range(2 if len(classes) > 1 else 1):  # coordinate search over the classes
        for c in classes:
            trials = [
                (err(build({**p, c: float(v)})), abs(float(np.log(v))), float(v))
                for v in PRICE_GRID
            ]
            p[c] = min(trials)[2]  # ties: the smallest change from the documented cost
    return build(p), p
