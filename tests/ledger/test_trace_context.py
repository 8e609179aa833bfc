"""W3C trace context on events (schema version 4): optional ``trace_id`` and
``parent_span_id``, validated, stored, and added to older ledgers on open."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from infercarbon.errors import EventValidationError
from infercarbon.ledger import SCHEMA_VERSION, open_store
from infercarbon.ledger.base import SqlStore
from infercarbon.ledger.schema import EVENTS
from infercarbon.ledger.validation import validate_rows

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
SPAN = "00f067aa0ba902b7"


def test_trace_context_is_stored_and_read_back(
    store: Any, events: Callable[..., list[dict[str, Any]]]
) -> None:
    evs = events(3)
    evs[0].update(trace_id=TRACE, parent_span_id=SPAN)
    evs[1].update(trace_id=TRACE)
    store.append_events(evs)
    got = {r["event_id"]: r for r in store.events().to_pylist()}
    assert (got["ev-000000"]["trace_id"], got["ev-000000"]["parent_span_id"]) == (TRACE, SPAN)
    assert (got["ev-000001"]["trace_id"], got["ev-000001"]["parent_span_id"]) == (TRACE, None)
    assert got["ev-000002"]["trace_id"] is None


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"trace_id": "4BF92F3577B34DA6A3CE929D0E0E4736"}, "trace_id"),  # uppercase
        ({"trace_id": "0" * 32}, "trace_id"),
        ({"trace_id": TRACE[:-1]}, "trace_id"),
        ({"trace_id": TRACE, "parent_span_id": "xyz"}, "parent_span_id"),
        ({"trace_id": TRACE, "parent_span_id": "0" * 16}, "parent_span_id"),
        ({"parent_span_id": SPAN}, "parent_span_id"),  # a span without its trace
    ],
)
def test_bad_trace_context_names_the_field(
    events: Callable[..., list[dict[str, Any]]], over: dict[str, str], field: str
) -> None:
    evs = events(2)
    evs[1].update(over)
    with pytest.raises(EventValidationError) as info:
        validate_rows(EVENTS, evs)
    assert [(p.index, p.field) for p in info.value.problems] == [(1, field)]


def test_a_version_3_ledger_gains_the_columns(
    tmp_path: Any, events: Callable[..., list[dict[str, Any]]]
) -> None:
    import duckdb

    path = tmp_path / "v3.duckdb"
    with open_store(path) as s:
        s.append_events(events(2))
    con = duckdb.connect(str(path))
    for v in (
        "all_footprints",
        "all_footprint_items",
        "all_footprint_totals",
        "all_footprint_bases",
        "all_footprint_item_deviations",
        "all_footprint_total_deviations",
    ):
        con.execute(f"DROP VIEW IF EXISTS {v}")
    con.execute("ALTER TABLE events DROP COLUMN trace_id")
    con.execute("ALTER TABLE events DROP COLUMN parent_span_id")
    con.execute("UPDATE ledger_meta SET value = '3' WHERE key = 'schema_version'")
    con.close()
    with open_store(path) as s:
        s.append_events(events(1, start=5, trace_id=TRACE, parent_span_id=SPAN))
        rows = {r["event_id"]: r for r in s.events().to_pylist()}
        assert rows["ev-000000"]["trace_id"] is None
        assert rows["ev-000005"]["parent_span_id"] == SPAN
        assert isinstance(s, SqlStore)
        assert s._fetchall("SELECT value FROM ledger_meta WHERE key = %s", ["schema_version"]) == [
            (str(SCHEMA_VERSION),)
        ]
