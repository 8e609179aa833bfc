"""The running system carries the whole footprint: every line item with its range, deployment
profiles, signals decided per event, and re-pricing when a better signal arrives."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from infercarbon.accounting.batch import (
    AccountingConfig,
    compute_footprints,
    figures_from_inputs,
    footprint_records,
)
from infercarbon.accounting.events import account_events
from infercarbon.accounting.profiles import DeploymentProfile, load_profiles, profiles_from_data
from infercarbon.accounting.signals import SignalBook
from infercarbon.errors import InputError
from infercarbon.ledger import SCHEMA_VERSION, audit
from infercarbon.ledger.schema import EVENTS
from infercarbon.ledger.validation import validate_rows
from infercarbon.provenance import Figure

PROFILE = {
    "name": "gpu-pool",
    "devices": ["gpu*"],
    "operating_model": "owned",
    "idle_policy": "30-70",
    "currency": "EUR",
    "idle_power_w": {"value": 60, "low": 50, "high": 75, "source": "nvidia-smi idle"},
    "utilisation_frac": {"value": 0.4, "low": 0.25, "high": 0.6, "source": "pool dashboard"},
    "embodied_kg": {"value": 1500, "low": 750, "high": 3000, "source": "vendor LCA"},
    "lifetime_years": {"value": 5, "low": 4, "high": 6, "source": "refresh policy"},
    "pue": {"value": 1.2, "low": 1.1, "high": 1.35, "source": "site metering"},
    "td_loss_frac": {"value": 0.05, "low": 0.04, "high": 0.07, "source": "national grid"},
    "network_kwh_per_gb": {"value": 0.06, "low": 0.03, "high": 0.12, "source": "seed"},
    "price_per_kwh": {"value": 0.21, "source": "supply contract 2026"},
}


def _recompute(inputs: Any, versions: Any) -> Any:
    return figures_from_inputs(inputs)


def test_profile_event_gets_every_line_with_ranges(h: Any) -> None:
    """An event for a device with a profile gets idle, embodied and network lines with
    ranges and scope tags, and its stored footprint recomputes from its inputs alone."""
    cfg = AccountingConfig(profiles=profiles_from_data({"profile": [PROFILE]}))
    env = next(h.make_env(config=cfg))
    ev = h.event(1, device="gpu0", payload_bytes=2_000_000)
    r = env.client.post("/v1/events", json=[ev], headers=env.acme)
    assert r.status_code == 200, r.text
    (fid,) = env.store.footprint_ids()
    rec = env.store.footprint(fid)
    items = {li.name: li for li in rec.figures.line_items}
    for name in ("operational_location", "idle_location", "embodied", "network"):
        li = items[name]
        assert li.in_total and 0 <= li.low_g < li.emissions_g < li.high_g, name
    assert items["embodied"].scope == "scope3_cat2"
    assert items["idle_location"].scope == "scope2_location"
    assert items["network"].scope == "scope3_cat1"
    assert items["training"].label.startswith("excluded")
    # measured-counter energy is labelled measured, never "cited"
    assert items["operational_location"].label == "measured"
    assert "intensity:" in items["operational_location"].source
    # the numbers, by hand: facility = E x 1.2 x 1.05, idle pool = 60 W x 0.5 s x 0.6/0.4
    e, t = 101.0, 0.5
    loc = rec.inputs["intensity_g_per_kwh"]["location"]["value"]
    assert math.isclose(
        items["operational_location"].emissions_g, e * 1.2 * 1.05 / 3.6e6 * loc, rel_tol=1e-12
    )
    idle_j = 0.3 * 60.0 * t * 0.6 / 0.4
    assert math.isclose(
        items["idle_location"].emissions_g, idle_j * 1.2 * 1.05 / 3.6e6 * loc, rel_tol=1e-12
    )
    assert math.isclose(
        items["embodied"].emissions_g, 1500e3 / (5 * 365 * 86400) * t / 0.4, rel_tol=1e-12
    )
    assert math.isclose(items["network"].emissions_g, 2e6 / 1e9 * 0.06 * loc, rel_tol=1e-12)
    total = rec.figures.totals["location"]
    assert math.isclose(
        total.value_g,
        sum(
            items[n].emissions_g
            for n in ("operational_location", "idle_location", "embodied", "network")
        ),
        rel_tol=1e-12,
    )
    assert total.low_g < total.value_g < total.high_g
    # cost at the profile's price, with its currency
    cost = env.store.query_arrow(
        "SELECT energy_cost, currency FROM event_footprints",
        [],
        pa.schema([pa.field("energy_cost", pa.float64()), pa.field("currency", pa.string())]),
    )
    assert cost.column("currency").to_pylist() == ["EUR"]
    assert math.isclose(
        cost.column("energy_cost")[0].as_py(),
        (e + idle_j) * 1.2 * 1.05 / 3.6e6 * 0.21,
        rel_tol=1e-12,
    )
    assert audit.verify(env.store, _recompute, rel_tol=0.0).ok


def test_put_profiles_needs_admin_and_applies_to_new_events(h: Any) -> None:
    env = next(h.make_env())
    body = {"profiles": [PROFILE]}
    assert env.client.put("/v1/profiles", json=body, headers=env.acme).status_code == 403
    bad = {"profiles": [dict(PROFILE, pue={"value": 0.9, "source": "x"})]}
    r = env.client.put("/v1/profiles", json=bad, headers=env.admin)
    assert r.status_code == 422 and "pue" in r.text
    r = env.client.put("/v1/profiles", json=body, headers=env.admin)
    assert r.status_code == 200 and r.json()["profiles"][0]["name"] == "gpu-pool"
    assert (
        env.client.get("/v1/profiles", headers=env.acme).json()["profiles"][0]["embodied_kg"][
            "source"
        ]
        == "vendor LCA"
    )
    env.client.post(
        "/v1/events", json=[h.event(2, device="gpu7"), h.event(3, device="cpu1")], headers=env.acme
    )
    by_event = {}
    for fid in env.store.footprint_ids():
        rec = env.store.footprint(fid)
        by_event[rec.event_id] = {li.name: li for li in rec.figures.line_items}
    assert by_event["e2"]["embodied"].in_total
    # a device no profile matches: the lines are excluded with the reason, never zero
    assert by_event["e3"]["embodied"].label.startswith("excluded: no embodied figure")
    assert by_event["e3"]["idle_location"].label.startswith("excluded: no idle power")


def test_profile_file_errors_name_the_field(tmp_path: Any) -> None:
    f = tmp_path / "p.toml"
    f.write_text('[[profile]]\nname = "a"\nidle_power_w = { value = 50 }\n')
    with pytest.raises(InputError, match="idle_power_w needs a source"):
        load_profiles(f)
    f.write_text('[[profile]]\nname = "a"\nwatts = 3\n')
    with pytest.raises(InputError, match="unknown field"):
        load_profiles(f)
    f.write_text('[[profile]]\nname = "a"\nprice_per_kwh = { value = 0.2, source = "s" }\n')
    with pytest.raises(InputError, match="currency"):
        load_profiles(f)
    f.write_text(
        '[[profile]]\nname = "a"\ncurrency = "EUR"\ntariff_source = "t"\n'
        "tariff = [{ from_hour = 0, to_hour = 7, price_per_kwh = 0.1 }]\n"
    )
    with pytest.raises(InputError, match="unpriced"):
        load_profiles(f)
    f.write_text("[[profile\n")
    with pytest.raises(InputError, match="not valid TOML"):
        load_profiles(f)


def test_time_of_use_tariff_prices_by_hour(h: Any) -> None:
    prof: dict[str, Any] = {k: v for k, v in PROFILE.items() if k != "price_per_kwh"}
    prof.update(
        tariff_source="ToU 2026",
        tariff=[
            {"from_hour": 0, "to_hour": 7, "price_per_kwh": 0.1},
            {"from_hour": 7, "to_hour": 24, "price_per_kwh": 0.3},
        ],
    )
    cfg = AccountingConfig(profiles=profiles_from_data({"profile": [prof]}))
    table = validate_rows(EVENTS, [h.event(3, tenant="acme"), h.event(9, tenant="acme")])
    fps = compute_footprints(table, cfg, SignalBook())
    assert fps.price_per_kwh is not None
    assert fps.price_per_kwh.tolist() == [0.1, 0.3]


def test_signal_coverage_is_decided_per_event(h: Any) -> None:
    """A batch mixing an event the marginal series covers and one it does not: the first
    gets its marginal figure, the second none (not both null)."""
    inside = h.event(1, tenant="acme")
    outside = h.event(
        2, tenant="acme", start_utc="2026-08-01T00:00:00Z", end_utc="2026-08-01T00:00:01Z"
    )
    table = validate_rows(EVENTS, [inside, outside])
    fps = compute_footprints(table, AccountingConfig(), SignalBook([h.marginal_de()]))
    marginal = fps.co2e_g()["marginal"]
    assert np.isfinite(marginal[0]) and np.isnan(marginal[1])
    recs = footprint_records(
        table, fps, AccountingConfig(), computed_utc=datetime(2026, 9, 1, tzinfo=UTC)
    )
    assert "marginal" in recs[0].figures.totals and "marginal" not in recs[1].figures.totals


def test_ercot_event_gets_the_hour_and_marginal_from_bundled_series(h: Any) -> None:
    """On a fresh ledger an ERCOT event at 2021-07-15T22:00Z is priced with that hour's
    average and the bundled marginal series, as ``estimate --time-utc`` does."""
    from infercarbon.grid import catalogue

    ev = h.event(
        1,
        tenant="acme",
        region="ERCOT",
        start_utc="2021-07-15T22:00:00Z",
        end_utc="2021-07-15T22:00:01Z",
    )
    table = validate_rows(EVENTS, [ev])
    fps = compute_footprints(table, AccountingConfig(), SignalBook())
    want_loc = catalogue.hourly_location("ERCOT").integrate(
        np.array(["2021-07-15T22:00:00"], "datetime64[ns]"),
        np.array(["2021-07-15T22:00:01"], "datetime64[ns]"),
    )[0]
    assert math.isclose(fps.intensity["location"][0][0], want_loc, rel_tol=1e-12)
    prov = fps.group_provenance["location"][0]
    assert prov is not None and prov["resolution_s"] == 3600  # the hour, not the annual figure
    assert np.isfinite(fps.intensity["marginal"][0][0])
    assert fps.intensity["marginal"][0][0] > 600.0  # ~721 g/kWh at that hour


def test_grid_update_reprices_and_supersedes(tmp_path: Any, h: Any) -> None:
    """An event first priced with the annual figure is re-priced when a grid update covers
    its interval: a new footprint supersedes the old one, which stays auditable; the chain
    is listed; the report-facing views count only the live one."""
    from infercarbon.accounting.batch import footprint_batch
    from infercarbon.accounting.signals import signals_from_intensity
    from infercarbon.ledger import DuckDBStore
    from infercarbon.service.reprice import reprice_after_update

    store = DuckDBStore(tmp_path / "l.duckdb")
    ev = h.event(
        1,
        tenant="acme",
        region="GB",
        start_utc="2026-07-01T10:10:00Z",
        end_utc="2026-07-01T10:10:02Z",
    )
    table = validate_rows(EVENTS, [ev])
    cfg = AccountingConfig()
    fps = compute_footprints(table, cfg, SignalBook(signals_from_intensity(store.intensity())))
    store.append_events_with_footprints(
        table, footprint_batch(table, fps, cfg, computed_utc=datetime(2026, 7, 1, 11, tzinfo=UTC))
    )
    (old,) = store.footprint_ids()
    rows = pa.table(
        {
            "region": ["GB"],
            "kind": ["location-average"],
            "basis": ["direct"],
            "interval_start_utc": pa.array(
                [datetime(2026, 7, 1, 10, tzinfo=UTC)], pa.timestamp("us", tz="UTC")
            ),
            "resolution_s": pa.array([3600], pa.int64()),
            "value_g_per_kwh": [123.0],
            "low_g_per_kwh": [110.0],
            "high_g_per_kwh": [140.0],
            "source": ["test grid operator"],
            "version": ["2026-07-01"],
            "retrieved_utc": pa.array(
                [datetime(2026, 7, 2, tzinfo=UTC)], pa.timestamp("us", tz="UTC")
            ),
            "status": ["provisional"],
        }
    )
    store.append_intensity(rows)
    book = SignalBook(signals_from_intensity(store.intensity()))
    res = reprice_after_update(store, book, rows, clock=lambda: datetime(2026, 7, 2, tzinfo=UTC))
    assert (res.checked, res.repriced) == (1, 1)
    ids = store.footprint_ids()
    assert len(ids) == 2 and old in ids
    new = next(i for i in ids if i != old)
    rec = store.footprint(new)
    assert rec.supersedes == old
    assert rec.inputs["intensity_g_per_kwh"]["location"]["value"] == 123.0
    assert "provisional" in rec.inputs["assumptions"]["signals"]["location"]["label"]
    # the old footprint stays, auditable; the chain lists both, the new one live
    shown = audit.show(store, old)
    assert [c["footprint_id"] for c in shown["chain"]] == [old, new]
    assert [c["live"] for c in shown["chain"]] == [False, True]
    assert audit.verify(store, _recompute, rel_tol=0.0).ok
    # readers count only the live end of the chain
    from infercarbon.ledger.rollup import ranged_sums

    t = ranged_sums(store, of="totals", keys=("basis",))
    loc = t.filter(pa.compute.equal(t.column("basis"), "location"))
    assert loc.column("footprints")[0].as_py() == 1
    assert math.isclose(loc.column("value_g")[0].as_py(), rec.figures.totals["location"].value_g)
    # re-running is a no-op; a final figure for the same hour re-prices again
    again = reprice_after_update(store, book, rows)
    assert again.repriced == 0
    store.close()


def test_v2_ledger_upgrades_in_place(tmp_path: Any, h: Any) -> None:
    """A version-2 ledger (no band, line, total or provenance columns) gains them on open;
    its rows read back as before."""
    import duckdb

    from infercarbon.ledger import DuckDBStore
    from infercarbon.ledger.compact import EVENT_FOOTPRINTS, V3_NUMBERS

    path = tmp_path / "v2.duckdb"
    DuckDBStore(path).close()
    con = duckdb.connect(str(path))
    for v in (
        "all_footprints",
        "all_footprint_items",
        "all_footprint_totals",
        "all_footprint_bases",
        "all_footprint_item_deviations",
        "all_footprint_total_deviations",
    ):
        con.execute(f"DROP VIEW IF EXISTS {v}")
    for c in ("energy_low_j", "energy_high_j"):
        con.execute(f"ALTER TABLE events DROP COLUMN {c}")
    for c in (*V3_NUMBERS, "supersedes", "currency"):
        con.execute(f"ALTER TABLE event_footprints DROP COLUMN {c}")
    con.execute("ALTER TABLE footprint_context_items DROP COLUMN line_column")
    con.execute("UPDATE ledger_meta SET value = '2' WHERE key = 'schema_version'")
    con.execute(
        "INSERT INTO events (event_id, start_utc, end_utc, service, tenant, model, "
        "region, device, energy_j, attribution_method, ingested_utc) VALUES ('old', "
        "'2026-07-01 00:00:00+00', '2026-07-01 00:00:01+00', 's', 'acme', 'm', 'DE', "
        "'d', 5.0, 'x', now())"
    )
    con.close()
    with DuckDBStore(path) as store:
        ev = store.events()
        assert ev.num_rows == 1 and ev.column("energy_low_j").to_pylist() == [None]
        names = {
            r[0]
            for r in store._fetchall(
                "SELECT column_name FROM information_schema.columns WHERE table_name = %s",
                ["event_footprints"],
            )
        }
        assert set(EVENT_FOOTPRINTS.names) <= names
        assert store._fetchall(
            "SELECT value FROM ledger_meta WHERE key = %s", ["schema_version"]
        ) == [(str(SCHEMA_VERSION),)]


@settings(max_examples=60, deadline=None)
@given(
    e=st.floats(1e-3, 1e4),
    lo_f=st.floats(0.3, 1.0),
    hi_f=st.floats(1.0, 3.0),
    inten=st.floats(1.0, 1000.0),
    k=st.floats(0.1, 10.0),
)
def test_engine_ranges_bracket_and_scale_linearly(
    e: float, lo_f: float, hi_f: float, inten: float, k: float
) -> None:
    """Every line's range brackets its value; scaling the energy and its band by k scales
    the operational line and its range by k (linearity); totals are sums of lines."""
    prof = DeploymentProfile(
        "p",
        idle_power_w=Figure(50.0, "W", source="s", label="user", low=40.0, high=60.0),
        utilisation_frac=Figure(0.5, "frac", source="s", label="user", low=0.3, high=0.7),
        embodied_kg=Figure(100.0, "kg", source="s", label="user", low=50.0, high=200.0),
        lifetime_years=Figure(4.0, "years", source="s", label="user", low=3.0, high=5.0),
    )

    def run(scale: float) -> Any:
        return account_events(
            energy_j=np.array([e * scale]),
            energy_low_j=np.array([e * lo_f * scale]),
            energy_high_j=np.array([e * hi_f * scale]),
            device_time_s=np.array([0.2]),
            payload_bytes=np.array([np.nan]),
            intensity={
                b: (np.array([inten]), np.array([inten * 0.9]), np.array([inten * 1.1]))
                for b in ("location", "market", "marginal")
            },
            profiles=[prof],
            profile_index=np.zeros(1, dtype=np.intp),
            price_per_kwh=np.array([np.nan]),
        )

    a, b = run(1.0), run(k)
    for name, (g, lo, hi) in a.lines.items():
        if np.isfinite(g[0]):
            assert lo[0] <= g[0] <= hi[0], name
    g1, lo1, hi1 = a.lines["operational_location"]
    gk, lok, hik = b.lines["operational_location"]
    assert math.isclose(gk[0], k * g1[0], rel_tol=1e-9)
    assert math.isclose(lok[0], k * lo1[0], rel_tol=1e-9, abs_tol=1e-15)
    assert math.isclose(hik[0], k * hi1[0], rel_tol=1e-9)
    t, tlo, thi = a.totals["location"]
    parts = sum(a.lines[n][0][0] for n in ("operational_location", "idle_location", "embodied"))
    assert math.isclose(t[0], parts, rel_tol=1e-12)
    assert tlo[0] <= t[0] <= thi[0]


def test_measured_idle_from_device_readings(tmp_path: Any, h: Any) -> None:
    """Where a device's readings cover a window, its idle is measured (device energy minus
    the events' energy), split by the profile's policy, and the events' footprints are
    recomputed with it: conserved, labelled measured, superseding, auditable."""
    from infercarbon.accounting.batch import footprint_batch
    from infercarbon.ledger import DuckDBStore
    from infercarbon.ledger.rollup import idle_and_cost
    from infercarbon.service.reprice import measure_idle

    store = DuckDBStore(tmp_path / "idle.duckdb")
    cfg = AccountingConfig(profiles=profiles_from_data({"profile": [PROFILE]}))
    evs = [
        h.event(
            i,
            tenant="acme",
            device="gpu0",
            start_utc=f"2026-07-01T10:{i:02d}:00Z",
            end_utc=f"2026-07-01T10:{i:02d}:02Z",
        )
        for i in range(10)
    ]
    evs.append(
        h.event(
            99,
            tenant="acme",
            device="gpu0",
            start_utc="2026-07-01T12:00:00Z",
            end_utc="2026-07-01T12:00:01Z",
        )
    )  # a window the readings miss
    table = validate_rows(EVENTS, evs)
    book = SignalBook()
    fps = compute_footprints(table, cfg, book)
    store.append_events_with_footprints(
        table, footprint_batch(table, fps, cfg, computed_utc=datetime(2026, 7, 1, 13, tzinfo=UTC))
    )
    t0 = datetime(2026, 7, 1, 9, 59, tzinfo=UTC)
    store.append_readings(
        [
            {
                "device": "gpu0",
                "t_utc": (
                    t0
                    + k
                    * (
                        datetime(2026, 7, 1, 10, 10, tzinfo=UTC)
                        - datetime(2026, 7, 1, 10, tzinfo=UTC)
                    )
                ).isoformat(),
                "cumulative_j": 1e6 + 20.0 * 60 * 10 * k,
                "source": "nvml",
                "method": "measured-counter",
            }
            for k in range(8)
        ]
    )  # 20 W from 09:59 to 11:09
    res = measure_idle(
        store,
        book,
        device="gpu0",
        start_utc=datetime(2026, 7, 1, tzinfo=UTC),
        end_utc=datetime(2026, 7, 2, tzinfo=UTC),
        clock=lambda: datetime(2026, 7, 2, tzinfo=UTC),
    )
    assert (res.checked, res.repriced) == (10, 10)
    live = [store.footprint(f) for f in store.footprint_ids(include_superseded=False)]
    measured = [r for r in live if "idle_measured" in r.inputs]
    assert len(measured) == 10 and all(r.supersedes for r in measured)
    device_j = 20.0 * 3600
    events_j = sum(float(r.inputs["energy_j"]) for r in measured)
    pool = device_j - events_j
    att = sum(r.inputs["idle_measured"]["attributed_j"] for r in measured)
    un = sum(r.inputs["idle_measured"]["unattributed_j"] for r in measured)
    assert math.isclose(att, 0.3 * pool, rel_tol=1e-9)  # the profile's 30-70 policy
    assert math.isclose(att + un + events_j, device_j, rel_tol=1e-9)  # conserved
    items = {li.name: li for li in measured[0].figures.line_items}
    assert items["idle_location"].label.startswith("measured")
    assert (
        items["idle_location"].low_g
        < items["idle_location"].emissions_g
        < items["idle_location"].high_g
    )
    assert audit.verify(store, _recompute, rel_tol=0.0).ok
    # the device's idle share is the measured one for the window's events
    t = idle_and_cost(store, by=("device",))
    row = t.to_pylist()[0]
    assert row["footprints"] == 11
    # re-running changes nothing
    again = measure_idle(
        store,
        book,
        device="gpu0",
        start_utc=datetime(2026, 7, 1, tzinfo=UTC),
        end_utc=datetime(2026, 7, 2, tzinfo=UTC),
    )
    assert again.repriced == 0
    store.close()


def test_readings_api_measures_idle(h: Any) -> None:
    """POST /v1/readings (admin) stores a device's readings and recomputes the footprints
    of the windows they cover with measured idle; tenant keys are refused."""
    cfg = AccountingConfig(profiles=profiles_from_data({"profile": [PROFILE]}))
    env = next(h.make_env(config=cfg))
    evs = [
        h.event(
            i,
            device="gpu0",
            start_utc=f"2026-07-01T10:{i:02d}:00Z",
            end_utc=f"2026-07-01T10:{i:02d}:01Z",
        )
        for i in range(5)
    ]
    assert env.client.post("/v1/events", json=evs, headers=env.acme).status_code == 200
    readings = [
        {
            "device": "gpu0",
            "t_utc": f"2026-07-01T{hh:02d}:00:00Z",
            "power_w": 30.0,
            "source": "nvml",
            "method": "measured-power-polling",
        }
        for hh in (9, 10, 11, 12)
    ]
    r = env.client.post("/v1/readings", json=readings, headers=env.acme)
    assert r.status_code == 403
    r = env.client.post("/v1/readings", json=readings, headers=env.admin)
    assert r.status_code == 200, r.text
    assert r.json()["footprints_with_measured_idle"] == 5
    live = [env.store.footprint(f) for f in env.store.footprint_ids(include_superseded=False)]
    assert len(live) == 5 and all("idle_measured" in x.inputs for x in live)
    pool = 30.0 * 3600 - sum(101.0 + i - 1 for i in range(5))
    assert math.isclose(
        sum(x.inputs["idle_measured"]["attributed_j"] for x in live), 0.3 * pool, rel_tol=1e-9
    )
    assert audit.verify(env.store, _recompute, rel_tol=0.0).ok
    bad = env.client.post("/v1/readings", json=[{"device": "gpu0"}], headers=env.admin)
    assert bad.status_code == 422


def test_put_profiles_survive_a_restart(tmp_path: Any, h: Any) -> None:
    """Profiles set through the API are kept in the ledger: a service restarted on it (no
    --profiles) applies them; a bad PUT changes nothing."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from fastapi.testclient import TestClient

    from infercarbon.ledger import DuckDBStore
    from infercarbon.service.app import create_app
    from infercarbon.service.auth import MemoryKeyStore, create_key

    keys = MemoryKeyStore()
    adm, _ = create_key(keys, tenant="ops", admin=True, clock=lambda: 0.0)
    admin = {"Authorization": f"Bearer {adm}"}
    path = tmp_path / "p.duckdb"
    with DuckDBStore(path) as store:
        c = TestClient(create_app(store, clock=h.clock, keys=keys))
        assert c.put("/v1/profiles", json={"profiles": [PROFILE]}, headers=admin).status_code == 200
        bad = {"profiles": [dict(PROFILE, utilisation_frac={"value": 2, "source": "x"})]}
        assert c.put("/v1/profiles", json=bad, headers=admin).status_code == 422
    with DuckDBStore(path) as store:
        c = TestClient(create_app(store, clock=h.clock, keys=keys))
        got = c.get("/v1/profiles", headers=admin).json()
        assert [p["name"] for p in got["profiles"]] == ["gpu-pool"]


