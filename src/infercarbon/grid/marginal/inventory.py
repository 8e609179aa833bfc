"""Unit inventories for the merit-order model: ERCOT (CDR May 2025) and Germany (OPSD).

Readers for the raw public files (:func:`read_ercot_cdr`, :func:`read_opsd_de`) and for the
compact bundled copies (:func:`load_inventory`; regenerate them with
``tools/build_dispatch_data.py``).  :func:`build_region_stack` turns an inventory into a
:class:`~infercarbon.grid.marginal.merit_order.SupplyStack` for one year and season.

ERCOT CDR notes: the file opens with a block of notes (quoted cells spanning lines) before
the header row that starts ``UNIT NAME``; seasonal net sustained capabilities follow in four
blocks (summer, winter, spring, fall), of which the first year of each block is kept.  The CDR
has no heat rates: each unit gets the documented heat rate of its technology (combined cycles
by vintage), see :mod:`~infercarbon.grid.marginal.assumptions`.  Units are in the stack if
they are thermal (``CC GT ST IC`` burning gas, coal or diesel), not planned, not switchable
and unavailable to ERCOT (``SWGR-UNA``), in service by the year dispatched, and have a seasonal
capability (private-use-network units without one export only their net surplus, which the
CDR does not give; they are left out and counted in the stack notes).

Germany (OPSD conventional_power_plants_DE, ~2020): net capacity and the efficiency column
(``efficiency_data`` where reported, else OPSD's ``efficiency_estimate``).  Stack fuels:
lignite, hard coal, natural gas, oil; nuclear, hydro, biomass and waste are must-run and come
from the observed mix.
"""

from __future__ import annotations

import csv
import io
import re
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
import numpy.typing as npt

from infercarbon.arrays import FloatArray
from infercarbon.errors import DataError, FallbackWarning, InputError, ParseError
from infercarbon.grid.marginal import assumptions as A
from infercarbon.grid.marginal.merit_order import SupplyStack, build_stack
from infercarbon.provenance import Figure

__all__ = [
    "REGIONS",
    "FuelCo2",
    "Inventory",
    "StackInfo",
    "build_region_stack",
    "default_fuel_co2",
    "load_inventory",
    "read_ercot_cdr",
    "read_opsd_de",
    "write_inventory_csv",
]

REGIONS: tuple[str, ...] = ("ERCOT", "DE")
#: Best combined cycles reach ~0.62 (LHV); a larger figure is CHP total fuel utilisation.
MAX_ELECTRIC_EFFICIENCY_FRAC = 0.62
ObjArray = npt.NDArray[np.object_]

#: Seasons of the capability columns, in the order stored (winter, spring, summer, fall).
CAP_SEASONS: tuple[str, ...] = ("winter", "spring", "summer", "fall")
_CSV_COLUMNS = (
    "unit_id",
    "name",
    "technology",
    "fuel",
    "status",
    "in_service_year",
    "retired_year",
    "capacity_mw",
    "winter_mw",
    "spring_mw",
    "summer_mw",
    "fall_mw",
    "efficiency_frac",
)


@dataclass(frozen=True)
class Inventory:
    """Units of one region as parallel arrays (NaN = unknown)."""

    region: str
    unit_id: ObjArray
    name: ObjArray
    technology: ObjArray
    fuel: ObjArray
    status: ObjArray
    in_service_year: FloatArray
    retired_year: FloatArray
    capacity_mw: FloatArray
    #: seasonal net capability [MW], columns in :data:`CAP_SEASONS` order
    seasonal_mw: FloatArray
    efficiency_frac: FloatArray
    source: str
    vintage: str
    licence: str

    def __len__(self) -> int:
        return len(self.unit_id)


def _norm(h: str) -> str:
    return re.sub(r"\s+", " ", h).strip().upper()


