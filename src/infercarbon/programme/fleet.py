"""Fleet and embodied refresh (hidden driver 5): annual embodied emissions, acquisition-based
and amortised side by side, the refresh schedule, and the embodied share of the total as the
fleet grows.

The fleet file is TOML::

    start_year = 2026              # first year reported
    years = 6                      # years reported
    growth_frac_per_year = 0.5     # planned growth: devices added each year / fleet in service
    region = "DEU"                 # grid region for the operational emissions (or
    # intensity_g_per_kwh = 350    #  the intensity itself)
    pue = 1.2                      # facility PUE applied to the devices' power

    [[device]]
    name = "h100-training"
    count = 64
    embodied_kg = 1500             # per device (or preset = "high-end-gpu" / "jetson")
    purchased = 2024-03-01         # a TOML date, or a year
    refresh_years = 4              # replaced (same count) this many years after purchase
    avg_power_w = 450              # mean draw in service, for the operational emissions
    # growth_frac_per_year = 0.2   # this group's own growth (else the file's)

Per year and device group, cohorts bought in year *p* serve years *p* .. *p* + refresh - 1
and are replaced in year *p* + refresh; growth adds ``growth x`` last year's fleet at the
start of each reported year (fractional devices are kept: a planning figure).

- acquisition-based embodied of a year = devices bought that year x embodied per device;
- amortised embodied of a year = devices in service x embodied / refresh years;
- operational = devices in service x avg power x 8,760 h x PUE x intensity;
- embodied share = amortised / (amortised + operational).
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from infercarbon.errors import InputError, ParseError
from infercarbon.provenance import Figure
from infercarbon.reference.regions import resolve_region
from infercarbon.reference.seed import embodied_preset

__all__ = ["Device", "Fleet", "fleet_schedule", "load_fleet", "parse_fleet"]

_HOURS = 8760.0
#: The seed's quoted refresh cycle (years) and growth ("50 % per year").
SEED_REFRESH_YEARS = (3.0, 5.0)


@dataclass(frozen=True)
class Device:
    name: str
    count: float
    embodied_kg: Figure
    purchased_year: int
    refresh_years: int
    avg_power_w: float | None
    growth_frac_per_year: float | None


@dataclass(frozen=True)
class Fleet:
    devices: tuple[Device, ...]
    start_year: int
    years: int
    growth_frac_per_year: float
    intensity_g_per_kwh: Figure | None
    pue: float
    source: str = "(inline)"


def _num(
    d: Mapping[str, Any], k: str, where: str, *, required: bool = False, minimum: float = 0.0
) -> float | None:
    v = d.get(k)
    if v is None:
        if required:
            raise InputError("is required", field=f"{where}.{k}")
        return None
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) or v < minimum:
        raise InputError(f"must be a number >= {minimum:g}", field=f"{where}.{k}")
    return float(v)


def parse_fleet(doc: Mapping[str, Any], *, source: str = "(inline)") -> Fleet:
    """A :class:`Fleet` from parsed TOML; errors name the device and field."""
    start = doc.get("start_year")
    if not isinstance(start, int) or isinstance(start, bool):
        raise InputError("give the first reported year, e.g. start_year = 2026", field="start_year")
    years = doc.get("years", 5)
    if not isinstance(years, int) or isinstance(years, bool) or not 1 <= years <= 50:
        raise InputError("must be a whole number of years, 1..50", field="years")
    growth = _num(doc, "growth_frac_per_year", "fleet") or 0.0
    pue = _num(doc, "pue", "fleet", minimum=1.0)
    if pue is None:
        raise InputError("give the facility PUE (e.g. pue = 1.2; 1.0 for none)", field="fleet.pue")
    intensity = _fleet_intensity(doc, source)
    raw = doc.get("device", [])
    if not isinstance(raw, list) or not raw:
        raise InputError("list the devices as [[device]] tables", field="device")
    devices = tuple(_parse_device(d, f"device[{i}]", source) for i, d in enumerate(raw))
    return Fleet(devices, start, years, growth, intensity, pue, source)


def _fleet_intensity(doc: Mapping[str, Any], source: str) -> Figure | None:
    """The fleet's grid intensity: intensity_g_per_kwh as given, else the region's bundled
    figure, else none."""
    if doc.get("intensity_g_per_kwh") is not None:
        v = _num(doc, "intensity_g_per_kwh", "fleet")
        assert v is not None
        return Figure(v, "g_per_kwh", source=f"fleet file {source}", label="user")
    if doc.get("region") is not None:
        if not isinstance(doc["region"], str):
            raise InputError("must be a region id, e.g. DEU", field="fleet.region")
        return resolve_region(doc["region"]).intensity_g_per_kwh
    return None


def _parse_device(d: object, where: str, source: str) -> Device:
    """One [[device]] table: name, count, embodied figure, purchase year, refresh period,
    and the optional power and growth."""
    if not isinstance(d, dict):
        raise InputError("must be a table", field=where)
    name = d.get("name")
    if not isinstance(name, str) or not name:
        raise InputError("every device group needs a name", field=f"{where}.name")
    count = _num(d, "count", where, required=True)
    assert count is not None
    emb = _device_embodied(d, where, source)
    year = _purchase_year(d.get("purchased"), where)
    refresh = d.get("refresh_years")
    if not isinstance(refresh, int) or isinstance(refresh, bool) or refresh < 1:
        raise InputError("must be a whole number of years >= 1", field=f"{where}.refresh_years")
    return Device(
        name,
        count,
        emb,
        year,
        refresh,
        _num(d, "avg_power_w", where),
        _num(d, "growth_frac_per_year", where),
    )


def _device_embodied(d: Mapping[str, Any], where: str, source: str) -> Figure:
    """A device's embodied carbon: embodied_kg as given, or a named preset."""
    if d.get("embodied_kg") is not None:
        kg = _num(d, "embodied_kg", where)
        assert kg is not None
        return Figure(kg, "kg", source=f"fleet file {source}", label="user")
    if not isinstance(d.get("preset"), str):
        raise InputError("give embodied_kg (per device) or preset", field=f"{where}.embodied_kg")
    try:
        return embodied_preset(d["preset"])
    except (KeyError, InputError) as exc:
        raise InputError(
            f"unknown embodied preset {d['preset']!r}; use "
            "high-end-gpu or jetson, or give embodied_kg",
            field=f"{where}.preset",
        ) from exc


