"""Reports against hand sums of the stored line items, in every format."""

from __future__ import annotations

import json
import math
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

import pytest

from infercarbon.charts import fmt
from infercarbon.errors import InputError
from infercarbon.ledger import (
    DuckDBStore,
    FootprintFigures,
    FootprintRecord,
    LineItemRecord,
    TotalRecord,
    open_store,
)
from infercarbon.report import NO_INFERENCES, build_report, parse_period, read_csv_tables, render
from infercarbon.report.tables import Report

GEN = datetime(2026, 10, 3, tzinfo=UTC)
LOC, MKT = ("location", "both"), ("market", "both")


def report(ledger: Any, period: str, tenant: str | None = None) -> Report:
    store = open_store(ledger.path)
    try:
        return build_report(store, parse_period(period), generated_utc=GEN, tenant=tenant)
    finally:
        store.close()


def hand(ledger: Any, period: str, tenant: str | None = None) -> dict[str, Any]:
    """Hand sums [g] of the counted line items of the stored records in the period."""
    p = parse_period(period)
    evs = {
        e["event_id"]: e
        for e in ledger.events
        if p.start_utc <= e["start_utc"] < p.end_utc and tenant in (None, e["tenant"])
    }
    g: dict[tuple[str, str], float] = defaultdict(float)
    low: dict[tuple[str, str], float] = defaultdict(float)
    high: dict[tuple[str, str], float] = defaultdict(float)
    totals: dict[str, float] = defaultdict(float)
    n_fp = 0
    for rec in ledger.records:
        if rec.event_id not in evs:
            continue
        n_fp += 1
        for li in rec.figures.line_items:
            if li.in_total and not li.label.startswith("excluded"):
                g[(li.scope, li.basis)] += li.emissions_g
                low[(li.scope, li.basis)] += li.low_g
                high[(li.scope, li.basis)] += li.high_g
        for b, t in rec.figures.totals.items():
            totals[b] += t.value_g

    def s(pred: Any, d: dict[tuple[str, str], float] = g) -> float:
        return sum(v for k, v in d.items() if pred(*k))

    return {
        "events": len(evs),
        "footprints": n_fp,
        "energy_j": sum(e["energy_j"] for e in evs.values()),
        "s2l": s(lambda sc, b: sc == "scope2_location"),
        "s2l_low": s(lambda sc, b: sc == "scope2_location", low),
        "s2l_high": s(lambda sc, b: sc == "scope2_location", high),
        "s2m": s(lambda sc, b: sc == "scope2_market"),
        "cat1_loc": s(lambda sc, b: sc == "scope3_cat1" and b in LOC),
        "cat1_mkt": s(lambda sc, b: sc == "scope3_cat1" and b in MKT),
        "cat2": s(lambda sc, b: sc == "scope3_cat2"),
        "cat11_loc": s(lambda sc, b: sc == "scope3_cat11" and b in LOC),
        "cat11_mkt": s(lambda sc, b: sc == "scope3_cat11" and b in MKT),
        "stored_totals": dict(totals),
    }


def close(a: float | None, b: float) -> bool:
    return a is not None and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-18)


def row(rep: Report, table: str, **match: Any) -> dict[str, Any]:
    rows = [dict(r) for r in rep.table(table).rows if all(r.get(k) == v for k, v in match.items())]
    assert len(rows) == 1, (table, match, rows)
    return rows[0]


