"""Footprints, rollups, Parquet export and the audit trail, on both stores."""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow.parquet as pq
import pytest

from infercarbon.errors import InputError, LedgerError, LedgerIntegrityError
from infercarbon.ledger import (
    FootprintFigures,
    FootprintRecord,
    LedgerConflictError,
    LineItemRecord,
    Store,
    TotalRecord,
    export_all,
    export_parquet,
    inputs_hash,
    rollup_events,
    rollup_footprints,
    rollup_line_items,
    show,
    verify,
)
from infercarbon.units import J_PER_KWH

Events = Callable[..., list[dict[str, Any]]]
VERSIONS = {"grid": "ember-2026-08", "pue": "uptime-2024", "infercarbon": "0.1.0"}


def toy_recompute(inputs: Mapping[str, Any], versions: Mapping[str, str]) -> FootprintFigures:
    """A stand-in for the accounting layer: facility energy x intensity, +/- a fraction."""
    if versions.get("grid") == "withdrawn":
        raise InputError("this grid factor version is not shipped", field="grid")
    e = inputs["energy_j"] * inputs["pue"]
    r = inputs["range_frac"]
    items, totals = [], {}
    for basis, g_per_kwh in sorted(inputs["intensity_g_per_kwh"].items()):
        v = e / J_PER_KWH * g_per_kwh
        items.append(
            LineItemRecord(
                f"operational_{basis}",
                v,
                v * (1 - r),
                v * (1 + r),
                "measured",
                f"energy: nvml; intensity: {versions['grid']}",
                f"scope2_{basis}",
                True,
                basis,
                v,
                e,
            )
        )
        totals[basis] = TotalRecord(v, v * (1 - r), v * (1 + r), v)
    return FootprintFigures(energy_j=e, line_items=tuple(items), totals=totals)


def record_for(
    ev: Mapping[str, Any],
    *,
    energy_j: float | None = None,
    supersedes: str | None = None,
    versions: Mapping[str, str] = VERSIONS,
    recompute: Any = toy_recompute,
) -> FootprintRecord:
    inputs = {
        "event_id": ev["event_id"],
        "energy_j": energy_j or ev["energy_j"],
        "pue": 1.2,
        "range_frac": 0.1,
        "intensity_g_per_kwh": {"location": 380.0, "market": 250.0},
    }
    start = datetime.fromisoformat(ev["start_utc"])
    return FootprintRecord.create(
        tenant=ev["tenant"],
        event_id=ev["event_id"],
        inputs=inputs,
        factor_versions=versions,
        figures=recompute(inputs, versions),
        period_start_utc=start,
        period_end_utc=datetime.fromisoformat(ev["end_utc"]),
        computed_utc=datetime(2026, 9, 1, tzinfo=UTC),
        calculator="toy 1",
        supersedes=supersedes,
    )


def test_footprint_round_trip(store: Store, events: Events) -> None:
    evs = events(3)
    store.append_events(evs)
    recs = [record_for(e) for e in evs]
    assert store.append_footprints(recs).inserted == 3
    got = store.footprint(recs[1].footprint_id)
    assert got == recs[1]  # every field, figures included (ingest time aside)
    assert got.ingested_utc is not None
    assert got.inputs_hash == inputs_hash(recs[1].inputs, VERSIONS)
    assert store.footprint_ids() == sorted(r.footprint_id for r in recs)
    assert store.footprint_ids(tenant=evs[0]["tenant"]) == [recs[0].footprint_id]


def test_footprint_idempotent_and_conflict(store: Store, events: Events) -> None:
    ev = events(1)[0]
    store.append_events([ev])
    rec = record_for(ev)
    store.append_footprints([rec])
    res = store.append_footprints([rec, rec])
    assert (res.received, res.inserted, res.duplicates) == (2, 0, 2)
    changed = FootprintRecord.create(
        tenant=rec.tenant,
        event_id=rec.event_id,
        inputs=rec.inputs,
        factor_versions=rec.factor_versions,
        period_start_utc=rec.period_start_utc,
        period_end_utc=rec.period_end_utc,
        computed_utc=rec.computed_utc,
        calculator="toy 2",
        footprint_id=rec.footprint_id,
        figures=rec.figures,
    )
    with pytest.raises(LedgerConflictError, match=rec.footprint_id):
        store.append_footprints([changed])
    assert store.count("footprints") == 1 and store.count("footprint_items") == 2


