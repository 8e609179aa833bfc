"""``infercarbon demo``: run the CPU workloads under the Meter and print per-inference figures."""

from __future__ import annotations

import json
import warnings

import typer
from rich.table import Table

from infercarbon.cli._common import console, print_json
from infercarbon.errors import FallbackWarning


def register(app: typer.Typer) -> None:
    @app.command("demo")
    def demo(
        seconds: float = typer.Option(10.0, "--seconds", help="Total run time [s] (<= 600)."),
        region: str = typer.Option("GB", "--region", help="Grid region of this machine."),
        sensor: str = typer.Option("auto", "--sensor", help="Energy source name or auto."),
        idle_policy: str = typer.Option("30-70", "--idle-policy",
                                        help="30-70, tenancy or none."),
        as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
    ) -> None:
        """Meter WL-01 (1-D CNN vibration anomaly) and a small WL-02-like vision model on
        this CPU; print per-inference joules and gCO2e with the method label."""
        from infercarbon.instrument.demo import run_demo, summarise

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", FallbackWarning)
            table = run_demo(seconds=seconds, region=region, sensor=sensor,
                             idle_policy=idle_policy)
        notes = [str(w.message) for w in caught if issubclass(w.category, FallbackWarning)]
        rows = summarise(table)
        meta = json.loads((table.schema.metadata or {})[b"infercarbon"])
        if as_json:
            print_json({"workloads": rows, "attribution": {k: v for k, v in meta.items()
                                                           if k != "source"},
                        "source": meta.get("source"), "warnings": notes})
            return
        t = Table(title=f"infercarbon demo: {table.num_rows} inferences metered")
        for col in ("model", "inferences", "median J", "median gCO2e (location)", "method",
                    "label"):
            t.add_column(col)
        for r in rows:
            t.add_row(r["model"], str(r["inferences"]), f"{r['median_energy_j']:.4g}",
                      f"{r['median_total_location_g']:.3g}", r["method"], r["energy_label"])
        console.print(t)
        console.print(f"source: {meta['source'].get('name')} ({rows[0]['accuracy_class']})"
                      if rows else "no inferences ran")
        console.print(f"window {meta['window_s'][1]:.2f} s, measured {meta['total_j']:.4g} J: "
                      f"active {meta['active_j']:.4g} J, idle attributed "
                      f"{meta['idle_attributed_j']:.4g} J, unattributed idle "
                      f"{meta['unattributed_idle_j']:.4g} J (policy {meta['idle_policy']}); "
                      f"conservation residual {meta['conservation_residual_j']:.2e} J")
        for n in notes:
            console.print(f"note: {n}")