def _num(v: str, *, path: str, row: int, column: str, signed: bool = False) -> float:
    v = v.replace(",", "").strip()
    if not v:
        return float("nan")
    try:
        x = float(v)
    except ValueError as exc:
        raise ParseError(f"{v!r} is not a number", path=path, row=row, column=column) from exc
    if not np.isfinite(x) or (x < 0 and not signed):
        raise ParseError(
            f"{v!r} must be a finite{'' if signed else ', non-negative'} number",
            path=path,
            row=row,
            column=column,
        )
    return x


def _year(v: str, *, path: str, row: int, column: str) -> float:
    v = v.strip()
    if not v:
        return float("nan")
    m = re.match(r"^(\d{4})", v) or re.match(r"^\d{1,2}\.\d{1,2}\.(\d{4})", v)
    if m is None:
        raise ParseError(f"{v!r} is not a date or year", path=path, row=row, column=column)
    return float(m.group(1))


_ERCOT_STACK_FUELS = {"GAS": "gas", "COAL": "coal", "DIESEL": "oil"}
_ERCOT_REQUIRED = (
    "UNIT NAME",
    "UNIT CODE",
    "TECHNOLOGY",
    "FUEL",
    "CDR STATUS",
    "CDR RESOURCE ATTRIBUTE",
    "IN-SERVICE DATE",
    "INSTALLED CAPACITY (MW)",
)


def read_ercot_cdr(path: str | Path) -> Inventory:
    """Parse the raw ERCOT CDR unit-details CSV (preamble, multi-line quoted header).

    Raises
    ------
    ParseError
        naming the record (1-based, as a spreadsheet shows it) and column of a bad value,
        or the missing header.
    """
    p = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ParseError(f"cannot read: {exc.strerror}", path=p) from exc
    try:
        records = list(csv.reader(io.StringIO(text)))
    except csv.Error as exc:
        raise ParseError(f"malformed CSV: {exc}", path=p) from exc
    hdr_i = next((i for i, r in enumerate(records) if r and _norm(r[0]) == "UNIT NAME"), None)
    if hdr_i is None:
        raise ParseError(
            "no header row starting with 'UNIT NAME' (is this the CDR unit details sheet?)", path=p
        )
    header = [_norm(h) for h in records[hdr_i]]
    for name in _ERCOT_REQUIRED:
        if name not in header:
            raise ParseError("missing column", path=p, row=hdr_i + 1, column=name)
    col = {name: header.index(name) for name in _ERCOT_REQUIRED}
    # season blocks: the row above the header names them; first year column of each
    above = [_norm(c) for c in records[hdr_i - 1]] if hdr_i > 0 else []
    season_col: dict[str, int] = {}
    for j, cell in enumerate(above):
        for s in CAP_SEASONS:
            if cell.startswith(s.upper()):
                season_col[s] = j
    missing = [s for s in CAP_SEASONS if s not in season_col]
    if missing:
        raise ParseError(
            f"no seasonal capability block for {', '.join(missing)}",
            path=p,
            row=hdr_i,
            column="capabilities",
        )
    out: dict[str, list[object]] = {k: [] for k in _CSV_COLUMNS}
    for k, rec in enumerate(records[hdr_i + 1 :], start=hdr_i + 2):
        if not any(c.strip() for c in rec):
            continue
        if len(rec) < len(header) - 1:
            raise ParseError(f"has {len(rec)} fields, the header has {len(header)}", path=p, row=k)
        unit_code = rec[col["UNIT CODE"]].strip() or rec[col["UNIT NAME"]].strip()
        if not unit_code:
            raise ParseError("no unit name or code", path=p, row=k, column="UNIT CODE")
        out["unit_id"].append(unit_code)
        out["name"].append(rec[col["UNIT NAME"]].strip())
        out["technology"].append(rec[col["TECHNOLOGY"]].strip().upper())
        out["fuel"].append(rec[col["FUEL"]].strip().upper())
        status = rec[col["CDR STATUS"]].strip().upper()
        attr = rec[col["CDR RESOURCE ATTRIBUTE"]].strip().upper()
        out["status"].append(f"{status}|{attr}")
        out["in_service_year"].append(
            _year(rec[col["IN-SERVICE DATE"]], path=p, row=k, column="IN-SERVICE DATE")
        )
        out["retired_year"].append(float("nan"))
        out["capacity_mw"].append(
            _num(
                rec[col["INSTALLED CAPACITY (MW)"]],
                path=p,
                row=k,
                column="INSTALLED CAPACITY (MW)",
                signed=True,
            )
        )
        for s in CAP_SEASONS:
            j = season_col[s]
            out[f"{s}_mw"].append(
                _num(
                    rec[j] if j < len(rec) else "",
                    path=p,
                    row=k,
                    column=f"{s} capability ({header[j]})",
                    signed=True,
                )
            )
        out["efficiency_frac"].append(float("nan"))
    return _from_columns(
        "ERCOT",
        out,
        source="ERCOT Capacity, Demand and Reserves report, unit details",
        vintage="2025-05",
        licence="public market data",
    )