def test_footprint_subject_rules(store: Store, events: Events) -> None:
    evs = events(2)
    with pytest.raises(LedgerError, match="append the event first"):
        store.append_footprints([record_for(evs[0])])
    store.append_events(evs)
    first = record_for(evs[0])
    store.append_footprints([first])
    # a second footprint of the same event must supersede the first
    again = record_for(evs[0], versions={**VERSIONS, "grid": "ember-2026-09"})
    with pytest.raises(LedgerConflictError, match="supersedes"):
        store.append_footprints([again])
    newer = record_for(
        evs[0], versions={**VERSIONS, "grid": "ember-2026-09"}, supersedes=first.footprint_id
    )
    assert store.append_footprints([newer]).inserted == 1
    assert store.footprint_ids(include_superseded=False) == [newer.footprint_id]
    with pytest.raises(LedgerError, match="same tenant and subject"):
        store.append_footprints([record_for(evs[1], supersedes=first.footprint_id)])
    with pytest.raises(InputError, match="exactly one"):
        FootprintRecord.create(
            tenant="a",
            inputs={},
            factor_versions={},
            figures=first.figures,
            period_start_utc=first.period_start_utc,
            period_end_utc=first.period_end_utc,
            computed_utc=first.computed_utc,
            calculator="x",
        )
    with pytest.raises(InputError, match="finite"):
        record_for(evs[0], energy_j=float("inf"))


def test_aggregate_footprint(store: Store) -> None:
    figures = toy_recompute(
        {
            "energy_j": 3.6e9,
            "pue": 1.1,
            "range_frac": 0.05,
            "intensity_g_per_kwh": {"location": 300.0},
        },
        VERSIONS,
    )
    rec = FootprintRecord.create(
        tenant="acme",
        aggregate_key="acme/2026-Q3/chat",
        figures=figures,
        inputs={
            "energy_j": 3.6e9,
            "pue": 1.1,
            "range_frac": 0.05,
            "intensity_g_per_kwh": {"location": 300.0},
        },
        factor_versions=VERSIONS,
        period_start_utc=datetime(2026, 7, 1, tzinfo=UTC),
        period_end_utc=datetime(2026, 10, 1, tzinfo=UTC),
        computed_utc=datetime(2026, 10, 2, tzinfo=UTC),
        calculator="toy 1",
    )
    store.append_footprints([rec])
    assert store.footprint(rec.footprint_id).aggregate_key == "acme/2026-Q3/chat"
    assert verify(store, toy_recompute).ok


def test_rollups_sum_the_events(store: Store, events: Events) -> None:
    evs = events(240)  # 7-minute spacing: 28 hours, 2 days
    store.append_events(evs)
    total = sum(e["energy_j"] for e in evs)
    for by in (["service"], ["tenant"], ["model"], ["region"], ["service", "tenant", "model"]):
        for period in (None, "hour", "day", "month"):
            t = rollup_events(store, by=by, period=period)
            assert sum(t["events"].to_pylist()) == 240
            assert sum(t["energy_j"].to_pylist()) == pytest.approx(total, rel=1e-12)
            assert sum(t["tokens_in"].to_pylist()) == sum(e["tokens_in"] for e in evs)
    hours = rollup_events(store, by=[], period="hour")
    assert hours.num_rows == 28
    assert hours["period_start_utc"][1].as_py() == datetime(2026, 7, 1, 1, tzinfo=UTC)
    days = rollup_events(store, by=["tenant"], period="day")
    assert days.column_names == [
        "period_start_utc",
        "tenant",
        "events",
        "energy_j",
        "tokens_in",
        "tokens_out",
        "payload_bytes",
    ]
    assert days.num_rows == 6
    acme = rollup_events(store, by=["tenant"], tenant="acme")
    assert acme["tenant"].to_pylist() == ["acme"]
    assert acme["energy_j"][0].as_py() == pytest.approx(
        sum(e["energy_j"] for e in evs if e["tenant"] == "acme"), rel=1e-12
    )
    window = rollup_events(
        store,
        by=[],
        start_utc=datetime(2026, 7, 1, 1, tzinfo=UTC),
        end_utc=datetime(2026, 7, 1, 2, tzinfo=UTC),
    )
    assert window["events"][0].as_py() == 9  # minutes 63, 70, ..., 119
    with pytest.raises(InputError, match="by"):
        rollup_events(store, by=["colour"])
    with pytest.raises(InputError, match="period"):
        rollup_events(store, period="week")


