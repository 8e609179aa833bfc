"""The account job's period totals on the lake: DuckDB over the pruned scan of ``footprints``.

``infercarbon lake totals --catalog URI --period P`` reads only the partitions of the period
(the footprints table is partitioned by day: Iceberg prunes the files whose day is outside
``[start, end)`` from the manifest, before reading any), drops the footprints of superseded
events, and sums per region and tenant with DuckDB over the Arrow scan.  Ranges are the sums
of the per-event bounds (their bound when the shared factors move together; see
:mod:`infercarbon.jobs.rollup`).  The same figures as summing the table read with plain
pyiceberg or DuckDB (a test pins it).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import duckdb

from infercarbon.ledger.lake import Lake
from infercarbon.report.period import Period
from infercarbon.units import J_PER_KWH

__all__ = ["lake_report"]

_SUMS = (
    "energy_j",
    "idle_j",
    *(
        f"total_{b}_{s}"
        for b in ("location", "market", "marginal")
        for s in ("g", "low_g", "high_g")
    ),
)


def lake_report(
    lake: Lake, period: Period, *, tenant: str | None = None, generated_utc: datetime
) -> dict[str, Any]:
    """Totals of the period's live footprints, overall and per region x tenant."""
    fp = lake.read(
        "footprints",
        start_utc=period.start_utc,
        end_utc=period.end_utc,
        equals={"tenant": tenant} if tenant is not None else None,
    )
    snap = lake.snapshot_id("footprints")
    con = duckdb.connect()
    try:
        con.register("fp", fp)
        live = (
            "SELECT * FROM fp WHERE event_id NOT IN (SELECT supersedes FROM fp "
            "WHERE supersedes IS NOT NULL)"
        )
        sums = ", ".join(f"sum({c}) AS {c}" for c in _SUMS)
        total = con.execute(f"SELECT count(*) AS events, {sums} FROM ({live})").fetchall()
        cols = ["events", *_SUMS]
        by = con.execute(
            f"SELECT region, tenant, count(*) AS events, {sums} FROM ({live}) "
            "GROUP BY region, tenant ORDER BY region, tenant"
        ).fetchall()
    finally:
        con.close()
    t = dict(zip(cols, total[0], strict=True))
    return {
        "period": period.to_dict(),
        "tenant": tenant,
        "source": {
            "lake": lake.uri,
            "table": "footprints",
            "snapshot_id": snap,
            "rows_scanned": fp.num_rows,
        },
        "generated_utc": generated_utc.isoformat(),
        "totals": {**t, "energy_kwh": (t["energy_j"] or 0.0) / J_PER_KWH},
        "by_region_tenant": [dict(zip(["region", "tenant", *cols], r, strict=True)) for r in by],
        "ranges": "sums of per-event p5..p95 bounds (fully correlated: an upper bound on "
        "the spread of each sum)",
    }
