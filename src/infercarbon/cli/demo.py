"""``infercarbon demo``: the main job on the embedded default.

Runs the CPU workloads under the Meter, prints per-inference figures, records every metered
inference in an embedded DuckDB ledger, and serves the dashboard on it (``--no-serve`` to
stop after recording).
"""

from __future__ import annotations

import json
import time
import warnings
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import typer

from infercarbon.cli._common import (
    TextTable,
    console,
    err_console,
    human_mass_g,
    print_json,
    print_table,
)
from infercarbon.errors import FallbackWarning


def demo_profile(
    table: pa.Table, source: dict[str, object], device: str, region: str = ""
) -> object:
    """The bundled default profile of the machine the demo ran on (a stated assumption, see
    :func:`infercarbon.accounting.profiles.machine_profile`): idle power from the CPU
    model's idle figure where it has one, utilisation measured over the run."""
    import os

    import numpy as np
    import pyarrow.compute as pc

    from infercarbon.accounting.profiles import machine_profile
    from infercarbon.provenance import Figure

    idle = source.get("idle_power_w")
    if isinstance(idle, dict) and "value" in idle:
        lo, hi = idle.get("low"), idle.get("high")
        idle_w = Figure(
            float(idle["value"]),
            "W",
            source=str(idle.get("source", "cpu model")),
            label="modelled",
            low=None if lo is None else float(lo),
            high=None if hi is None else float(hi),
        )
    else:  # no idle model for this source: the seed-style stated band around 10 W
        idle_w = Figure(
            10.0,
            "W",
            source="stated: a desktop CPU's idle power, x/2..x2 (the energy source reports none)",
            label="illustrative",
            low=5.0,
            high=20.0,
        )
    u = table.column("utilisation_frac") if "utilisation_frac" in table.column_names else None
    u_med = float(
        np.clip(
            np.median(np.asarray(pc.fill_null(u, 0.5).to_numpy(zero_copy_only=False), dtype=float))
            if u is not None and len(u)
            else 0.5,
            0.01,
            1.0,
        )
    )
    util = Figure(
        u_med,
        "frac",
        source="measured over the demo run (busy time / window), +-20 %",
        label="derived",
        low=max(0.005, u_med * 0.8),
        high=min(1.0, u_med * 1.2),
    )
    profile = machine_profile(
        device, idle_power_w=idle_w, utilisation_frac=util, vcpus=os.cpu_count() or 1
    )
    from dataclasses import replace

    from infercarbon.reference.regions import resolve_region

    if resolve_region(region).region_id == "GBR":  # a stated, published price for GB only
        profile = replace(
            profile,
            currency="GBP",
            price_per_kwh=Figure(
                0.245,
                "GBP_per_kwh",
                source="assumed for the demo machine: Ofgem energy price "
                "cap 1 Oct - 31 Dec 2024, electricity unit rate 24.50 p/kWh (GB average, direct "
                "debit)",
                label="illustrative",
            ),
        )
    return profile


def _record(
    table: pa.Table,
    ledger: str,
    utc_minus_clock_ns: int,
    device: str,
    source: dict[str, object],
    region: str = "",
) -> dict[str, object]:
    """Append the run's events with their footprints (the service's calculator with the
    demo machine's stated profile: idle, embodied and network lines beside the operational
    ones), and one year of ERCOT's bundled marginal signal for the dashboard's region x hour
    heatmap, to the ledger; ``audit verify`` can check it at once.

    The events carry the inferences' *active* energy (with its band): the idle line of
    each footprint is the profile's, so the Meter's own idle attribution is not counted
    twice."""
    import numpy as np
    import pyarrow.compute as pc

    from infercarbon.accounting.profiles import ProfileSet
    from infercarbon.instrument.export import ledger_events, marginal_snapshots
    from infercarbon.ledger import open_store
    from infercarbon.ledger.schema import EVENTS, validate_rows
    from infercarbon.service.footprints import (
        AccountingConfig,
        SignalBook,
        compute_footprints,
        footprint_batch,
        signals_from_intensity,
    )

    now = datetime.now(UTC)
    run_id = "demo-" + now.strftime("%Y%m%dT%H%M%S")
    active = table.column("active_energy_j")
    ratio = pc.if_else(
        pc.greater(table.column("energy_j"), 0), pc.divide(active, table.column("energy_j")), 1.0
    )
    table = table.set_column(table.schema.get_field_index("energy_j"), "energy_j", active)
    for col in ("energy_low_j", "energy_high_j"):
        if col in table.column_names:
            table = table.set_column(
                table.schema.get_field_index(col), col, pc.multiply(table.column(col), ratio)
            )
    profile = demo_profile(table, source, device, region)
    events = validate_rows(
        EVENTS,
        ledger_events(
            table,
            utc_minus_clock_ns=utc_minus_clock_ns,
            run_id=run_id,
            default_tenant="demo",
            device=device,
        ),
    )
    store = open_store(ledger)
    try:
        if store.count("intensity") == 0:
            store.append_intensity(
                marginal_snapshots(
                    "ERCOT", year=2021, retrieved_utc=np.datetime64(now.replace(tzinfo=None))
                )
            )
        cfg = AccountingConfig(profiles=ProfileSet((profile,)))  # type: ignore[arg-type]
        fps = compute_footprints(events, cfg, SignalBook(signals_from_intensity(store.intensity())))
        res = store.append_events_with_footprints(
            events, footprint_batch(events, fps, cfg, computed_utc=now)
        ).events
    finally:
        store.close()
    return {
        "ledger": str(Path(ledger)),
        "run_id": run_id,
        "events_inserted": res.inserted,
        "profile": profile.to_dict(),  # type: ignore[attr-defined]
    }


