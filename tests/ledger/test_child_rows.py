"""Line items and totals are written once per footprint, with or without a key index on
their tables, and the DuckDB ledger's memory limit."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from infercarbon.accounting.batch import LINE_NAMES
from infercarbon.errors import LedgerError
from infercarbon.ledger import DuckDBStore, Store, open_store, verify
from infercarbon.ledger.compact import EventFootprintBatch
from infercarbon.ledger.duckdb_store import DEFAULT_MEMORY_LIMIT
from infercarbon.ledger.records import FootprintBatch

from .conftest import FixedClock, general_batch, make_event, service_batch

N_ITEMS = len(LINE_NAMES)

_CHILDREN = ("footprint_items", "footprint_totals")


class _KeyedChildrenStore(DuckDBStore):
    """A DuckDB ledger in the layout of earlier releases: children with a primary key."""

    _child_keys_unique = True


def _primary_keys(path: Path) -> set[str]:
    with duckdb.connect(str(path), read_only=True) as con:
        rows = con.execute(
            "SELECT table_name FROM duckdb_constraints() WHERE constraint_type = 'PRIMARY KEY'"
        ).fetchall()
    return {r[0] for r in rows}


def test_new_duckdb_ledger_has_no_child_key_index(tmp_path: Path) -> None:
    DuckDBStore(tmp_path / "new.duckdb").close()
    assert _primary_keys(tmp_path / "new.duckdb") == {
        "ledger_meta",
        "events",
        "readings",
        "intensity",
        "footprints",
        "footprint_contexts",
        "footprint_hours",
        "event_hours",
        "runs",
        "storage",
        "transfers",
    }
    _KeyedChildrenStore(tmp_path / "old.duckdb").close()
    assert set(_CHILDREN) <= _primary_keys(tmp_path / "old.duckdb")
    # a ledger of the earlier layout keeps it and is written the same way
    with DuckDBStore(tmp_path / "old.duckdb") as store:
        table, batch = general_batch([make_event(i, tenant="t") for i in range(3)])
        assert store.append_events_with_footprints(table, batch).footprints.inserted == 3
        table, compact = service_batch([make_event(i, tenant="t") for i in range(3, 5)])
        assert store.append_events_with_footprints(table, compact).footprints.inserted == 2
        assert store.count("footprint_items") == 5 * N_ITEMS
    assert set(_CHILDREN) <= _primary_keys(tmp_path / "old.duckdb")


@pytest.fixture(params=["current", "keyed-children"])
def layout_store(request: pytest.FixtureRequest, store: Store, tmp_path: Path) -> Iterator[Store]:
    """The backend's store, and (DuckDB) one in the layout with keyed child tables."""
    if request.param == "current":
        yield store
    elif not isinstance(store, DuckDBStore):
        pytest.skip("the PostgreSQL ledger has one layout")
    else:
        with _KeyedChildrenStore(tmp_path / "keyed.duckdb", clock=FixedClock()) as s:
            yield s


def _masks(sends: list[list[int]], n: int) -> Iterator[tuple[list[int], np.ndarray]]:
    """Each non-empty send with its row mask over ``n`` footprints."""
    for send in sends:
        mask = np.zeros(n, dtype=bool)
        mask[send] = True
        if mask.any():
            yield send, mask


_settings = settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@_settings
@given(sends=st.lists(st.lists(st.integers(0, 5), max_size=8), min_size=1, max_size=5))
@pytest.mark.slow
def test_children_written_once_per_footprint(layout_store: Store, sends: list[list[int]]) -> None:
    """Footprints sent in any overlapping order, with repeats: each stored footprint has its
    line items and totals exactly once, and a re-send writes none."""
    store = layout_store
    tenant = f"t{uuid.uuid4().hex[:10]}"
    evs = [make_event(i, tenant=tenant, event_id=f"{tenant}-{i}") for i in range(6)]
    table, batch = general_batch(evs)
    store.append_events(table)
    ids = batch.footprints.column("footprint_id").to_pylist()
    per_fp = {
        k: Counter(getattr(batch, k).column("footprint_id").to_pylist())
        for k in ("items", "totals")
    }
    stored: set[str] = set()
    for send, mask in _masks(sends, 6):
        sub = batch.filter(mask)
        if len(send) > 1:  # an exact repeat inside the batch too
            first = pc.equal(sub.items.column("footprint_id"), sub.footprints["footprint_id"][0])
            sub = FootprintBatch(
                pa.concat_tables([sub.footprints, sub.footprints.slice(0, 1)]),
                pa.concat_tables([sub.items, sub.items.filter(first)]),
                sub.totals,
            )
        new = {ids[i] for i in send} - stored
        res = store.append_footprint_table(sub)
        assert res.inserted == len(new)
        stored |= new
        assert store.count("footprints", tenant=tenant) == len(stored)
        for table, key in (("footprint_items", "items"), ("footprint_totals", "totals")):
            assert store.count(table, tenant=tenant) == sum(per_fp[key][f] for f in stored)
    # and every stored footprint reads back whole and recomputes to the same figures
    from infercarbon.accounting.batch import figures_from_inputs

    for fid in stored:
        rec = store.footprint(fid)
        assert len(rec.figures.line_items) == N_ITEMS
    assert verify(store, lambda inputs, versions: figures_from_inputs(inputs), tenant=tenant).ok


