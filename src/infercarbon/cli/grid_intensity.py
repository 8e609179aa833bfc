"""``infercarbon grid intensity``: the bundled location-average series as CSV or JSON.

Example::

    infercarbon grid intensity --region ERCOT --from 2022-01-01 --to 2022-06-01 \\
        --basis lifecycle --resolution 1h --format csv

prints ``time_utc,intensity_g_per_kwh,low,high`` rows (``--to`` is exclusive; dates are UTC).
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import Annotated, cast

import numpy as np
import typer

from infercarbon.cli._common import print_json
from infercarbon.cli.grid import grid_app
from infercarbon.errors import InputError
from infercarbon.grid.factors import DEFAULT_FACTOR_SET, check_factor_set
from infercarbon.grid.series import Resolution, regional_intensity
from infercarbon.grid.signal import Basis
from infercarbon.timeutil import parse_utc


def _parse_when(value: str, field: str) -> np.datetime64:
    dt = parse_utc(value, field=field, naive_is_utc=True, utc_only=True)
    return np.datetime64(dt.replace(tzinfo=None), "s")


def intensity(
    region: str = typer.Option(..., "--region", help="Region with a bundled series (ERCOT)."),
    start: str = typer.Option(..., "--from", help="Start (UTC date or date-time), inclusive."),
    end: str = typer.Option(..., "--to", help="End (UTC date or date-time), exclusive."),
    basis: str = typer.Option("lifecycle", "--basis", help="lifecycle or direct."),
    resolution: str = typer.Option("1h", "--resolution", help="1h or 15min."),
    fmt: str = typer.Option("csv", "--format", help="csv or json."),
    factor_set: str = typer.Option(
        "infercarbon",
        "--factors",
        help="Lifecycle factor set: infercarbon (default: region "
        "heat rates x IPCC upstream ratios) | ipcc-ar5 | unece-2021 | electricitymaps "
        "(docs/grid_factors.md).",
    ),
) -> None:
    """Print the location-average intensity series with its low/high range."""
    if basis not in ("lifecycle", "direct"):
        raise InputError(f"must be lifecycle or direct, got {basis!r}", field="--basis")
    if resolution not in ("1h", "15min"):
        raise InputError(f"must be 1h or 15min, got {resolution!r}", field="--resolution")
    if fmt not in ("csv", "json"):
        raise InputError(f"must be csv or json, got {fmt!r}", field="--format")
    a, b = _parse_when(start, "--from"), _parse_when(end, "--to")
    if b <= a:
        raise InputError("--to must be after --from", field="--to")
    check_factor_set(factor_set)
    if factor_set != DEFAULT_FACTOR_SET and basis != "lifecycle":
        raise InputError(
            f"{factor_set!r} is a lifecycle factor set; use --basis lifecycle", field="--factors"
        )
    series = regional_intensity(
        region, cast(Basis, basis), cast(Resolution, resolution), factor_set
    )
    first, stop = series.start_utc[0], series.end_utc
    if a < first.astype("datetime64[s]") or b > stop.astype("datetime64[s]"):
        raise InputError(
            f"[{a}, {b}) is outside the bundled {series.region} series "
            f"[{first.astype('datetime64[s]')}Z, {stop.astype('datetime64[s]')}Z)",
            field="--from/--to",
        )
    s = series.slice(a, b)
    times = [str(t) + "Z" for t in s.start_utc.astype("datetime64[s]")]
    cols = (s.intensity_g_per_kwh, s.low_g_per_kwh, s.high_g_per_kwh)
    if fmt == "csv":
        w = csv.writer(sys.stdout, lineterminator="\n")
        w.writerow(["time_utc", "intensity_g_per_kwh", "low", "high"])
        w.writerows(
            [t, f"{v:.2f}", f"{lo:.2f}", f"{hi:.2f}"]
            for t, v, lo, hi in zip(times, *(c.tolist() for c in cols), strict=True)
        )
        return
    p = s.provenance
    print_json(
        {
            "region": s.region,
            "kind": s.kind,
            "basis": s.basis,
            "resolution_s": s.resolution_s,
            "provenance": {
                "source": p.source,
                "version": p.version,
                "method": p.method,
                "licence": p.licence,
                "label": p.label,
                "notes": list(p.notes),
            },
            "columns": ["time_utc", "intensity_g_per_kwh", "low", "high"],
            "rows": [
                {
                    "time_utc": t,
                    "intensity_g_per_kwh": round(v, 2),
                    "low": round(lo, 2),
                    "high": round(hi, 2),
                }
                for t, v, lo, hi in zip(times, *(c.tolist() for c in cols), strict=True)
            ],
        }
    )


def factors_cmd(
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Write the Markdown document (e.g. docs/grid_factors.md)."),
    ] = None,
    fmt: str = typer.Option("md", "--format", help="md or json."),
) -> None:
    """Compare the lifecycle factor sets per fuel and on ERCOT's annual intensity."""
    from infercarbon.grid import factor_sets as fs

    if fmt not in ("md", "json"):
        raise InputError(f"must be md or json, got {fmt!r}", field="--format")
    if fmt == "json":
        print_json(
            {
                "sets": list(fs.FACTOR_SETS),
                "default": fs.DEFAULT_FACTOR_SET,
                "fuels": fs.compare_sets(),
                "ercot_annual_g_per_kwh": fs.ercot_annual_by_set(),
                "reference_annual_g_per_kwh": {
                    y: {"value": f.value, "source": f.source}
                    for y, f in fs.REFERENCE_ANNUAL_G_PER_KWH.items()
                },
            }
        )
        return
    text = fs.render_document()
    if out is None:
        print(text, end="")
    else:
        out.write_text(text, encoding="utf-8")
        print(f"wrote {out}")


def register(app: typer.Typer) -> None:
    """Add ``intensity`` and ``factors`` to the ``grid`` group (the group is shared)."""
    grid_app.command("intensity")(intensity)
    grid_app.command("factors")(factors_cmd)
