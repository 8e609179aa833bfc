"""Regenerate the bundled unit inventories of infercarbon.grid.marginal from ../shared/data.

    python tools/build_dispatch_data.py [--shared ../shared/data]

Reads the raw ERCOT CDR (May 2025) unit-details CSV and the OPSD conventional power plant
list for Germany, and writes compact CSVs (one provenance line, then one row per unit) to
src/infercarbon/grid/marginal/data/.  The parsing lives in the package
(infercarbon.grid.marginal.inventory) so that the raw files can also be read at run time.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from infercarbon.grid.marginal.inventory import read_ercot_cdr, read_opsd_de, write_inventory_csv

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src" / "infercarbon" / "grid" / "marginal" / "data"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--shared", default=str(ROOT.parent / "shared" / "data"))
    args = ap.parse_args()
    dispatch = Path(args.shared) / "dispatch"
    OUT.mkdir(parents=True, exist_ok=True)
    ercot = read_ercot_cdr(dispatch / "ercot_cdr_may2025_unit_details.csv")
    write_inventory_csv(ercot, OUT / "ercot_units.csv")
    de = read_opsd_de(dispatch / "conventional_power_plants_DE.csv")
    write_inventory_csv(de, OUT / "de_units.csv")
    for name in ("ercot_units.csv", "de_units.csv"):
        p = OUT / name
        print(f"{p.relative_to(ROOT)}: {p.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
