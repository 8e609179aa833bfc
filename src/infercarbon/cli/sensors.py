"""``infercarbon sensors``: which energy source is used here, and why not the others.

::

    infercarbon sensors [--json] [--sensor auto|auto-cpu|nvml|rapl|amd-hwmon|cpu-model|constant]
                        [--tier T1]
"""

from __future__ import annotations

import warnings
from functools import partial
from pathlib import Path
from typing import Annotated, Any

import typer

from infercarbon.cli._common import (
    FORMAT_HELP,
    TextTable,
    check_table_format,
    console,
    print_json,
    print_table,
)
from infercarbon.telemetry.base import Availability, EnergySource
from infercarbon.telemetry.detect import SOURCE_NAMES, detect


def probe(
    sensor: str = "auto", *, tier: str | None = None, sysfs_root: Path = Path("/sys")
) -> tuple[EnergySource, list[Availability], list[str]]:
    """Run detection, collecting the fallback warnings it raises as notes."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        source, report = detect(sensor, tier=tier, sysfs_root=sysfs_root)
    return source, report, [str(w.message) for w in caught]


def sensors_record(
    source: EnergySource, report: list[Availability], notes: list[str]
) -> dict[str, Any]:
    """The ``--json`` contract of ``infercarbon sensors``."""
    return {
        "chosen": source.name,
        "method": source.method,
        "accuracy_class": source.accuracy_class,
        "label": source.label,
        "description": source.describe(),
        "sources": [a.to_dict() for a in report],
        "warnings": notes,
    }


def register(app: typer.Typer) -> None:
    @app.command("sensors")
    def sensors(
        json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
        fmt: Annotated[
            str | None, typer.Option("--format", help=FORMAT_HELP + " json is the --json document.")
        ] = None,
        sensor: Annotated[
            str,
            typer.Option("--sensor", help=f"auto, auto-cpu or one of: {', '.join(SOURCE_NAMES)}."),
        ] = "auto",
        tier: Annotated[
            str | None, typer.Option("--tier", help="Seed tier id (T0..T6) for --sensor constant.")
        ] = None,
        sysfs_root: Annotated[
            Path, typer.Option("--sysfs-root", hidden=True, help="Root of sysfs (testing).")
        ] = Path("/sys"),
    ) -> None:
        """Show the energy source chosen on this machine and why each other one is not used."""
        fmt = check_table_format(fmt)
        source, report, notes = probe(sensor, tier=tier, sysfs_root=sysfs_root)
        try:
            rec = sensors_record(source, report, notes)
        finally:
            source.close()
        if json_out or fmt == "json":
            print_json(rec)
            return
        table = TextTable(
            "energy sources (auto order: nvml > rapl > amd-hwmon > cpu-model)",
            ["source", "available", "reason"],
        )
        for a in report:
            table.add_row(a.name, "yes" if a.available else "no", a.reason)
        if fmt == "tsv":
            print_table(table, "tsv")
            return
        say = partial(console.print, markup=False, highlight=False, soft_wrap=True)
        say(
            f"chosen: {rec['chosen']}  method {rec['method']}  "
            f"label {rec['label']}  ({rec['accuracy_class']})"
        )
        desc = rec["description"]
        for dev in desc.get("devices", []):
            say(f"  covers: {dev}")
        if "matched" in desc:
            say(f"  matched: {desc['matched']} ({desc['n_results']} results)")
        for key in ("idle_power_w", "dynamic_w_per_busy_cpu", "power_w"):
            fig = desc.get(key)
            if fig:
                say(
                    f"  {key}: {fig['value']:.3g} W (range {fig.get('low', fig['value']):.3g}"
                    f"..{fig.get('high', fig['value']):.3g})"
                )
        for caveat in desc.get("caveats", []):
            say(f"  caveat: {caveat}")
        print_table(table, fmt)
        for note in notes:
            say(f"warning: {note}")
