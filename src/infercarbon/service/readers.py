"""What the read commands need, shared by the CLI (reading a ledger file or database) and
the service (answering the same commands while it holds the ledger): the recompute
functions of every calculator, and the footprint listing.

An embedded DuckDB ledger has one writer process; while ``infercarbon serve`` holds it,
``infercarbon report|audit verify|audit show|footprints list --server URL --key KEY`` ask the
server, which runs the same code on the same store (``GET /v1/report``,
``GET /v1/audit/verify``, ``GET /v1/audit/footprints/{id}``, ``GET /v1/footprints/list``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import pyarrow as pa

from infercarbon.errors import InputError
from infercarbon.ledger import FootprintFigures, Store
from infercarbon.ledger.base import SUPERSEDED_FOOTPRINTS, live_event
from infercarbon.ledger.compact import same_event
from infercarbon.ledger.rollup import event_filters

__all__ = ["LIST_COLUMNS", "footprint_list", "recomputers"]


def recomputers() -> dict[str, Any]:
    """Calculator name -> recompute(inputs, factor_versions), for every known calculator."""
    from infercarbon.accounting.batch import CALCULATORS, figures_from_inputs
    from infercarbon.report.recompute import CALCULATOR, recompute_accounting

    def service(inputs: Mapping[str, Any], factor_versions: Mapping[str, str]) -> FootprintFigures:
        return figures_from_inputs(inputs)

    return {CALCULATOR: recompute_accounting, **{c: service for c in CALCULATORS}}


_F = pa.float64()
#: The columns of :func:`footprint_list`.
LIST_COLUMNS = pa.schema(
    [
        pa.field("footprint_id", pa.string()),
        pa.field("event_id", pa.string()),
        pa.field("tenant", pa.string()),
        pa.field("service", pa.string()),
        pa.field("model", pa.string()),
        pa.field("region", pa.string()),
        pa.field("start_utc", pa.timestamp("us", tz="UTC")),
        pa.field("calculator", pa.string()),
        pa.field("supersedes", pa.string()),
        pa.field("energy_j", _F),
        *(
            pa.field(f"{b}{s}", _F)
            for b in ("location", "market", "marginal")
            for s in ("_g", "_low_g", "_high_g")
        ),
    ]
)


def footprint_list(
    store: Store,
    *,
    tenant: str | None = None,
    start_utc: datetime | None = None,
    end_utc: datetime | None = None,
    service: str | None = None,
    model: str | None = None,
    limit: int = 1000,
    offset: int = 0,
) -> pa.Table:
    """Live footprints of live events (newest first): ids, subject, totals with ranges."""
    if not (1 <= limit <= 100_000) or offset < 0:
        raise InputError("limit must be 1..100000 and offset >= 0", field="limit")
    where, params = event_filters(tenant, start_utc, end_utc, {"service": service, "model": model})
    conds = [live_event("e"), f"b.footprint_id NOT IN {SUPERSEDED_FOOTPRINTS}"]
    totals = ", ".join(
        f"b.{b}{s}" for b in ("location", "market", "marginal") for s in ("_g", "_low_g", "_high_g")
    )
    sql = (
        "SELECT b.footprint_id, b.event_id, e.tenant, e.service, e.model, e.region, "
        f"e.start_utc, b.calculator, b.supersedes, e.energy_j, {totals} "
        f"FROM all_footprint_bases b JOIN events e ON {same_event('e', 'b')} "
        f"WHERE {' AND '.join(conds)}{where} ORDER BY e.start_utc DESC, b.footprint_id "
        f"LIMIT {int(limit)} OFFSET {int(offset)}"
    )
    return store.query_arrow(sql, params, LIST_COLUMNS)
