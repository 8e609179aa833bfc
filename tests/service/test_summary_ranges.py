"""``/v1/summary`` against the ledger's SQL aggregations: totals with the honest aggregate
p5..p95 (``ranged_sums``), lines by GHG scope, idle share of active and the energy cost per
currency (``idle_and_cost``), and the keys the dashboard has always read."""

from __future__ import annotations

import math

import pytest

from infercarbon.accounting.batch import AccountingConfig
from infercarbon.accounting.profiles import profiles_from_data
from infercarbon.ledger.rollup import (
    AGGREGATE_RANGE_METHOD,
    idle_and_cost,
    ranged_sums,
    rollup_footprints,
)


def _fig(value: float, low: float, high: float) -> dict[str, object]:
    return {"value": value, "low": low, "high": high, "source": "test fixture"}


PROFILES = {
    "profile": [
        {
            "name": "gpu-pool",
            "devices": ["gpu*"],
            "currency": "EUR",
            "idle_power_w": _fig(60, 50, 75),
            "utilisation_frac": _fig(0.4, 0.25, 0.6),
            "embodied_kg": _fig(1500, 750, 3000),
            "lifetime_years": _fig(5, 4, 6),
            "pue": _fig(1.2, 1.1, 1.35),
            "td_loss_frac": _fig(0.05, 0.04, 0.07),
            "network_kwh_per_gb": _fig(0.06, 0.03, 0.12),
            "price_per_kwh": {"value": 0.21, "source": "test contract"},
        },
        # a device with no price and no idle figures: cost and idle are stated gaps
        {
            "name": "edge",
            "devices": ["cpu*"],
            "embodied_kg": _fig(200, 100, 400),
            "lifetime_years": _fig(4, 3, 5),
        },
    ]
}


@pytest.fixture
def penv(h):
    yield from h.make_env(config=AccountingConfig(profiles=profiles_from_data(PROFILES)))


def _ingest(env, h):
    acme = [
        h.event(
            i,
            device="gpu0" if i % 3 else "cpu0",
            service="chat" if i % 2 else "search",
            payload_bytes=2_000_000,
        )
        for i in range(36)
    ]
    r = env.client.post("/v1/events", json=acme, headers=env.acme)
    assert r.status_code == 200, r.text
    beta = [h.event(100 + i, tenant="beta", device="gpu1") for i in range(8)]
    assert env.client.post("/v1/events", json=beta, headers=env.beta).status_code == 200


def test_totals_are_the_aggregate_ranges(penv, h):
    _ingest(penv, h)
    s = penv.client.get("/v1/summary", headers=penv.acme).json()
    assert s["events"] == 36 and s["range_method"] == AGGREGATE_RANGE_METHOD
    sums = {r["basis"]: r for r in ranged_sums(penv.store, of="totals", tenant="acme").to_pylist()}
    comonotone = {
        r["basis"]: r for r in rollup_footprints(penv.store, by=(), tenant="acme").to_pylist()
    }
    for k in ("location", "market", "marginal"):
        t, r = s["totals_g"][k], sums[k]
        assert t["events"] == r["footprints"] == 36
        assert math.isclose(t["value"], r["value_g"], rel_tol=1e-12)
        assert math.isclose(t["low"], r["low_g"], rel_tol=1e-12)
        assert math.isclose(t["high"], r["high_g"], rel_tol=1e-12)
        assert 0 < t["low"] < t["value"] < t["high"]  # a real band, not zero width
        # independent energy bands make the aggregate narrower than the comonotone bound
        c = comonotone[k]
        assert c["low_sum_g"] - 1e-12 <= t["low"] and t["high"] <= c["high_sum_g"] + 1e-12
        p = s["per_inference_g"][k]
        assert math.isclose(p["value"] * 36, t["value"], rel_tol=1e-12)
        assert math.isclose(p["low"] * 36, t["low"], rel_tol=1e-12)
    assert s["energy_label"] == "measured"  # the fixture's events are measured-counter


def test_scopes_match_line_item_sums(penv, h):
    _ingest(penv, h)
    s = penv.client.get("/v1/summary", headers=penv.acme).json()
    want = {
        (r["scope"], r["name"]): r
        for r in ranged_sums(
            penv.store, of="items", keys=("scope", "name"), tenant="acme"
        ).to_pylist()
    }
    got = {(g["scope"], ln["name"]): ln for g in s["scopes"]["groups"] for ln in g["lines"]}
    assert got.keys() == want.keys()
    for key, ln in got.items():
        assert math.isclose(ln["value_g"], want[key]["value_g"], rel_tol=1e-12, abs_tol=1e-15)
        assert math.isclose(ln["low_g"], want[key]["low_g"], rel_tol=1e-12, abs_tol=1e-15)
        assert math.isclose(ln["high_g"], want[key]["high_g"], rel_tol=1e-12, abs_tol=1e-15)
    scopes = [g["scope"] for g in s["scopes"]["groups"]]
    assert scopes[:2] == ["scope2_location", "scope2_market"]
    assert scopes[-1] == "memo_consequential"
    emb = got[("scope3_cat2", "embodied")]
    assert 0 < emb["low_g"] < emb["value_g"] < emb["high_g"] and emb["in_total"]
    assert got[("scope3_cat1", "network")]["value_g"] > 0
    assert got[("memo_consequential", "operational_marginal")]["in_total"] is False
    training = got[("scope3_cat1", "training")]  # a stated gap, not a silent 0 g
    assert training["excluded_footprints"] == 36
    assert training["excluded_reason"].startswith("excluded:")
    # the cpu devices have no idle figures: their idle lines are excluded with the reason
    idle = got[("scope2_location", "idle_location")]
    assert 0 < idle["excluded_footprints"] < 36 and idle["excluded_reason"]