_DE_FUELS = {"Lignite": "lignite", "Hard coal": "hard_coal", "Natural gas": "gas", "Oil": "oil"}
_DE_TECH = {
    "Steam turbine": "ST",
    "Combined cycle": "CC",
    "Gas turbine": "GT",
    "Combustion Engine": "IC",
}


def read_opsd_de(path: str | Path) -> Inventory:
    """Parse OPSD ``conventional_power_plants_DE.csv``.

    Raises
    ------
    ParseError
        naming the row and column of a bad value or a missing column.
    """
    p = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ParseError(f"cannot read: {exc.strerror}", path=p) from exc
    reader = csv.DictReader(io.StringIO(text))
    need = (
        "id",
        "name_bnetza",
        "block_bnetza",
        "fuel",
        "technology",
        "capacity_net_bnetza",
        "efficiency_data",
        "efficiency_estimate",
        "status",
        "commissioned",
        "shutdown",
    )
    for name in need:
        if name not in (reader.fieldnames or []):
            raise ParseError("missing column", path=p, row=1, column=name)
    out: dict[str, list[object]] = {k: [] for k in _CSV_COLUMNS}
    for k, rec in enumerate(reader, start=2):
        out["unit_id"].append(rec["id"].strip())
        out["name"].append(" ".join(x for x in (rec["name_bnetza"], rec["block_bnetza"]) if x))
        out["technology"].append(_DE_TECH.get(rec["technology"], rec["technology"]))
        out["fuel"].append(_DE_FUELS.get(rec["fuel"], rec["fuel"]))
        out["status"].append(rec["status"])
        out["in_service_year"].append(
            _num(rec["commissioned"], path=p, row=k, column="commissioned")
        )
        out["retired_year"].append(_num(rec["shutdown"], path=p, row=k, column="shutdown"))
        out["capacity_mw"].append(
            _num(rec["capacity_net_bnetza"], path=p, row=k, column="capacity_net_bnetza")
        )
        for s in CAP_SEASONS:
            out[f"{s}_mw"].append(float("nan"))
        eff = _num(rec["efficiency_data"], path=p, row=k, column="efficiency_data")
        if eff != eff:
            eff = _num(rec["efficiency_estimate"], path=p, row=k, column="efficiency_estimate")
        if eff == eff and not 0.0 < eff <= 1.0:
            raise ParseError(
                f"efficiency {eff} outside (0, 1]", path=p, row=k, column="efficiency_data"
            )
        out["efficiency_frac"].append(eff)
    return _from_columns(
        "DE",
        out,
        source="Open Power System Data, conventional power plants DE (BNetzA/UBA)",
        vintage="2020-10-01",
        licence="OPSD; attribute BNetzA and UBA",
    )


