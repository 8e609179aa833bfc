"""The compact footprint layout reads as the general one: rollups, the report's slice, the
SQL view's inputs, audit; a version-1 ledger is upgraded in place; bad compact input is
named."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from infercarbon.accounting.batch import LINE_NAMES, figures_from_inputs
from infercarbon.errors import EventValidationError, InputError
from infercarbon.ledger import (
    SCHEMA_VERSION,
    DuckDBStore,
    Store,
    rollup_footprints,
    rollup_line_items,
    verify,
)
from infercarbon.ledger.base import SqlStore
from infercarbon.ledger.compact import ContextItem, EventFootprintBatch, FootprintContext, slot
from infercarbon.report.data import read_slice
from infercarbon.report.period import parse_period

from .conftest import FixedClock, general_batch, make_event, service_batch

N_ITEMS = len(LINE_NAMES)


def _recompute(inputs: Any, versions: Any) -> Any:
    return figures_from_inputs(inputs)


def _pair(tmp_path: Path, n: int = 24) -> tuple[DuckDBStore, DuckDBStore]:
    """The same events and footprints in a general-layout and a compact-layout ledger."""
    evs = [make_event(i) for i in range(n)]
    general = DuckDBStore(tmp_path / "general.duckdb", clock=FixedClock())
    lean = DuckDBStore(tmp_path / "lean.duckdb", clock=FixedClock())
    table, batch = general_batch(evs)
    general.append_events_with_footprints(table, batch)
    table, compact = service_batch(evs)
    lean.append_events_with_footprints(table, compact)
    return general, lean


def test_readers_see_the_same_ledger(tmp_path: Path) -> None:
    general, lean = _pair(tmp_path)
    with general, lean:
        assert lean.count("event_footprints") == 24 and lean.count("footprints") == 24
        assert general.count("event_footprints") == 0
        for by in (["model"], ["region", "tenant"]):
            for f in (rollup_footprints, rollup_line_items):
                a = f(general, by=by, period="day")
                b = f(lean, by=by, period="day")
                assert a.equals(b), (f.__name__, by)
        period = parse_period("2026-07")
        a, b = read_slice(general, period), read_slice(lean, period)
        for name in ("events", "items", "labels", "totals", "factors", "versions"):
            assert _same_table(getattr(a, name), getattr(b, name)), name
        assert verify(lean, _recompute, rel_tol=0.0).ok
        assert verify(lean, _recompute, rel_tol=0.0).checked == 24


def _same_table(a: pa.Table, b: pa.Table) -> bool:
    """Equal, floats to 1e-12 relative (DuckDB sums in parallel, in no fixed order)."""
    if a.schema != b.schema or a.num_rows != b.num_rows:
        return False
    for name in a.column_names:
        x, y = a.column(name).to_pylist(), b.column(name).to_pylist()
        if pa.types.is_floating(a.schema.field(name).type):
            if not all(
                (u is None and v is None)
                or (
                    u is not None
                    and v is not None
                    and math.isclose(u, v, rel_tol=1e-12, abs_tol=1e-300)
                )
                for u, v in zip(x, y, strict=False)
            ):
                return False
        elif x != y:
            return False
    return True


def test_sql_view_inputs_parse_to_the_canonical_inputs(store: Store) -> None:
    """The view renders a compact row's inputs in SQL (for SQL readers such as the report);
    parsed, they are the inputs the hash was computed on (DuckDB and PostgreSQL)."""
    evs = [make_event(i, energy_j=v) for i, v in enumerate((0.1, 100.0, 1e-05, 12345.678))]
    table, batch = service_batch(evs, pue=1.25)
    store.append_events_with_footprints(table, batch)
    schema = pa.schema(
        [pa.field("footprint_id", pa.string()), pa.field("inputs_json", pa.string())]
    )
    via_sql = store.query_arrow(
        "SELECT footprint_id, inputs_json FROM all_footprints", [], schema
    ).to_pylist()
    assert len(via_sql) == 4
    for row in via_sql:
        rec = store.footprint(row["footprint_id"])
        assert json.loads(row["inputs_json"]) == dict(rec.inputs)


def test_factor_inputs_group_by_configuration_not_by_event(store: Store) -> None:
    """``inputs_sql(per_event=False)`` nulls every per-event value (energy and its band,
    payload, times, id, measured idle), so the report's walk over the factors reads one
    group per configuration and signal: before the band and payload were nulled, a month
    of 1M events made 1M groups and the report peaked at 11 GB."""
    from infercarbon.ledger.compact import inputs_sql

    evs = [
        make_event(
            i,
            energy_j=10.0 + i,
            energy_low_j=9.0 + i,
            energy_high_j=11.0 + i,
            payload_bytes=1000 + 7 * i,
            device="gpu0",
            region="DE",
        )
        for i in range(12)
    ]
    store.append_events_with_footprints(*service_batch(evs))
    for per_event, want in ((True, 12), (False, 1)):
        got = store.query_arrow(
            f"SELECT count(DISTINCT {inputs_sql(store.dialect, per_event=per_event)}) "
            "FROM event_footprints ef JOIN footprint_contexts c ON c.context_id = ef.context_id",
            [],
            pa.schema([pa.field("n", pa.int64())]),
        )
        assert got.column("n")[0].as_py() == want


def test_version_1_ledger_is_upgraded_in_place(tmp_path: Path) -> None:
    path = tmp_path / "v1.duckdb"
    evs = [make_event(i) for i in range(6)]
    with DuckDBStore(path, clock=FixedClock()) as s:
        table, batch = general_batch(evs[:3])
        s.append_events_with_footprints(table, batch)
        old_ids = s.footprint_ids()
        # back to the version-1 layout: no compact tables, no views
        for v in ("all_footprint_totals", "all_footprint_items", "all_footprints"):
            s._exec(f"DROP VIEW {v}")
        for t in ("event_footprints", "footprint_context_items", "footprint_contexts"):
            s._exec(f"DROP TABLE {t}")
        s._exec("UPDATE ledger_meta SET value = '1' WHERE key = 'schema_version'")
    with DuckDBStore(path, clock=FixedClock()) as s:
        assert s.footprint_ids() == old_ids
        svc_table, svc_batch = service_batch(evs[3:])
        assert s.append_events_with_footprints(svc_table, svc_batch).footprints.inserted == 3
        assert s.count("footprints") == 6 and s.count("event_footprints") == 3
        assert verify(s, _recompute).ok
        meta = s._fetchall("SELECT value FROM ledger_meta WHERE key = 'schema_version'")
        assert meta == [(str(SCHEMA_VERSION),)]


def test_newer_ledger_is_refused(tmp_path: Path) -> None:
    from infercarbon.errors import LedgerError

    newer = str(SCHEMA_VERSION + 1)
    path = tmp_path / f"v{newer}.duckdb"
    with DuckDBStore(path) as s:
        s._exec("UPDATE ledger_meta SET value = %s WHERE key = 'schema_version'", [newer])
    with pytest.raises(LedgerError, match=f"schema version {newer}"):
        DuckDBStore(path)


def test_forged_compact_rows_are_named(store: Store) -> None:
    evs = [make_event(i) for i in range(3)]
    table, batch = service_batch(evs)
    fp = batch.footprints
    col = fp.schema.get_field_index("location_g")
    forged = EventFootprintBatch(
        batch.contexts,
        batch.context_items,
        fp.set_column(col, "location_g", pa.array([1.0, -5.0, 2.0])),
    )
    with pytest.raises(EventValidationError, match=r"event_footprints\[1\]\.location_g"):
        store.append_events_with_footprints(table, forged)
    col = fp.schema.get_field_index("energy_j")
    forged = EventFootprintBatch(
        batch.contexts,
        batch.context_items,
        fp.set_column(col, "energy_j", pa.array([1.0, 2.0, 3.0])),
    )
    with pytest.raises(EventValidationError, match=r"event_footprints\[0\]\.inputs_hash"):
        store.append_events_with_footprints(table, forged)
    ctx = batch.contexts.set_column(
        2, "factor_versions_json", pa.array(['{"calculator":"x"}'] * batch.contexts.num_rows)
    )
    with pytest.raises(EventValidationError, match=r"footprint_contexts\[0\]\.context_id"):
        store.append_footprint_table(EventFootprintBatch(ctx, batch.context_items, fp))
    assert store.count("events") == 0 and store.count("footprints") == 0


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"a": slot("energy_j"), "b": slot("energy_j")}, "twice"),
        ({"a": "\x02 hidden"}, "control characters"),
    ],
)
def test_bad_templates_are_refused(inputs: dict[str, Any], message: str) -> None:
    item = ContextItem(
        "operational_location",
        "location",
        "cited",
        "scope2_location",
        True,
        True,
        "energy: ",
        "; intensity: x",
    )
    with pytest.raises(InputError, match=message):
        FootprintContext("calc/v1", {"calculator": "calc/v1"}, inputs, (item,))
    with pytest.raises(InputError, match="unknown slot"):
        slot("nope")


def test_compact_footprint_resent_in_the_general_layout_is_a_duplicate(
    store_factory: Callable[[], Store],
) -> None:
    """A compact footprint sent again in the general layout (same id, same content) is a
    duplicate; the compact one stands."""
    store = store_factory()
    evs = [make_event(i, tenant="t") for i in range(2)]
    table, compact = service_batch(evs)
    store.append_events_with_footprints(table, compact)
    _, general = general_batch(evs)
    res = store.append_footprint_table(general)
    assert (res.inserted, res.duplicates) == (0, 2)
    assert store.count("footprints") == 2
    assert store.count("event_footprints") == 2
    fid = compact.footprints.column("footprint_id")[0].as_py()
    assert datetime(2026, 1, 1, tzinfo=UTC) < store.footprint(fid).computed_utc
    # the stored one is the compact record, whole
    stored = store.footprint(fid)
    assert (
        stored.record_hash()
        == general.footprints.filter(pc.equal(general.footprints.column("footprint_id"), fid))
        .column("record_hash")[0]
        .as_py()
    )
    assert stored.computed_utc == datetime(2026, 9, 2, tzinfo=UTC)


def test_audit_finds_a_tampered_compact_row(store: Store) -> None:
    """Changing a stored input breaks its hash; changing a stored figure breaks the
    recomputation: verify names both footprints (read page by page) and passes the rest."""
    evs = [make_event(i) for i in range(8)]
    table, batch = service_batch(evs)
    store.append_events_with_footprints(table, batch)
    ids = sorted(batch.footprints.column("footprint_id").to_pylist())
    assert verify(store, _recompute, rel_tol=0.0).ok
    assert isinstance(store, SqlStore)
    store._exec(
        "UPDATE event_footprints SET energy_j = energy_j * 2 WHERE footprint_id = %s", [ids[1]]
    )
    store._exec(
        "UPDATE event_footprints SET location_g = location_g + 1, "
        "total_location_g = total_location_g + 1 WHERE footprint_id = %s",
        [ids[5]],
    )
    rep = verify(store, _recompute, rel_tol=0.0)
    assert rep.checked == 8 and set(rep.failed_ids) == {ids[1], ids[5]}
    fields = {(m.footprint_id, m.field) for m in rep.mismatches}
    assert (ids[1], "inputs_hash") in fields
    assert (ids[5], "line_items.operational_location.emissions_g") in fields
    assert (ids[5], "totals.location.value_g") in fields
    # the per-id path agrees
    assert not verify(store, _recompute, footprint_ids=[ids[5]], rel_tol=0.0).ok


def test_parquet_export_of_compact_footprints(store: Store, tmp_path: Path) -> None:
    """Both layouts export; every exported inputs text hashes (plain SHA-256, outside
    infercarbon) to its inputs_hash, and a compact row's record_hash is null."""
    import hashlib

    import pyarrow.parquet as pq

    from infercarbon.ledger import export_all

    evs = [make_event(i) for i in range(6)]
    table, batch = service_batch(evs[:4])
    store.append_events_with_footprints(table, batch)
    table, general = general_batch(evs[4:])
    store.append_events_with_footprints(table, general)
    paths = export_all(store, tmp_path)
    fp = pq.read_table(paths["footprints"]).to_pylist()
    assert len(fp) == 6 and sum(r["record_hash"] is None for r in fp) == 4
    for r in fp:
        doc = (
            '{"factor_versions":'
            + r["factor_versions_json"]
            + ',"inputs":'
            + r["inputs_json"]
            + "}"
        )
        assert hashlib.sha256(doc.encode()).hexdigest() == r["inputs_hash"]
    assert pq.read_table(paths["footprint_items"]).num_rows == 6 * N_ITEMS