def test_idle_and_cost_match_sql(penv, h):
    _ingest(penv, h)
    s = penv.client.get("/v1/summary", headers=penv.acme).json()
    assert "30 % to 50 %" in s["idle"]["reference"]
    for dim, key in (("device", "by_device"), ("service", "by_service")):
        # an independent sum of the per-currency rows (each row here is all with, or all
        # without, an idle figure): the share is over the active energy of those with one
        want: dict[str, dict[str, float]] = {}
        for r in idle_and_cost(penv.store, by=(dim,), tenant="acme").to_pylist():
            w = want.setdefault(
                r[dim], {"active_j": 0.0, "idle_j": 0.0, "known": 0.0, "known_active_j": 0.0}
            )
            w["active_j"] += r["active_j"]
            if r["idle_attributed_j"] is not None:
                w["idle_j"] += r["idle_attributed_j"] + r["idle_unattributed_j"]
                w["known_active_j"] += r["active_j"]
                w["known"] = 1.0
        got = {r[dim]: r for r in s["idle"][key]}
        assert got.keys() == set(want)
        for k, r in got.items():
            w = want[k]
            assert math.isclose(r["active_j"], w["active_j"], rel_tol=1e-12)
            if not w["known"]:
                assert r["idle_share_of_active_frac"] is None and r["reason"]
            else:
                assert math.isclose(
                    r["idle_share_of_active_frac"], w["idle_j"] / w["known_active_j"], rel_tol=1e-12
                )
                assert math.isclose(
                    r["idle_attributed_j"] + r["idle_unattributed_j"], w["idle_j"], rel_tol=1e-12
                )
    gpu = next(r for r in s["idle"]["by_device"] if r["device"] == "gpu0")
    assert gpu["idle_share_of_active_frac"] > 0 and gpu["idle_unattributed_j"] > 0
    cpu = next(r for r in s["idle"]["by_device"] if r["device"] == "cpu0")
    assert cpu["idle_share_of_active_frac"] is None and "idle" in cpu["reason"]
    # two services mixing gpu and cpu events: one row each, over both currencies
    chat = next(r for r in s["idle"]["by_service"] if r["service"] == "chat")
    rows = [
        r
        for r in idle_and_cost(penv.store, by=("service",), tenant="acme").to_pylist()
        if r["service"] == "chat"
    ]
    assert len(rows) == 2 and chat["footprints"] == sum(r["footprints"] for r in rows)
    assert "part of these events" in chat["reason"]  # the cpu events have no idle figures

    cost = {c["currency"]: c for c in s["cost"]["by_currency"]}
    want = {r["currency"]: r for r in idle_and_cost(penv.store, by=(), tenant="acme").to_pylist()}
    assert set(cost) == {"EUR", None} == set(want)
    assert math.isclose(cost["EUR"]["energy_cost"], want["EUR"]["energy_cost"], rel_tol=1e-12)
    assert cost["EUR"]["energy_cost"] > 0 and cost["EUR"]["reason"] is None
    assert cost[None]["energy_cost"] is None and "no price" in cost[None]["reason"]
    assert cost["EUR"]["footprints"] + cost[None]["footprints"] == 36


def test_tenant_scope_and_admin(penv, h):
    _ingest(penv, h)
    beta = penv.client.get("/v1/summary", headers=penv.beta).json()
    assert beta["events"] == 8
    assert [r["device"] for r in beta["idle"]["by_device"]] == ["gpu1"]
    assert [c["currency"] for c in beta["cost"]["by_currency"]] == ["EUR"]
    everyone = penv.client.get("/v1/summary", headers=penv.admin).json()
    allsum = ranged_sums(penv.store, of="totals").to_pylist()
    loc = next(r for r in allsum if r["basis"] == "location")
    assert everyone["totals_g"]["location"]["events"] == 44
    assert math.isclose(everyone["totals_g"]["location"]["value"], loc["value_g"], rel_tol=1e-12)
    only = penv.client.get("/v1/summary?tenant=beta", headers=penv.admin).json()
    assert only["totals_g"] == beta["totals_g"]


def test_empty_ledger_and_no_profile(env, h):
    s = env.client.get("/v1/summary", headers=env.acme).json()
    assert s["events"] == 0 and s["totals_g"] == {
        "location": None,
        "market": None,
        "marginal": None,
    }
    assert s["scopes"]["groups"] == [] and s["cost"]["by_currency"] == []
    assert s["idle"]["by_device"] == [] and s["energy_label"] == "none yet"
    # without a profile: no idle figures and no price, each said so
    env.client.post("/v1/events", json=[h.event(i) for i in range(6)], headers=env.acme)
    s = env.client.get("/v1/summary", headers=env.acme).json()
    assert s["idle"]["by_device"][0]["idle_share_of_active_frac"] is None
    assert s["cost"]["by_currency"] == [
        {
            "currency": None,
            "energy_cost": None,
            "footprints": 6,
            "reason": s["cost"]["by_currency"][0]["reason"],
        }
    ]
    assert s["cost"]["by_currency"][0]["reason"]
    loc = s["totals_g"]["location"]
    assert loc["low"] < loc["value"] < loc["high"]