def _from_columns(
    region: str, c: dict[str, list[object]], *, source: str, vintage: str, licence: str
) -> Inventory:
    def f(name: str) -> FloatArray:
        return np.asarray(c[name], dtype=np.float64)

    def o(name: str) -> ObjArray:
        return np.asarray(c[name], dtype=object)

    return Inventory(
        region=region,
        unit_id=o("unit_id"),
        name=o("name"),
        technology=o("technology"),
        fuel=o("fuel"),
        status=o("status"),
        in_service_year=f("in_service_year"),
        retired_year=f("retired_year"),
        capacity_mw=f("capacity_mw"),
        seasonal_mw=np.column_stack([f(f"{s}_mw") for s in CAP_SEASONS]),
        efficiency_frac=f("efficiency_frac"),
        source=source,
        vintage=vintage,
        licence=licence,
    )


def write_inventory_csv(inv: Inventory, path: str | Path) -> None:
    """Write the compact bundled form (one header line, then one row per unit)."""
    with Path(path).open("w", newline="", encoding="utf-8") as fh:
        fh.write(f"# {inv.region} | {inv.source} | vintage {inv.vintage} | licence {inv.licence}\n")
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(_CSV_COLUMNS)

        def fmt(x: float) -> str:
            return "" if x != x else f"{x:g}"

        for i in range(len(inv)):
            w.writerow(
                [
                    inv.unit_id[i],
                    inv.name[i],
                    inv.technology[i],
                    inv.fuel[i],
                    inv.status[i],
                    fmt(inv.in_service_year[i]),
                    fmt(inv.retired_year[i]),
                    fmt(inv.capacity_mw[i]),
                    *(fmt(v) for v in inv.seasonal_mw[i]),
                    fmt(inv.efficiency_frac[i]),
                ]
            )


def _read_bundled(region: str, text: str, name: str) -> Inventory:
    lines = text.splitlines()
    if not lines or not lines[0].startswith("# "):
        raise DataError(f"bundled inventory {name} has no provenance line")
    meta = [x.strip() for x in lines[0][2:].split("|")]
    if len(meta) != 4 or meta[0] != region:
        raise DataError(f"bundled inventory {name}: bad provenance line {lines[0]!r}")
    reader = csv.DictReader(io.StringIO("\n".join(lines[1:])))
    c: dict[str, list[object]] = {k: [] for k in _CSV_COLUMNS}
    num = {
        "in_service_year",
        "retired_year",
        "capacity_mw",
        "winter_mw",
        "spring_mw",
        "summer_mw",
        "fall_mw",
        "efficiency_frac",
    }
    for k, rec in enumerate(reader, start=3):
        for key in _CSV_COLUMNS:
            if key not in rec or rec[key] is None:
                raise DataError(f"bundled inventory {name} row {k}: missing {key}")
            c[key].append(
                _num(rec[key], path=name, row=k, column=key, signed=True)
                if key in num
                else rec[key]
            )
    return _from_columns(
        region,
        c,
        source=meta[1],
        vintage=meta[2].removeprefix("vintage "),
        licence=meta[3].removeprefix("licence "),
    )


def load_inventory(region: str) -> Inventory:
    """The bundled inventory of ``region`` (``ERCOT`` or ``DE``)."""
    key = region.upper()
    if key not in REGIONS:
        raise InputError(
            f"no bundled unit inventory for {region!r}; known: {', '.join(REGIONS)}", field="region"
        )
    name = {"ERCOT": "ercot_units.csv", "DE": "de_units.csv"}[key]
    try:
        text = (
            resources.files("infercarbon.grid.marginal")
            .joinpath("data")
            .joinpath(name)
            .read_text(encoding="utf-8")
        )
    except (OSError, FileNotFoundError) as exc:
        raise DataError(
            f"bundled inventory {name} is missing; run tools/build_dispatch_data.py"
        ) from exc
    return _read_bundled(key, text, name)


