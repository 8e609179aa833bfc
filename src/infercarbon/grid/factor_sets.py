"""Named sets of per-fuel lifecycle factors [g CO2e/kWh]: the default and its alternatives.

``infercarbon`` (the default) is computed in :mod:`infercarbon.grid.factors`: non-combustion
sources take the IPCC AR5 median; fossil fuels take the *region's* direct rate (its fleet
heat rate x the EPA fuel factor) scaled by IPCC's lifecycle/direct ratio, so a region with
efficient gas plants gets a lower gas factor than IPCC's reference plant.  The alternatives
are fixed per-fuel tables, one value per fuel for every region, read from
``grid/data/lifecycle_factor_sets.csv`` (source, vintage, licence and note on every row;
read by :func:`infercarbon.grid.factors.set_rate`, re-exported here):

* ``ipcc-ar5``: IPCC AR5 WG3 Annex III Table A.III.2 medians with min..max (coal 820, gas CC
  490, nuclear 12, wind 11, solar PV 48 ...); oil from UK POST 2006 (650; IPCC has none);
* ``unece-2021``: UNECE (2021) life-cycle assessment, 2020 results over 12 regions (coal
  751..1095, gas CC 403..513, nuclear 5.1..6.4, hydro 6..147, PV 8..83, onshore wind
  7.8..16); the central value is the geometric mean of the published range (UNECE gives
  regional values, no single median); biomass, geothermal and oil are not covered and take
  the IPCC AR5 / UK POST rows (said in the note);
* ``electricitymaps``: the open default lifecycle factors of Electricity Maps
  (``config/defaults.yaml`` of electricitymaps-contrib: IPCC 2014 medians, solar 45, oil 650,
  unknown 700); no ranges are published.

Every gas technology (``gas_cc``, ``gas_ct`` ...) takes the set's gas figure and lignite its
coal figure; both are said in the returned figure's note.  ``docs/grid_factors.md`` compares
the sets (``infercarbon grid factors``).

>>> set_rate("gas_ct", "ipcc-ar5").value, set_rate("wind", "unece-2021").range
(490.0, (7.8, 16.0))
"""

from __future__ import annotations

from infercarbon.grid.factors import (
    DEFAULT_FACTOR_SET,
    FACTOR_SETS,
    check_factor_set,
    fuel_rate,
    set_rate,
)
from infercarbon.provenance import Figure

__all__ = [
    "DEFAULT_FACTOR_SET",
    "FACTOR_SETS",
    "REFERENCE_ANNUAL_G_PER_KWH",
    "check_factor_set",
    "compare_sets",
    "ercot_annual_by_set",
    "render_comparison",
    "render_document",
    "set_rate",
]

#: Published annual lifecycle intensity of ERCOT for the comparison [g CO2e/kWh]:
#: Electricity Maps yearly averages, zone US-TEX-ERCO (as distributed by mlco2/impact, MIT).
REFERENCE_ANNUAL_G_PER_KWH: dict[int, Figure] = {
    y: Figure(
        v,
        "g_per_kwh",
        source="Electricity Maps yearly average, zone US-TEX-ERCO "
        "(electricitymaps_zone_yearly_2017_2021.csv via mlco2/impact)",
        label="cited",
        vintage=str(y),
        licence="MIT repository",
        note=f"{h} hours with data",
    )
    for y, v, h in ((2019, 391.57, 5402), (2020, 381.05, 2928), (2021, 376.61, 6553))
}


def compare_sets(
    fuels: tuple[str, ...] = (
        "coal",
        "gas_cc",
        "gas_non_cc",
        "oil",
        "nuclear",
        "hydro",
        "wind",
        "solar",
        "biomass",
        "geothermal",
        "other",
    ),
    region: str | None = "ERCOT",
) -> list[dict[str, object]]:
    """One row per fuel: every set's lifecycle figure ``(value, low, high)`` [g/kWh]."""
    rows: list[dict[str, object]] = []
    for f in fuels:
        row: dict[str, object] = {"fuel": f}
        for s in FACTOR_SETS:
            fig = fuel_rate(
                f, "lifecycle", region=region if s == DEFAULT_FACTOR_SET else None, factor_set=s
            )
            row[s] = (fig.value, *fig.range)
        rows.append(row)
    return rows


def ercot_annual_by_set() -> dict[str, dict[int, float]]:
    """Generation-weighted annual lifecycle intensity of the bundled ERCOT mix per set."""
    import numpy as np

    from infercarbon.grid.series import ercot_intensity

    out: dict[str, dict[int, float]] = {}
    for s in FACTOR_SETS:
        ser = ercot_intensity("lifecycle", "1h", s)
        g = np.asarray(ser.extra["generation_mwh"], dtype=np.float64)
        year = ser.start_utc.astype("datetime64[Y]").astype(np.int64) + 1970
        out[s] = {
            int(y): float(
                (ser.intensity_g_per_kwh[year == y] * g[year == y]).sum() / g[year == y].sum()
            )
            for y in np.unique(year)
        }
    return out


