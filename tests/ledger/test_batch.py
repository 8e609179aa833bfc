"""The columnar footprint path: canonical JSON built with Arrow kernels, FootprintBatch,
events and footprints appended in one transaction, content hashes independent of the
computation time, and validation that names the field for hostile numbers."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from infercarbon.accounting.batch import LINE_NAMES
from infercarbon.errors import EventValidationError, InputError, Problem
from infercarbon.ledger import FootprintRecord, LedgerConflictError, Store, verify
from infercarbon.ledger.canonical import (
    canonical_json,
    json_number,
    json_object,
    json_string,
    json_time,
)
from infercarbon.ledger.compact import EventFootprintBatch
from infercarbon.ledger.records import FootprintBatch, build_footprints
from infercarbon.ledger.schema import EVENTS
from infercarbon.ledger.validation import validate_rows

from .conftest import service_batch

N_ITEMS = len(LINE_NAMES)

Events = Callable[..., list[dict[str, Any]]]
_fast = settings(max_examples=200, deadline=None)


# ------------------------------------------------------------------ columnar JSON
@_fast
@given(st.lists(st.floats(allow_nan=False, allow_infinity=False), max_size=50))
def test_json_number_is_python_repr(values: list[float]) -> None:
    assert json_number(pa.array(values, pa.float64())).to_pylist() == [
        json.dumps(v) for v in values
    ]


def test_json_number_layout_edges() -> None:
    edges = [
        0.0,
        -0.0,
        1e-4,
        9.999e-5,
        1e15,
        1e16,
        9999999999999998.0,
        123456789.125,
        5e-324,
        1.7976931348623157e308,
        100.0,
        2.5e-7,
        0.1 + 0.2,
    ]
    rng = np.random.default_rng(7)
    values = [*edges, *(rng.random(2000) * 10.0 ** rng.integers(-9, 20, 2000)).tolist()]
    assert json_number(pa.array(values)).to_pylist() == [repr(v) for v in values]
    with pytest.raises(InputError, match="NaN"):
        json_number(pa.array([1.0, math.nan]))


@_fast
@given(st.lists(st.text(), max_size=20))
@pytest.mark.slow
def test_json_string_is_json_dumps(values: list[str]) -> None:
    values = [v for v in values if not any(0xD800 <= ord(c) <= 0xDFFF for c in v)]
    assert json_string(pa.array(values, pa.string())).to_pylist() == [
        json.dumps(v, ensure_ascii=False) for v in values
    ]


@_fast
@given(
    st.lists(
        st.datetimes(
            min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31), timezones=st.just(UTC)
        ),
        max_size=20,
    )
)
@pytest.mark.slow
def test_json_time_is_canonical(values: list[datetime]) -> None:
    arr = pa.array(values, pa.timestamp("us", tz="UTC"))
    assert json_time(arr).to_pylist() == [canonical_json(v) for v in values]


def test_json_object_sorts_keys_and_leaves_out_nulls() -> None:
    got = json_object(
        {"z": json_number(pa.array([1.0, 2.0])), "a": pa.array(['"x"', None]), "m": "null"}, 2
    ).to_pylist()
    assert got == ['{"a":"x","m":null,"z":1.0}', '{"m":null,"z":2.0}']
    assert [json.loads(g) for g in got] == [{"a": "x", "m": None, "z": 1.0}, {"m": None, "z": 2.0}]
    assert json_object({}, 2).to_pylist() == ["{}", "{}"]


# ---------------------------------------------------------------- batch = records
def _record(i: int, computed: datetime, calculator: str = "toy 1") -> FootprintRecord:
    from infercarbon.ledger import FootprintFigures, LineItemRecord, TotalRecord

    e = 10.0 + i / 7
    g = e / 3.6e6 * 380.0
    items = (
        LineItemRecord(
            "operational_location",
            g,
            0.9 * g,
            1.1 * g,
            "cited",
            f'src "{i}"',
            "scope2_location",
            True,
            "location",
            None,
            e,
        ),
        LineItemRecord("embodied", 0.0, 0.0, 0.0, "excluded: n/a", "-", "scope3", False),
    )
    figures = FootprintFigures(e, items, {"location": TotalRecord(g, 0.9 * g, 1.1 * g)})
    t = datetime(2026, 7, 1, tzinfo=UTC) + timedelta(seconds=i, microseconds=250 * i)
    return FootprintRecord.create(
        tenant="acme",
        event_id=f"ev-{i:06d}",
        inputs={"energy_j": e, "k": [i, "ü\n"]},
        factor_versions={"grid": "ember 2026"},
        figures=figures,
        period_start_utc=t,
        period_end_utc=t + timedelta(seconds=1),
        computed_utc=computed,
        calculator=calculator,
    )


def _batch_of(records: list[FootprintRecord]) -> FootprintBatch:
    """The same records through the columnar builder."""
    n = len(records)
    items: dict[str, list[Any]] = {
        k: []
        for k in (
            "row",
            "name",
            "emissions_g",
            "low_g",
            "p50_g",
            "high_g",
            "label",
            "source",
            "scope",
            "basis",
            "in_total",
            "energy_j",
        )
    }
    totals: dict[str, list[Any]] = {
        k: [] for k in ("row", "basis", "value_g", "low_g", "p50_g", "high_g")
    }
    for row, r in enumerate(records):
        for li in r.figures.line_items:
            items["row"].append(row)
            for k, v in li.to_dict().items():
                items[k].append(v)
        for basis, t in sorted(r.figures.totals.items()):
            totals["row"].append(row)
            totals["basis"].append(basis)
            for k, v in t.to_dict().items():
                totals[k].append(v)
    ts = pa.timestamp("us", tz="UTC")
    return (
        build_footprints(
            tenant=pa.array([r.tenant for r in records]),
            event_id=pa.array([r.event_id for r in records]),
            period_start_utc=pa.array([r.period_start_utc for r in records], ts),
            period_end_utc=pa.array([r.period_end_utc for r in records], ts),
            computed_utc=records[0].computed_utc,
            calculator=records[0].calculator,
            energy_j=pa.array([r.figures.energy_j for r in records]),
            inputs_json=pa.array([canonical_json(r.inputs) for r in records]),
            factor_versions_json=pa.array([canonical_json(r.factor_versions) for r in records]),
            items=pa.table(items),
            totals=pa.table(totals),
        )
        if n
        else pytest.fail("empty")
    )


def test_columnar_batch_equals_records() -> None:
    now = datetime(2026, 9, 1, tzinfo=UTC)
    records = [_record(i, now) for i in range(25)]
    a, b = FootprintBatch.from_records(records), _batch_of(records)
    assert a.footprints.equals(b.footprints)
    assert a.items.equals(b.items)
    assert a.totals.equals(b.totals)
    assert b.footprints.column("record_hash").to_pylist() == [r.record_hash() for r in records]


def test_record_hash_ignores_computation_time() -> None:
    a = _record(3, datetime(2026, 9, 1, tzinfo=UTC))
    b = _record(3, datetime(2027, 1, 1, tzinfo=UTC))
    assert (a.footprint_id, a.record_hash()) == (b.footprint_id, b.record_hash())
    assert _record(3, a.computed_utc, "toy 2").record_hash() != a.record_hash()


def test_batch_check_names_row_and_field() -> None:
    b = _batch_of([_record(i, datetime(2026, 9, 1, tzinfo=UTC)) for i in range(3)])
    fp = b.footprints
    bad = fp.set_column(
        fp.schema.get_field_index("inputs_hash"),
        "inputs_hash",
        pa.array(["0" * 64, *fp.column("inputs_hash").to_pylist()[1:]]),
    )
    with pytest.raises(EventValidationError, match=r"footprints\[0\]\.inputs_hash"):
        FootprintBatch(bad, b.items, b.totals).check()
    with pytest.raises(InputError, match="columns"):
        FootprintBatch(fp.drop_columns(["tenant"]), b.items, b.totals)


# ------------------------------------------------------- stores: one transaction
def test_events_with_footprints_idempotent(store: Store, events: Events) -> None:
    evs = events(12)
    table, batch = service_batch(evs)
    res = store.append_events_with_footprints(table, batch)
    assert (res.events.inserted, res.footprints.inserted) == (12, 12)
    assert res.footprint_written.all()
    # a re-send with overlap and a repeat inside the batch: only the new event is written
    t2, b2 = service_batch([*evs[4:8], evs[5], *events(1, start=12)])
    res = store.append_events_with_footprints(t2, b2)
    assert (res.events.received, res.events.inserted, res.events.duplicates) == (6, 1, 5)
    assert res.footprints.inserted == 1
    assert res.footprint_written.tolist() == [False] * 5 + [True]
    assert store.count("events") == store.count("footprints") == 13
    assert store.count("footprint_items") == 13 * N_ITEMS
    from infercarbon.accounting.batch import figures_from_inputs

    assert verify(store, lambda inputs, versions: figures_from_inputs(inputs)).ok


def test_events_with_footprints_all_or_nothing(store: Store, events: Events) -> None:
    evs = events(5)
    table, batch = service_batch(evs)
    # a footprint of an event that is not in the batch: refused before anything is written
    other, other_batch = service_batch(events(1, start=50))
    with pytest.raises(EventValidationError, match="not an event of this batch"):
        store.append_events_with_footprints(table, other_batch)
    store.append_events_with_footprints(other, other_batch)
    # a tampered id is named before anything is written
    fp = batch.footprints
    ids = fp.column("footprint_id").to_pylist()
    ids[2] = other_batch.footprints.column("footprint_id")[0].as_py()
    forged = EventFootprintBatch(
        batch.contexts, batch.context_items, fp.set_column(0, "footprint_id", pa.array(ids))
    )
    with pytest.raises(EventValidationError, match=r"event_footprints\[2\]\.footprint_id"):
        store.append_events_with_footprints(table, forged)
    # two footprints of one event (another PUE): refused inside the transaction, after the
    # events went in; the whole batch rolls back
    _, again = service_batch(evs, pue=1.2)
    two = EventFootprintBatch(
        *(
            pa.concat_tables([getattr(batch, k), getattr(again, k)])
            for k in ("contexts", "context_items", "footprints")
        )
    )
    with pytest.raises(LedgerConflictError, match="one footprint"):
        store.append_events_with_footprints(table, two)
    assert store.count("events") == 1 and store.count("footprints") == 1
    assert store.count("footprint_items") == N_ITEMS
    assert store.count("footprint_contexts") == 1


def test_footprint_resent_later_is_a_duplicate(store: Store, events: Events) -> None:
    ev = events(1)[0]
    store.append_events([ev])
    first = _record(0, datetime(2026, 9, 1, tzinfo=UTC))
    first = FootprintRecord.create(
        tenant=ev["tenant"],
        event_id=ev["event_id"],
        inputs=first.inputs,
        factor_versions=first.factor_versions,
        figures=first.figures,
        period_start_utc=first.period_start_utc,
        period_end_utc=first.period_end_utc,
        computed_utc=first.computed_utc,
        calculator=first.calculator,
    )
    assert store.append_footprints([first]).inserted == 1
    later = FootprintRecord.create(
        tenant=first.tenant,
        event_id=first.event_id,
        inputs=first.inputs,
        factor_versions=first.factor_versions,
        figures=first.figures,
        period_start_utc=first.period_start_utc,
        period_end_utc=first.period_end_utc,
        computed_utc=first.computed_utc + timedelta(days=30),
        calculator=first.calculator,
    )
    res = store.append_footprint_table(FootprintBatch.from_records([later]))
    assert (res.inserted, res.duplicates) == (0, 1)
    assert store.footprint(first.footprint_id).computed_utc == first.computed_utc


# ------------------------------------------------------------- hostile numbers
@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("tokens_in", 2**63),
        ("payload_bytes", -(2**63) - 1),
        ("colour", 2**64),
    ],
)
def test_integer_beyond_64_bits_names_the_field(events: Events, field: str, value: int) -> None:
    evs = events(3)
    evs[1][field] = value
    with pytest.raises(EventValidationError) as info:
        validate_rows(EVENTS, evs)
    assert [(p.index, p.field) for p in info.value.problems] == [(1, field)]
    assert "64-bit" in str(info.value)


_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(field=st.sampled_from([*EVENTS.names, "extra"]), value=_json, index=st.integers(0, 2))
@pytest.mark.slow
def test_hostile_values_raise_input_errors_only(
    events: Events, field: str, value: Any, index: int
) -> None:
    evs = events(3)
    evs[index][field] = value
    field_named = True
    try:
        validate_rows(EVENTS, evs)
    except InputError as exc:  # anything else (OverflowError, ArrowInvalid...) fails the test
        field_named = bool(exc.field)
    assert field_named


def _outcome(spec: Any, table: Any) -> Any:
    try:
        return validate_rows(spec, table).to_pylist()
    except InputError as exc:
        return ("error", exc.field, str(exc))


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    field=st.sampled_from(EVENTS.names),
    index=st.integers(0, 2),
    value=st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=8)
    | st.sampled_from(["2026-07-01T10:00:00Z", "2026-07-01T10:00:00", "12.5", ""]),
)
@pytest.mark.slow
def test_typed_conversion_validates_as_inference_does(
    events: Events, field: str, index: int, value: Any
) -> None:
    """The typed fast path of decoded rows (no type inference) and Arrow's inference give
    the same validated table, or the same named error, for any one value in any field."""
    from infercarbon.ledger.validation import _inferred_table, _typed_table

    if isinstance(value, bool) and EVENTS.column(field).kind == "float":
        return  # both paths refuse a JSON boolean as a number before conversion (_as_table)
    evs = events(3)
    evs[index][field] = value
    typed = _typed_table(EVENTS, evs)
    if typed is None:
        return  # the inferring path handles these rows
    inferred = _inferred_table(evs)
    assert inferred is not None
    assert _outcome(EVENTS, typed) == _outcome(EVENTS, inferred)


def test_validation_error_pickles_with_its_problems() -> None:
    import pickle

    err = EventValidationError("events", [Problem(1, "energy_j", "must not be negative")], more=3)
    back = pickle.loads(pickle.dumps(err))
    assert (back.table, back.problems, back.more, back.field, str(back)) == (
        err.table,
        err.problems,
        3,
        "events[1].energy_j",
        str(err),
    )