# --------------------------------------------------------------------------- stack
@dataclass(frozen=True)
class FuelCo2:
    """Direct CO2 factors of stack fuels (``coal gas oil lignite hard_coal``).

    ``per_heat_rate(fuel)``: [g/kWh per MMBtu/MWh], i.e. the factor per heat input;
    ``per_efficiency(fuel)``: [g/kWh x efficiency], i.e. the factor per kWh of fuel heat
    on the basis the efficiencies are quoted in.
    """

    per_heat_rate: Callable[[str], float]
    per_efficiency: Callable[[str], float]
    source: str


#: stack fuel -> fuel name in infercarbon.grid.factors
FACTOR_FUEL = {
    "coal": "coal",
    "gas": "gas",
    "oil": "oil",
    "lignite": "lignite",
    "hard_coal": "coal",
}


def default_fuel_co2(region: str | None = None) -> FuelCo2:
    """Fuel factors from :mod:`infercarbon.grid.factors` (EPA per-MMBtu CO2e factors).

    EPA factors are per MMBtu of higher heating value; OPSD efficiencies are net electrical
    efficiencies on the lower heating value, so the efficiency route converts LHV heat input
    to HHV (``heating_value="lhv"``).  German lignite is still taken at the US EPA lignite
    factor, which is lower than German lignite's (UBA); rates for DE lignite are low.
    """
    from infercarbon.grid import factors

    def per_hr(fuel: str) -> float:
        return (
            float(
                factors.direct_rate_from_heat_rate(FACTOR_FUEL.get(fuel, fuel), 10.0, region=region)
            )
            / 10.0
        )

    def per_eff(fuel: str) -> float:
        return (
            float(
                factors.direct_rate_from_efficiency(
                    FACTOR_FUEL.get(fuel, fuel), 0.5, region=region, heating_value="lhv"
                )
            )
            * 0.5
        )

    return FuelCo2(per_hr, per_eff, "infercarbon.grid.factors (US EPA eGRID static)")


@dataclass(frozen=True)
class StackInfo:
    """What went into a stack: counts, fallbacks taken and the figures used."""

    region: str
    year: int
    season: str
    n_units: int
    capacity_mw: float
    excluded: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _ramp_key(tech: str, fuel: str) -> str:
    if tech == "ST":
        return "ST-gas" if fuel in ("gas", "oil") else "ST-coal"
    return tech if tech in ("CC", "GT", "IC") else "ST-coal"