def test_totals_match_hand_sums_of_stored_line_items(ledger: Any) -> None:
    rep = report(ledger, "2026-Q3")
    h = hand(ledger, "2026-Q3")
    assert rep.meta["status"] == "ok"
    assert row(rep, "energy", quantity="inferences in period")["value"] == h["events"] == 30
    assert row(rep, "energy", quantity="inferences with a stored footprint")["value"] == 29
    it = row(rep, "energy", quantity="IT energy of inferences (as recorded on the events)")
    assert close(it["value"], h["energy_j"] / 3.6e9)
    s2l = row(rep, "scope2", method="location-based")
    s2m = row(rep, "scope2", method="market-based")
    assert close(s2l["value_t"], h["s2l"] / 1e6)
    assert close(s2l["low_t"], h["s2l_low"] / 1e6)
    assert close(s2m["value_t"], h["s2m"] / 1e6)
    # general-layout footprints record no independent part: their deviations are shared
    # within their calculator, so the aggregate range is the sum of their ranges
    assert close(s2l["high_t"], h["s2l_high"] / 1e6)
    for r in (s2l, s2m):
        assert r["low_t"] < r["value_t"] < r["high_t"]
        assert "indep_low_t" not in r
    cat1 = row(rep, "scope3", scope="scope3_cat1", line_item="subtotal")
    assert close(cat1["location_basis_t"], h["cat1_loc"] / 1e6)
    assert close(cat1["market_basis_t"], h["cat1_mkt"] / 1e6)
    assert close(
        row(rep, "scope3", scope="scope3_cat2", line_item="subtotal")["location_basis_t"],
        h["cat2"] / 1e6,
    )
    cat11 = row(rep, "scope3", scope="scope3_cat11", line_item="subtotal")
    assert close(cat11["location_basis_t"], h["cat11_loc"] / 1e6)
    assert close(cat11["market_basis_t"], h["cat11_mkt"] / 1e6)
    total_loc = h["s2l"] + h["cat1_loc"] + h["cat2"] + h["cat11_loc"]
    total_mkt = h["s2m"] + h["cat1_mkt"] + h["cat2"] + h["cat11_mkt"]
    assert close(row(rep, "esrs_e1", datapoint="E1-6 §52(a)")["value"], total_loc / 1e6)
    assert close(row(rep, "esrs_e1", datapoint="E1-6 §52(b)")["value"], total_mkt / 1e6)
    # ... and equal to the stored per-footprint totals (reconciliation)
    assert close(total_loc, h["stored_totals"]["location"])
    rec = row(rep, "reconciliation", basis="market")
    assert close(rec["stored_totals_t"], h["stored_totals"]["market"] / 1e6)
    assert abs(rec["difference_t"]) < 1e-15
    # Scope 1 and net revenue are "not available", not zero
    for dp in ("E1-6 §48", "E1-6 §53", "E1-5 §37(a)-(c)"):
        r = row(rep, "esrs_e1", datapoint=dp)
        assert r["value"] is None and r["note"].startswith("not ")


def test_location_and_market_are_never_substituted(ledger: Any) -> None:
    rep = report(ledger, "2026-Q3")
    s2l = row(rep, "scope2", method="location-based")["value_t"]
    s2m = row(rep, "scope2", method="market-based")["value_t"]
    assert s2m < s2l  # some footprints hold a 20 g/kWh instrument
    inst = rep.table("market_instruments").rows
    fallback = [r for r in inst if r["fallback"]]
    assert fallback and all(r["label"] == "fallback: location-based" for r in fallback)
    assert any(r["instrument"] == "user input" and not r["fallback"] for r in inst)
    assert (
        "used the location-based factor as a labelled fallback"
        in row(rep, "scope2", method="market-based")["note"]
    )


def test_no_market_line_gives_no_market_figure(tmp_path: Any) -> None:
    """A ledger without market-based lines reports the market figure as not available; it
    never shows the location figure in its place."""
    store = DuckDBStore(tmp_path / "l.duckdb")
    t = datetime(2026, 8, 1, tzinfo=UTC)
    store.append_events(
        [
            {
                "event_id": "e1",
                "start_utc": t,
                "end_utc": t,
                "service": "s",
                "tenant": "a",
                "model": "m",
                "region": "DE",
                "device": "d",
                "energy_j": 3.6e6,
                "attribution_method": "measured",
            }
        ]
    )
    li = LineItemRecord(
        "operational_location",
        400.0,
        380.0,
        420.0,
        "cited",
        "grid X",
        "scope2_location",
        True,
        "location",
        400.0,
        3.6e6,
    )
    store.append_footprints(
        [
            FootprintRecord.create(
                tenant="a",
                inputs={"energy_j": 3.6e6},
                factor_versions={"calculator": "hand"},
                figures=FootprintFigures(
                    3.6e6, (li,), {"location": TotalRecord(400.0, 380.0, 420.0)}
                ),
                period_start_utc=t,
                period_end_utc=t,
                computed_utc=t,
                calculator="hand",
                event_id="e1",
            )
        ]
    )
    rep = build_report(store, parse_period("2026-08"), generated_utc=GEN)
    store.close()
    assert row(rep, "scope2", method="location-based")["value_t"] == 400.0 / 1e6
    mkt = row(rep, "scope2", method="market-based")
    assert mkt["value_t"] is None and mkt["low_t"] is None
    assert row(rep, "esrs_e1", datapoint="E1-6 §49(b)")["value"] is None
    assert row(rep, "esrs_e1", datapoint="E1-6 §52(b)")["value"] is None
    assert rep.table("market_instruments").rows == ()
    assert "n/a" in render(rep, "html")