@pytest.mark.parametrize(
    ("of", "by", "keys", "period", "tenant"),
    [
        ("totals", (), ("basis",), None, None),
        ("totals", ("service",), ("basis",), "hour", "acme"),
        ("items", (), ("scope", "name"), None, None),
        ("items", ("device",), ("scope", "basis", "in_total"), "day", None),
    ],
)
def test_compact_fast_path_equals_the_views(
    tmp_path: Any, h: Any, of: str, by: Any, keys: Any, period: Any, tenant: Any, monkeypatch: Any
) -> None:
    """ranged_sums over the compact tables gives the figures of the views that read both
    layouts: profiles, marginal signal, payloads, own bands, a recomputation."""
    from infercarbon.accounting.batch import footprint_batch
    from infercarbon.ledger import DuckDBStore
    from infercarbon.ledger.rollup import _compact_ranged_sums, _view_ranged_sums
    from infercarbon.service.reprice import measure_idle

    cfg = AccountingConfig(profiles=profiles_from_data({"profile": [PROFILE]}))
    evs = []
    for i in range(40):
        ev = h.event(
            i,
            tenant=("acme", "beta")[i % 2],
            device=("gpu0", "cpu1")[i % 3 == 0],
            start_utc=f"2026-07-01T10:{i:02d}:00Z",
            end_utc=f"2026-07-01T10:{i:02d}:02Z",
        )
        if i % 4 == 0:
            ev.update(payload_bytes=5000 * i, energy_low_j=90.0, energy_high_j=130.0 + i)
        evs.append(ev)
    table = validate_rows(EVENTS, evs)
    with DuckDBStore(tmp_path / "f.duckdb") as store:
        fps = compute_footprints(table, cfg, SignalBook([h.marginal_de()]))
        store.append_events_with_footprints(
            table, footprint_batch(table, fps, cfg, computed_utc=datetime(2026, 7, 2, tzinfo=UTC))
        )
        store.append_readings(
            [
                {
                    "device": "gpu0",
                    "t_utc": f"2026-07-01T{hh:02d}:00:00Z",
                    "power_w": 40.0,
                    "source": "nvml",
                    "method": "measured-power-polling",
                }
                for hh in (9, 10, 11)
            ]
        )
        assert (
            measure_idle(
                store,
                SignalBook([h.marginal_de()]),
                device="gpu0",
                start_utc=datetime(2026, 7, 1, tzinfo=UTC),
                end_utc=datetime(2026, 7, 2, tzinfo=UTC),
            ).repriced
            > 0
        )
        args = (store, of, by, keys, period, tenant, None, None)
        fast, slow = _compact_ranged_sums(*args), _view_ranged_sums(*args)
        from infercarbon.ledger.rollup import _compact_event_totals, _view_event_totals

        ct, vt = (
            _compact_event_totals(store, tenant=tenant),
            _view_event_totals(store, tenant=tenant),
        )
        assert ct["n"] == vt["n"] and ct["methods"] == vt["methods"]
        for k in ("energy_j", "facility_j", "mean", "p50", "p95"):
            assert math.isclose(ct[k], vt[k], rel_tol=1e-9), k
        import infercarbon.ledger.rollup as rollup_mod

        fast_r = rollup_mod.rollup_totals(
            store, group="service", period=period or "hour", tenant=tenant, per_outcome=True
        ).to_pylist()
        monkeypatch.setattr(rollup_mod, "has_general_event_footprints", lambda s: True)
        view_r = rollup_mod.rollup_totals(
            store, group="service", period=period or "hour", tenant=tenant, per_outcome=True
        ).to_pylist()
        assert len(fast_r) == len(view_r) > 0

        def order(r: dict[str, Any]) -> tuple[Any, ...]:
            return (r["period_start_utc"], r["key"], r["outcome"])

        for a_, b_ in zip(sorted(fast_r, key=order), sorted(view_r, key=order), strict=True):
            for k, v in a_.items():
                assert (
                    math.isclose(v, b_[k], rel_tol=1e-9) if isinstance(v, float) else v == b_[k]
                ), (k, a_, b_)
    assert fast.schema == slow.schema and fast.num_rows == slow.num_rows > 0
    for a, b in zip(fast.to_pylist(), slow.to_pylist(), strict=True):
        for k, v in a.items():
            if isinstance(v, float):
                assert math.isclose(v, b[k], rel_tol=1e-9, abs_tol=1e-15), (k, a, b)
            else:
                assert v == b[k], (k, a, b)


def test_an_energy_band_needs_both_ends(env: Any, h: Any) -> None:
    r = env.client.post("/v1/events", json=[h.event(1, energy_low_j=50.0)], headers=env.acme)
    assert r.status_code == 422 and "energy_low_j and energy_high_j together" in r.text
    assert env.store.count("events") == 0