def build_region_stack(
    inv: Inventory,
    *,
    year: int,
    season: str,
    co2: FuelCo2,
    availability_frac: dict[str, float] | None = None,
    heat_rate_scale: dict[str, float] | None = None,
    fuel_price_override: dict[str, float] | None = None,
    warn: bool = True,
) -> tuple[SupplyStack, StackInfo]:
    """The supply stack of ``inv`` for one year and season.

    Parameters
    ----------
    co2 : FuelCo2
        Fuel emission factors: a unit's direct rate is ``per_heat_rate(fuel) x heat rate``
        when its heat rate comes from the technology table, ``per_efficiency(fuel) /
        efficiency`` when the inventory gives its efficiency (:func:`default_fuel_co2` uses
        :mod:`infercarbon.grid.factors`).
    availability_frac : dict, optional
        Multiplier on capacity per fuel (``coal``, ``gas-CC``, ``gas`` ...; a calibration
        output; default 1).
    heat_rate_scale : dict, optional
        Multiplier on heat rate per fuel/technology key (calibration; default 1).
    fuel_price_override : dict, optional
        Fuel price [currency/MMBtu] per fuel, replacing the documented defaults.
    warn : bool
        Warn the fallbacks taken (:class:`FallbackWarning`); they are always in
        ``StackInfo.notes``.  Callers that build several stacks pass ``False`` and warn once
        (:func:`~infercarbon.grid.marginal.pipeline.merit_order_from_mix`).
    """
    if season not in CAP_SEASONS:
        raise InputError(f"season must be one of {CAP_SEASONS}", field="season")
    region = inv.region
    notes: list[str] = []
    fuel = (
        np.array([_ERCOT_STACK_FUELS.get(f, f) for f in inv.fuel], dtype=object)
        if region == "ERCOT"
        else inv.fuel.copy()
    )
    idx, cap, excluded = _dispatchable_units(inv, fuel, year, CAP_SEASONS.index(season))
    f_k, t_k = fuel[idx], inv.technology[idx]
    cap_k = cap[idx]
    u, fallback_keys = _unit_figures(inv, idx, f_k, t_k, co2, year, fuel_price_override)
    cls = _calibration_class(f_k, t_k)
    if heat_rate_scale:
        k = np.array([heat_rate_scale.get(c, 1.0) for c in cls])
        u.hr, u.hr_lo, u.hr_hi = u.hr * k, u.hr_lo * k, u.hr_hi * k
        u.rate, u.rate_lo, u.rate_hi = u.rate * k, u.rate_lo * k, u.rate_hi * k
    if availability_frac:
        cap_k = cap_k * np.array([availability_frac.get(c, 1.0) for c in cls])
    cp, cfb = A.carbon_price(region, year)
    if cfb:
        fallback_keys.add(f"carbon price for {year} (nearest year used)")
    if fallback_keys:
        msg = f"{region} {year} stack used fallbacks: " + "; ".join(sorted(fallback_keys))
        notes.append(msg)
        if warn:
            warnings.warn(msg, FallbackWarning, stacklevel=2)
    stack = build_stack(
        unit_id=list(inv.unit_id[idx]),
        fuel=[_label(f, t) for f, t in zip(f_k, t_k, strict=True)],
        technology=list(t_k),
        capacity_mw=cap_k,
        rate_g_per_kwh=u.rate,
        rate_low_g_per_kwh=u.rate_lo,
        rate_high_g_per_kwh=u.rate_hi,
        heat_rate_mmbtu_per_mwh=u.hr,
        fuel_price_per_mmbtu=u.price,
        vom_per_mwh=u.vom,
        ramp_frac_per_min=u.ramp,
        carbon_price_per_t=cp.value,
    )
    info = StackInfo(region, year, season, len(stack), stack.total_mw, excluded, notes)
    return stack, info


def _dispatchable_units(
    inv: Inventory, fuel: npt.NDArray[np.object_], year: int, s_idx: int
) -> tuple[npt.NDArray[np.intp], FloatArray, dict[str, int]]:
    """(indices of the units in the stack, every unit's capacity [MW], units excluded by
    reason): dispatchable fossil CC/GT/ST/IC units in service in ``year`` (ERCOT: with a
    positive net seasonal capability, no planned units or DC ties)."""
    region = inv.region
    excluded: dict[str, int] = {}
    keep = np.ones(len(inv), dtype=bool)

    def drop(mask: npt.NDArray[np.bool_], why: str) -> None:
        n = int((mask & keep).sum())
        if n:
            excluded[why] = excluded.get(why, 0) + n
        keep[:] &= ~mask

    stack_fuels = {"gas", "coal", "oil", "lignite", "hard_coal"}
    drop(
        ~np.isin(fuel, list(stack_fuels)),
        "not a dispatchable fossil unit (must-run or variable: taken from the observed mix)",
    )
    drop(~np.isin(inv.technology, ["CC", "GT", "ST", "IC"]), "technology outside CC/GT/ST/IC")
    status = inv.status.astype(str)
    if region == "ERCOT":
        drop(np.char.startswith(status, "PLAN"), "planned")
        drop(np.char.find(status, "DC-TIE") >= 0, "DC tie")
        cap = _net_ercot_adjustments(inv, inv.seasonal_mw[:, s_idx].copy())
        drop(
            ~np.isfinite(cap),
            "no seasonal capability (private-use-network units: their "
            "net contribution is the PUN_CAP_CONT aggregate) or netted into their unit",
        )
        drop(cap <= 0, "zero net capability (switched to another grid)")
    else:
        drop(
            np.isin(status, ["shutdown", "special_case"]) & ~(inv.retired_year > year),
            "shut down",
        )
        cap = inv.capacity_mw.copy()
        drop(~np.isfinite(cap), "no capacity")
    drop(inv.in_service_year > year, f"in service after {year}")
    drop(inv.retired_year <= year, f"retired by {year}")
    idx = np.flatnonzero(keep)
    if idx.size == 0:
        raise DataError(f"no dispatchable units in {region} for {year}")
    return idx, cap, excluded