def _purchase_year(p: object, where: str) -> int:
    """The purchase year from a TOML date (2024-03-01) or a year (2024)."""
    if isinstance(p, date):
        return p.year
    if isinstance(p, int) and not isinstance(p, bool):
        return p
    raise InputError(
        "give the purchase date (2024-03-01) or year (2024)", field=f"{where}.purchased"
    )


def load_fleet(path: str | Path) -> Fleet:
    p = Path(path)
    try:
        doc = tomllib.loads(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"cannot read the fleet file {p}: {exc.strerror}", field="fleet") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ParseError(f"not valid TOML: {exc}", path=str(p)) from exc
    return parse_fleet(doc, source=str(p))


def fleet_schedule(fleet: Fleet) -> dict[str, Any]:
    """Per year: devices in service, bought, replaced; embodied acquisition-based and
    amortised [kg]; operational [kg] where power and intensity are known; embodied share.
    Also the refresh schedule (year, device group, devices replaced)."""
    end = fleet.start_year + fleet.years
    years = list(range(fleet.start_year, end))
    rows: dict[int, dict[str, Any]] = {
        y: {
            "year": y,
            "devices_in_service": 0.0,
            "devices_bought": 0.0,
            "devices_replaced": 0.0,
            "embodied_acquisition_kg": 0.0,
            "embodied_amortised_kg": 0.0,
            "embodied_amortised_low_kg": 0.0,
            "embodied_amortised_high_kg": 0.0,
            "operational_kg": 0.0,
            "operational_known": True,
        }
        for y in years
    }
    refresh: list[dict[str, Any]] = []
    for dev in fleet.devices:
        growth = (
            dev.growth_frac_per_year
            if dev.growth_frac_per_year is not None
            else fleet.growth_frac_per_year
        )
        cohorts: list[tuple[int, float]] = [(dev.purchased_year, dev.count)]
        kg = dev.embodied_kg.value
        lo, hi = dev.embodied_kg.range
        for y in range(min(dev.purchased_year, fleet.start_year), end):
            # last year's fleet (replacements keep its size; growth scales it)
            prev = sum(c for p, c in cohorts if p <= y - 1 < p + dev.refresh_years)
            due = sum(c for p, c in cohorts if p + dev.refresh_years == y)
            bought = 0.0
            if due:
                cohorts.append((y, due))
                bought += due
                if y >= fleet.start_year:
                    refresh.append({"year": y, "device": dev.name, "devices_replaced": due})
            if y >= fleet.start_year and growth and prev:
                added = prev * growth
                cohorts.append((y, added))
                bought += added
            if y < fleet.start_year:
                continue
            n = sum(c for p, c in cohorts if p <= y < p + dev.refresh_years)
            r = rows[y]
            r["devices_in_service"] += n
            r["devices_bought"] += bought + (dev.count if y == dev.purchased_year else 0.0)
            r["devices_replaced"] += due
            r["embodied_acquisition_kg"] += (
                bought + (dev.count if y == dev.purchased_year else 0.0)
            ) * kg
            r["embodied_amortised_kg"] += n * kg / dev.refresh_years
            r["embodied_amortised_low_kg"] += n * lo / dev.refresh_years
            r["embodied_amortised_high_kg"] += n * hi / dev.refresh_years
            if dev.avg_power_w is None or fleet.intensity_g_per_kwh is None:
                r["operational_known"] = False
            else:
                r["operational_kg"] += (
                    n
                    * dev.avg_power_w
                    * _HOURS
                    / 1000.0
                    * fleet.pue
                    * fleet.intensity_g_per_kwh.value
                    / 1000.0
                )
    out_rows = []
    for y in years:
        r = rows[y]
        known = r.pop("operational_known")
        if not known:
            r["operational_kg"] = None
        amort, op = r["embodied_amortised_kg"], r["operational_kg"]
        r["embodied_share_frac"] = (
            amort / (amort + op) if op is not None and amort + op > 0 else None
        )
        r["embodied_share_acquisition_frac"] = (
            r["embodied_acquisition_kg"] / (r["embodied_acquisition_kg"] + op)
            if op is not None and r["embodied_acquisition_kg"] + op > 0
            else None
        )
        out_rows.append(r)
    refresh_years = sorted({d.refresh_years for d in fleet.devices})
    return {
        "source": fleet.source,
        "years": out_rows,
        "refresh_schedule": sorted(refresh, key=lambda x: (x["year"], x["device"])),
        "refresh_years": refresh_years,
        "growth_frac_per_year": fleet.growth_frac_per_year,
        "pue": fleet.pue,
        "intensity": None
        if fleet.intensity_g_per_kwh is None
        else fleet.intensity_g_per_kwh.to_dict(),
        "notes": [
            "Acquisition-based: a device's whole embodied carbon in the year it is bought. "
            "Amortised: spread evenly over its refresh years. With a growing fleet the "
            "acquisition-based figure runs ahead of the amortised one.",
            "Operational: devices in service x avg power x 8,760 h x PUE x the annual "
            "location-based intensity (no utilisation factor: avg power is the mean draw).",
        ],
    }
