#!/usr/bin/env python
"""Regenerate infercarbon's bundled grid-region and cloud-instance tables.

Reads the public reference data under ``../shared/data`` (see its README for sources, licences
and units) and writes, under ``src/infercarbon/reference/data/``:

- ``regions.csv``          annual location-based intensity [g/kWh] per region (countries, US
                           states, Canadian and Chinese provinces, Nordic zones, Electricity Maps
                           zones, AWS/Azure/GCP regions), with basis, source, vintage, licence,
                           optional low/high and a note saying how the range was formed;
- ``cloud_instances.csv``  Cloud Carbon Footprint per-instance embodied kgCO2e (server total and
                           vCPU share) and per-vCPU min/max watts, with GPU counts.

Every unit conversion goes through :mod:`infercarbon.units`.  Rows that cannot be used honestly
are excluded and listed on stderr (and in ``SOURCES.md``).  The output is deterministic.

Usage::

    python tools/build_reference.py [--data-dir ../shared/data] [--out-dir DIR] [--check]

``--check`` rebuilds in memory and exits 1 if the committed files differ.
``pycountry`` (extra ``data``) supplies ISO 3166 codes and official names.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import statistics
import sys
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pycountry

from infercarbon.reference.regions import parse_regions_csv, shadowed_aliases
from infercarbon.units import g_per_kwh_from_lb_per_mwh, g_per_kwh_from_t_per_kwh

REPO = Path(__file__).resolve().parents[1]
OUT_DIR = REPO / "src" / "infercarbon" / "reference" / "data"
REGION_COLUMNS = (
    "region_id",
    "name",
    "kind",
    "intensity_g_per_kwh",
    "low_g_per_kwh",
    "high_g_per_kwh",
    "basis",
    "label",
    "source",
    "vintage",
    "licence",
    "iso2",
    "iso3",
    "country_iso3",
    "aliases",
    "note",
)
INSTANCE_COLUMNS = (
    "provider",
    "instance_type",
    "family",
    "vcpus",
    "platform_vcpus",
    "microarchitectures",
    "gpus",
    "gpu_name",
    "platform_embodied_kg",
    "platform_embodied_low_kg",
    "platform_embodied_high_kg",
    "min_w_per_vcpu",
    "min_w_per_vcpu_low",
    "min_w_per_vcpu_high",
    "max_w_per_vcpu",
    "max_w_per_vcpu_low",
    "max_w_per_vcpu_high",
    "note",
)
#: An Electricity Maps year counts as an annual mean only with >= half of its hours covered.
EM_MIN_HOURS = 4380
#: Plausibility bounds for any grid intensity [g/kWh] (catches unit slips in source files).
MAX_PLAUSIBLE_G_PER_KWH = 2000.0

EXCLUDED: list[str] = []


def excluded(what: str) -> None:
    EXCLUDED.append(what)


def fmt(x: float | None, nd: int = 6) -> str:
    """Deterministic number text: rounded, no trailing zeros."""
    if x is None:
        return ""
    s = f"{round(x, nd):.{nd}f}".rstrip("0").rstrip(".")
    return "0" if s == "-0" else s


def default_data_dir() -> Path:
    for cand in (Path("/work/shared/data"), REPO.parent / "shared" / "data"):
        if cand.is_dir():
            return cand
    raise SystemExit("no data directory found; pass --data-dir")


# --------------------------------------------------------------------------- countries
COUNTRY_SRC = (
    "Ember / Our World in Data annual carbon intensity of electricity "
    "(codecarbon country_energy_mix_2022_2023.json)"
)
COUNTRY_LIC = "CC-BY-4.0 (Ember, Our World in Data); file MIT (codecarbon)"
EXTRA_COUNTRY_ALIASES: dict[str, tuple[str, ...]] = {
    "GBR": ("UK", "U.K.", "Great Britain", "Britain"),
    "USA": ("US", "U.S.", "U.S.A.", "United States of America", "America"),
    "KOR": ("Korea", "Republic of Korea"),
    "PRK": ("DPRK",),
    "RUS": ("Russian Federation",),
    "CZE": ("Czech Republic",),
    "TUR": ("Turkey", "Türkiye"),
    "NLD": ("Holland", "The Netherlands"),
    "ARE": ("UAE",),
    "COD": ("DRC", "DR Congo", "Congo-Kinshasa"),
    "COG": ("Congo-Brazzaville", "Republic of the Congo"),
    "CIV": ("Ivory Coast",),
    "TLS": ("Timor-Leste",),
    "SWZ": ("Swaziland",),
    "MKD": ("Macedonia",),
    "MMR": ("Burma",),
    "CPV": ("Cabo Verde",),
    "VNM": ("Viet Nam",),
    "LAO": ("Lao PDR",),
    "IRN": ("Iran, Islamic Republic of",),
    "SYR": ("Syrian Arab Republic",),
    "TWN": ("Chinese Taipei",),
}


def build_countries(data: Path) -> list[dict[str, Any]]:
    mix = json.loads((data / "grid" / "country_energy_mix_2022_2023.json").read_text())
    rows = []
    for iso3, rec in sorted(mix.items()):
        ci = rec.get("carbon_intensity")
        if ci is None or not ci > 0:
            excluded(
                f"country {iso3} ({rec.get('country_name')}): carbon_intensity={ci!r} "
                f"with total {rec.get('total_TWh')} TWh is not a usable lifecycle value "
                "(a grid never has exactly 0 lifecycle intensity); treated as missing"
            )
            continue
        pc = pycountry.countries.get(alpha_3=iso3)
        if pc is None:
            raise SystemExit(f"country {iso3}: not an ISO 3166-1 alpha-3 code")
        names = [
            rec["country_name"],
            pc.name,
            getattr(pc, "common_name", None),
            getattr(pc, "official_name", None),
            *EXTRA_COUNTRY_ALIASES.get(iso3, ()),
        ]
        aliases = [pc.alpha_2, iso3, *(n for n in names if n)]
        rows.append(
            dict(
                region_id=iso3,
                name=rec["country_name"],
                kind="country",
                intensity_g_per_kwh=float(ci),
                low_g_per_kwh=None,
                high_g_per_kwh=None,
                basis="lifecycle",
                label="cited",
                source=COUNTRY_SRC,
                vintage=str(rec["year"]),
                licence=COUNTRY_LIC,
                iso2=pc.alpha_2,
                iso3=iso3,
                country_iso3=iso3,
                aliases=aliases,
                note="Generation-weighted lifecycle intensity (Ember applies IPCC AR5 lifecycle "
                "factors per fuel); production-based; latest year available; single source, "
                "so no range.",
            )
        )
    return rows


# -------------------------------------------------------------------------- US states
def build_us_states(data: Path) -> list[dict[str, Any]]:
    raw = json.loads((data / "grid" / "us_states_egrid2023_lb_per_mwh.json").read_text())
    unit = raw["_unit"]["emissions"]
    if unit != "lbs/MWh":
        raise SystemExit(f"eGRID file: expected lbs/MWh, got {unit!r}")
    year = str(raw["_source"]["year"])
    field = raw["_source"]["field"]
    rows = []
    for key, rec in sorted(raw.items()):
        if key.startswith("_"):
            continue
        code = rec["regionCode"].upper()
        if code == "USA":
            excluded(
                "eGRID 'usa' national rate: not a state; the USA country row uses "
                "Ember/OWID (lifecycle), and mixing bases in one row is avoided"
            )
            continue
        lb = float(rec["emissions"])
        name = " ".join(w if w == "of" else w.capitalize() for w in key.split())
        rows.append(
            dict(
                region_id=f"US-{code}",
                name=name,
                kind="us_state",
                intensity_g_per_kwh=g_per_kwh_from_lb_per_mwh(lb),
                low_g_per_kwh=None,
                high_g_per_kwh=None,
                basis="direct",
                label="cited",
                source=f"US EPA eGRID2023 {field} (state annual CO2e total output emission rate), "
                "via codecarbon",
                vintage=year,
                licence="US public domain (EPA); file MIT (codecarbon)",
                iso2=None,
                iso3=None,
                country_iso3="USA",
                aliases=[name, f"{name}, US", f"{name}, USA"],
                note=f"{lb} lb/MWh x 0.45359237 g/lb / 1000 kWh/MWh; direct (stack) emissions of "
                "in-state generation, production-based; single source, so no range.",
            )
        )
    return rows


# ------------------------------------------------------------------ Electricity Maps zones
EM_COUNTRY = {"Great Britain": "GBR", "United States of America": "USA", "Russia": "RUS"}


def load_em(data: Path) -> dict[str, dict[str, Any]]:
    """zone -> {name, country, years: {year: value}} keeping years with enough coverage."""
    zones: dict[str, dict[str, Any]] = {}
    with (data / "grid" / "electricitymaps_zone_yearly_2017_2021.csv").open(newline="") as fh:
        for i, rec in enumerate(csv.DictReader(fh), start=2):
            z = zones.setdefault(
                rec["zone_key"],
                {
                    "name": rec["Zone Name"],
                    "country": rec["Country"],
                    "years": {},
                    "hours": {},
                    "dropped": [],
                },
            )
            hours = int(float(rec["no_hours_with_data"] or 0))
            val = rec["carbon_intensity_avg"]
            if val == "" or hours < EM_MIN_HOURS:
                z["dropped"].append(f"{rec['year']} ({hours} h)")
                continue
            v = float(val)
            if not 0 <= v < MAX_PLAUSIBLE_G_PER_KWH:
                raise SystemExit(f"electricitymaps row {i}: implausible {v}")
            z["years"][int(rec["year"])] = v
            z["hours"][int(rec["year"])] = hours
    return zones


def em_country(name: str) -> str | None:
    if name in EM_COUNTRY:
        return EM_COUNTRY[name]
    try:
        return str(pycountry.countries.lookup(name).alpha_3)
    except LookupError:
        return None


def build_em_zones(em: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for zone, z in sorted(em.items()):
        years: dict[int, float] = z["years"]
        if not years:
            excluded(
                f"Electricity Maps zone {zone}: no year with >= {EM_MIN_HOURS} hours of "
                f"data (years: {', '.join(z['dropped'])})"
            )
            continue
        latest = max(years)
        vals = [years[y] for y in sorted(years)]
        lo, hi = (min(vals), max(vals)) if len(vals) > 1 else (None, None)
        spread = ", ".join(f"{y}: {fmt(years[y], 1)}" for y in sorted(years))
        aliases = [zone, z["name"]]
        if zone in ("DK-DK1", "DK-DK2"):
            aliases.append(zone[3:])
        rows.append(
            dict(
                region_id=f"em:{zone}",
                name=f"{z['name']} ({z['country']})",
                kind="em_zone",
                intensity_g_per_kwh=years[latest],
                low_g_per_kwh=lo,
                high_g_per_kwh=hi,
                basis="lifecycle",
                label="cited",
                source="Electricity Maps yearly average carbon intensity (via mlco2/impact)",
                vintage=str(latest),
                licence="MIT (mlco2/impact repository); data (c) Electricity Maps",
                iso2=None,
                iso3=None,
                country_iso3=em_country(z["country"]),
                aliases=aliases,
                note=f"Value: latest year with >= {EM_MIN_HOURS} h of data "
                f"({z['hours'][latest]} h). "
                + (
                    f"Range: year-to-year spread of annual means ({spread})."
                    if lo is not None
                    else f"Only one qualifying year ({spread}): no range."
                )
                + (
                    f" Years left out for coverage: {', '.join(z['dropped'])}."
                    if z["dropped"]
                    else ""
                ),
            )
        )
    return rows


# --------------------------------------------------------------------- Canada (derived)
CA_CODES = {
    "alberta": "AB",
    "british columbia": "BC",
    "manitoba": "MB",
    "new brunswick": "NB",
    "newfoundland and labrador": "NL",
    "northwest territories": "NT",
    "nova scotia": "NS",
    "nunavut": "NU",
    "ontario": "ON",
    "prince edward island": "PE",
    "quebec": "QC",
    "saskatchewan": "SK",
    "yukon": "YT",
}
#: codecarbon mix category -> IPCC AR5 technologies it may stand for
CA_FACTOR_MAP = {
    "naturalGas": ("gas",),
    "nuclear": ("nuclear",),
    "petroleum": ("oil",),
    "biomass": ("biomass",),
    "coal": ("coal",),
    "hydro": ("hydro",),
    "solar": ("solar_pv_utility", "solar_pv_rooftop", "solar_csp"),
    "wind": ("wind_onshore", "wind_offshore"),
    "tidal": (),
    "other": (),
}


def build_canada(data: Path, em: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    mix = json.loads((data / "grid" / "canada_provinces_2023.json").read_text())
    ipcc: dict[str, float] = {}
    with (data / "grid" / "ipcc_ar5_lifecycle_factors.csv").open(newline="") as fh:
        for rec in csv.DictReader(fh):
            ipcc[rec["source"]] = float(rec["lifecycle_g_co2e_per_kwh"])
    rows = []
    for prov, shares in sorted(mix.items()):
        code = CA_CODES[prov]
        total = sum(v for k, v in shares.items() if k != "total")
        val = lo = hi = 0.0
        for cat, pct in shares.items():
            if cat == "total" or pct == 0:
                continue
            techs = CA_FACTOR_MAP.get(cat)
            if not techs:
                raise SystemExit(f"canada {prov}: {pct}% {cat!r} has no lifecycle factor")
            fs = [ipcc[t] for t in techs]
            w = pct / total
            val += w * statistics.fmean(fs)
            lo += w * min(fs)
            hi += w * max(fs)
        notes = [
            f"Sum over the 2023 generation shares (normalised by their sum, {fmt(total, 2)} %)"
            " of IPCC AR5 lifecycle medians (coal 820, gas 490, oil 650, biomass 230, "
            "hydro 24, nuclear 12; solar = mean of utility PV 48, rooftop 41, CSP 27; "
            "wind = mean of onshore 11, offshore 12). Range: solar/wind technology choice"
        ]
        em_zone = em.get(f"CA-{code}")
        if em_zone and em_zone["years"]:
            ys = em_zone["years"]
            lo = min(lo, *ys.values())
            hi = max(hi, *ys.values())
            notes.append(
                " and the independent Electricity Maps annual means for CA-"
                + code
                + " ("
                + ", ".join(f"{y}: {fmt(v, 1)}" for y, v in sorted(ys.items()))
                + ")"
            )
        name = " ".join(w if w == "and" else w.capitalize() for w in prov.split())
        rows.append(
            dict(
                region_id=f"CA-{code}",
                name=name,
                kind="ca_province",
                intensity_g_per_kwh=val,
                low_g_per_kwh=lo if hi > lo else None,
                high_g_per_kwh=hi if hi > lo else None,
                basis="lifecycle",
                label="derived",
                source="Canada provincial generation mix 2023 "
                "(codecarbon canada_provinces_2023.json)"
                " x IPCC AR5 WG3 Annex III lifecycle medians",
                vintage="2023",
                licence="MIT (codecarbon); IPCC factors are published facts",
                iso2=None,
                iso3=None,
                country_iso3="CAN",
                aliases=[name, "Québec" if code == "QC" else name, f"{name}, Canada"],
                note="".join(notes) + ".",
            )
        )
    return rows


# ---------------------------------------------------------------------- China provinces
def build_china(data: Path) -> list[dict[str, Any]]:
    raw = json.loads((data / "grid" / "china_provinces_2023.json").read_text())
    meta = raw["metadata"]
    if meta["unit"] != "gCO2/kWh":
        raise SystemExit(f"china file: unexpected unit {meta['unit']!r}")
    rows = []
    for code, rec in sorted(raw["data"].items()):
        if rec["unit"] != "gCO2/kWh":
            raise SystemExit(f"china {code}: unexpected unit {rec['unit']!r}")
        rows.append(
            dict(
                region_id=code,
                name=rec["description"],
                kind="cn_province",
                intensity_g_per_kwh=float(rec["emission_factor"]),
                low_g_per_kwh=None,
                high_g_per_kwh=None,
                basis="direct",
                label="cited",
                source=f"China MEE & NBS Announcement {meta['announcement']} (published "
                f"{meta['published']}), Table 3 provincial average electricity CO2 factors, "
                "via codecarbon",
                vintage=str(rec["year"]),
                licence="official government publication; file MIT (codecarbon)",
                iso2=None,
                iso3=None,
                country_iso3="CHN",
                aliases=[rec["description"], *rec.get("names", []), f"{rec['description']}, China"],
                note="CO2 only (not CO2e), combustion emissions, average over electricity "
                "generated "
                "in the province adjusted for inter-provincial transfers; single source, so "
                "no range. Tibet, Hong Kong, Macao and Taiwan are not in the table.",
            )
        )
    return rows


# ------------------------------------------------------------------------- Nordic zones
def build_nordic(data: Path, em: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    raw = json.loads((data / "grid" / "nordic_zones_2024.json").read_text())
    rows = []
    for zone, rec in sorted(raw["data"].items()):
        if zone == "FI":
            excluded(
                "Nordic 'FI': metadata says 'prior value, unchanged' with no source, method "
                "or year; Finland is covered by the FIN country row"
            )
            continue
        if rec["unit"] != "gCO2eq/kWh":
            raise SystemExit(f"nordic {zone}: unexpected unit {rec['unit']!r}")
        v = float(rec["emission_factor"])
        note = (
            f"ENTSO-E {rec['year']} actual generation per type x codecarbon per-source factors"
            " (lifecycle-type factors for hydro/wind/nuclear/solar, fleet factors for fossil);"
            f" production-based. Coverage {rec.get('coverage', 'n/a')}: types without a factor"
            " count as 0, so the value is a lower bound where coverage < 100 %."
        )
        lo = hi = None
        z = em.get(f"NO-{zone}") if zone.startswith("NO") else None
        if z and z["years"]:
            ys = z["years"]
            lo, hi = min(v, *ys.values()), max(v, *ys.values())
            note += (
                " Range: spread between this value and the independent Electricity Maps "
                f"annual means for NO-{zone} ("
                + ", ".join(f"{y}: {fmt(x, 1)}" for y, x in sorted(ys.items()))
                + "); it mixes source differences and year-to-year change."
            )
        else:
            note += " No independent source for this zone, so no range."
        rows.append(
            dict(
                region_id=zone,
                name=rec["description"],
                kind="nordic_zone",
                intensity_g_per_kwh=v,
                low_g_per_kwh=lo,
                high_g_per_kwh=hi,
                basis="lifecycle",
                label="cited",
                source="codecarbon nordic_zones_2024.json (ENTSO-E Transparency A75, derived by "
                "Khepri v1.3)",
                vintage=str(rec["year"]),
                licence="MIT (codecarbon); ENTSO-E Transparency data",
                iso2=None,
                iso3=None,
                country_iso3={"SE": "SWE", "NO": "NOR", "DK": "DNK"}.get(zone[:2]),
                aliases=[rec["description"]],
                note=note,
            )
        )
    return rows


# ------------------------------------------------------------------------ cloud regions
# (source label, basis, vintage) for each CCF "Source" value.
CCF_SOURCES = {
    "EPA": ("US EPA eGRID2019 NERC-region CO2e output rate", "direct", "2019"),
    "carbonfootprint.com": (
        "carbonfootprint.com country grid factors 2020 (v1.3)",
        "direct",
        "2020",
    ),
    "EEA": (
        "EEA CO2 emission intensity of electricity generation (indicator v6)",
        "direct",
        "<=2019",
    ),
    "EMA Singapore": ("Energy Market Authority Singapore grid emission factor", "direct", "<=2019"),
    "Google": (
        "Google Cloud region carbon data 2019 (lifecycle grid carbon intensity)",
        "lifecycle",
        "2019",
    ),
}
# Basis for the mlco2/impact rows, keyed by a substring of their "source" cell.  Sources whose
# basis is not documented map to None: such rows are used in ranges, never as the value.
MLCO2_BASIS = (
    ("eGRID", "direct"),
    ("carbonfootprint.com", "direct"),
    ("fepc.or.jp", "direct"),
    ("cea.nic.in", "direct"),
    ("cleanenergyregulator", "direct"),
    ("ema.gov.sg", "direct"),
    ("electricitymap", "lifecycle"),
)
LOCATION_ISO3 = {
    "England": "GBR",
    "London": "GBR",
    "Cardiff": "GBR",
    "Pune": "IND",
    "Chennai": "IND",
    "Mumbai": "IND",
    "Paris": "FRA",
    "Helsinki": "FIN",
    "Frankfurt": "DEU",
    "Brussels": "BEL",
    "Gavle": "SWE",
    "Hong Kong": "HKG",
    "USA": "USA",
    "Korea": "KOR",
    "South Korea": "KOR",
    "Los Angeles": "USA",
    "Salt Lake City": "USA",
    "Las Vegas": "USA",
    "Northern Virginia": "USA",
    "Taiwan": "TWN",
}


def location_iso3(name: str, states: set[str]) -> str | None:
    if name in LOCATION_ISO3:
        return LOCATION_ISO3[name]
    if name in states:
        return "USA"
    try:
        return str(pycountry.countries.lookup(name).alpha_3)
    except LookupError:
        return None


def _tkwh(text: str, where: str) -> float | None:
    """CCF metric t/kWh -> g/kWh; None (excluded) when the cell is not a plausible factor."""
    try:
        g = g_per_kwh_from_t_per_kwh(float(text))
    except ValueError:
        excluded(f"{where}: {text!r} is not a number")
        return None
    if not (0 <= g < MAX_PLAUSIBLE_G_PER_KWH) or not text.startswith("0."):
        excluded(
            f"{where}: {text!r} t/kWh is malformed or implausible ({g:g} g/kWh; the "
            "upstream CCF table has no such row to check against)"
        )
        return None
    return g


def build_cloud(data: Path, states: set[str]) -> list[dict[str, Any]]:
    grid = data / "grid"
    # (provider, region) -> list of (value, source, basis|None, vintage)
    cites: dict[tuple[str, str], list[tuple[float, str, str | None, str]]] = defaultdict(list)
    names: dict[tuple[str, str], list[str]] = defaultdict(list)
    iso: dict[tuple[str, str], str | None] = {}
    cities: dict[tuple[str, str], str] = {}

    # 1. Google 2023 via codecarbon (GCP)
    with (grid / "cloud_regions_impact.csv").open(newline="", encoding="utf-8-sig") as fh:
        for rec in csv.DictReader(fh):
            if rec["provider"] != "gcp":
                continue
            region = rec["region"]
            if region == "me-cenrtal1":  # typo in the source file; Google's id (Doha)
                region = "me-central1"
            key = ("gcp", region)
            cites[key].append(
                (
                    float(rec["impact"]),
                    "Google Cloud region carbon data 2023 (grid carbon intensity, "
                    "average operational gross emissions), via codecarbon",
                    "direct",
                    "2023",
                )
            )
            city = rec["city"]
            iso[key] = "HKG" if city == "Hong Kong" else (rec["countryIsoCode"] or None)
            cities[key] = city
    # 2. Cloud Carbon Footprint grid factors
    for provider in ("aws", "gcp", "azure"):
        path = grid / f"cloud_grid_factors_{provider}.csv"
        with path.open(newline="") as fh:
            reader = csv.reader(fh)
            header = next(reader)
            col = header.index("CO2e (metric ton/kWh)")
            for i, cells in enumerate(reader, start=2):
                if len(cells) != len(header) and not (
                    len(cells) == len(header) + 1 and cells[-1] == ""
                ):
                    excluded(f"{path.name} row {i}: {len(cells)} cells, expected {len(header)}")
                    continue
                display = cells[0]
                region = display.lower().replace(" ", "") if provider == "azure" else display
                g = _tkwh(cells[col], f"{path.name} row {i} ({display})")
                if g is None:
                    continue
                label, basis, vintage = CCF_SOURCES[cells[-1] if cells[-1] else cells[-2]]
                key = (provider, region)
                cites[key].append(
                    (g, f"Cloud Carbon Footprint grid factor: {label}", basis, vintage)
                )
                if provider == "azure":
                    names[key].append(display)
                loc = cells[1]
                iso.setdefault(key, location_iso3(loc, states))
                cities.setdefault(key, loc)
    # 3. mlco2/impact (older; mixed sources)
    with (grid / "cloud_regions_impact_mlco2.csv").open(newline="") as fh:
        for rec in csv.DictReader(fh):
            provider = rec["provider"]
            if provider not in ("aws", "gcp", "azure"):
                continue
            key = (provider, rec["region"])
            src = rec["source"]
            mbasis = next((b for s, b in MLCO2_BASIS if s in src), None)
            cites[key].append(
                (
                    float(rec["impact"]),
                    f"mlco2/impact: {src or 'no source given'}",
                    mbasis,
                    "<=2019",
                )
            )
            if rec["regionName"]:
                names[key].append(rec["regionName"])
            city = rec["city"]
            iso.setdefault(
                key, location_iso3("Hong Kong" if city == "Hong Kong" else rec["country"], states)
            )
            cities.setdefault(key, city)

    rows = []
    for (provider, region), cs in sorted(cites.items()):
        primary = next((c for c in cs if c[2] is not None), None)
        if primary is None:
            excluded(
                f"cloud {provider}:{region}: only sources without a documented basis ("
                + "; ".join(f"{c[1]} = {c[0]:g}" for c in cs)
                + ")"
            )
            continue
        vals = [c[0] for c in cs]
        lo, hi = min(vals), max(vals)
        listing = "; ".join(
            f"{c[1]} [{c[3]}, {c[2] or 'basis not documented'}] = {fmt(c[0], 1)}" for c in cs
        )
        note = (
            f"Value: the first of these in order of preference (provider-published, then "
            f"CCF, then mlco2/impact). Cited values: {listing}."
        )
        if hi > lo:
            note += " Range: spread between the cited sources, which differ in vintage and basis."
        else:
            lo = hi = None  # type: ignore[assignment]
            note += " A single distinct value: no range."
        disp = sorted(set(names[(provider, region)]))
        where = cities.get((provider, region), "")
        rows.append(
            dict(
                region_id=f"{provider}:{region}",
                name=f"{provider.upper() if provider != 'azure' else 'Azure'} {region}"
                + (f" ({disp[0]})" if disp else f" ({where})" if where else ""),
                kind="cloud_region",
                intensity_g_per_kwh=primary[0],
                low_g_per_kwh=lo,
                high_g_per_kwh=hi,
                basis=primary[2],
                label="cited",
                source=primary[1],
                vintage=primary[3],
                licence="Apache-2.0 (Cloud Carbon Footprint)"
                if "Cloud Carbon" in primary[1]
                else "MIT (codecarbon)"
                if "codecarbon" in primary[1]
                else "MIT (mlco2/impact)",
                iso2=None,
                iso3=None,
                country_iso3=iso.get((provider, region)),
                aliases=[region, *disp],
                note=note,
            )
        )
    return rows


# ------------------------------------------------------------------------- assembling
def to_csv(rows: Iterable[dict[str, Any]], columns: tuple[str, ...]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(columns)
    for r in rows:
        out = []
        for c in columns:
            v = r[c]
            if isinstance(v, float):
                v = fmt(v)
            elif isinstance(v, list | tuple):
                v = "|".join(dict.fromkeys(str(x) for x in v if x))
            elif v is None:
                v = ""
            out.append(str(v))
        w.writerow(out)
    return buf.getvalue()


KIND_ORDER = (
    "country",
    "us_state",
    "ca_province",
    "cn_province",
    "nordic_zone",
    "em_zone",
    "cloud_region",
)


def build_regions(data: Path) -> str:
    em = load_em(data)
    us = build_us_states(data)
    states = {r["name"] for r in us}
    rows = [
        *build_countries(data),
        *us,
        *build_canada(data, em),
        *build_china(data),
        *build_nordic(data, em),
        *build_em_zones(em),
        *build_cloud(data, states),
    ]
    for r in rows:
        v = r["intensity_g_per_kwh"]
        if not 0 <= v < MAX_PLAUSIBLE_G_PER_KWH:
            raise SystemExit(f"{r['region_id']}: implausible intensity {v}")
        # an alias equal to the id adds nothing
        r["aliases"] = [a for a in dict.fromkeys(r["aliases"]) if a and a != r["region_id"]]
    rows.sort(key=lambda r: (KIND_ORDER.index(r["kind"]), r["region_id"]))
    # drop aliases that a region of higher precedence (or an exact id) already claims
    shadow = shadowed_aliases(parse_regions_csv(to_csv(rows, REGION_COLUMNS)))
    for r in rows:
        gone = set(shadow.get(r["region_id"], ()))
        if gone:
            r["aliases"] = [a for a in r["aliases"] if a not in gone]
            print(
                f"note: {r['region_id']}: aliases claimed by another region dropped: "
                f"{sorted(gone)}",
                file=sys.stderr,
            )
    text = to_csv(rows, REGION_COLUMNS)
    regions = parse_regions_csv(text)
    assert not shadowed_aliases(regions), "alias pruning did not converge"
    return text


# ------------------------------------------------------------------------ cloud instances
AWS_CPU_MICROARCH = {
    "Graviton": "Graviton",
    "Graviton2": "Graviton2",
    "Core i7-8700B": "Coffee Lake",
    "EPYC 7571": "EPYC 1st Gen",
    "EPYC 7R32": "EPYC 2nd Gen",
    "Xeon E5-2650": "Sandy Bridge",
    "Xeon E5-2665": "Sandy Bridge",
    "Xeon E5-2670": "Sandy Bridge",
    "Xeon E5-2651 v2": "Ivy Bridge",
    "Xeon E5-2670 v2": "Ivy Bridge",
    "Xeon E5-2680 v2": "Ivy Bridge",
    "Xeon E5-2666 v3": "Haswell",
    "Xeon E5-2676 v3": "Haswell",
    "Xeon E7-8880 v3": "Haswell",
    "Xeon E5-2686 v4": "Broadwell",
    "Xeon Platinum 8124M": "Sky Lake",
    "Xeon Platinum 8151": "Sky Lake",
    "Xeon Platinum 8175M": "Sky Lake",
    "Xeon Platinum 8176M": "Sky Lake",
    "Xeon Platinum 8252C": "Cascade Lake",
    "Xeon Platinum 8259CL": "Cascade Lake",
    "Xeon Platinum 8275CL": "Cascade Lake",
    # Ice Lake: no CCF coefficient -> provider-wide convention (see note)
    "Xeon Platinum 8375C": "Ice Lake",
}


def _use_coeffs(path: Path) -> dict[str, tuple[float, float]]:
    with path.open(newline="") as fh:
        return {
            r["Architecture"]: (float(r["Min Watts"]), float(r["Max Watts"]))
            for r in csv.DictReader(fh)
        }


def _watts(
    provider: str, archs: list[str], coeffs: dict[str, tuple[float, float]]
) -> tuple[tuple[float, float, float], tuple[float, float, float], str]:
    """(min W/vCPU: value, low, high), (max W/vCPU: value, low, high), explanation."""
    known = [a for a in archs if a in coeffs]
    use = known or sorted(coeffs)
    outl = any(a in ("Ivy Bridge", "Sandy Bridge") for a in use)
    median = outl or (not known and provider == "gcp")
    stat = "median" if median else "mean"
    if known:
        why = f"per-vCPU coefficients of {', '.join(known)}" + (
            f" ({stat} over the candidates, range min..max)" if len(known) > 1 else ""
        )
    else:
        why = (
            f"micro-architecture {'/'.join(archs) or 'unknown'} has no CCF coefficient: "
            f"{stat} of all {len(use)} {provider} micro-architectures, range min..max "
            "(CCF convention: mean, median when Ivy/Sandy Bridge are included; GCP median)"
        )
    mins = [coeffs[a][0] for a in use]
    maxs = [coeffs[a][1] for a in use]
    agg = statistics.median if median else statistics.fmean
    return ((agg(mins), min(mins), max(mins)), (agg(maxs), min(maxs), max(maxs)), why)


def _num(text: str, where: str) -> float:
    try:
        return float(text)
    except ValueError as exc:
        raise SystemExit(f"{where}: {text!r} is not a number") from exc


def build_instances(data: Path) -> str:
    ccf = data / "hardware" / "ccf"
    rows: list[dict[str, Any]] = []
    # AWS: one row per type
    coeffs = _use_coeffs(ccf / "coefficients-aws-use.csv")
    with (ccf / "coefficients-aws-embodied.csv").open(newline="") as fh:
        emb = {r["type"]: float(r["total"]) for r in csv.DictReader(fh)}
    with (ccf / "aws-instances.csv").open(newline="") as fh:
        for i, r in enumerate(csv.DictReader(fh), start=2):
            t = r["Instance type"]
            vcpus = _num(r["Instance vCPU"], f"aws-instances.csv row {i}")
            platform = _num(r["Platform Total Number of vCPU"], f"aws-instances.csv row {i}")
            if vcpus > platform:
                excluded(f"aws-instances.csv {t}: {vcpus:g} vCPUs > {platform:g} platform vCPUs")
                continue
            arch = AWS_CPU_MICROARCH[r["Platform CPU Name"]]
            mn, mx, why = _watts("aws", [arch], coeffs)
            gpus = r["Instance Number of GPU"]
            rows.append(
                dict(
                    provider="aws",
                    instance_type=t,
                    family=t.split(".")[0],
                    vcpus=vcpus,
                    platform_vcpus=platform,
                    microarchitectures=[arch],
                    gpus=0 if gpus == "N/A" else int(gpus),
                    gpu_name="" if r["Platform GPU Name"] == "N/A" else r["Platform GPU Name"],
                    platform_embodied_kg=emb[t],
                    platform_embodied_low_kg=None,
                    platform_embodied_high_kg=None,
                    min_w_per_vcpu=mn[0],
                    min_w_per_vcpu_low=mn[1],
                    min_w_per_vcpu_high=mn[2],
                    max_w_per_vcpu=mx[0],
                    max_w_per_vcpu_low=mx[1],
                    max_w_per_vcpu_high=mx[2],
                    note=f"CPU {r['Platform CPU Name']}; watts: {why}",
                )
            )
    # GCP and Azure: one row per (type, candidate micro-architecture) -> grouped
    specs = {
        "gcp": (
            "gcp-instances.csv",
            "Machine type",
            "Machine Family",
            "coefficients-gcp-embodied.csv",
        ),
        "azure": (
            "azure-instances.csv",
            "Virtual Machine",
            "Series",
            "coefficients-azure-embodied.csv",
        ),
    }
    for provider, (inst_file, tcol, fcol, emb_file) in specs.items():
        coeffs = _use_coeffs(ccf / f"coefficients-{provider}-use.csv")
        groups: dict[str, list[dict[str, str]]] = defaultdict(list)
        with (ccf / inst_file).open(newline="") as fh:
            for r in csv.DictReader(fh):
                groups[r[tcol]].append(r)
        embs: dict[str, list[float]] = defaultdict(list)
        with (ccf / emb_file).open(newline="") as fh:
            for r in csv.DictReader(fh):
                embs[r["type"]].append(float(r["total"]))
        for t, rs in sorted(groups.items()):
            vc = {r["Instance vCPUs"] for r in rs}
            pv = {r["Platform vCPUs (highest vCPU possible)"] for r in rs}
            gp = {r["Instance GPUs"] for r in rs}
            if len(vc) != 1 or len(pv) != 1 or len(gp) != 1:
                raise SystemExit(f"{inst_file} {t}: rows disagree on vCPUs/platform/GPUs")
            vcpus, platform = _num(next(iter(vc)), t), _num(next(iter(pv)), t)
            if vcpus > platform:
                excluded(
                    f"{inst_file} {t}: {vcpus:g} instance vCPUs > {platform:g} platform "
                    "vCPUs, so the vCPU share of the server would exceed 1"
                )
                continue
            archs = sorted({r["Microarchitecture"] for r in rs} - {"Unknown"})
            mn, mx, why = _watts(provider, archs, coeffs)
            te = embs[t]
            if not te:
                raise SystemExit(f"{emb_file}: no embodied row for {t}")
            te_mean = statistics.fmean(te)
            rows.append(
                dict(
                    provider=provider,
                    instance_type=t,
                    family=rs[0][fcol],
                    vcpus=vcpus,
                    platform_vcpus=platform,
                    microarchitectures=archs or ["Unknown"],
                    gpus=int(_num(gp.pop() or "0", t)),
                    gpu_name="",
                    platform_embodied_kg=te_mean,
                    platform_embodied_low_kg=min(te) if max(te) > min(te) else None,
                    platform_embodied_high_kg=max(te) if max(te) > min(te) else None,
                    min_w_per_vcpu=mn[0],
                    min_w_per_vcpu_low=mn[1],
                    min_w_per_vcpu_high=mn[2],
                    max_w_per_vcpu=mx[0],
                    max_w_per_vcpu_low=mx[1],
                    max_w_per_vcpu_high=mx[2],
                    note=f"watts: {why}"
                    + (
                        f"; embodied: mean over {len(te)} candidate micro-architectures, range "
                        "min..max"
                        if len(te) > 1
                        else ""
                    ),
                )
            )
    for r in rows:  # a range only where the candidates differ
        for base in ("min_w_per_vcpu", "max_w_per_vcpu", "platform_embodied"):
            lo_k, hi_k = (
                (f"{base}_low", f"{base}_high")
                if base != "platform_embodied"
                else ("platform_embodied_low_kg", "platform_embodied_high_kg")
            )
            if r[lo_k] is not None and r[lo_k] == r[hi_k]:
                r[lo_k] = r[hi_k] = None
    # cross-check GCP means against CCF's own mean table
    with (ccf / "coefficients-gcp-embodied-mean.csv").open(newline="") as fh:
        means = {r["type"]: float(r["total_mean"]) for r in csv.DictReader(fh)}
    for r in rows:
        if r["provider"] == "gcp" and r["instance_type"] in means:
            ref = means[r["instance_type"]]
            if abs(r["platform_embodied_kg"] - ref) > 0.01 * ref:
                raise SystemExit(
                    f"gcp {r['instance_type']}: mean {r['platform_embodied_kg']} != CCF mean {ref}"
                )
    rows.sort(key=lambda r: (r["provider"], r["instance_type"]))
    seen = set()
    for r in rows:
        k = (r["provider"], r["instance_type"].casefold())
        if k in seen:
            raise SystemExit(f"duplicate instance {k}")
        seen.add(k)
    return to_csv(rows, INSTANCE_COLUMNS)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="the shared data folder (default /work/shared/data or ../shared/data)",
    )
    ap.add_argument("--out-dir", type=Path, default=OUT_DIR)
    ap.add_argument(
        "--check", action="store_true", help="exit 1 if the files on disk differ from a fresh build"
    )
    args = ap.parse_args(argv)
    data = args.data_dir or default_data_dir()
    outputs = {"regions.csv": build_regions(data), "cloud_instances.csv": build_instances(data)}
    for what in EXCLUDED:
        print(f"excluded: {what}", file=sys.stderr)
    stale = []
    for name, text in outputs.items():
        path = args.out_dir / name
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path} ({text.count(chr(10)) - 1} rows)", file=sys.stderr)
    if stale:
        print(f"stale: {', '.join(stale)}; run python tools/build_reference.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