@dataclass
class _UnitFigures:
    """Per stack unit: heat rate [MMBtu/MWh] and CO2 rate [g/kWh] with their ranges, VOM
    [currency/MWh], ramp [frac/min] and fuel price [currency/MMBtu]."""

    hr: FloatArray
    hr_lo: FloatArray
    hr_hi: FloatArray
    rate: FloatArray
    rate_lo: FloatArray
    rate_hi: FloatArray
    vom: FloatArray
    ramp: FloatArray
    price: FloatArray

    @classmethod
    def empty(cls, n: int) -> _UnitFigures:
        return cls(*(np.empty(n) for _ in range(9)))


def _unit_figures(
    inv: Inventory,
    idx: npt.NDArray[np.intp],
    f_k: npt.NDArray[np.object_],
    t_k: npt.NDArray[np.object_],
    co2: FuelCo2,
    year: int,
    fuel_price_override: dict[str, float] | None,
) -> tuple[_UnitFigures, set[str]]:
    """The stack units' figures, per (fuel, technology) group, and the fallbacks taken."""
    region = inv.region
    u = _UnitFigures.empty(idx.size)
    eff = inv.efficiency_frac[idx]
    fallback_keys: set[str] = set()
    groups: dict[tuple[str, str], list[int]] = {}
    for j, key in enumerate(zip(f_k.tolist(), t_k.tolist(), strict=True)):
        groups.setdefault(key, []).append(j)
    for (fl, tc), members in groups.items():  # per (fuel, technology) group, a handful
        m = np.asarray(members)
        vfuel = "coal" if fl in ("lignite", "hard_coal") else fl
        _group_heat_rate_and_rate(u, inv, idx, m, fl, tc, eff[m], co2, fallback_keys)
        u.vom[m] = _lookup(A.VOM_PER_MWH, fl, vfuel, tc, fallback_keys, "VOM").value
        u.ramp[m] = A.RAMP_FRAC_PER_MIN[_ramp_key(tc, fl)].value
        if fuel_price_override and fl in fuel_price_override:
            u.price[m] = fuel_price_override[fl]
        else:
            pf, fb = A.fuel_price(region, fl, year)
            u.price[m] = pf.value
            if fb:
                fallback_keys.add(f"{fl} price for {year} (nearest year used)")
    return u, fallback_keys