def test_rollup_footprints_and_line_items(store: Store, events: Events) -> None:
    evs = events(12)
    store.append_events(evs)
    recs = [record_for(e) for e in evs]
    store.append_footprints(recs)
    t = rollup_footprints(store, by=["service"], period="day")
    loc = [r for r in t.to_pylist() if r["basis"] == "location"]
    assert sum(r["footprints"] for r in loc) == 12
    expected = sum(r.figures.totals["location"].value_g for r in recs)
    assert sum(r["emissions_g"] for r in loc) == pytest.approx(expected, rel=1e-12)
    assert all(r["low_sum_g"] <= r["emissions_g"] <= r["high_sum_g"] for r in loc)
    li = rollup_line_items(store, by=["tenant"], tenant="acme")
    assert set(li["scope"].to_pylist()) == {"scope2_location", "scope2_market"}
    assert set(li["tenant"].to_pylist()) == {"acme"}
    # a superseded footprint no longer counts; the new one does
    newer = record_for(evs[0], energy_j=1000.0, supersedes=recs[0].footprint_id)
    store.append_footprints([newer])
    t2 = rollup_footprints(store, by=[])
    loc2 = next(r for r in t2.to_pylist() if r["basis"] == "location")
    assert loc2["footprints"] == 12
    assert loc2["emissions_g"] == pytest.approx(
        expected
        - recs[0].figures.totals["location"].value_g
        + newer.figures.totals["location"].value_g,
        rel=1e-12,
    )


def test_export_parquet(store: Store, events: Events, tmp_path: Any) -> None:
    evs = events(40)
    store.append_events(evs)
    store.append_footprints([record_for(e) for e in evs[:5]])
    n = export_parquet(store, "events", tmp_path / "events.parquet")
    assert n == 40
    assert pq.read_table(tmp_path / "events.parquet").equals(store.events())
    paths = export_all(store, tmp_path, tenant="acme")
    assert set(paths) == {
        "events",
        "footprints",
        "footprint_items",
        "footprint_totals",
        "runs",
        "storage",
        "transfers",
    }
    got = pq.read_table(paths["events"])
    assert set(got["tenant"].to_pylist()) == {"acme"} and got.num_rows == 14
    assert pq.read_table(paths["footprint_items"]).num_rows == 2 * 2  # acme: events 0 and 3
    assert not list(tmp_path.glob("*.partial"))
    with pytest.raises(LedgerError, match="does not exist"):
        export_all(store, tmp_path / "missing")


def test_audit_verify_and_show(store: Store, events: Events) -> None:
    evs = events(6)
    store.append_events(evs)
    store.append_footprints([record_for(e) for e in evs])
    report = verify(store, toy_recompute)
    assert report.ok and report.checked == 6 and len(report.verified) == 6
    report.raise_for_failure()
    fid = store.footprint_ids()[0]
    d = show(store, fid)
    assert d["inputs_hash_matches"] is True
    assert d["factor_versions"] == VERSIONS and d["inputs"]["pue"] == 1.2
    assert [li["name"] for li in d["line_items"]] == ["operational_location", "operational_market"]
    assert d["totals"]["location"]["value_g"] > 0
    json.dumps(d)  # printable as JSON
    assert verify(store, toy_recompute, tenant="acme").checked == 2
    with pytest.raises(LedgerError, match="not in the ledger"):
        show(store, fid, tenant="nobody")


