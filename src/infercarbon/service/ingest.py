"""The ingest path of the service: a request's events validated, accounted and appended in
one ledger transaction with their footprints (:func:`ingest`, :func:`commit`), and the
start-up backfill of events stored without a footprint (:func:`backfill_footprints`).
The routes (:mod:`infercarbon.service.routes`) only decode the request and call these."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from infercarbon.accounting.batch import compute_footprints, footprint_batch
from infercarbon.ledger import rollup as queries
from infercarbon.ledger.schema import EVENTS
from infercarbon.ledger.validation import ValidatedRows
from infercarbon.service.auth import Principal
from infercarbon.service.prepare import Prepared, Sender, prepare
from infercarbon.service.state import ServiceState

__all__ = ["backfill_footprints", "commit", "ingest", "sender"]


def sender(principal: Principal) -> Sender:
    return Sender(principal.tenant, principal.key_id, principal.is_admin)


def ingest(state: ServiceState, principal: Principal, rows: Any) -> dict[str, int]:
    """Validate, account and append one batch of events (all or nothing)."""
    return commit(
        state,
        prepare(
            rows,
            sender(principal),
            max_batch=state.max_batch,
            config=state.config,
            book=state.book,
            computed_utc=state.clock(),
        ),
    )


def commit(state: ServiceState, prepared: Prepared | None) -> dict[str, int]:
    """Append a prepared batch: events and footprints in one transaction (a crash never
    leaves one without the other); count what was new in the metrics."""
    if prepared is None:
        return {"received": 0, "accepted": 0, "inserted": 0, "duplicates": 0}
    table = prepared.events
    res = state.store.append_events_with_footprints(
        ValidatedRows(EVENTS.name, table), prepared.footprints
    )
    if state.spool is not None:
        # every accepted event, new or not (a resent batch the ledger already holds may be
        # the one whose spool write a crash cut short); the committer loads it exactly once
        state.spool.write(table)
    written = res.footprint_written  # one footprint row per event, in order
    if written.any():
        idx = pa.array(np.flatnonzero(written))
        energy = np.asarray(table.column("energy_j").to_numpy(), dtype=float)[written]
        state.metrics.observe(
            table.column("service").take(idx),
            table.column("model").take(idx),
            energy,
            {k: v[written] for k, v in prepared.co2e_g.items()},
        )
    ev = res.events
    return {
        "received": ev.received,
        "accepted": ev.received,
        "inserted": ev.inserted,
        "duplicates": ev.duplicates,
    }


def backfill_footprints(state: ServiceState) -> int:
    """Compute footprints for stored events that lack one; return how many.

    Ingest writes events and footprints in one transaction, so this finds work only in a
    ledger written by an older release or by ``Store.append_events`` alone."""
    total = 0
    # where to look, from the hourly rollups (usually nowhere: no event is read); None: every
    # event (a scan: 20 s at 10M on PostgreSQL)
    hours = queries.missing_footprint_hours(state.store)
    while True:
        # the search reads without the ingest lock, which ingest must not wait for: ingest
        # writes an event and its footprint in one transaction, so it never shows a
        # half-written event here
        missing = queries.missing_footprints(state.store, hours=hours)
        if missing.num_rows == 0:
            return total
        fps = compute_footprints(missing, state.config, state.book)
        with state.ingest_lock:
            state.store.append_footprint_table(
                footprint_batch(missing, fps, state.config, computed_utc=state.clock())
            )
        total += missing.num_rows
