"""``infercarbon attribute``, ``account`` and ``rollup``: the scale-out jobs.

::

    infercarbon synthetic-fleet --out fleet/ --devices 8 --events-per-device 500
    infercarbon attribute --engine ray --events E --readings R --window 15m --out O
    infercarbon account --engine ray --attributions O --intensity I --out F
    infercarbon rollup --footprints F --out U
    # with a lake: iceberg:TABLE names a table of --catalog, and each run is recorded
    infercarbon attribute --catalog lake/ --events iceberg:events \\
        --readings iceberg:readings --window 15m --out iceberg:attributions

Inputs are Parquet (a file or directory) or ``iceberg:TABLE``; outputs a directory
(``<dir>/<table>.parquet``) or ``iceberg:TABLE``.  With ``--catalog`` the run is recorded in
the lake's ``runs`` table (code version, input snapshots, output snapshot) and its id printed;
``infercarbon audit verify --run ID --catalog URI`` re-runs it.
"""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from infercarbon.attribution.idle import as_idle_policy
from infercarbon.cli._common import print_json
from infercarbon.errors import InputError

if TYPE_CHECKING:
    from infercarbon.ledger.lake import Lake

EngineOpt = Annotated[
    str,
    typer.Option(
        "--engine",
        help="local (the reference), ray (one Ray task per part) or ray-data (one Ray Data "
        "map_batches task per part: the same rows)",
    ),
]
CatalogOpt = Annotated[
    str | None,
    typer.Option(
        "--catalog",
        help="the lake: a directory (SQLite catalog + file:// warehouse), "
        "sqlite:///FILE or postgresql://...",
    ),
]
WarehouseOpt = Annotated[
    str | None,
    typer.Option(
        "--warehouse", help="warehouse URI for a postgresql:// catalog (file:// or s3://)"
    ),
]
CpusOpt = Annotated[
    int | None,
    typer.Option(
        "--num-cpus", help="ray: CPUs of the local Ray started when none runs (default: all)"
    ),
]
RAY_ADDRESS_ENV = "RAY_ADDRESS"


def open_engine(name: str, num_cpus: int | None) -> Any:
    """The engine by name (``ray-data``: Ray with the Ray Data api); Ray joins $RAY_ADDRESS
    when set (the CLI reads the environment)."""
    from infercarbon.jobs.engines import get_engine

    if name in ("ray", "ray-data"):
        return get_engine(
            "ray",
            num_cpus=num_cpus,
            address=os.environ.get(RAY_ADDRESS_ENV),
            api="data" if name == "ray-data" else "tasks",
        )
    return get_engine(name)


def open_catalog(catalog: str | None, warehouse: str | None) -> Lake | None:
    """The lake at ``--catalog`` (created if new), or None without one."""
    if catalog is None:
        return None
    from infercarbon.ledger.lake import open_lake

    return open_lake(catalog, warehouse=warehouse)


def _finish(
    lake: Lake | None,
    job: str,
    engine: str,
    params: dict[str, Any],
    inputs: dict[str, Any],
    rows: Any,
    out: str,
    table: str,
    started: datetime,
) -> dict[str, Any]:
    from infercarbon.jobs.io import record_run, write_output

    run_id = f"run_{uuid.uuid4().hex[:20]}"
    if "run_id" in rows.column_names:
        import pyarrow as pa

        rows = rows.set_column(
            rows.schema.get_field_index("run_id"),
            "run_id",
            pa.array([run_id] * rows.num_rows, pa.string()),
        )
    output = write_output(out, table, rows, lake)
    if lake is not None:
        record_run(
            lake,
            run_id=run_id,
            job=job,
            engine=engine,
            params={**params, "output": output},
            inputs=inputs,
            output=output,
            started_utc=started,
            finished_utc=datetime.now(UTC),
        )
    return {"run_id": run_id, "run_recorded": lake is not None, "output": output}


