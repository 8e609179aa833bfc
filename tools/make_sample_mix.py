"""Write ``docs/examples/mix.csv``: a small operator table for ``infercarbon grid marginal``.

Two weeks (2021-07-01 .. 2021-07-14, 336 UTC hours) of ERCOT generation by fuel from the
package's bundled 15-minute series (ERCOT Fuel Mix Report, public market data), summed into
clock hours, with the hour's direct CO2e from the package's own ERCOT fuel rates (EPA factors
x EIA/ERCOT heat rates, ``infercarbon.grid.factors.fuel_rate``).  Columns:

    time       hour start, ISO 8601 UTC
    load_mw    total generation in the hour [MWh in one hour = mean MW]
    co2_t      direct emissions of the hour [t CO2e]
    coal, gas, wind, nuclear, solar, other
               generation by fuel [MWh in one hour = mean MW]

Run: ``python tools/make_sample_mix.py`` (from the repository root).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from infercarbon.grid.factors import fuel_rate
from infercarbon.grid.series import load_ercot_generation

OUT = Path(__file__).resolve().parents[1] / "docs" / "examples" / "mix.csv"
GROUPS = {
    "coal": ("coal",),
    "gas": ("gas_non_cc", "gas_cc"),
    "wind": ("wind",),
    "nuclear": ("nuclear",),
    "solar": ("solar",),
}


def main() -> None:
    t, fuels, mwh = load_ercot_generation("1h")
    keep = (t >= np.datetime64("2021-07-01T00:00:00")) & (t < np.datetime64("2021-07-15T00:00:00"))
    t, mwh = t[keep], mwh[keep]
    if np.isnan(mwh).any():
        raise SystemExit("the chosen weeks have a missing hour; pick others")
    col = {f: i for i, f in enumerate(fuels)}
    grouped = {g: mwh[:, [col[f] for f in fs]].sum(axis=1) for g, fs in GROUPS.items()}
    used = {col[f] for fs in GROUPS.values() for f in fs}
    grouped["other"] = mwh[:, [i for i in range(len(fuels)) if i not in used]].sum(axis=1)
    co2_t = sum(
        mwh[:, col[f]] * fuel_rate(f, "direct", region="ERCOT").value / 1000.0
        for f in ("coal", "gas_non_cc", "gas_cc")
    )  # MWh x g/kWh / 1000 = t
    with OUT.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["time", "load_mw", "co2_t", *grouped])
        for i, ti in enumerate(np.datetime_as_string(t, unit="s")):
            w.writerow(
                [
                    f"{ti}Z",
                    f"{mwh[i].sum():.1f}",
                    f"{co2_t[i]:.1f}",
                    *(f"{grouped[g][i]:.1f}" for g in grouped),
                ]
            )
    print(f"wrote {OUT} ({len(t)} rows)")


if __name__ == "__main__":
    main()
