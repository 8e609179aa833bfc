"""Invariants with hypothesis: idempotent ingest, and rollups that sum to the events."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from infercarbon.ledger import Store, rollup_events

T0 = datetime(2026, 1, 1, tzinfo=UTC)

_event = st.fixed_dictionaries(
    {
        "offset_s": st.integers(0, 90 * 86_400),
        "duration_s": st.floats(0, 600, allow_nan=False),
        "service": st.sampled_from(["chat", "search", "vision"]),
        "model": st.sampled_from(["m1", "m2"]),
        "region": st.sampled_from(["DE", "FR", "PL"]),
        "energy_j": st.floats(0, 1e7, allow_nan=False, allow_infinity=False),
        "tokens_in": st.none() | st.integers(0, 10**6),
    },
)

_settings = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _batch(specs: list[dict[str, Any]], tenant: str) -> list[dict[str, Any]]:
    out = []
    for i, s in enumerate(specs):
        start = T0 + timedelta(seconds=s["offset_s"])
        out.append(
            {
                "event_id": f"{tenant}-{i}",
                "start_utc": start,
                "end_utc": start + timedelta(seconds=s["duration_s"]),
                "service": s["service"],
                "tenant": tenant,
                "model": s["model"],
                "region": s["region"],
                "device": "gpu0",
                "energy_j": s["energy_j"],
                "attribution_method": "measured-interval",
                "tokens_in": s["tokens_in"],
            }
        )
    return out


@_settings
@given(specs=st.lists(_event, min_size=1, max_size=40), repeat=st.integers(0, 39))
def test_inserting_a_batch_twice_equals_once(
    store: Store, specs: list[dict[str, Any]], repeat: int
) -> None:
    tenant = uuid.uuid4().hex[:10]
    batch = _batch(specs, tenant)
    batch.append(batch[repeat % len(batch)])  # an exact repeat inside the batch too
    first = store.append_events(batch)
    once = store.events(tenant=tenant)
    second = store.append_events(batch)
    assert first.inserted == len(specs) and second.inserted == 0
    assert second.duplicates == len(batch)
    assert store.events(tenant=tenant).equals(once)


@_settings
@given(
    specs=st.lists(_event, min_size=1, max_size=60),
    by=st.sampled_from([(), ("service",), ("model", "region"), ("tenant", "service")]),
    period=st.sampled_from([None, "hour", "day", "month"]),
)
def test_rollup_totals_equal_the_sum_of_events(
    store: Store, specs: list[dict[str, Any]], by: tuple[str, ...], period: str | None
) -> None:
    tenant = uuid.uuid4().hex[:10]
    batch = _batch(specs, tenant)
    store.append_events(batch)
    t = rollup_events(store, by=by, period=period, tenant=tenant)
    assert sum(t["events"].to_pylist()) == len(batch)
    assert sum(t["energy_j"].to_pylist()) == pytest.approx(
        sum(e["energy_j"] for e in batch), rel=1e-9, abs=1e-9
    )
    tokens = [e["tokens_in"] for e in batch if e["tokens_in"] is not None]
    assert sum(v for v in t["tokens_in"].to_pylist() if v is not None) == sum(tokens)
    keys = [*(["period_start_utc"] if period else []), *by]
    assert len({tuple(r[k] for k in keys) for r in t.to_pylist()}) == t.num_rows