def attribute(
    events: Annotated[str, typer.Option("--events", help="events: Parquet or iceberg:TABLE")],
    readings: Annotated[str, typer.Option("--readings", help="readings: Parquet or iceberg:TABLE")],
    out: Annotated[str, typer.Option("--out", help="a directory, or iceberg:attributions")],
    window: Annotated[str, typer.Option("--window", help="window length: 15m, 900s, 1h")] = "15m",
    engine: EngineOpt = "local",
    idle_policy: Annotated[str, typer.Option("--idle-policy", help="30-70 or none")] = "30-70",
    split: Annotated[str, typer.Option("--split", help="time or tokens")] = "time",
    catalog: CatalogOpt = None,
    warehouse: WarehouseOpt = None,
    num_cpus: CpusOpt = None,
) -> None:
    """Split each device's measured energy over its events, per window; the idle energy no
    event carries is one row per device and window."""
    from infercarbon.jobs.attribute import parse_window, run_attribute
    from infercarbon.jobs.io import read_source

    started = datetime.now(UTC)
    window_s = parse_window(window)
    lake = open_catalog(catalog, warehouse)
    ev = read_source(events, "events", lake)
    rd = read_source(readings, "readings", lake)
    eng = open_engine(engine, num_cpus)
    rows = run_attribute(
        ev.table,
        rd.table,
        engine=eng,
        window_s=window_s,
        idle_policy=as_idle_policy(idle_policy),
        split=split,
    )
    res = _finish(
        lake,
        "attribute",
        engine,
        {"window_s": window_s, "idle_policy": idle_policy, "split": split},
        {"events": ev.lineage, "readings": rd.lineage},
        rows,
        out,
        "attributions",
        started,
    )
    print_json({**res, "events": ev.table.num_rows, "rows": rows.num_rows, "window_s": window_s})


def account(
    attributions: Annotated[
        str,
        typer.Option(
            "--attributions", help="the attribute job's output: Parquet or iceberg:attributions"
        ),
    ],
    intensity: Annotated[
        str, typer.Option("--intensity", help="intensity intervals: Parquet or iceberg:intensity")
    ],
    out: Annotated[str, typer.Option("--out", help="a directory, or iceberg:footprints")],
    engine: EngineOpt = "local",
    profiles: Annotated[
        str | None,
        typer.Option("--profiles", help="deployment profiles (TOML/JSON; docs/profiles.md)"),
    ] = None,
    region: Annotated[
        str | None, typer.Option("--region", help="region of events that carry none")
    ] = None,
    attributions_run: Annotated[
        str | None,
        typer.Option("--attributions-run", help="only the rows this attribute run wrote"),
    ] = None,
    catalog: CatalogOpt = None,
    warehouse: WarehouseOpt = None,
    num_cpus: CpusOpt = None,
) -> None:
    """Every attributed event's footprint (line items and ranges; compact layout)."""
    from infercarbon.accounting.profiles import ProfileSet, load_profiles
    from infercarbon.jobs.account import run_account
    from infercarbon.jobs.io import read_source, write_output
    from infercarbon.jobs.verify import profiles_data, select_run

    started = datetime.now(UTC)
    lake = open_catalog(catalog, warehouse)
    att = read_source(attributions, "attributions", lake)
    inten = read_source(intensity, "intensity", lake)
    att_rows = select_run(att.table, attributions_run)
    pset = load_profiles(profiles) if profiles else ProfileSet()
    eng = open_engine(engine, num_cpus)
    rows, ctx = run_account(att_rows, inten.table, engine=eng, profiles=pset, default_region=region)
    ctx_out = write_output(
        out if not out.startswith("iceberg:") else "iceberg:footprint_contexts",
        "footprint_contexts",
        ctx,
        lake,
    )
    res = _finish(
        lake,
        "account",
        engine,
        {
            "profiles": profiles_data(pset),
            "region": region,
            "contexts": ctx_out,
            "attributions_run": attributions_run,
        },
        {"attributions": att.lineage, "intensity": inten.lineage},
        rows,
        out,
        "footprints",
        started,
    )
    print_json({**res, "footprints": rows.num_rows, "contexts": ctx.num_rows})


