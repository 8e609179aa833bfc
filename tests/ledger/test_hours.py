"""The hourly rollup (``footprint_hours``) always reads as the rows it summarises: after
ingest, resends, corrections and recomputations, on DuckDB (folded in by reads) and
PostgreSQL (kept at ingest); an older ledger is filled when upgraded; latency quantiles come
from its histogram."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from infercarbon.accounting.batch import AccountingConfig, compute_footprints
from infercarbon.accounting.batch import footprint_batch as build
from infercarbon.accounting.signals import SignalBook
from infercarbon.ledger import SCHEMA_VERSION, DuckDBStore, Store
from infercarbon.ledger import rollup as R
from infercarbon.ledger.compact import SUPERSEDED_FOOTPRINTS, live_event
from infercarbon.ledger.hours import LATENCY_EDGES_S, latency_quantile_s

from .conftest import make_event, service_batch

T0 = datetime(2026, 7, 1, tzinfo=UTC)


def _close(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert x.keys() == y.keys()
        for k in x:
            if isinstance(x[k], float) or isinstance(y[k], float):
                assert x[k] == pytest.approx(y[k], rel=1e-9, abs=1e-12), k
            else:
                assert x[k] == y[k], k


def _from_rows(monkeypatch: pytest.MonkeyPatch, fn: Callable[[], Any]) -> Any:
    """``fn`` with the hourly rollup switched off: the compact rows answer."""
    with monkeypatch.context() as m:
        m.setattr(R, "hours_answer", lambda *a, **k: False)
        m.setattr(R, "event_hours_answer", lambda *a, **k: False)
        return fn()


def _check(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    assert R.hours_answer(store)
    live = (
        store.query_arrow(
            f"SELECT count(*) AS n FROM event_footprints ef WHERE ef.footprint_id NOT IN "
            f"{SUPERSEDED_FOOTPRINTS} AND {live_event('ef')}",
            [],
            pa.schema([pa.field("n", pa.int64())]),
        )
        .column("n")[0]
        .as_py()
    )
    held = (
        store.query_arrow(
            "SELECT coalesce(sum(n), 0) AS n FROM footprint_hours",
            [],
            pa.schema([pa.field("n", pa.int64())]),
        )
        .column("n")[0]
        .as_py()
    )
    assert held == live
    live_events = (
        store.query_arrow(
            f"SELECT count(*) FROM events e WHERE {live_event('e')}",
            [],
            pa.schema([pa.field("n", pa.int64())]),
        )
        .column("n")[0]
        .as_py()
    )
    assert R.event_hours_answer(store)
    assert R.rollup_events(store, by=()).column("events")[0].as_py() == live_events
    for by, period, tenant, end in (
        ((), None, None, None),
        (("service", "model", "region", "device", "attribution_method"), None, None, None),
        (("service",), "day", "acme", None),
        (("outcome", "tenant"), "hour", None, T0 + timedelta(hours=3)),
        (("model",), "month", None, None),
    ):
        _close(
            R.rollup_events(store, by=by, period=period, tenant=tenant, end_utc=end).to_pylist(),
            _from_rows(
                monkeypatch,
                partial(R.rollup_events, store, by=by, period=period, tenant=tenant, end_utc=end),
            ).to_pylist(),
        )
    for by, tenant, end in ((("service", "model"), None, None), (("model",), "globex", T0)):
        _close(
            R.event_spans(store, by=by, tenant=tenant, end_utc=end).to_pylist(),
            _from_rows(
                monkeypatch, partial(R.event_spans, store, by=by, tenant=tenant, end_utc=end)
            ).to_pylist(),
        )
    for of, keys in (("totals", ("basis",)), ("items", ("scope", "name"))):
        for by, period in (((), None), (("service",), "hour"), (("device", "region"), "day")):
            _close(
                R.ranged_sums(store, of=of, keys=keys, by=by, period=period).to_pylist(),
                _from_rows(
                    monkeypatch,
                    partial(R.ranged_sums, store, of=of, keys=keys, by=by, period=period),
                ).to_pylist(),
            )
    for by in ((), ("device",)):
        for cur in (True, False):
            _close(
                R.idle_and_cost(store, by=by, per_currency=cur).to_pylist(),
                _from_rows(
                    monkeypatch, partial(R.idle_and_cost, store, by=by, per_currency=cur)
                ).to_pylist(),
            )
    for group in ("service", "outcome"):
        _close(
            R.rollup_totals(store, group=group, period="hour", tenant="acme").to_pylist(),
            _from_rows(
                monkeypatch,
                partial(R.rollup_totals, store, group=group, period="hour", tenant="acme"),
            ).to_pylist(),
        )
    got, want = (
        R.event_totals(store, tenant=None),
        _from_rows(monkeypatch, lambda: R.event_totals(store, tenant=None)),
    )
    for k in ("n", "energy_j", "facility_j", "mean", "methods"):
        assert got[k] == pytest.approx(want[k]) if isinstance(want[k], float) else got[k] == want[k]
    # the newest-events page joins a compact footprint on its event's end time: every
    # writer gives a footprint its event's period
    odd = store.query_arrow(
        "SELECT count(*) AS n FROM event_footprints ef JOIN events e ON "
        "e.event_id = ef.event_id AND e.tenant = ef.tenant WHERE "
        "ef.period_start_utc <> e.start_utc OR ef.period_end_utc <> e.end_utc",
        [],
        pa.schema([pa.field("n", pa.int64())]),
    )
    assert odd.column("n").to_pylist() == [0]
    page = R.event_rows(store, tenant=None, limit=7).column("event_id").to_pylist()
    assert (
        page
        == _from_rows(monkeypatch, lambda: R.event_rows(store, tenant=None, limit=7))
        .column("event_id")
        .to_pylist()
    )


def _recomputed(store: Store, ids: list[str], pue: float) -> Any:
    """Compact recomputations (PUE ``pue``) superseding the live footprints of ``ids``."""
    rows = store.query_arrow(
        "SELECT ef.footprint_id, ef.event_id FROM event_footprints ef WHERE ef.event_id IN "
        f"({', '.join(['%s'] * len(ids))}) AND ef.footprint_id NOT IN "
        f"{SUPERSEDED_FOOTPRINTS} ORDER BY ef.event_id",
        ids,
        pa.schema([pa.field("footprint_id", pa.string()), pa.field("event_id", pa.string())]),
    )
    ev = store.events(include_superseded=True)
    ev = ev.take(
        pa.array(
            [
                ev.column("event_id").to_pylist().index(e)
                for e in rows.column("event_id").to_pylist()
            ]
        )
    )
    cfg = AccountingConfig(pue=pue)
    return build(
        ev,
        compute_footprints(ev, cfg, SignalBook()),
        cfg,
        computed_utc=datetime(2026, 9, 3, tzinfo=UTC),
        supersedes=rows.column("footprint_id").combine_chunks(),
    )


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.slow
def test_rollup_reads_as_the_rows_through_every_kind_of_write(
    store: Store, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    n = 0

    def fresh(k: int, **over: Any) -> list[dict[str, Any]]:
        nonlocal n
        out = []
        for i in range(n, n + k):
            ev = make_event(i, **over)
            ev["outcome"] = [None, "answer", "refusal"][int(rng.integers(3))]
            if rng.random() < 0.5:  # some events report no tokens
                ev["tokens_in"] = ev["tokens_out"] = None
            out.append(ev)
        n += k
        return out

    first = fresh(30)
    store.append_events_with_footprints(*service_batch(first))  # the ingest fast path
    _check(store, monkeypatch)
    store.append_events_with_footprints(*service_batch(fresh(12)))
    # a resend of stored events with new ones (the full-checks path)
    again = [*first[:5], *fresh(6)]
    store.append_events_with_footprints(*service_batch(again))
    _check(store, monkeypatch)
    # a correction without footprints: the corrected events' footprints leave
    fix = [
        make_event(1000 + j, supersedes=first[j]["event_id"], tenant=first[j]["tenant"])
        for j in (0, 1)
    ]
    store.append_events(fix)
    _check(store, monkeypatch)
    # events without footprints, then a resend of some of them with new ones
    bare = fresh(7)
    store.append_events(bare)
    _check(store, monkeypatch)
    store.append_events([*bare[:3], *fresh(2)])
    _check(store, monkeypatch)
    # a correction with footprints
    fix2 = [
        make_event(2000 + j, supersedes=first[j]["event_id"], tenant=first[j]["tenant"])
        for j in (3, 4)
    ]
    store.append_events_with_footprints(*service_batch(fix2))
    _check(store, monkeypatch)
    # a recomputation that supersedes live footprints (re-pricing)
    ids = [e["event_id"] for e in first[6:14]]
    store.append_footprint_table(_recomputed(store, ids, 1.4))
    _check(store, monkeypatch)
    store.append_events_with_footprints(*service_batch(fresh(9)))
    _check(store, monkeypatch)


def test_upgrade_fills_the_rollup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A version-3 ledger (no rollup) gets one, filled from its rows, when opened."""
    import duckdb

    path = tmp_path / "v3.duckdb"
    with DuckDBStore(path) as store:
        store.append_events_with_footprints(*service_batch([make_event(i) for i in range(25)]))
    con = duckdb.connect(str(path))
    con.execute("DROP TABLE footprint_hours")
    con.execute("DROP TABLE event_hours")
    con.execute("DELETE FROM ledger_meta WHERE key = 'event_hours_folded_rowid'")
    con.execute("DELETE FROM ledger_meta WHERE key = 'hours_folded_rowid'")
    con.execute("UPDATE ledger_meta SET value = '3' WHERE key = 'schema_version'")
    con.close()
    with DuckDBStore(path) as store:
        assert store._fetchall(
            "SELECT value FROM ledger_meta WHERE key = %s", ["schema_version"]
        ) == [(str(SCHEMA_VERSION),)]
        _check(store, monkeypatch)


