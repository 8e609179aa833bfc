"""Both stores through one suite: ingest, idempotency, validation, atomicity, corrections."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pytest

from infercarbon.errors import InputError, LedgerError
from infercarbon.ledger import (
    EventValidationError,
    LedgerConflictError,
    Store,
    open_store,
    rollup_events,
)
from infercarbon.ledger.schema import EVENTS

Events = Callable[..., list[dict[str, Any]]]


def _ids(store: Store, **kw: Any) -> list[str]:
    return store.events(**kw)["event_id"].to_pylist()


def test_round_trip_is_exact(store: Store, events: Events) -> None:
    batch = events(50)
    batch[3]["energy_j"] = 0.1 + 0.2  # not representable in decimal: must survive exactly
    batch[4]["energy_j"] = 1.2345678901234567e-300
    for k in ("batch_id", "tokens_in", "outcome"):
        batch[5].pop(k)
    res = store.append_events(batch)
    assert (res.received, res.inserted, res.duplicates) == (50, 50, 0)
    got = store.events()
    assert got.schema == EVENTS.stored_schema
    rows = {r["event_id"]: r for r in got.to_pylist()}
    assert rows["ev-000003"]["energy_j"] == 0.1 + 0.2
    assert rows["ev-000004"]["energy_j"] == 1.2345678901234567e-300
    assert rows["ev-000005"]["tokens_in"] is None and rows["ev-000005"]["outcome"] is None
    assert rows["ev-000001"]["start_utc"] == datetime(2026, 7, 1, 0, 7, tzinfo=UTC)
    assert rows["ev-000001"]["tokens_out"] == 21
    assert all(r["ingested_utc"].tzinfo is not None for r in rows.values())


def test_arrow_table_input(store: Store, events: Events) -> None:
    table = pa.Table.from_pylist(events(20))
    assert store.append_events(table).inserted == 20
    assert store.count("events") == 20


def test_offsets_are_converted_to_utc(store: Store, events: Events) -> None:
    store.append_events(
        events(1, start_utc="2026-07-01T14:00:00+02:00", end_utc="2026-07-01T14:00:01+02:00")
    )
    assert store.events()["start_utc"][0].as_py() == datetime(2026, 7, 1, 12, tzinfo=UTC)


def test_same_batch_twice_is_a_no_op(store: Store, events: Events) -> None:
    store.append_events(events(30))
    before = store.events()
    res = store.append_events(events(30))
    assert (res.inserted, res.duplicates) == (0, 30)
    assert store.events().equals(before)  # ingested_utc unchanged too


def test_overlapping_batch_inserts_only_new(store: Store, events: Events) -> None:
    store.append_events(events(10))
    res = store.append_events(events(10, start=5))
    assert (res.inserted, res.duplicates) == (5, 5)
    assert store.count("events") == 15


def test_repeat_inside_batch(store: Store, events: Events) -> None:
    batch = events(3)
    res = store.append_events([*batch, batch[1]])
    assert (res.received, res.inserted, res.duplicates) == (4, 3, 1)
    changed = dict(batch[1], energy_j=999.0)
    with pytest.raises(LedgerConflictError, match="ev-000001"):
        store.append_events([*events(3, start=10), changed, batch[1]])
    assert store.count("events") == 3


def test_same_id_other_content_is_refused_and_batch_rolled_back(
    store: Store, events: Events
) -> None:
    store.append_events(events(5))
    bad = [*events(5, start=100), events(1, start=2, energy_j=1.0)[0]]
    with pytest.raises(LedgerConflictError, match="'ev-000002'") as err:
        store.append_events(bad)
    assert err.value.ids == ("ev-000002",)
    assert "supersedes" in str(err.value)
    assert store.count("events") == 5  # nothing from the rejected batch


@pytest.mark.parametrize(
    ("change", "field", "index"),
    [
        ({"energy_j": -1.0}, "energy_j", 2),
        ({"energy_j": float("nan")}, "energy_j", 2),
        ({"energy_j": True}, "energy_j", 2),
        ({"energy_j": "12"}, "energy_j", 2),
        ({"end_utc": "2026-06-30T00:00:00Z"}, "end_utc", 2),
        ({"start_utc": "2026-07-01T00:00:00"}, "start_utc", 2),
        ({"start_utc": "yesterday"}, "start_utc", 2),
        ({"tenant": ""}, "tenant", 2),
        ({"tenant": None}, "tenant", 2),
        ({"tokens_in": 3.5}, "tokens_in", 2),
        ({"tokens_in": -3}, "tokens_in", 2),
        ({"colour": "red"}, "colour", 2),
        ({"event_id": 7}, "event_id", 2),
    ],
)
def test_validation_names_index_and_field(
    store: Store, events: Events, change: dict[str, Any], field: str, index: int
) -> None:
    batch = events(4)
    batch[index].update(change)
    with pytest.raises(EventValidationError) as err:
        store.append_events(batch)
    p = err.value.problems[0]
    assert (p.index, p.field) == (index, field), err.value.problems
    assert f"events[{index}].{field}" in str(err.value)
    assert isinstance(err.value, InputError)
    assert store.count("events") == 0


def test_missing_required_field_and_every_problem_listed(store: Store, events: Events) -> None:
    batch = events(6)
    del batch[4]["model"]
    batch[1]["energy_j"] = -5.0
    with pytest.raises(EventValidationError) as err:
        store.append_events(batch)
    found = {(p.index, p.field) for p in err.value.problems}
    assert found == {(1, "energy_j"), (4, "model")}
    assert "events[1].energy_j" in str(err.value) and "events[4].model" in str(err.value)


def test_whole_float_tokens_accepted(store: Store, events: Events) -> None:
    store.append_events(events(1, tokens_in=12.0))
    assert store.events()["tokens_in"].to_pylist() == [12]


def test_not_a_list(store: Store, events: Events) -> None:
    with pytest.raises(InputError, match="list of events"):
        store.append_events(events(1)[0])
    with pytest.raises(EventValidationError, match=r"events\[1\]"):
        store.append_events([events(1)[0], 5])


def test_empty_batch(store: Store) -> None:
    assert store.append_events([]).received == 0


def test_interrupted_batch_leaves_nothing(
    store: Store, events: Events, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.append_events(events(3))

    def boom(*a: Any, **k: Any) -> None:
        raise RuntimeError("crash after the insert, before the commit")

    # the rows are inserted, then the check after the insert fails: all must roll back
    monkeypatch.setattr(store, "_raise_conflicts", boom)
    with pytest.raises(RuntimeError, match="crash"):
        store.append_events(events(100, start=10))
    monkeypatch.undo()
    assert store.count("events") == 3
    assert store.append_events(events(100, start=10)).inserted == 100  # still usable


def test_corrections_replace_the_row_in_reads_and_rollups(store: Store, events: Events) -> None:
    store.append_events(events(3))
    fix = events(1, start=1, event_id="ev-000001-fix", supersedes="ev-000001", energy_j=1.0)
    store.append_events(fix)
    assert _ids(store) == ["ev-000000", "ev-000001-fix", "ev-000002"]
    assert len(_ids(store, include_superseded=True)) == 4
    total = rollup_events(store, by=()).column("energy_j")[0].as_py()
    assert total == pytest.approx(10.0 + 1.0 + 10.2)
    # a correction of a correction
    fix2 = events(1, start=1, event_id="ev-000001-fix2", supersedes="ev-000001-fix", energy_j=2.0)
    store.append_events(fix2)
    assert "ev-000001-fix2" in _ids(store) and "ev-000001-fix" not in _ids(store)
    # correcting the same row twice forks history: refused
    with pytest.raises(LedgerConflictError, match="ev-000001"):
        store.append_events(events(1, start=1, event_id="other", supersedes="ev-000001"))
    with pytest.raises(LedgerError, match="not a stored event"):
        store.append_events(events(1, event_id="x", supersedes="nope"))
    tenant_of_2 = events(1, start=2)[0]["tenant"]
    with pytest.raises(LedgerError, match="same tenant"):
        store.append_events(
            events(
                1,
                start=1,
                event_id="y",
                supersedes="ev-000002",
                tenant="acme" if tenant_of_2 != "acme" else "globex",
            )
        )
    assert store.count("events") == 5


def test_no_update_or_delete_api(store: Store) -> None:
    public = {n for n in dir(store) if not n.startswith("_")}
    assert not {
        n for n in public if any(w in n for w in ("update", "delete", "remove", "drop", "truncate"))
    }


def test_tenant_filter(store: Store, events: Events) -> None:
    store.append_events(events(30))
    got = store.events(tenant="acme")
    assert set(got["tenant"].to_pylist()) == {"acme"} and got.num_rows == 10
    assert store.count("events", tenant="globex") == 10
    with pytest.raises(InputError, match="shared"):
        store.count("readings", tenant="acme")


def test_time_window(store: Store, events: Events) -> None:
    store.append_events(events(20))  # one every 7 minutes from T0
    got = store.events(
        start_utc=datetime(2026, 7, 1, 0, 14, tzinfo=UTC),
        end_utc=datetime(2026, 7, 1, 0, 35, tzinfo=UTC),
    )
    assert got["event_id"].to_pylist() == ["ev-000002", "ev-000003", "ev-000004"]
    with pytest.raises(InputError, match="start_utc"):
        store.events(start_utc=datetime(2026, 7, 1))  # naive


READING = {
    "device": "gpu0",
    "t_utc": "2026-07-01T00:00:00Z",
    "cumulative_j": 1000.0,
    "source": "nvml",
    "method": "nvmlDeviceGetTotalEnergyConsumption",
}


def test_readings(store: Store) -> None:
    rows = [
        dict(READING, t_utc=f"2026-07-01T00:00:{s:02d}Z", cumulative_j=1000.0 + 250 * s)
        for s in range(10)
    ]
    rows.append(
        {
            "device": "cpu",
            "t_utc": "2026-07-01T00:00:00Z",
            "power_w": 45.5,
            "source": "rapl",
            "method": "powercap",
        }
    )
    assert store.append_readings(rows).inserted == 11
    assert store.append_readings(rows).duplicates == 11
    assert store.readings(device="gpu0").num_rows == 10
    with pytest.raises(LedgerConflictError, match="gpu0"):
        store.append_readings([dict(rows[0], cumulative_j=1.0)])
    with pytest.raises(EventValidationError, match=r"readings\[0\]\.cumulative_j"):
        store.append_readings([{k: v for k, v in READING.items() if k != "cumulative_j"}])
    with pytest.raises(EventValidationError, match=r"readings\[0\]\.power_w"):
        store.append_readings([dict(READING, power_w=-3.0)])


SNAP = {
    "region": "DE",
    "kind": "location-average",
    "basis": "direct",
    "interval_start_utc": "2026-07-01T00:00:00Z",
    "resolution_s": 3600,
    "value_g_per_kwh": 380.0,
    "low_g_per_kwh": 340.0,
    "high_g_per_kwh": 420.0,
    "source": "Ember",
    "version": "2026-08",
    "retrieved_utc": "2026-08-01T00:00:00Z",
}


def test_intensity_snapshots(store: Store) -> None:
    assert store.append_intensity([SNAP]).inserted == 1
    assert store.append_intensity([SNAP]).duplicates == 1
    # a re-fetch is a new snapshot
    assert (
        store.append_intensity(
            [dict(SNAP, retrieved_utc="2026-08-02T00:00:00Z", value_g_per_kwh=381.0)]
        ).inserted
        == 1
    )
    with pytest.raises(LedgerConflictError, match="DE"):
        store.append_intensity([dict(SNAP, value_g_per_kwh=390.0)])
    assert store.intensity(region="DE").num_rows == 2
    for change, field in (
        ({"kind": "average"}, "kind"),
        ({"basis": "x"}, "basis"),
        ({"low_g_per_kwh": 400.0}, "low_g_per_kwh"),
        ({"high_g_per_kwh": 300.0}, "high_g_per_kwh"),
        ({"resolution_s": 0}, "resolution_s"),
    ):
        with pytest.raises(EventValidationError, match=rf"intensity\[0\]\.{field}"):
            store.append_intensity([dict(SNAP, **change)])


def test_duckdb_reopen_keeps_data(tmp_path: Any, events: Events) -> None:
    path = tmp_path / "l.duckdb"
    with open_store(path) as s:
        s.append_events(events(5))
    with open_store(f"duckdb://{path}") as s:
        assert s.count("events") == 5


def test_schema_version_mismatch(tmp_path: Any) -> None:
    import duckdb

    path = tmp_path / "old.duckdb"
    open_store(path).close()
    con = duckdb.connect(str(path))
    con.execute("UPDATE ledger_meta SET value = '0' WHERE key = 'schema_version'")
    con.close()
    with pytest.raises(LedgerError, match="schema version 0"):
        open_store(path)


def test_missing_folder(tmp_path: Any) -> None:
    with pytest.raises(LedgerError, match="does not exist"):
        open_store(tmp_path / "nope" / "l.duckdb")