def test_audit_catches_a_changed_calculation(store: Store, events: Events) -> None:
    evs = events(3)
    store.append_events(evs)
    store.append_footprints([record_for(e) for e in evs])

    def drifted(inputs: Mapping[str, Any], versions: Mapping[str, str]) -> FootprintFigures:
        f = toy_recompute(inputs, versions)
        li = f.line_items[0]
        bumped = LineItemRecord(
            li.name,
            li.emissions_g * (1 + 1e-9),
            li.low_g,
            li.high_g,
            li.label,
            li.source,
            li.scope,
            li.in_total,
            li.basis,
            li.p50_g,
            li.energy_j,
        )
        return FootprintFigures(f.energy_j, (bumped, *f.line_items[1:]), f.totals)

    report = verify(store, drifted)
    assert not report.ok and len(report.failed_ids) == 3
    assert {m.field for m in report.mismatches} == {"line_items.operational_location.emissions_g"}
    with pytest.raises(LedgerIntegrityError, match="3 of 3"):
        report.raise_for_failure()

    def tiny(inputs: Mapping[str, Any], versions: Mapping[str, str]) -> FootprintFigures:
        f = toy_recompute(inputs, versions)
        li = f.line_items[0]
        nudged = LineItemRecord(
            li.name,
            li.emissions_g * (1 + 2e-16),
            li.low_g,
            li.high_g,
            li.label,
            li.source,
            li.scope,
            li.in_total,
            li.basis,
            li.p50_g,
            li.energy_j,
        )
        return FootprintFigures(f.energy_j, (nudged, *f.line_items[1:]), f.totals)

    assert verify(store, tiny).ok  # within 1e-12 relative


def test_audit_reports_unrecomputable_and_tampered(
    store: Store, events: Events, backend: str
) -> None:
    evs = events(2)
    store.append_events(evs)
    store.append_footprints(
        [
            record_for(evs[0]),
            record_for(
                evs[1],
                versions={**VERSIONS, "grid": "withdrawn"},
                recompute=lambda i, v: toy_recompute(i, {**v, "grid": "x"}),
            ),
        ]
    )
    report = verify(store, toy_recompute)
    assert len(report.errors) == 1 and "not shipped" in report.errors[0][1]
    # tamper with a stored input behind the ledger's back: the hash no longer matches
    fid = record_for(evs[0]).footprint_id
    store._exec(  # type: ignore[attr-defined]
        "UPDATE footprints SET inputs_json = replace(inputs_json, '1.2', '1.3') "
        "WHERE footprint_id = %s",
        [fid],
    )
    report = verify(store, toy_recompute, footprint_ids=[fid])
    assert [m.field for m in report.mismatches] == ["inputs_hash"]
    assert show(store, fid)["inputs_hash_matches"] is False


def test_real_accounting_footprint_verifies(store: Store, events: Events) -> None:
    """The accounting layer's Footprint stored and recomputed through the same interface."""
    from infercarbon.accounting import FootprintRequest, Input, footprint

    def recompute(inputs: Mapping[str, Any], versions: Mapping[str, str]) -> FootprintFigures:
        req = FootprintRequest(
            region_id=inputs["region_id"],
            energy_j=Input.user("energy_j", inputs["energy_j"], "j"),
            intensity_location_g_per_kwh=Input.user(
                "intensity_location_g_per_kwh", inputs["intensity_location_g_per_kwh"], "g_per_kwh"
            ),
            intensity_market_g_per_kwh=Input.user(
                "intensity_market_g_per_kwh", inputs["intensity_market_g_per_kwh"], "g_per_kwh"
            ),
            pue=Input.user("pue", inputs["pue"], "ratio"),
            samples=inputs["samples"],
            seed=inputs["seed"],
        )
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            return FootprintFigures.from_footprint(footprint(req))

    ev = events(1)[0]
    store.append_events([ev])
    inputs = {
        "region_id": "DE",
        "energy_j": ev["energy_j"],
        "pue": 1.18,
        "intensity_location_g_per_kwh": 381.0,
        "intensity_market_g_per_kwh": 270.5,
        "samples": 500,
        "seed": 7,
    }
    start = datetime.fromisoformat(ev["start_utc"])
    rec = FootprintRecord.create(
        tenant=ev["tenant"],
        event_id=ev["event_id"],
        inputs=inputs,
        factor_versions=VERSIONS,
        figures=recompute(inputs, VERSIONS),
        period_start_utc=start,
        period_end_utc=start + timedelta(seconds=2),
        computed_utc=start,
        calculator="infercarbon.accounting.footprint",
    )
    store.append_footprints([rec])
    report = verify(store, recompute, rel_tol=0.0)
    assert report.ok, report.to_dict()
    assert store.footprint(rec.footprint_id).figures.totals["location"].value_g == pytest.approx(
        ev["energy_j"] * 1.18 / J_PER_KWH * 381.0, rel=1e-12
    )