def test_scope3_categories_follow_the_stored_scope_tags(ledger: Any) -> None:
    rep = report(ledger, "2026-Q3")
    s3 = rep.table("scope3").rows
    assert {r["scope"] for r in s3} == {"scope3_cat1", "scope3_cat2", "scope3_cat11"}
    # cloud compute electricity is cat. 1, on both bases, never in Scope 2
    op = row(rep, "scope3", scope="scope3_cat1", line_item="operational_location")
    assert op["location_basis_t"] > 0 and op["market_basis_t"] is None
    om = row(rep, "scope3", scope="scope3_cat1", line_item="operational_market")
    assert om["market_basis_t"] > 0 and om["location_basis_t"] is None
    # embodied of owned hardware is cat. 2 and has one figure on both bases
    emb = row(rep, "scope3", scope="scope3_cat2", line_item="embodied")
    assert emb["location_basis_t"] == emb["market_basis_t"] > 0
    # the vendor's use of sold products is cat. 11
    assert (
        row(rep, "scope3", scope="scope3_cat11", line_item="operational_location")[
            "location_basis_t"
        ]
        > 0
    )
    # training is excluded (not published) and listed with its reason, not as a zero
    ex = row(rep, "exclusions", line_item="training")
    assert ex["reason"] == "not published" and ex["footprints"] == 29
    assert not [r for r in s3 if r["line_item"] == "training"]
    memo = row(rep, "memo_consequential", item="consequential (marginal) emissions")
    assert memo["footprints"] == 1 and memo["value_t"] > 0


def test_period_filtering(ledger: Any) -> None:
    june = report(ledger, "2026-06")
    assert row(june, "energy", quantity="inferences in period")["value"] == 1
    h = hand(ledger, "2026-06")
    assert close(row(june, "scope2", method="location-based")["value_t"], h["s2l"] / 1e6)
    aug = report(ledger, "2026-08")
    assert [r["month"] for r in aug.table("by_month").rows] == ["2026-08"]
    assert row(aug, "energy", quantity="inferences in period")["value"] == 9
    wide = report(ledger, "2026-06..2026-10")
    assert row(wide, "energy", quantity="inferences in period")["value"] == 32
    hw = hand(ledger, "2026-06..2026-10")
    assert close(row(wide, "scope2", method="market-based")["value_t"], hw["s2m"] / 1e6)
    months = [r["month"] for r in wide.table("by_month").rows]
    assert months == ["2026-06", "2026-07", "2026-08", "2026-09", "2026-10"]
    q3 = report(ledger, "2026-Q3")
    assert sum(r["events"] for r in q3.table("by_month").rows) == 30


def test_tenant_filtering(ledger: Any) -> None:
    rep = report(ledger, "2026-Q3", tenant="globex")
    h = hand(ledger, "2026-Q3", tenant="globex")
    assert rep.meta["tenant"] == "globex"
    assert row(rep, "energy", quantity="inferences in period")["value"] == h["events"] == 9
    # globex only buys cloud compute: no Scope 2 at all, shown as not available
    assert row(rep, "scope2", method="location-based")["value_t"] is None
    assert close(
        row(rep, "scope3", scope="scope3_cat1", line_item="subtotal")["location_basis_t"],
        h["cat1_loc"] / 1e6,
    )
    assert {r["name"] for r in rep.table("inventory").rows if r["dimension"] == "tenant"} == {
        "globex"
    }
    assert "acme" not in render(rep, "json")
    acme = report(ledger, "2026-Q3", tenant="acme")
    ha = hand(ledger, "2026-Q3", tenant="acme")
    assert close(row(acme, "scope2", method="location-based")["value_t"], ha["s2l"] / 1e6)
    assert report(ledger, "2026-Q3", tenant="nobody").meta["status"] == NO_INFERENCES


def test_intensity_per_outcome(ledger: Any) -> None:
    rep = report(ledger, "2026-Q3")
    h = hand(ledger, "2026-Q3", tenant="acme")
    per = row(rep, "intensity_per_outcome", service="inspection", outcome="defect")
    assert per["count"] == 6 and per["inferences"] == 18
    insp = [
        r
        for r in ledger.records
        if r.event_id.startswith("insp-") and r.event_id not in ("insp-june", "insp-oct")
    ]
    loc_g = sum(r.figures.totals["location"].value_g for r in insp)
    assert close(per["location_g_per_outcome"], loc_g / 6)
    assert h["s2l"] > 0
    chat = row(rep, "intensity_per_outcome", service="chat", outcome="(per inference)")
    assert "without a footprint" in chat["note"]