@_settings
@given(sends=st.lists(st.lists(st.integers(0, 5), max_size=8), min_size=1, max_size=5))
@pytest.mark.slow
def test_compact_footprints_written_once(store: Store, sends: list[list[int]]) -> None:
    """Compact footprints of stored events sent in any overlapping order, with repeats: each
    stored once, its context once, a re-send writes nothing, and all read back whole."""
    tenant = f"t{uuid.uuid4().hex[:10]}"
    evs = [make_event(i, tenant=tenant, event_id=f"{tenant}-{i}") for i in range(6)]
    table, batch = service_batch(evs)
    store.append_events(table)
    ids = batch.footprints.column("footprint_id").to_pylist()
    stored: set[str] = set()
    contexts = store.count("footprint_contexts")
    for send, mask in _masks(sends, 6):
        sub = batch.filter(mask)
        if len(send) > 1:  # an exact repeat inside the batch too
            sub = EventFootprintBatch(
                sub.contexts,
                sub.context_items,
                pa.concat_tables([sub.footprints, sub.footprints.slice(0, 1)]),
            )
        new = {ids[i] for i in send} - stored
        res = store.append_footprint_table(sub)
        assert res.inserted == len(new)
        stored |= new
        assert store.count("footprints", tenant=tenant) == len(stored)
        assert store.count("footprint_items", tenant=tenant) == N_ITEMS * len(stored)
    # three regions: at most three new contexts, however often they were sent
    assert store.count("footprint_contexts") - contexts <= 3
    from infercarbon.accounting.batch import figures_from_inputs

    for fid in stored:
        assert len(store.footprint(fid).figures.line_items) == N_ITEMS
    assert verify(store, lambda inputs, versions: figures_from_inputs(inputs), tenant=tenant).ok


# ------------------------------------------------------------------- memory limit
def _setting(store: Store) -> str:
    t = store.query_arrow(
        "SELECT current_setting('memory_limit')", [], pa.schema([pa.field("v", pa.string())])
    )
    return str(t.column("v")[0].as_py())


def _duckdb_shows(limit: str | None) -> str:
    with duckdb.connect() as con:
        if limit is not None:
            con.execute("SET memory_limit = ?", [limit])
        row = con.execute("SELECT current_setting('memory_limit')").fetchone()
        assert row is not None
        return str(row[0])


@pytest.mark.parametrize(
    ("path", "given_", "expect"),
    [
        ("file", "auto", DEFAULT_MEMORY_LIMIT),
        ("file", "256MB", "256MB"),
        ("file", None, None),
        (":memory:", "auto", None),
        (":memory:", "300MB", "300MB"),
    ],
)
def test_memory_limit(tmp_path: Path, path: str, given_: str | None, expect: str | None) -> None:
    target = str(tmp_path / "m.duckdb") if path == "file" else path
    opened: Callable[[], Store] = lambda: open_store(target, memory_limit=given_)  # noqa: E731
    with opened() as store:
        assert _setting(store) == _duckdb_shows(expect)


def test_bad_memory_limit_is_a_ledger_error(tmp_path: Path) -> None:
    with pytest.raises(LedgerError, match="cannot open"):
        DuckDBStore(tmp_path / "m.duckdb", memory_limit="lots")


def test_writes_run_on_write_threads_reads_on_every_core(tmp_path: Path) -> None:
    with DuckDBStore(tmp_path / "t.duckdb", write_threads=1) as store:
        assert isinstance(store, DuckDBStore)
        cores = store._read_threads
        table, batch = service_batch([make_event(i, tenant="t") for i in range(4)])
        seen: list[int] = []
        original = store._insert_rows

        def spy(spec: Any, rows: Any) -> Any:
            row = store._con.execute("SELECT current_setting('threads')").fetchone()
            assert row is not None
            seen.append(row[0])
            return original(spec, rows)

        store._insert_rows = spy  # type: ignore[method-assign]
        store.append_events_with_footprints(table, batch)
        assert seen and set(seen) == {1}
        assert _setting_threads(store) == cores  # a read turns every core back on
    with pytest.raises(LedgerError, match="write_threads"):
        DuckDBStore(tmp_path / "u.duckdb", write_threads=0)


def _setting_threads(store: Store) -> int:
    t = store.query_arrow(
        "SELECT current_setting('threads')", [], pa.schema([pa.field("v", pa.int64())])
    )
    return int(t.column("v")[0].as_py())