def render_comparison() -> str:
    """``docs/grid_factors.md`` body: the per-fuel table and the ERCOT annual comparison."""
    sets = FACTOR_SETS
    lines = ["| fuel | " + " | ".join(sets) + " |", "|---|" + "---|" * len(sets)]
    for row in compare_sets():
        cells = []
        for s in sets:
            cell = row[s]
            assert isinstance(cell, tuple)
            v, lo, hi = (float(x) for x in cell)
            cells.append(f"{v:.0f}" + (f" ({lo:.0f}..{hi:.0f})" if hi > lo else ""))
        lines.append(f"| {row['fuel']} | " + " | ".join(cells) + " |")
    annual = ercot_annual_by_set()
    years = sorted(annual[DEFAULT_FACTOR_SET])
    alines = ["| set | " + " | ".join(str(y) for y in years) + " |", "|---|" + "---|" * len(years)]
    alines += [f"| {s} | " + " | ".join(f"{annual[s][y]:.1f}" for y in years) + " |" for s in sets]
    alines.append(
        "| Electricity Maps yearly (published) | "
        + " | ".join(
            f"{REFERENCE_ANNUAL_G_PER_KWH[y].value:.1f}" if y in REFERENCE_ANNUAL_G_PER_KWH else "-"
            for y in years
        )
        + " |"
    )
    return "\n".join(
        [
            "Per-fuel lifecycle factors, g CO2e/kWh, value (low..high); `infercarbon` shown for "
            "ERCOT (its fossil rows follow the region's heat rates):",
            "",
            *lines,
            "",
            "Generation-weighted annual lifecycle intensity of the bundled ERCOT mix (2022: "
            "January-May), g CO2e/kWh:",
            "",
            *alines,
            "",
        ]
    )


def render_document() -> str:
    """``docs/grid_factors.md``: the sets, the comparison and the choice of the default."""
    return "\n".join(
        [
            "# Lifecycle factor sets for average intensity",
            "",
            "Generated by `infercarbon grid factors --out docs/grid_factors.md` "
            "(`infercarbon.grid.factor_sets`); do not edit by hand. Every `grid` command that "
            "turns a fuel mix into lifecycle intensity takes `--factors NAME` (`grid intensity`, "
            "`grid marginal` and `grid compare` with `--basis lifecycle`; `grid update --source "
            "operator-csv` without `--csv`, which records the set in each written interval's "
            "`version` and `method`); so does `serve`, for the bundled hourly series it computes "
            "from a fuel mix (ERCOT location and marginal) and its `--update operator-csv:...` "
            "refreshes (signals from providers or the ledger are used as published). The "
            "figures, with source, vintage, licence "
            "and note per row, are in `src/infercarbon/grid/data/lifecycle_factor_sets.csv`.",
            "",
            "## The sets",
            "",
            "* `infercarbon` (default): non-combustion sources take the IPCC AR5 median "
            "(min..max); a fossil fuel takes the region's *direct* rate (EPA fuel factor x the "
            "region's fleet heat rate) scaled by IPCC's lifecycle/direct median ratio (coal "
            "820/760, gas 490/370).",
            "* `ipcc-ar5`: IPCC AR5 WG3 Annex III Table A.III.2 medians (Schloemer et al. 2014), "
            "min..max as range; oil 650 from UK POST (2006), which IPCC does not cover.",
            "* `unece-2021`: UNECE (2021), *Carbon Neutrality in the UNECE Region: Integrated "
            "Life-cycle Assessment of Electricity Sources*, 2020 results over 12 regions: coal "
            "751..1095, gas combined cycle 403..513, nuclear 5.1..6.4, hydro 6..147, PV 8..83, "
            "onshore wind 7.8..16 g/kWh. UNECE gives regional values, not one median: the central "
            "value here is the geometric mean of the published range (label `derived`). Biomass, "
            "geothermal and oil are not covered and take the IPCC AR5 / UK POST figures.",
            "* `electricitymaps`: the open default lifecycle factors of Electricity Maps "
            "(`config/defaults.yaml` in electricitymaps-contrib: IPCC 2014 medians, solar 45, oil "
            "650 from UK POST, unknown 700; zone-specific factors override them there). No ranges "
            "are published, so this set's intensity has no envelope from the factors.",
            "",
            "WattTime publishes no per-fuel factors (its signals are modelled per region), so "
            "there is no WattTime set. Every gas technology takes a set's gas figure and lignite "
            "its coal figure.",
            "",
            "## Comparison",
            "",
            render_comparison(),
            "## The choice",
            "",
            "The default stays `infercarbon`. The fixed sets apply one reference plant to every "
            "fleet: IPCC's coal figure assumes a plant at 760 g/kWh direct and its gas figure a "
            "combined cycle at 370 g/kWh, while ERCOT's coal fleet (EIA Table 8.1 heat rate, Texas "
            "lignite and sub-bituminous coal) burns about 1,030 g/kWh *directly* and its gas "
            "turbines and steam units about 570 g/kWh. A lifecycle factor below the plant's "
            "stack emissions cannot be right, so for fossil fuels the default scales the region's "
            "direct rate by IPCC's upstream ratio; for wind, solar, nuclear and hydro, where there "
            "is no combustion, it uses the IPCC medians as the fixed sets do. The direct "
            "intensity of the bundled ERCOT mix (2021: 378 g/kWh) is close to what the operator's "
            "stack measurements give (EPA eGRID2023 Texas output rate 349.8 g/kWh for 2023, on a "
            "cleaner mix); the fixed sets put the *lifecycle* intensity (2021: about 369 g/kWh) "
            "below the direct one, which is why they sit about 20 % under the default, and why "
            "Electricity Maps' published ERCOT yearly figures are close to them.",
            "",
            "Use `--factors electricitymaps` (or `ipcc-ar5`) to reproduce a provider's numbers "
            "or to compare with reports that use IPCC medians; `unece-2021` for the newer LCA with "
            "lower nuclear and solar figures.",
            "",
        ]
    )