def test_inventory_and_methodology(ledger: Any) -> None:
    rep = report(ledger, "2026-Q3")
    inv = rep.table("inventory").rows
    assert {r["name"] for r in inv if r["dimension"] == "service"} == {
        "inspection",
        "chat",
        "edge-product",
    }
    assert {r["name"] for r in inv if r["dimension"] == "region"} == {"DE", "FR"}
    gap = [
        r for r in inv if r["dimension"] == "calculator" and r["name"] == "(no stored footprint)"
    ]
    assert gap and gap[0]["events"] == 1
    factors = rep.table("factors").rows
    loc = [r for r in factors if r["factor"] == "intensity_location_g_per_kwh"]
    assert {r["region"] for r in loc} == {"DEU", "FRA"}
    assert all(r["source"] and r["vintage"] == "2023" and r["label"] == "cited" for r in loc)
    pue = [r for r in factors if r["factor"] == "pue"]
    assert pue and all(r["vintage"] and r["source"].startswith("seed") for r in pue)
    versions = rep.table("versions").rows
    assert any(
        r["item"] == "calculator"
        and r["version"] == "infercarbon-accounting-1"
        and r["footprints"] == 29
        for r in versions
    )
    assert {r["topic"] for r in rep.table("methods").rows} >= {"uncertainty", "dual reporting"}


def test_formats_carry_the_same_tables(ledger: Any) -> None:
    rep = report(ledger, "2026-Q3")
    doc = json.loads(render(rep, "json"))
    assert doc["report"]["status"] == "ok"
    assert doc["report"]["tables_sha256"] == rep.content_hash()
    assert list(doc["tables"]) == rep.names
    csv_tables = read_csv_tables(render(rep, "csv"))
    for name, t in doc["tables"].items():
        rows = csv_tables.get(name, [])
        assert len(rows) == len(t["rows"]), name
        for jr, cr in zip(t["rows"], rows, strict=True):
            for k, v in jr.items():
                if v is None:
                    assert cr[k] == ""
                elif isinstance(v, float):
                    assert float(cr[k]) == v
                elif isinstance(v, bool):
                    assert cr[k] == ("true" if v else "false")
                else:
                    assert cr[k] == str(v)
    assert csv_tables["report"][0] == {"key": "title", "value": rep.meta["title"]}
    assert any(n["table"] == "scope2" for n in csv_tables["notes"])


def test_html_is_self_contained_and_shows_the_figures(ledger: Any) -> None:
    rep = report(ledger, "2026-Q3")
    html = render(rep, "html")
    low = html.lower()
    for banned in ("<script", "<link", "@import", "url(", " src=", "href="):
        assert banned not in low, banned
    assert low.count("<svg") == 3
    for heading in (
        "Scope 2: location-based and market-based",
        "Scope 3",
        "ESRS E1",
        "System inventory",
        "Methodology and assumptions",
    ):
        assert heading in html
    v = row(rep, "scope2", method="market-based")["value_t"]
    assert fmt(v) in html
    assert "fallback: location-based" in html


def test_empty_period_says_so(ledger: Any) -> None:
    rep = report(ledger, "2025")
    assert rep.meta["status"] == NO_INFERENCES
    assert rep.names == ["status"]
    doc = json.loads(render(rep, "json"))
    assert doc["report"]["status"] == NO_INFERENCES
    assert "scope2" not in doc["tables"]
    html = render(rep, "html")
    assert NO_INFERENCES in html and "<svg" not in html
    assert NO_INFERENCES in render(rep, "csv")


def test_bad_arguments(ledger: Any) -> None:
    store = open_store(ledger.path)
    try:
        with pytest.raises(InputError, match="generated_utc"):
            build_report(store, parse_period("2026"), generated_utc=datetime(2026, 1, 1))
        with pytest.raises(InputError, match="tenant"):
            build_report(store, parse_period("2026"), generated_utc=GEN, tenant="")
        rep = build_report(store, parse_period("2026"), generated_utc=GEN)
    finally:
        store.close()
    with pytest.raises(InputError, match="format"):
        render(rep, "pdf")


def test_postgres_url_password_is_redacted() -> None:
    from infercarbon.report import redact_url

    assert redact_url("postgresql://u:secret@db:5432/x") == "postgresql://u:***@db:5432/x"
    assert redact_url("/tmp/l.duckdb") == "/tmp/l.duckdb"
