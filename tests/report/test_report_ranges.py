"""The report of a ledger written through the service (ingest) path: one honest p5..p95 per
figure, the idle share of active energy and the energy cost, each recomputed here by hand."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any

import pytest

from infercarbon.ledger import DuckDBStore
from infercarbon.ledger.rollup import AGGREGATE_RANGE_METHOD, ranged_sums
from infercarbon.report import build_report, parse_period, read_csv_tables, render
from infercarbon.report.tables import Report
from infercarbon.telemetry.base import ENERGY_BANDS

from .conftest import (
    CPU_PROFILE,
    POOL_PROFILE,
    service_event,
    write_service_path,
)

GEN = datetime(2026, 10, 3, tzinfo=UTC)
AUG = parse_period("2026-08")
J_PER_MWH = 3.6e9


def close(a: float | None, b: float, rel: float = 1e-9) -> bool:
    return a is not None and math.isclose(a, b, rel_tol=rel, abs_tol=1e-18)


def row(rep: Report, table: str, **match: Any) -> dict[str, Any]:
    rows = [dict(r) for r in rep.table(table).rows if all(r.get(k) == v for k, v in match.items())]
    assert len(rows) == 1, (table, match, rows)
    return rows[0]


def mixed_events() -> list[dict[str, Any]]:
    """Two services on two GPU devices (priced profile) and one CPU device (no price)."""
    evs = [service_event(i) for i in range(24)]
    evs += [
        service_event(
            100 + i,
            device="cpu-0",
            service="chat",
            attribution_method="cpu-model:modelled",
            energy_j=80.0 + i,
        )
        for i in range(4)
    ]
    return evs


@pytest.fixture
def mixed(tmp_path: Any) -> tuple[Report, list[Any], list[dict[str, Any]]]:
    evs = mixed_events()
    with DuckDBStore(tmp_path / "svc.duckdb") as store:
        recs = write_service_path(store, evs)
        rep = build_report(store, AUG, generated_utc=GEN)
    return rep, recs, evs


def items(recs: list[Any], pred: Any) -> tuple[float, float, float]:
    """Sums of (value, low, high) [g] of the stored line items that ``pred`` selects."""
    lines = [li for r in recs for li in r.figures.line_items if pred(li)]
    return (
        sum(li.emissions_g for li in lines),
        sum(li.low_g for li in lines),
        sum(li.high_g for li in lines),
    )


def test_scope2_has_one_honest_range(mixed: Any) -> None:
    rep, recs, _ = mixed
    t = rep.table("scope2")
    assert [c.key for c in t.columns] == [
        "method",
        "value_t",
        "low_t",
        "high_t",
        "footprints",
        "note",
    ]
    for method, scope in (("location-based", "scope2_location"), ("market-based", "scope2_market")):
        r = row(rep, "scope2", method=method)
        v, lo_sum, hi_sum = items(recs, lambda li, s=scope: li.scope == s and li.in_total)
        # the central value is the sum of the stored line items, as before
        assert close(r["value_t"], v / 1e6)
        assert r["low_t"] < r["value_t"] < r["high_t"]
        assert r["high_t"] - r["low_t"] >= 0.01 * r["value_t"]
        # narrower than the sums of the per-footprint ends (energy bands partly cancel)
        assert lo_sum / 1e6 < r["low_t"] and r["high_t"] < hi_sum / 1e6
    # the correlation assumption is stated beside the range
    assert any("p5..p95 of the sum" in n and "correlated" in n for n in t.notes)
    for name in ("scope3", "memo_consequential", "esrs_e1"):
        assert any("p5..p95 of the sum" in n for n in rep.table(name).notes), name
    doc = render(rep, "json") + render(rep, "csv") + render(rep, "html")
    for gone in ("indep_low_t", "indep_high_t", "(conservative)", "if independent"):
        assert gone not in doc


def test_scope3_embodied_has_a_range(mixed: Any) -> None:
    rep, recs, _ = mixed
    emb = row(rep, "scope3", scope="scope3_cat2", line_item="embodied")
    v, _, _ = items(recs, lambda li: li.name == "embodied")
    assert close(emb["location_basis_t"], v / 1e6)
    assert emb["location_low_t"] < emb["location_basis_t"] < emb["location_high_t"]
    assert (emb["market_low_t"], emb["market_high_t"]) == (
        emb["location_low_t"],
        emb["location_high_t"],
    )
    sub = row(rep, "scope3", scope="scope3_cat2", line_item="subtotal")
    assert sub["location_low_t"] < sub["location_basis_t"] < sub["location_high_t"]
    e = row(rep, "esrs_e1", datapoint="E1-6 §52(a)")
    assert e["low"] < e["value"] < e["high"]


def test_report_lines_agree_with_ranged_sums(tmp_path: Any) -> None:
    """Where a report line is one group of ranged_sums, the two give the same range."""
    with DuckDBStore(tmp_path / "svc.duckdb") as store:
        write_service_path(store, mixed_events())
        rep = build_report(store, AUG, generated_utc=GEN)
        kw: dict[str, Any] = {"start_utc": AUG.start_utc, "end_utc": AUG.end_utc}
        by_scope = {
            (r["scope"], r["basis"]): r
            for r in ranged_sums(
                store, of="items", keys=("scope", "basis", "in_total"), **kw
            ).to_pylist()
            if r["in_total"]
        }
        by_name = {
            r["name"]: r
            for r in ranged_sums(
                store, of="items", keys=("name", "scope", "basis", "in_total"), **kw
            ).to_pylist()
        }
        totals = {r["basis"]: r for r in ranged_sums(store, of="totals", **kw).to_pylist()}
    s2 = row(rep, "scope2", method="location-based")
    want = by_scope[("scope2_location", "location")]
    assert close(s2["low_t"], want["low_g"] / 1e6) and close(s2["high_t"], want["high_g"] / 1e6)
    emb = row(rep, "scope3", scope="scope3_cat2", line_item="embodied")
    assert close(emb["location_low_t"], by_name["embodied"]["low_g"] / 1e6)
    tot = row(rep, "esrs_e1", datapoint="E1-6 §52(a)")
    assert close(tot["high"], totals["location"]["high_g"] / 1e6)
    method = row(rep, "methods", topic="uncertainty")["method"]
    assert AGGREGATE_RANGE_METHOD in method and "first-order" in method
    for band in ENERGY_BANDS.values():
        assert f"class {band.accuracy_class} {band.method}" in method


def _aggregate(tmp_path: Any, n: int, **over: Any) -> tuple[dict[str, Any], list[Any]]:
    evs = [
        service_event(0, event_id=f"x{i}", device="gpu-0", service="chat", **over) for i in range(n)
    ]
    with DuckDBStore(tmp_path / f"agg{n}.duckdb") as store:
        recs = write_service_path(store, evs)
        rep = build_report(store, AUG, generated_utc=GEN)
    return row(rep, "scope2", method="location-based"), recs


def _line(rec: Any, name: str) -> Any:
    return next(li for li in rec.figures.line_items if li.name == name)


def test_identical_independent_events_narrow(tmp_path: Any) -> None:
    """N identical events: the energy band's part adds in quadrature (narrows as 1/sqrt N
    relative to the sum of the per-event ranges), the shared part (grid factor, PUE, idle
    figures) adds linearly and stays."""
    n = 16
    got, recs = _aggregate(tmp_path, n)
    rec = recs[0]
    e, e_lo, e_hi = (rec.inputs[k] for k in ("energy_j", "energy_low_j", "energy_high_j"))
    op, idle = _line(rec, "operational_location"), _line(rec, "idle_location")
    g = op.emissions_g + idle.emissions_g
    # per event: the energy part of the operational line, and the rest (shared)
    ind_dn, ind_up = op.emissions_g * (e - e_lo) / e, op.emissions_g * (e_hi - e) / e
    sh_dn = math.sqrt(max((op.emissions_g - op.low_g) ** 2 - ind_dn**2, 0.0)) + (
        idle.emissions_g - idle.low_g
    )
    sh_up = math.sqrt(max((op.high_g - op.emissions_g) ** 2 - ind_up**2, 0.0)) + (
        idle.high_g - idle.emissions_g
    )
    assert ind_dn > 0 and sh_dn > 0
    want_lo = n * g - math.sqrt(n * ind_dn**2 + (n * sh_dn) ** 2)
    want_hi = n * g + math.sqrt(n * ind_up**2 + (n * sh_up) ** 2)
    assert close(got["value_t"], n * g / 1e6)
    assert close(got["low_t"], want_lo / 1e6) and close(got["high_t"], want_hi / 1e6)
    per_event_lo = n * (op.low_g + idle.low_g)
    per_event_hi = n * (op.high_g + idle.high_g)
    assert per_event_lo / 1e6 < got["low_t"] and got["high_t"] < per_event_hi / 1e6
    # the correlated part stays: at least N x the shared deviation
    assert got["value_t"] - got["low_t"] >= n * sh_dn / 1e6 * (1 - 1e-9)


def test_zero_width_energy_band_is_fully_shared(tmp_path: Any) -> None:
    """With no energy uncertainty every deviation is shared: the aggregate range is the sum
    of the per-event ranges."""
    n = 9
    got, recs = _aggregate(tmp_path, n, energy_j=500.0, energy_low_j=500.0, energy_high_j=500.0)
    _, lo, hi = items(recs, lambda li: li.scope == "scope2_location" and li.in_total)
    assert close(got["low_t"], lo / 1e6) and close(got["high_t"], hi / 1e6)
    assert got["low_t"] < got["value_t"] < got["high_t"]


def _facility(profile: dict[str, Any]) -> float:
    pue = profile.get("pue", {"value": 1.0})["value"]
    td = profile.get("td_loss_frac", {"value": 0.0})["value"]
    return float(pue * (1 + td))


def _idle_j(profile: dict[str, Any], seconds: float) -> tuple[float, float]:
    """(attributed, unattributed) idle IT energy [J] of one event, by hand."""
    u = profile["utilisation_frac"]["value"]
    pool = profile["idle_power_w"]["value"] * seconds * (1 - u) / u
    share = {"tenancy": 1.0, "30-70": 0.3, "none": 0.0}[profile["idle_policy"]]
    return share * pool, (1 - share) * pool


def test_idle_share_and_cost_tables(mixed: Any) -> None:
    rep, _, evs = mixed
    prof = {"gpu-0": POOL_PROFILE, "gpu-1": POOL_PROFILE, "cpu-0": CPU_PROFILE}
    hand: dict[tuple[str, str], list[float]] = {}
    cost: dict[str, float] = {}
    for ev in evs:
        p = prof[ev["device"]]
        secs = (ev["end_utc"] - ev["start_utc"]).total_seconds()
        att, un = _idle_j(p, secs)
        for key in (("device", ev["device"]), ("service", ev["service"]), ("device", "(all)")):
            h = hand.setdefault(key, [0.0, 0.0, 0.0, 0])
            h[0] += ev["energy_j"]
            h[1] += att
            h[2] += un
            h[3] += 1
        if "price_per_kwh" in p:
            c = (ev["energy_j"] + att) * _facility(p) / 3.6e6 * p["price_per_kwh"]["value"]
            cost[ev["service"]] = cost.get(ev["service"], 0.0) + c
            cost["(all)"] = cost.get("(all)", 0.0) + c
    t = rep.table("idle_share")
    assert len(t.rows) == len(hand)
    for (dim, name), (active, att, un, n) in hand.items():
        r = row(rep, "idle_share", dimension=dim, name=name)
        assert r["footprints"] == n
        assert close(r["active_mwh"], active / J_PER_MWH)
        assert close(r["idle_attributed_mwh"], att / J_PER_MWH)
        assert close(r["idle_unattributed_mwh"], un / J_PER_MWH)
        assert close(r["idle_share_of_active_frac"], (att + un) / active)
    assert row(rep, "idle_share", dimension="device", name="gpu-0")["profile"] == "pool"
    assert row(rep, "idle_share", dimension="service", name="chat")["profile"] == "cpu-box; pool"
    notes = " ".join(t.notes)
    assert "30% to 50%" in notes and "modelled from the deployment profile" in notes
    assert "or measured where device readings cover the window" in notes

    for service in ("(all)", "chat", "vision"):
        r = row(rep, "energy_cost", service=service, currency="EUR")
        assert close(r["energy_cost"], cost[service])
        assert r["price_source"] == "supply contract 2026 (EUR)"
        assert r["footprints"] == sum(
            1 for e in evs if e["device"] != "cpu-0" and service in ("(all)", e["service"])
        )
    unpriced = row(rep, "energy_cost", service="chat", currency=None)
    assert unpriced["energy_cost"] is None and unpriced["footprints"] == 4
    assert unpriced["note"].startswith("no price configured")


def test_no_price_configured_says_so(tmp_path: Any) -> None:
    nopr = {k: v for k, v in POOL_PROFILE.items() if k not in ("price_per_kwh", "currency")}
    with DuckDBStore(tmp_path / "np.duckdb") as store:
        write_service_path(store, [service_event(i) for i in range(3)], profiles=[nopr])
        rep = build_report(store, AUG, generated_utc=GEN)
    rows = rep.table("energy_cost").rows
    assert rows and all(r["currency"] is None and r["energy_cost"] is None for r in rows)
    assert any("No price is configured" in n for n in rep.table("energy_cost").notes)


def test_general_layout_footprints_are_counted_not_zeroed(ledger: Any) -> None:
    """Footprints of the estimate path (general layout) record no idle or cost: the tables
    say how many are left out; their ranges add up (shared within their calculator)."""
    from infercarbon.ledger import open_store

    store = open_store(ledger.path)
    try:
        rep = build_report(store, parse_period("2026-Q3"), generated_utc=GEN)
    finally:
        store.close()
    assert rep.table("idle_share").rows == ()
    assert any("29 footprint(s)" in n for n in rep.table("idle_share").notes)
    assert any("29 footprint(s)" in n for n in rep.table("energy_cost").notes)


def test_modelled_energy_is_never_labelled_cited(tmp_path: Any) -> None:
    """An operational line whose energy is the CPU model's is labelled modelled, never
    cited (the intensity's own label stands beside its source)."""
    evs = [
        service_event(i, device="cpu-0", attribution_method="cpu-model:modelled") for i in range(5)
    ]
    with DuckDBStore(tmp_path / "cpu.duckdb") as store:
        write_service_path(store, evs, signals=[], bundled=True)
        rep = build_report(store, AUG, generated_utc=GEN)
    src = rep.table("line_item_sources").rows
    modelled = [r for r in src if "energy: cpu-model:modelled" in str(r["source"])]
    assert modelled
    for r in modelled:
        label = str(r["label"])
        assert "cited" not in label and label.startswith("modelled"), r


def test_formats_carry_the_new_tables(mixed: Any) -> None:
    rep, _, _ = mixed
    doc = json.loads(render(rep, "json"))
    csv_tables = read_csv_tables(render(rep, "csv"))
    html = render(rep, "html")
    for name in ("idle_share", "energy_cost"):
        assert len(doc["tables"][name]["rows"]) == len(rep.table(name).rows) > 0
        assert len(csv_tables[name]) == len(rep.table(name).rows)
        assert f"id='{name}'" in html
    r = next(
        x
        for x in doc["tables"]["energy_cost"]["rows"]
        if x["service"] == "(all)" and x["currency"] == "EUR"
    )
    c = next(
        x for x in csv_tables["energy_cost"] if x["service"] == "(all)" and x["currency"] == "EUR"
    )
    assert float(c["energy_cost"]) == r["energy_cost"]
    assert "Idle share of active energy" in html and "p5..p95" in html


def test_ingest_fallback_is_counted_as_fallback(mixed: Any) -> None:
    """Ingest labels an operational line by its energy first (``measured; fallback:
    location-based intensity``): with no market instrument every market-based figure is the
    labelled fallback, and the Scope 2 note and the instruments table say so."""
    rep, recs, _ = mixed
    labels = {
        li.label for r in recs for li in r.figures.line_items if li.name == "operational_market"
    }
    assert labels and all("; fallback: location-based" in lab for lab in labels)
    note = row(rep, "scope2", method="market-based")["note"]
    assert f"100.0% of the operational market-based emissions ({len(recs)} footprint(s))" in note
    inst = rep.table("market_instruments").rows
    assert inst and all(r["fallback"] for r in inst)