def _group_heat_rate_and_rate(
    u: _UnitFigures,
    inv: Inventory,
    idx: npt.NDArray[np.intp],
    m: npt.NDArray[np.intp],
    fl: str,
    tc: str,
    e: FloatArray,
    co2: FuelCo2,
    fallback_keys: set[str],
) -> None:
    """Heat rate and CO2 rate of one (fuel, technology) group's units ``m``: the unit's own
    electric efficiency where plausible, else the technology table (ERCOT gas CC: by in-service
    year)."""
    region = inv.region
    vfuel = "coal" if fl in ("lignite", "hard_coal") else fl
    # above 62 % is a CHP fuel-utilisation figure, not an electric efficiency
    has = np.isfinite(e) & (e <= MAX_ELECTRIC_EFFICIENCY_FRAC)
    hr_fallbacks: set[str] = set()
    if region == "ERCOT" and (fl, tc) == ("gas", "CC"):
        figs = [A.ercot_cc_heat_rate(y) for y in inv.in_service_year[idx][m]]
    else:
        fig = _lookup(A.HEAT_RATE_MMBTU_PER_MWH, fl, vfuel, tc, hr_fallbacks, "heat rate")
        figs = [fig] * len(m)
    if not has.all():
        fallback_keys.update(hr_fallbacks)
    u.hr[m] = [x.value for x in figs]
    u.hr_lo[m] = [x.range[0] for x in figs]
    u.hr_hi[m] = [x.range[1] for x in figs]
    k_hr = co2.per_heat_rate(fl)
    u.rate[m], u.rate_lo[m], u.rate_hi[m] = k_hr * u.hr[m], k_hr * u.hr_lo[m], k_hr * u.hr_hi[m]
    if has.any():  # the unit's own efficiency beats the technology default
        sub = m[has]
        u.hr[sub] = A.MMBTU_PER_MWH_THERMAL / e[has]
        u.hr_lo[sub], u.hr_hi[sub] = u.hr[sub] * 0.95, u.hr[sub] * 1.05
        u.rate[sub] = co2.per_efficiency(fl) / e[has]
        u.rate_lo[sub], u.rate_hi[sub] = u.rate[sub] * 0.95, u.rate[sub] * 1.05
    if region != "ERCOT" and not has.all():
        fallback_keys.add(
            f"technology heat rate for {int((~has).sum())} {fl}/{tc} "
            "units without a plausible electric efficiency"
        )


def _net_ercot_adjustments(inv: Inventory, cap: FloatArray) -> FloatArray:
    """Net the CDR's negative rows into the units they adjust.

    ``<code>_UNAVAIL`` rows (switchable units committed to another grid) carry the negative
    of ``<code>``'s capability; ``PUN_CAP_ADJUST`` adjusts the ``PUN_CAP_CONT`` aggregate of
    private-use networks.  A handful of rows: a dictionary pass is fine.
    """
    pos = {str(u): i for i, u in enumerate(inv.unit_id)}
    for i, u in enumerate(inv.unit_id.tolist()):
        base = (
            "PUN_CAP_CONT"
            if u == "PUN_CAP_ADJUST"
            else (u.removesuffix("_UNAVAIL") if u.endswith("_UNAVAIL") else None)
        )
        if base is None:
            continue
        j = pos.get(base)
        if j is None:
            raise DataError(f"ERCOT inventory: adjustment row {u!r} has no unit {base!r}")
        if np.isfinite(cap[i]):
            cap[j] = (0.0 if not np.isfinite(cap[j]) else cap[j]) + cap[i]
        cap[i] = np.nan
    return np.maximum(cap, 0.0, where=np.isfinite(cap), out=cap)


def _lookup(
    table: dict[tuple[str, str], Figure],
    fuel: str,
    vfuel: str,
    tech: str,
    fallbacks: set[str],
    what: str,
) -> Figure:
    for key in ((fuel, tech), (vfuel, tech)):
        if key in table:
            return table[key]
    fallbacks.add(f"{what} of {fuel}/{tech} (steam-turbine or gas-turbine default used)")
    return table.get((vfuel, "ST")) or table[("gas", "GT")]


def _label(fuel: str, tech: str) -> str:
    return f"{fuel}-{tech}"


def _calibration_class(fuel: Iterable[str], tech: Iterable[str]) -> list[str]:
    """Calibration classes: ``coal`` (incl. lignite, hard coal), ``gas-CC``, ``gas-other``,
    ``oil``."""
    out = []
    for f, t in zip(fuel, tech, strict=True):
        if f in ("coal", "lignite", "hard_coal"):
            out.append("coal" if f == "coal" else f)
        elif f == "gas":
            out.append("gas-CC" if t == "CC" else "gas-other")
        else:
            out.append(f)
    return out