def test_upgrade_fills_the_event_rollup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A version-7 ledger (no event rollup) gets one, filled from its live events, when
    opened; events stored after the upgrade are folded in past the mark."""
    import duckdb

    path = tmp_path / "v7.duckdb"
    with DuckDBStore(path) as store:
        store.append_events_with_footprints(*service_batch([make_event(i) for i in range(25)]))
        store.append_events([make_event(100 + i) for i in range(4)])
    con = duckdb.connect(str(path))
    con.execute("DROP TABLE event_hours")
    con.execute("DELETE FROM ledger_meta WHERE key = 'event_hours_folded_rowid'")
    con.execute("UPDATE ledger_meta SET value = '7' WHERE key = 'schema_version'")
    con.close()
    with DuckDBStore(path) as store:
        assert store._stored_version() == str(SCHEMA_VERSION)
        assert R.rollup_events(store, by=()).column("events")[0].as_py() == 29
        _check(store, monkeypatch)
        store.append_events_with_footprints(*service_batch([make_event(200 + i) for i in range(6)]))
        assert R.rollup_events(store, by=()).column("events")[0].as_py() == 35
        _check(store, monkeypatch)


def test_latency_quantiles_from_the_histogram() -> None:
    edges = LATENCY_EDGES_S
    rng = np.random.default_rng(3)
    lat = np.exp(rng.normal(np.log(0.4), 1.0, 5000))
    k = np.searchsorted(edges, lat, side="right")
    counts = np.bincount(k, minlength=len(edges) + 1)
    sums = np.bincount(k, weights=lat, minlength=len(edges) + 1)
    for q in (0.5, 0.95):
        got = latency_quantile_s(counts.tolist(), sums.tolist(), q)
        assert got is not None
        assert 1 / 1.78 < got / float(np.quantile(lat, q)) < 1.78
    one = np.zeros(len(edges) + 1, dtype=np.int64)
    one[12] = 4  # four requests of exactly 1 s
    assert latency_quantile_s(one.tolist(), (one * 1.0).tolist(), 0.5) == 1.0
    assert latency_quantile_s([0] * (len(edges) + 1), [0.0] * (len(edges) + 1), 0.5) is None


def test_newest_page_skips_to_the_last_hours(store: Store) -> None:
    """The newest events come from the last hours the rollup says hold enough of them; a
    long request that started earlier but ended last is still first."""
    evs = [make_event(i) for i in range(40)]
    late = make_event(
        99,
        start_utc="2026-07-01T00:00:00Z",
        end_utc=(T0 + timedelta(days=2)).isoformat().replace("+00:00", "Z"),
    )
    store.append_events_with_footprints(*service_batch([*evs, late]))
    page = R.event_rows(store, tenant=None, limit=5).column("event_id").to_pylist()
    assert page[0] == late["event_id"]
    ends = {e["event_id"]: e["end_utc"] for e in [*evs, late]}
    assert [ends[e] for e in page] == sorted(ends.values(), reverse=True)[:5]


def _hours_source(seed: int) -> pa.Table:
    """Compact footprint rows of varied events, with the events' dimensions (a source of
    the rollup), some of them with nulls where a row may hold none, and latencies on and
    around the histogram's edges."""
    import pyarrow.compute as pc

    from infercarbon.ledger.hours import EVENT_DIMS, source_columns

    rng = np.random.default_rng(seed)
    edges_us = [1000, 1778, 1779, 10_000, 100_000, 1_000_000, 316_227_767, 400_000_000]
    evs = []
    for i in range(60):
        lat_us = int(edges_us[i % len(edges_us)] if i % 2 else rng.integers(1, 5_000_000))
        start = T0 + timedelta(minutes=int(rng.integers(0, 300)))
        evs.append(
            make_event(
                i,
                start_utc=start.isoformat(),
                end_utc=(start + timedelta(microseconds=lat_us)).isoformat(),
                outcome=None if i % 5 == 0 else "answer",
                energy_j=float(rng.uniform(0.0, 50.0)) if i % 7 else 0.0,
            )
        )
    events, batch = service_batch(evs)
    fp = batch.footprints
    src = fp.select(source_columns())
    by_id = {e: k for k, e in enumerate(events.column("event_id").to_pylist())}
    idx = pa.array([by_id[e] for e in fp.column("event_id").to_pylist()])
    for d in EVENT_DIMS:
        src = src.append_column(d, events.column(d).take(idx))
    n = src.num_rows

    def some_null(name: str, every: int) -> None:
        nonlocal src
        col = src.column(name)
        mask = pa.array([k % every == 0 for k in range(n)])
        src = src.set_column(
            src.schema.get_field_index(name),
            name,
            pc.if_else(mask, pa.nulls(n, col.type), col),
        )

    some_null("energy_low_j", 3)
    some_null("energy_high_j", 4)
    some_null("total_market_g", 5)
    some_null("market_g", 10)
    some_null("idle_attributed_j", 2)
    some_null("embodied_low_g", 6)
    some_null("currency", 3)
    return src


