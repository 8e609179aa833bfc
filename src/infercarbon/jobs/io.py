"""Where a job reads and writes: Iceberg tables of a lake, or Parquet files and directories.

A reference ``iceberg:NAME`` is the lake table ``NAME`` (the lake given with ``--catalog``);
anything else is a filesystem path.  An input path is a Parquet file, or a directory: the
file ``<dir>/<table>.parquet`` when there is one (what a job's Parquet output writes), else
every Parquet file under it.  An output path is a directory that gets ``<table>.parquet``.

Each input is recorded for the run's lineage: an Iceberg table with the snapshot id read,
a path with the SHA-256 of its files' bytes (``audit verify --run`` re-reads the snapshot, or
refuses a path whose files changed).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final

import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq

from infercarbon.errors import InputError, LedgerError
from infercarbon.ledger.lake import TABLES, Lake, conform

__all__ = ["ICEBERG", "Source", "code_version", "read_source", "record_run", "write_output"]

ICEBERG: Final = "iceberg:"


@dataclass(frozen=True)
class Source:
    """A table read for a job, and how to read the same again."""

    table: pa.Table
    lineage: dict[str, Any]


def _files(path: Path, table: str) -> list[Path]:
    if path.is_file():
        return [path]
    if path.is_dir():
        named = path / f"{table}.parquet"
        if named.is_file():
            return [named]
        found = sorted(p for p in path.rglob("*.parquet") if p.is_file())
        if found:
            return found
    raise InputError(
        f"no Parquet file at {str(path)!r} (give a file, a directory of "
        "Parquet files, or iceberg:TABLE with --catalog)",
        field=table,
    )


def _sha256(files: Sequence[Path]) -> str:
    h = hashlib.sha256()
    for f in files:
        with f.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


def read_source(
    ref: str, table: str, lake: Lake | None, *, snapshot_id: int | None = None
) -> Source:
    """Read ``ref`` (``iceberg:NAME`` or a path) as the job's ``table`` input."""
    if ref.startswith(ICEBERG):
        name = ref.removeprefix(ICEBERG)
        if lake is None:
            raise InputError(f"{ref} needs --catalog (the lake holding the table)", field="catalog")
        snap = snapshot_id if snapshot_id is not None else lake.snapshot_id(name)
        data = lake.read(name, snapshot_id=snap)
        return Source(data, {"kind": "iceberg", "table": name, "snapshot_id": snap})
    files = _files(Path(ref), table)
    try:
        data = pads.dataset([str(f) for f in files], format="parquet").to_table()
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputError(f"cannot read {ref!r} as Parquet: {exc}", field=table) from exc
    return Source(
        data,
        {
            "kind": "parquet",
            "path": str(Path(ref).resolve()),
            "files": [str(f.resolve()) for f in files],
            "sha256": _sha256(files),
        },
    )


def reread(lineage: Mapping[str, Any], table: str, lake: Lake | None) -> pa.Table:
    """The same input again, from its lineage record; a changed file is a LedgerError."""
    if lineage["kind"] == "iceberg":
        if lake is None:
            raise InputError("re-reading an Iceberg input needs --catalog", field="catalog")
        if lineage["snapshot_id"] is None:
            return TABLES[lineage["table"]].schema.empty_table()
        return lake.read(lineage["table"], snapshot_id=int(lineage["snapshot_id"]))
    files = [Path(f) for f in lineage["files"]]
    missing = [f for f in files if not f.is_file()]
    if missing:
        raise LedgerError(f"input {table}: {missing[0]} is gone; the run cannot be re-run")
    if _sha256(files) != lineage["sha256"]:
        raise LedgerError(
            f"input {table}: the files at {lineage['path']} changed since the "
            "run (SHA-256 differs); the run cannot be re-run from them"
        )
    return pads.dataset([str(f) for f in files], format="parquet").to_table()


def write_output(ref: str, table: str, rows: pa.Table, lake: Lake | None) -> dict[str, Any]:
    """Write a job's output ``rows`` as ``table`` to ``ref``: appended to the lake table
    (exactly once where the table has a key) or written to ``<dir>/<table>.parquet``."""
    if ref.startswith(ICEBERG):
        name = ref.removeprefix(ICEBERG) or table
        if lake is None:
            raise InputError(f"{ref} needs --catalog", field="catalog")
        if name != table:
            raise InputError(
                f"the {table} output goes to the lake table {table!r}, not {name!r}", field="out"
            )
        spec = TABLES[table]
        if spec.key is None:
            snap = lake.append(table, rows)
            appended = rows.num_rows
        else:
            rep = lake.append_new(table, rows)
            snap, appended = rep.snapshot_id, rep.appended
        return {"kind": "iceberg", "table": table, "snapshot_id": snap, "rows": appended}
    out = Path(ref)
    try:
        out.mkdir(parents=True, exist_ok=True)
        target = out / f"{table}.parquet"
        pq.write_table(conform(rows, TABLES[table]), target, compression="zstd")
    except OSError as exc:
        raise InputError(f"cannot write {table} to {ref!r}: {exc}", field="out") from exc
    return {"kind": "parquet", "table": table, "path": str(target.resolve()), "rows": rows.num_rows}


def code_version() -> str:
    """The package version and the SHA-256 (12 hex digits) of the code a job's figures
    come from (the jobs, the attribution core, the accounting engine)."""
    import infercarbon.accounting.events as acc
    import infercarbon.attribution.engine as eng
    import infercarbon.attribution.idle as idle
    import infercarbon.jobs.account as account
    import infercarbon.jobs.attribute as attribute
    import infercarbon.jobs.rollup as rollup

    h = hashlib.sha256()
    for mod in (acc, eng, idle, account, attribute, rollup):
        h.update(Path(str(mod.__file__)).read_bytes())
    try:
        version = importlib.metadata.version("infercarbon")
    except importlib.metadata.PackageNotFoundError:
        version = "unknown"
    return f"infercarbon {version} code sha256:{h.hexdigest()[:12]}"


def record_run(
    lake: Lake,
    *,
    run_id: str,
    job: str,
    engine: str,
    params: Mapping[str, Any],
    inputs: Mapping[str, Any],
    output: Mapping[str, Any],
    started_utc: datetime,
    finished_utc: datetime,
) -> None:
    """One ``runs`` row: the job's lineage (inputs' snapshots or file hashes, output
    snapshot, code version, parameters)."""
    lake.record_run(
        {
            "run_id": run_id,
            "job": job,
            "engine": engine,
            "code_version": code_version(),
            "params_json": json.dumps(dict(params), sort_keys=True, default=str),
            "inputs_json": json.dumps(dict(inputs), sort_keys=True),
            "output_table": output.get("table"),
            "output_snapshot_id": output.get("snapshot_id"),
            "started_utc": started_utc,
            "finished_utc": finished_utc,
            "rows_out": int(output.get("rows", 0)),
        }
    )
