"""Export ledger tables to Parquet (pyarrow), streamed in record batches.

A file is written beside its target and renamed into place when complete, so a reader never
sees half a file.  Every row is exported, superseded ones included: the export is the audit
trail, and ``supersedes`` says which rows a correction replaced.
"""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow.parquet as pq

from infercarbon.errors import LedgerError
from infercarbon.ledger.base import Store, _spec
from infercarbon.ledger.schema import TABLES

__all__ = ["export_all", "export_parquet"]


def export_parquet(
    store: Store,
    table: str,
    path: str | os.PathLike[str],
    *,
    tenant: str | None = None,
    compression: str = "zstd",
) -> int:
    """Write ``table`` (of ``tenant``) to a Parquet file at ``path``; return the row count."""
    spec = _spec(table)
    target = Path(path)
    tmp = target.with_name(target.name + ".partial")
    rows = 0
    try:
        with pq.ParquetWriter(tmp, spec.read_schema, compression=compression) as writer:
            for batch in store.scan(table, tenant=tenant):
                writer.write_batch(batch)
                rows += batch.num_rows
        tmp.replace(target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise LedgerError(f"cannot write the Parquet export {target}: {exc}") from exc
    return rows


def export_all(
    store: Store, directory: str | os.PathLike[str], *, tenant: str | None = None
) -> dict[str, Path]:
    """Export every table to ``directory/<table>.parquet``; return the paths by table.

    With ``tenant``, only the tenant-scoped tables (events, footprints and their items and
    totals) are exported; device readings and intensity snapshots are shared.
    """
    out = Path(directory)
    if not out.is_dir():
        raise LedgerError(f"the export folder {out} does not exist")
    shared = {"readings", "intensity"}
    paths: dict[str, Path] = {}
    for name in TABLES:
        if tenant is not None and name in shared:
            continue
        paths[name] = out / f"{name}.parquet"
        export_parquet(store, name, paths[name], tenant=tenant)
    return paths
