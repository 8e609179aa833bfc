"""The ``rollup`` job: footprints summed per day, region and tenant.

Live footprints only: a footprint of an event that a later event ``supersedes`` is left out
(the correction chain is kept in the table; the sum counts its last link).  Each part sums
its rows (pure, Arrow ``group_by``); the parts' sums are summed again.  The range columns
are the sums of the per-event bounds: the bound when every event's deviation moves together
(the shared factors, grid intensity and PUE, dominate a day's range), so an upper bound on
the spread of the sum.
"""

from __future__ import annotations

from typing import Final

import pyarrow as pa
import pyarrow.compute as pc

from infercarbon.jobs.engines import Engine
from infercarbon.ledger.lake import FOOTPRINTS, ROLLUPS, conform

__all__ = ["SUMMED", "rollup_part", "run_rollup"]

KEYS: Final = ("day_utc", "region", "tenant")
SUMMED: Final = (
    "energy_j",
    "idle_j",
    *(
        f"total_{b}_{s}"
        for b in ("location", "market", "marginal")
        for s in ("g", "low_g", "high_g")
    ),
)


def rollup_part(footprints: pa.Table, superseded: pa.Table) -> pa.Table:
    """Sums of one part's live footprints per day, region and tenant (pure)."""
    live = footprints.filter(
        pc.invert(pc.is_in(footprints.column("event_id"), value_set=superseded.column("event_id")))
    )
    day = pc.floor_temporal(live.column("period_start_utc"), unit="day")
    t = pa.table(
        {
            "day_utc": day,
            "region": live.column("region"),
            "tenant": live.column("tenant"),
            "events": pa.array([1] * live.num_rows, pa.int64()),
            **{c: live.column(c) for c in SUMMED},
        }
    )
    return _sum(t, "events")


def _sum(t: pa.Table, count: str) -> pa.Table:
    agg = t.group_by(list(KEYS), use_threads=False).aggregate(
        [(count, "sum"), *((c, "sum", pc.ScalarAggregateOptions(min_count=1)) for c in SUMMED)]
    )
    return pa.table(
        {
            **{k: agg.column(k) for k in KEYS},
            **{c: agg.column(f"{c}_sum") for c in (count, *SUMMED)},
        }
    )


def run_rollup(footprints: pa.Table, *, engine: Engine) -> pa.Table:
    """Per day x region x tenant sums of the live footprints (:data:`ROLLUPS` rows, no run
    id), ordered by day, region, tenant."""
    fp = conform(
        footprints.select([c for c in footprints.column_names if c in FOOTPRINTS.names]), FOOTPRINTS
    )
    sup = pa.table({"event_id": pc.drop_null(fp.column("supersedes")).cast(pa.string())})
    n = fp.num_rows
    k = max(1, engine.parallelism)
    step = max(1, -(-n // k))
    parts = [{"footprints": fp.slice(i, step)} for i in range(0, n, step)] or [{"footprints": fp}]
    outs = engine.map_parts(rollup_part, parts, {"superseded": sup})
    if not outs:
        return ROLLUPS.schema.empty_table()
    total = _sum(pa.concat_tables(outs), "events")
    return conform(total, ROLLUPS, keys=False).sort_by([(c, "ascending") for c in KEYS])
