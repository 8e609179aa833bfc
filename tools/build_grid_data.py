"""Regenerate the bundled grid data under src/infercarbon/grid/data/ from /work/shared/data.

Usage::

    python tools/build_grid_data.py [--shared ../shared/data] [--only factors|ercot]

Writes

* ``fuel_emission_factors.csv``: g CO2 / CH4 / N2O per MMBtu of fuel per canonical fuel,
  from the EPA eGRID static table ``co2_ch4_n2o_ef.csv`` (short tons CO2 / lb CH4 / lb N2O per
  MMBtu -> grams), plus the geothermal output rates (lb/MWh -> g/kWh);
* ``heat_rates.csv``: heat rates [MMBtu/MWh] per region and fuel: generic US fleet rates
  cited from EIA, ERCOT's non-combined-cycle gas rate weighted by the May 2025 CDR installed
  capacity, and German rates from the OPSD efficiency column;
* ``lifecycle_factors.csv``: IPCC AR5 WG3 Annex III Table A.III.2 min / median / max;
* ``gwp.csv``: the GWP100 values of the eGRID static table;
* ``ercot_fuel_mix_15min.npz``: the parsed ERCOT 15-minute series (see ``infercarbon.grid.ercot``).

Every row carries source, vintage, licence; SOURCES.md documents each derivation.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src" / "infercarbon" / "grid" / "data"

G_PER_LB = 453.59237
G_PER_SHORT_TON = 2000 * G_PER_LB  # US short ton = 2,000 lb exactly
J_PER_MMBTU = 1_055_055_852.62
J_PER_MWH = 3_600_000_000
MMBTU_PER_MWH = J_PER_MWH / J_PER_MMBTU  # 3.41214... thermal equivalent of 1 MWh

EPA_SRC = "US EPA eGRID static tables (co2_ch4_n2o_ef.csv; EPA GHG MRR 40 CFR 98 Tables C-1/C-2)"
EPA_LIC = "US public domain (via MIT-licensed repo)"

# canonical fuel -> (EPA fuel_type rows to average for the central value; the range spans them)
EF_ROWS: dict[tuple[str, str], tuple[str, ...]] = {
    ("generic", "coal"): (
        "Mixed (Electric Power sector)",
        "Bituminous",
        "Subbituminous",
        "Lignite",
    ),
    ("generic", "lignite"): ("Lignite",),
    ("generic", "gas"): ("Pipeline (Weighted U.S. Average)",),
    ("generic", "oil"): ("Distillate Fuel Oil (avg)", "Residual Fuel Oil (avg)"),
    ("generic", "biomass"): ("Wood and Wood Residuals",),
    ("generic", "other"): ("Other",),  # EPA: 'use NG'
    # ERCOT burns Texas lignite and Powder River Basin subbituminous coal
    ("ERCOT", "coal"): ("Lignite", "Subbituminous"),
}

# --- EIA heat rates [Btu/kWh] (cited; see SOURCES.md) --------------------------------------
# EIA Electric Power Annual Table 8.1, average operating heat rate, 2019..2022
# https://www.eia.gov/electricity/annual/html/epa_08_01.html
EIA81 = {
    "coal": (10551, 10655, 10583, 10689),
    "oil": (11205, 11259, 11224, 11166),
    "gas": (7725, 7725, 7689, 7740),
}
EIA81_SRC = "EIA Electric Power Annual Table 8.1 (average operating heat rate), 2019-2022"
# EIA Electric Power Annual Table 8.2 (average tested heat rates by prime mover), rounded;
# range +-10 % for unit-to-unit spread.  CC range: EIA Today in Energy (2020): units built
# since 2015 average 6,654 Btu/kWh, units built before 2000 8,840 Btu/kWh.
EIA82 = {
    "gas_cc": (7600, 6654, 8840),
    "gas_ct": (11200, 10080, 12320),
    "gas_steam": (10400, 9360, 11440),
    "gas_ic": (8800, 7920, 9680),
}
EIA82_SRC = (
    "EIA Electric Power Annual Table 8.2 (tested heat rate by prime mover), rounded 2019-2022"
)

# IPCC AR5 WG3 Annex III (Schloemer et al. 2014) Table A.III.2, gCO2e/kWh:
# fuel -> (min, median, max, direct-emissions median or None)
IPCC = {
    "coal": (740.0, 820.0, 910.0, 760.0),
    "gas_cc": (410.0, 490.0, 650.0, 370.0),
    "biomass": (130.0, 230.0, 420.0, None),
    "geothermal": (6.0, 38.0, 79.0, None),
    "hydro": (1.0, 24.0, 2200.0, None),
    "nuclear": (3.7, 12.0, 110.0, None),
    "solar": (18.0, 48.0, 180.0, None),
    "wind": (7.0, 11.0, 56.0, None),
}
IPCC_FILE_KEYS = {
    "coal": "coal",
    "gas_cc": "gas",
    "biomass": "biomass",
    "geothermal": "geothermal",
    "hydro": "hydro",
    "nuclear": "nuclear",
    "solar": "solar_pv_utility",
    "wind": "wind_onshore",
}


def build_factors(shared: Path) -> None:
    static = shared / "grid" / "epa_egrid_static"
    rows = list(csv.DictReader(io.StringIO((static / "co2_ch4_n2o_ef.csv").read_text("utf-8-sig"))))
    by_name: dict[str, dict[str, str]] = {}
    for r in rows:
        if (
            r["co2_units"] != "ton CO2/mmBtu"
            or r["ch4_units"] != "lbs CH4/mmBtu"
            or r["n2o_units"] != "lbs N2O/mmBtu"
        ):
            raise SystemExit(f"unexpected units in {r}")
        by_name.setdefault(r["fuel_type"], r)

    def grams(r: dict[str, str]) -> tuple[float, float, float]:
        # 'ton' in the eGRID static table is the US short ton: natural gas 0.058444529
        # ton/MMBtu x 907,184.74 g = 53.02 kg/MMBtu, the EPA Table C-1 value (53.06 kg);
        # read as metric it would be 58.4 kg, 10 % above every EPA publication.
        return (
            float(r["co2_ef"]) * G_PER_SHORT_TON,
            float(r["ch4_ef"]) * G_PER_LB,
            float(r["n2o_ef"]) * G_PER_LB,
        )

    out = []
    for (region, fuel), names in EF_ROWS.items():
        vals = np.array([grams(by_name[n]) for n in names])
        central = vals[0] if region == "generic" and fuel == "coal" else vals.mean(axis=0)
        out.append(
            {
                "region": region,
                "fuel": fuel,
                "co2_g_per_mmbtu": f"{central[0]:.4f}",
                "co2_low_g_per_mmbtu": f"{vals[:, 0].min():.4f}",
                "co2_high_g_per_mmbtu": f"{vals[:, 0].max():.4f}",
                "ch4_g_per_mmbtu": f"{central[1]:.6f}",
                "n2o_g_per_mmbtu": f"{central[2]:.6f}",
                "biogenic_co2": "yes" if fuel == "biomass" else "no",
                "epa_fuel_types": "; ".join(names),
                "source": EPA_SRC,
                "vintage": "eGRID2022 static",
                "licence": EPA_LIC,
            }
        )
    _write(OUT / "fuel_emission_factors.csv", out)

    gwp = list(
        csv.DictReader(
            io.StringIO((static / "global_warming_potential.csv").read_text("utf-8-sig"))
        )
    )
    _write(
        OUT / "gwp.csv",
        [
            {
                "gas": g["Gas"],
                "gwp100": g["gwp"],
                "source": "US EPA eGRID static global_warming_potential.csv (IPCC AR5 GWP100)",
                "licence": EPA_LIC,
            }
            for g in gwp
        ],
    )

    geo = list(
        csv.DictReader(
            io.StringIO((static / "geothermal_emission_factors.csv").read_text("utf-8-sig"))
        )
    )
    _write(
        OUT / "geothermal_rates.csv",
        [
            {
                "geo_type": g["GeoTypeCode"],
                "description": g["GeoType Description"],
                "co2_g_per_kwh": f"{float(g['co2_ef_lb_mwh']) * G_PER_LB / 1000:.4f}",
                "source": "US EPA eGRID static geothermal_emission_factors.csv "
                "(lb/MWh x 0.45359237)",
                "licence": EPA_LIC,
            }
            for g in geo
        ],
    )

    # ------------------------------------------------------------ lifecycle
    medians = {
        r["source"]: float(r["lifecycle_g_co2e_per_kwh"])
        for r in csv.DictReader(
            io.StringIO((shared / "grid" / "ipcc_ar5_lifecycle_factors.csv").read_text("utf-8"))
        )
    }
    lc = []
    for fuel, (lo, med, hi, direct) in IPCC.items():
        if medians[IPCC_FILE_KEYS[fuel]] != med:
            raise SystemExit(f"IPCC median mismatch for {fuel}")
        lc.append(
            {
                "fuel": fuel,
                "min_g_per_kwh": lo,
                "median_g_per_kwh": med,
                "max_g_per_kwh": hi,
                "direct_median_g_per_kwh": "" if direct is None else direct,
                "source": "IPCC AR5 WG3 Annex III Table A.III.2 (Schloemer et al. 2014); medians "
                "as in shared/data/grid/ipcc_ar5_lifecycle_factors.csv",
                "vintage": "2014",
                "licence": "facts (IPCC)",
            }
        )
    _write(OUT / "lifecycle_factors.csv", lc)

    # ------------------------------------------------------------ heat rates
    hr: list[dict[str, object]] = []

    def add(
        region: str,
        fuel: str,
        c: float,
        lo: float,
        hi: float,
        src: str,
        vintage: str,
        licence: str,
        label: str,
        note: str,
    ) -> None:
        hr.append(
            {
                "region": region,
                "fuel": fuel,
                "heat_rate_mmbtu_per_mwh": round(c, 4),
                "low": round(min(lo, c), 4),
                "high": round(max(hi, c), 4),
                "source": src,
                "vintage": vintage,
                "licence": licence,
                "label": label,
                "note": note,
            }
        )

    for fuel, years in EIA81.items():
        c = sum(years) / len(years) / 1000
        add(
            "generic",
            fuel,
            c,
            min(years) / 1000 * 0.95,
            max(years) / 1000 * 1.05,
            EIA81_SRC,
            "2019-2022",
            "US public domain",
            "cited",
            "mean of 2019-2022 US fleet averages; range = min/max year widened by 5 % for "
            "regional fleet differences",
        )
    add(
        "generic",
        "lignite",
        *[
            x
            for x in (
                sum(EIA81["coal"]) / 4000,
                min(EIA81["coal"]) / 1000 * 0.95,
                max(EIA81["coal"]) / 1000 * 1.05,
            )
        ],
        EIA81_SRC,
        "2019-2022",
        "US public domain",
        "cited",
        "coal fleet heat rate (EIA does not split lignite)",
    )
    for fuel, (c, lo, hi) in EIA82.items():
        add(
            "generic",
            fuel,
            c / 1000,
            lo / 1000,
            hi / 1000,
            EIA82_SRC,
            "2019-2022",
            "US public domain",
            "cited",
            "rounded national value; range +-10 % (CC: new vs old units)",
        )
    nc = [EIA82["gas_steam"], EIA82["gas_ct"]]
    add(
        "generic",
        "gas_non_cc",
        sum(x[0] for x in nc) / 2000,
        EIA82["gas_ic"][1] / 1000,
        EIA82["gas_ct"][2] / 1000,
        EIA82_SRC,
        "2019-2022",
        "US public domain",
        "derived",
        "equal-weight mean of gas steam and gas turbine; range spans IC low .. CT high",
    )
    eff = 0.25
    add(
        "generic",
        "biomass",
        MMBTU_PER_MWH / eff,
        MMBTU_PER_MWH / 0.33,
        MMBTU_PER_MWH / 0.20,
        "assumption: small biomass steam plants, net efficiency 25 % (20-33 %)",
        "2019-2022",
        "n/a",
        "illustrative",
        "EIA publishes no biomass heat rate; only CH4/N2O count (biogenic CO2 reported separately)",
    )

    # ERCOT: capacity-weighted non-CC gas heat rate from the CDR unit list
    cdr = (shared / "dispatch" / "ercot_cdr_may2025_unit_details.csv").read_text("utf-8-sig")
    crow = list(csv.reader(io.StringIO(cdr)))
    hdr_i = next(i for i, r in enumerate(crow) if r and r[0] == "UNIT NAME")
    h = crow[hdr_i]
    i_tech, i_fuel, i_stat, i_mw = (
        h.index("TECHNOLOGY"),
        h.index("FUEL"),
        h.index("CDR STATUS"),
        next(i for i, c in enumerate(h) if c.startswith("INSTALLED CAPACITY")),
    )
    mw: dict[str, float] = defaultdict(float)
    for r in crow[hdr_i + 1 :]:
        if (
            len(r) > i_mw
            and r[i_fuel] == "GAS"
            and r[i_tech] in ("ST", "GT", "IC")
            and (r[i_stat].startswith("OPER") or r[i_stat] == "RMR")
        ):
            mw[r[i_tech]] += float(r[i_mw])
    tech = {"ST": "gas_steam", "GT": "gas_ct", "IC": "gas_ic"}
    tot = sum(mw.values())
    w = {tech[k]: v / tot for k, v in mw.items()}
    c = sum(w[f] * EIA82[f][0] for f in w) / 1000
    lo = sum(w[f] * EIA82[f][1] for f in w) / 1000
    hi = sum(w[f] * EIA82[f][2] for f in w) / 1000
    add(
        "ERCOT",
        "gas_non_cc",
        c,
        lo,
        hi,
        "ERCOT CDR May 2025 unit details (installed MW of operating GAS ST/GT/IC units) x "
        + EIA82_SRC,
        "2025 fleet / 2019-2022 heat rates",
        "ERCOT public report; US public domain",
        "derived",
        "capacity weights "
        + ", ".join(f"{f} {w[f]:.3f} ({mw[k]:.0f} MW)" for k, f in tech.items())
        + "; capacity- not generation-weighted",
    )

    # Germany: OPSD efficiency column (capacity-weighted, operating blocks)
    de = list(
        csv.DictReader(
            io.StringIO(
                (shared / "dispatch" / "conventional_power_plants_DE.csv").read_text("utf-8")
            )
        )
    )
    groups: dict[str, list[tuple[float, float]]] = defaultdict(list)
    fmap = {
        "Lignite": "lignite",
        "Hard coal": "coal",
        "Oil": "oil",
        "Biomass and biogas": "biomass",
    }
    tmap = {
        "Combined cycle": "gas_cc",
        "Gas turbine": "gas_ct",
        "Steam turbine": "gas_steam",
        "Combustion Engine": "gas_ic",
    }
    for r in de:
        e = r["efficiency_data"] or r["efficiency_estimate"]
        if r["status"] != "operating" or not e or not r["capacity_net_bnetza"]:
            continue
        cap, ef = float(r["capacity_net_bnetza"]), float(e)
        if r["fuel"] in fmap:
            groups[fmap[r["fuel"]]].append((cap, ef))
        elif r["fuel"] == "Natural gas":
            groups["gas"].append((cap, ef))
            t = tmap.get(r["technology"])
            if t:
                groups[t].append((cap, ef))
            if t != "gas_cc":
                groups["gas_non_cc"].append((cap, ef))
    for fuel, items in sorted(groups.items()):
        a = np.array(items)
        order = np.argsort(a[:, 1])
        caps, effs = a[order, 0], a[order, 1]
        cw = np.cumsum(caps) / caps.sum()
        p10, p90 = effs[np.searchsorted(cw, 0.1)], effs[np.searchsorted(cw, 0.9)]
        mean_eff = float((caps * effs).sum() / caps.sum())
        add(
            "DE",
            fuel,
            MMBTU_PER_MWH / mean_eff,
            MMBTU_PER_MWH / p90,
            MMBTU_PER_MWH / p10,
            "Open Power System Data conventional_power_plants_DE (efficiency_data, else "
            "efficiency_estimate), operating blocks",
            "2020",
            "OPSD; attribute BNetzA/UBA",
            "derived",
            f"capacity-weighted mean efficiency {mean_eff:.3f} over {len(items)} blocks "
            f"({caps.sum():.0f} MW); range = capacity-weighted p10..p90 efficiency",
        )
    _write(OUT / "heat_rates.csv", hr)


def build_ercot(shared: Path) -> None:
    sys.path.insert(0, str(ROOT / "src"))
    from infercarbon.grid.ercot import read_ercot_fuel_mix_dir, save_compact

    src_dir = shared / "dispatch" / "ercot_fuel_mix_15min"
    mix = read_ercot_fuel_mix_dir(src_dir)
    save_compact(mix, OUT / "ercot_fuel_mix_15min.npz")
    print(
        f"ERCOT: {len(mix.start_utc)} intervals x {len(mix.fuels)} fuels, "
        f"{len(mix.gaps_utc)} gap intervals"
    )
    check_against_hourly(mix, shared / "dispatch" / "ercot_fuel_mix_hourly_utc.csv")


def check_against_hourly(mix: object, hourly_csv: Path) -> None:
    """Compare the parsed 15-min series, summed to UTC hours, with the resolved hourly file."""
    from infercarbon.grid.ercot import to_hourly

    hours, mwh, _n = to_hourly(mix)  # type: ignore[arg-type]
    rows = list(csv.DictReader(io.StringIO(hourly_csv.read_text("utf-8"))))
    ht = np.array([r["hour_start_utc"].rstrip("Z") for r in rows], dtype="datetime64[s]")
    fuels = mix.fuels  # type: ignore[attr-defined]
    ref = np.array([[float(r[f"{f}_mwh"]) for f in fuels] for r in rows])
    common, ia, ib = np.intersect1d(hours, ht, return_indices=True)
    d = np.abs(mwh[ia] - ref[ib])
    tot = np.abs(np.nansum(mwh[ia], axis=1) - ref[ib].sum(axis=1))
    print(
        f"hourly check: {len(common)} common hours of {len(ht)} in the hourly file, "
        f"{len(hours)} parsed; hours only in one: {len(ht) - len(common)} / "
        f"{len(hours) - len(common)}"
    )
    print(
        f"  per fuel-hour |diff| max {np.nanmax(d):.3f} MWh, mean {np.nanmean(d):.5f} MWh, "
        f"cells > 0.05 MWh: {(d > 0.05).sum()} of {d.size}"
    )
    print(f"  per hour total |diff| max {tot.max():.3f} MWh")


def _write(path: Path, rows: list[dict[str, object]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        wr = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        wr.writeheader()
        wr.writerows(rows)
    print(f"wrote {path.relative_to(ROOT)} ({len(rows)} rows)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--only", choices=["factors", "ercot"])
    a = ap.parse_args()
    if a.only in (None, "factors"):
        build_factors(a.shared)
    if a.only in (None, "ercot"):
        build_ercot(a.shared)


if __name__ == "__main__":
    main()