def _serve(ledger: str, host: str, port: int) -> None:
    """Create an admin key for the demo and serve the dashboard until interrupted."""
    from infercarbon.cli.serve import run_server

    try:
        from infercarbon.service.auth import create_key, key_store_for
    except ImportError as exc:
        from infercarbon.errors import ConfigurationError

        raise ConfigurationError(
            f"{exc}; the dashboard needs the service extra: "
            "pip install -e '.[service]' (or run with --no-serve)"
        ) from exc
    token, _ = create_key(key_store_for(ledger), tenant="demo", admin=True, clock=time.time)
    # plain echo: the URL carries the key and must not be wrapped
    typer.echo(f"dashboard: http://{host}:{port}/#key={token}  (Ctrl-C to stop)")
    run_server(ledger, host=host, port=port)


def register(app: typer.Typer) -> None:
    @app.command("demo")
    def demo(
        seconds: float = typer.Option(10.0, "--seconds", help="Total run time [s] (<= 600)."),
        region: str = typer.Option("GB", "--region", help="Grid region of this machine."),
        sensor: str = typer.Option(
            "auto-cpu",
            "--sensor",
            help="Energy source name, auto or auto-cpu (default: the best CPU-side source; "
            "the demo's workloads run on the CPU, so a GPU's energy is not theirs).",
        ),
        idle_policy: str = typer.Option("30-70", "--idle-policy", help="30-70, tenancy or none."),
        as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
        ledger: str = typer.Option(
            "infercarbon-demo.duckdb", "--ledger", help="DuckDB ledger file the demo records into."
        ),
        serve: bool = typer.Option(
            True, "--serve/--no-serve", help="Serve the dashboard on the ledger afterwards."
        ),
        host: str = typer.Option("127.0.0.1", "--host"),
        port: int = typer.Option(8000, "--port", min=0, max=65535),
    ) -> None:
        """Meter WL-01 (1-D CNN vibration anomaly) and a small WL-02-like vision model on
        this CPU; print per-inference joules and gCO2e with the method label."""
        from infercarbon.instrument.demo import run_demo, summarise

        if serve:  # a port in use is refused now, not after the metering
            from infercarbon.cli.serve import check_port_free

            check_port_free(host, port)

        def progress(line: str) -> None:  # on stderr: stdout stays the result (--json)
            err_console.print(line, markup=False, highlight=False)

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", FallbackWarning)
            table = run_demo(
                seconds=seconds,
                region=region,
                sensor=sensor,
                idle_policy=idle_policy,
                progress=progress,
            )
        utc_minus_clock_ns = time.time_ns() - time.monotonic_ns()
        notes = [str(w.message) for w in caught if issubclass(w.category, FallbackWarning)]
        rows = summarise(table)
        meta = json.loads((table.schema.metadata or {})[b"infercarbon"])
        recorded = _record(
            table,
            ledger,
            utc_minus_clock_ns,
            str(meta["source"].get("name")),
            meta["source"],
            region,
        )
        if as_json:
            print_json(
                {
                    "workloads": rows,
                    "attribution": {k: v for k, v in meta.items() if k != "source"},
                    "source": meta.get("source"),
                    "warnings": notes,
                    "ledger": recorded,
                }
            )
            if serve:
                _serve(ledger, host, port)
            return
        t = TextTable(
            f"infercarbon demo: {table.num_rows} inferences metered",
            [
                "model",
                "inferences",
                "median J",
                "p5..p95 J",
                "median CO2e (location)",
                "method",
                "label",
            ],
            numeric=frozenset({"inferences", "median J", "p5..p95 J", "median CO2e (location)"}),
        )
        for r in rows:
            t.add_row(
                r["model"],
                str(r["inferences"]),
                f"{r['median_energy_j']:.4g}",
                f"{r['median_energy_low_j']:.4g}..{r['median_energy_high_j']:.4g}",
                human_mass_g(r["median_total_location_g"], 3),
                r["method"],
                r["energy_label"],
            )
        print_table(t)
        console.print(
            f"source: {meta['source'].get('name')} ({rows[0]['accuracy_class']})"
            if rows
            else "no inferences ran"
        )
        # the energy's own label (measured, modelled, illustrative), never "measured" for all
        console.print(
            f"window {meta['window_s'][1]:.2f} s, {meta['energy_label']} "
            f"{meta['total_j']:.4g} J (p5..p95 {meta['total_low_j']:.4g}.."
            f"{meta['total_high_j']:.4g} J): "
            f"active {meta['active_j']:.4g} J, idle attributed "
            f"{meta['idle_attributed_j']:.4g} J, unattributed idle "
            f"{meta['unattributed_idle_j']:.4g} J (policy {meta['idle_policy']}); "
            f"conservation residual {meta['conservation_residual_j']:.2e} J"
        )
        for n in notes:
            console.print(f"note: {n}")
        console.print(
            "assumption: the demo machine's profile (idle, embodied, network) is "
            "bundled and stated: "
            + "; ".join(
                f"{k} {v['value']:.4g} ({v['source']})"
                for k, v in recorded["profile"].items()  # type: ignore[attr-defined]
                if isinstance(v, dict)
            )
        )
        console.print(
            f"ledger: {recorded['events_inserted']} inference events recorded in "
            f"{recorded['ledger']} (run {recorded['run_id']}); audit with "
            f"`infercarbon audit verify --ledger {recorded['ledger']}`"
        )
        if serve:
            _serve(ledger, host, port)