@pytest.mark.parametrize("seed", [1, 2])
def test_batch_rollup_rows_are_the_sql_sums(
    backend: str, store_factory: Callable[[], Store], seed: int
) -> None:
    """A batch's rollup rows summed in Arrow (PostgreSQL's ingest) are the sums the
    rollup's own SQL computes over the same rows: keys, counts, nulls and values."""
    from infercarbon.ledger.base import SqlStore
    from infercarbon.ledger.hours import HOURS, _select, footprint_hours_rows
    from infercarbon.ledger.schema import Column, TableSpec

    if backend != "postgres":
        pytest.skip("the Arrow sums stand for PostgreSQL's SQL (DuckDB folds in SQL)")
    store = store_factory()
    assert isinstance(store, SqlStore)
    src = _hours_source(seed)
    spec = TableSpec(
        "src",
        "footprints",
        tuple(Column(f.name, f.type, False) for f in src.schema),
        key=("footprint_id",),
        ingested=False,
    )
    key = list(HOURS.key)
    with store._tx():
        store._stage("src", spec, src)
        want = store._arrow(f"SELECT * FROM ({_select('src')}) q", [], HOURS.arrow_schema).sort_by(
            [(k, "ascending") for k in key]
        )
        store._unstage("src")
    got = footprint_hours_rows(src).sort_by([(k, "ascending") for k in key])
    assert got.num_rows == want.num_rows > 5
    _close(got.to_pylist(), want.to_pylist())


def test_the_rollups_say_where_events_lack_a_footprint(store: Store) -> None:
    """The start-up backfill asks the two rollups where live events outnumber their
    footprints: nowhere on a ledger written by ingest; the (hour, tenant) of each event
    stored without one; the bounded search finds what the full search finds."""
    from .conftest import general_batch

    store.append_events_with_footprints(*service_batch([make_event(i) for i in range(12)]))
    assert R.missing_footprint_hours(store) == []
    assert R.missing_footprints(store, hours=[]).num_rows == 0
    bare = [make_event(100 + i) for i in range(5)]
    store.append_events(bare)
    pairs = R.missing_footprint_hours(store)
    assert pairs is not None
    want = {
        (datetime.fromisoformat(e["start_utc"]).replace(minute=0, second=0), e["tenant"])
        for e in bare
    }
    assert set(pairs) == want
    bounded = R.missing_footprints(store, hours=pairs).column("event_id").to_pylist()
    assert bounded == R.missing_footprints(store).column("event_id").to_pylist()
    assert sorted(bounded) == sorted(e["event_id"] for e in bare)
    # an event footprint in the general layout: the rollups cannot say
    store.append_events_with_footprints(*general_batch([make_event(200)]))
    assert R.missing_footprint_hours(store) is None