# ------------------------------------------------------------- rendering the inputs
_CTX_INPUTS = {  # three contexts: one slot set each (the third without the intensity)
    "ctx_a": {
        "e": slot("energy_j"),
        "g": slot("location.value"),
        "id": slot("event_id"),
        "m": slot("attribution_method"),
        "t": slot("start_utc"),
    },
    "ctx_b": {
        "g": slot("location.value"),
        "id": slot("event_id"),
        "x": "b",
        "t": slot("start_utc"),
        "e": slot("energy_j"),
    },
    "ctx_c": {"e": slot("energy_j"), "id": slot("event_id")},
}


@pytest.mark.parametrize("seed", range(40))
def test_render_inputs_fills_every_slot_whether_shared_or_per_row(seed: int) -> None:
    """A slot whose value is shared by a context's rows is written into the context's text
    once; per-row slots are joined per row: either way each row reads as the canonical JSON
    of its own inputs (mixed contexts, shared and varying values, whole and fractional
    times, a slot a context does not use left null)."""
    import numpy as np

    from infercarbon.ledger.canonical import canonical_json
    from infercarbon.ledger.compact import make_template, render_inputs

    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 30))
    ctx = rng.choice(sorted(_CTX_INPUTS), n).tolist()
    shared = rng.random() < 0.5  # each context's rows share g, m and t, or not
    base = datetime(2026, 7, 1, tzinfo=UTC)
    g = [
        float(rng.choice([412.5, 0.1 + 0.2, 1e-5]))
        if not shared
        else {"ctx_a": 380.0, "ctx_b": 1e17, "ctx_c": 5.0}[c]
        for c in ctx
    ]
    t = [
        base.replace(microsecond=int(rng.choice([0, 300_000])))
        if not shared
        else base.replace(second={"ctx_a": 1, "ctx_b": 2, "ctx_c": 3}[c])
        for c in ctx
    ]
    m = [
        str(rng.choice(["measured-counter", 'say "hi"'])) if not shared else "modelled" for _ in ctx
    ]
    rows = pa.table(
        {
            "context_id": ctx,
            "event_id": [f"ev-{i}" for i in range(n)],
            "energy_j": rng.random(n) * 100,
            "location_g_per_kwh": g,
            "attribution_method": [
                None if c == "ctx_b" else v for c, v in zip(ctx, m, strict=True)
            ],
            "period_start_utc": pa.array(t, pa.timestamp("us", tz="UTC")),
        }
    )
    templates = {k: make_template(v) for k, v in _CTX_INPUTS.items()}
    got = render_inputs(rows, templates).to_pylist()
    cols = {
        "energy_j": "e",
        "location_g_per_kwh": "g",
        "event_id": "id",
        "attribution_method": "m",
        "period_start_utc": "t",
    }
    for i, r in enumerate(rows.to_pylist()):
        want = {
            k: v for k, v in _CTX_INPUTS[r["context_id"]].items() if not str(v).startswith("\x01")
        }
        want.update(
            {
                cols[c]: r[c]
                for c in cols
                if cols[c] in _CTX_INPUTS[r["context_id"]]
                and str(_CTX_INPUTS[r["context_id"]][cols[c]]).startswith("\x01")
            }
        )
        assert got[i] == canonical_json(want)