def rollup(
    footprints: Annotated[str, typer.Option("--footprints", help="Parquet or iceberg:footprints")],
    out: Annotated[str, typer.Option("--out", help="a directory, or iceberg:rollups")],
    engine: EngineOpt = "local",
    catalog: CatalogOpt = None,
    warehouse: WarehouseOpt = None,
    num_cpus: CpusOpt = None,
) -> None:
    """Live footprints summed per day, region and tenant."""
    from infercarbon.jobs.io import read_source
    from infercarbon.jobs.rollup import run_rollup

    started = datetime.now(UTC)
    lake = open_catalog(catalog, warehouse)
    fp = read_source(footprints, "footprints", lake)
    eng = open_engine(engine, num_cpus)
    rows = run_rollup(fp.table, engine=eng)
    res = _finish(
        lake, "rollup", engine, {}, {"footprints": fp.lineage}, rows, out, "rollups", started
    )
    print_json({**res, "groups": rows.num_rows})


def verify_run_cli(
    run_id: str,
    catalog: str | None,
    warehouse: str | None,
    engine: str,
    num_cpus: int | None,
    as_json: bool,
) -> bool:
    """``audit verify --run``: re-run and compare; prints the result, returns ok."""
    from infercarbon.errors import InputError
    from infercarbon.jobs.verify import verify_run

    lake = open_catalog(catalog, warehouse)
    if lake is None:
        raise InputError("--run needs --catalog (the lake that recorded the run)", field="catalog")
    res = verify_run(lake, run_id, engine=open_engine(engine, num_cpus))
    if as_json:
        print_json(res)
    else:
        state = "ok" if res["ok"] else "FAILED"
        typer.echo(
            f"{state}: run {run_id} ({res['job']}) re-run with {res['engine']}: "
            f"{res['checked']} row(s) compared, max |dE| {res['max_abs_diff_j']:.3g} J, "
            f"max relative difference {res['max_rel_diff']:.3g}, "
            f"{res['missing_rows']} missing, {res['extra_rows']} extra"
        )
    return bool(res["ok"])


def synthetic(
    out: Annotated[Path, typer.Option("--out", help="directory for the three Parquet files")],
    devices: Annotated[int, typer.Option("--devices", min=1, max=100_000)] = 4,
    events_per_device: Annotated[
        int, typer.Option("--events-per-device", min=1, max=10_000_000)
    ] = 200,
    hours: Annotated[float, typer.Option("--hours", min=0.1, max=24 * 400)] = 1.0,
    seed: Annotated[int, typer.Option("--seed")] = 0,
) -> None:
    """Write a synthetic fleet (illustrative, not measured) as the jobs' inputs:
    ``events.parquet``, ``readings.parquet`` (an energy counter every 10 s per device) and
    ``intensity.parquet`` (hourly location and market figures per region), in the ledger's
    column names.  For trying the jobs and checking the engines against each other."""
    import pyarrow.parquet as pq

    from infercarbon.jobs.synthetic import synthetic_fleet

    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create {out}: {exc}", field="out") from exc
    fleet = synthetic_fleet(
        devices=devices, events_per_device=events_per_device, hours=hours, seed=seed
    )
    for name, table in fleet.items():
        pq.write_table(table, out / f"{name}.parquet")
    print_json(
        {
            name: {"path": str(out / f"{name}.parquet"), "rows": t.num_rows}
            for name, t in fleet.items()
        }
    )


def register(app: typer.Typer) -> None:
    app.command("synthetic-fleet")(synthetic)
    app.command("attribute")(attribute)
    app.command("account")(account)
    app.command("rollup")(rollup)


__all__ = ["register", "verify_run_cli"]
