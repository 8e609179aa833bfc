"""The dashboard in a real headless Chromium (Playwright driving /usr/bin/chromium) against
`infercarbon serve` (uvicorn) on 127.0.0.1: pages load, charts render as SVG, the what-if
panel changes the numbers, and the console stays free of errors.  Screenshots go to
``$TMPDIR/infercarbon-dashboard-*.png``."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
import pytest

CHROMIUM = "/usr/bin/chromium"
pytestmark = [
    pytest.mark.skipif(
        not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is absent (apt-get install chromium)"
    ),
    pytest.mark.slow,
]
SHOTS = Path(tempfile.gettempdir())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _fig(value: float, low: float, high: float) -> dict[str, object]:
    return {"value": value, "low": low, "high": high, "source": "test fixture"}


#: The fixture's deployment profile (idle, embodied, network and a price in EUR), so the
#: stored footprints carry every line; ``serve`` finds them stored and computes none.
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
        }
    ]
}


def _seed(path: Path) -> tuple[str, str]:
    from datetime import UTC, datetime

    from infercarbon.accounting.batch import AccountingConfig, compute_footprints, footprint_batch
    from infercarbon.accounting.profiles import profiles_from_data
    from infercarbon.accounting.signals import SignalBook, signals_from_intensity
    from infercarbon.ledger import open_store
    from infercarbon.ledger.schema import EVENTS
    from infercarbon.ledger.validation import validate_rows
    from infercarbon.service.auth import create_key, key_store_for

    store = open_store(path)
    rng = np.random.default_rng(7)
    t0 = np.datetime64("2026-07-01T00:00:00", "s")
    regions = ["DE", "FR", "aws:us-east-1"]
    events = []
    for i in range(300):
        start = t0 + np.timedelta64(int(i * 600 + rng.integers(0, 300)), "s")
        lat = float(rng.uniform(0.05, 1.5))
        events.append(
            {
                "event_id": f"ev{i}",
                "start_utc": f"{start}Z",
                "end_utc": f"{start + np.timedelta64(int(lat * 1e6), 'us')}Z",
                "service": ["chat", "search", "vision"][i % 3],
                "tenant": "acme" if i % 5 else "beta",
                "model": ["llama-8b", "resnet50"][i % 2],
                "region": regions[i % 3],
                "device": ["gpu0", "gpu1"][i % 2],
                "payload_bytes": int(rng.integers(1_000, 2_000_000)),
                "energy_j": float(rng.uniform(20, 400)),
                "attribution_method": "measured-counter",
                "batch_id": f"b{i // (1 + i % 8)}",
                "outcome": ["ok", "ok", "ok", "error"][i % 4],
                # the first 30 calls: ten user actions (W3C traces) of three model calls each
                **(
                    {"trace_id": f"{i // 3 + 1:032x}", "parent_span_id": f"{i // 3 + 1:016x}"}
                    if i < 30
                    else {}
                ),
            }
        )
    hours = np.arange(72)
    snaps = []
    for region, base in (("DE", 450.0), ("FR", 120.0)):
        v = base * (1 + 0.35 * np.sin((hours - 6) / 24 * 2 * np.pi))
        snaps += [
            {
                "region": region,
                "kind": "marginal",
                "basis": "direct",
                "interval_start_utc": f"{t0 + np.timedelta64(int(h) * 3600, 's')}Z",
                "resolution_s": 3600,
                "value_g_per_kwh": float(x),
                "low_g_per_kwh": float(x) * 0.8,
                "high_g_per_kwh": float(x) * 1.25,
                "source": "test fixture",
                "version": "1",
                "retrieved_utc": "2026-07-04T00:00:00Z",
            }
            for h, x in zip(hours, v, strict=False)
        ]
    store.append_intensity(snaps)
    table = validate_rows(EVENTS, events)
    cfg = AccountingConfig(pue=1.2, td_loss_frac=0.05, profiles=profiles_from_data(PROFILES))
    fps = compute_footprints(table, cfg, SignalBook(signals_from_intensity(store.intensity())))
    store.append_events_with_footprints(
        table, footprint_batch(table, fps, cfg, computed_utc=datetime(2026, 7, 4, tzinfo=UTC))
    )
    store.close()
    keys = key_store_for(str(path))
    acme, _ = create_key(keys, tenant="acme", clock=time.time)
    admin, _ = create_key(keys, tenant="ops", admin=True, clock=time.time)
    return acme, admin


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    path = tmp_path_factory.mktemp("ledger") / "ledger.duckdb"
    acme, admin = _seed(path)
    port = _free_port()
    exe = Path(sys.executable).with_name("infercarbon")
    log = path.with_suffix(".log")
    with log.open("wb") as fh:
        proc = subprocess.Popen(
            [
                str(exe),
                "serve",
                "--ledger",
                str(path),
                "--port",
                str(port),
                "--pue",
                "1.2",
                "--td-loss-frac",
                "0.05",
                "--price-per-kwh",
                "0.3",
                "--log-level",
                "warning",
            ],
            stdout=fh,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if httpx.get(url + "/healthz", timeout=0.5).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
            if proc.poll() is not None:
                raise RuntimeError(log.read_text())
        else:
            raise RuntimeError("server did not start")
        yield url, acme, admin
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield b
        b.close()


def _page(browser, url, key):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors: list[str] = []
    external: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on(
        "request",
        lambda r: external.append(r.url) if not r.url.startswith((url, "data:")) else None,
    )
    page.goto(f"{url}/#key={key}")
    page.wait_for_selector("body[data-ready='1']", timeout=20_000)
    return page, errors, external


def test_dashboard_renders_and_whatif_changes_numbers(server, browser):
    url, acme, _ = server
    page, errors, external = _page(browser, url, acme)
    assert "key=" not in page.url  # the key left the address bar
    assert page.locator("#who").inner_text() == "tenant: acme"
    cards = page.locator("#cards .card")
    assert cards.count() >= 10
    text = page.locator("#cards").inner_text().lower()
    assert "gco2e location" in text and "p5..p95" in text and "energy cost" in text
    for chart in ("#kinds-chart", "#series-chart", "#group-chart", "#heatmap", "#sankey"):
        assert page.locator(f"{chart} svg").count() == 1, chart
    assert page.locator("#kinds-chart rect[data-kind]").count() == 3  # location/market/marginal
    assert page.locator("#series-chart polygon.band").count() == 1  # uncertainty band
    assert page.locator("#heatmap rect.heat").count() == 2 * 24  # DE, FR x 24 hours
    assert page.locator("#sankey path.link").count() >= 4
    assert page.locator("#events tbody tr").count() > 10
    assert page.locator("#methodology dt").count() >= 10
    page.screenshot(path=str(SHOTS / "infercarbon-dashboard-top.png"), full_page=True)
    page.locator(".panel.two").screenshot(path=str(SHOTS / "infercarbon-dashboard-flow.png"))

    page.fill("#wi-region", "FR")
    page.click("#wi-run")
    page.wait_for_selector("#whatif-table")
    fr = page.locator("#whatif-table tbody tr").first.inner_text()
    page.fill("#wi-region", "")
    page.fill("#wi-delay", "12")
    page.click("#wi-run")
    page.wait_for_function(
        "(function () { var r = document.querySelector("
        "'#whatif-table tbody tr'); return r && r.innerText !== " + repr(fr) + "; })()"
    )
    delayed = page.locator("#whatif-table tbody tr").nth(2).inner_text()  # marginal row
    assert fr != page.locator("#whatif-table tbody tr").first.inner_text()
    assert "n/a" not in delayed
    page.locator("#whatif-panel").screenshot(path=str(SHOTS / "infercarbon-dashboard-whatif.png"))

    # a bad input: the error shows at the panel, and no stale result stays beside it
    shown = page.locator("#whatif-table tbody tr").first.inner_text()
    page.fill("#wi-region", "Atlantis")
    assert page.locator("#whatif-table").count() == 0  # cleared as soon as the input changed
    assert "press Recompute" in page.locator("#whatif-out").inner_text()
    page.click("#wi-run")
    page.wait_for_selector("#whatif-error:not([hidden])")
    err = page.locator("#whatif-error")
    assert err.inner_text().startswith("what-if: HTTP 422: region: unknown region 'Atlantis'")
    assert page.locator("#whatif-table").count() == 0
    assert shown not in page.locator("#whatif-panel").inner_text()
    assert page.locator("#banner").is_hidden()  # not in the banner at the top of the page
    panel, box = page.locator("#whatif-panel").bounding_box(), err.bounding_box()
    assert panel is not None and box is not None
    assert panel["y"] <= box["y"] <= panel["y"] + panel["height"]  # inside the panel
    page.locator("#whatif-panel").screenshot(
        path=str(SHOTS / "infercarbon-dashboard-whatif-error.png")
    )
    # the browser logs the refused request itself; that one is expected, no other
    assert [e for e in errors if "status of 422" in e] == [errors[-1]]
    errors.pop()
    page.fill("#wi-region", "FR")  # fixed: the error goes, the new result comes
    assert page.locator("#whatif-error").is_hidden()
    page.click("#wi-run")
    page.wait_for_selector("#whatif-table")

    # human units on the cards: mg, g or kg; energy in Wh-scaled units
    it = page.locator("#cards .card").filter(has_text="energy (IT").locator(".value")
    value, unit = it.inner_text().split(" ")
    assert unit in ("nWh", "µWh", "mWh", "Wh", "kWh", "MWh") and "e" not in value, (value, unit)
    card = page.locator("#cards .card[data-card='total-location'] .value").inner_text()
    assert card.split(" ")[1] in ("ng", "µg", "mg", "g", "kg", "t"), card
    assert "e-" not in card and "e+" not in card

    before = page.locator("#cards").inner_text()
    page.fill("#price", "0.6")
    page.wait_for_function("document.querySelector('#cards').innerText !== " + repr(before))
    assert errors == [], errors
    assert external == [], external  # fully offline: no request leaves the server
    page.close()


def _band(page, card: str) -> list[float]:
    c = page.locator(f"#cards .card[data-card='{card}']")
    assert c.count() == 1, card
    assert "p5..p95" in c.inner_text() and "correlated shared factors" in c.inner_text()
    return [float(c.get_attribute(a)) for a in ("data-low", "data-value", "data-high")]


def test_cards_show_bands_scope3_idle_and_cost(server, browser):
    url, acme, _ = server
    page, errors, external = _page(browser, url, acme)
    for card in ("total-location", "total-market", "total-marginal", "per-location"):
        low, value, high = _band(page, card)
        assert 0 < low < value < high, (card, low, value, high)  # a real band, not zero width
    note = page.locator("#cards .card[data-card='total-location'] .band-note")
    assert "correlated" in note.get_attribute("title")  # the method, on hover
    # energy labelled by what happened to it: the fixture's events are measured
    assert "energy (it, measured)" in page.locator("#cards").inner_text().lower()

    emb = page.locator("#scopes-table tr[data-line='embodied']")
    assert emb.count() == 1
    assert emb.get_attribute("data-scope").startswith("scope3_")
    cells = emb.locator("td").all_inner_texts()
    assert cells[0].startswith("Scope 3 cat.") and "embodied" in cells[1]
    lo, hi = (float(x) for x in cells[4].split(" .. "))
    assert 0 < lo < float(cells[3]) < hi
    assert page.locator("#scopes-table tr[data-line='network']").count() == 1
    assert page.locator("#scopes-table tr.scope-head").count() >= 4

    idle = page.locator("#cards .card[data-card='idle-share']").inner_text()
    assert "%" in idle and "30..50 %" in idle and "modelled" in idle.lower()
    assert page.locator("#idle-device tbody tr").count() == 2  # gpu0, gpu1
    assert page.locator("#idle-service tbody tr").count() == 3
    assert "%" in page.locator("#idle-device tbody tr td.kpi").first.inner_text()
    assert "30 % to 50 %" in page.locator("#idle-method").inner_text()

    cost = page.locator("#cards .card[data-card='cost']")
    assert cost.count() == 1 and "EUR" in cost.locator(".value").inner_text()
    page.locator("#scope3-panel").screenshot(path=str(SHOTS / "infercarbon-dashboard-scopes.png"))
    page.locator("#idle-panel").screenshot(path=str(SHOTS / "infercarbon-dashboard-idle.png"))
    assert errors == [], errors
    assert external == [], external
    page.close()


def test_traces_panel_shows_each_user_action(server, browser):
    url, _, admin = server
    page, errors, external = _page(browser, url, admin)
    rows = page.locator("#traces-table tbody tr")
    assert rows.count() == 10
    cells = rows.first.locator("td").all_inner_texts()
    assert len(cells[0]) == 32 and cells[1] == "3"
    lo, hi = (float(x) for x in cells[3].split(" .. "))
    assert 0 < lo < float(cells[2]) < hi
    assert "traceparent" in page.locator("#traces-method").inner_text()
    page.locator("#traces-panel").screenshot(path=str(SHOTS / "infercarbon-dashboard-traces.png"))
    assert errors == [], errors
    assert external == [], external
    page.close()


def test_admin_sees_all_tenants_and_bad_key_is_reported(server, browser):
    url, _, admin = server
    page, errors, _ = _page(browser, url, admin)
    assert page.locator("#who").inner_text() == "admin: all tenants"
    page.select_option("#group", "tenant")
    page.wait_for_function("document.querySelector('#group-label').innerText === 'tenant'")
    labels = page.locator("#group-chart svg text").all_text_contents()
    assert "acme" in labels and "beta" in labels
    assert errors == [], errors
    page.close()
    page, errors, _ = _page(browser, url, "ic_000000000000_" + "x" * 43)
    assert "HTTP 401" in page.locator("#banner").inner_text()
    page.close()


def test_rebound_panel_and_whatif_tier_and_volume(server, browser):
    url, acme, _ = server
    page, errors, external = _page(browser, url, acme)
    page.wait_for_selector("#rebound-table")
    rows = page.locator("#rebound-table tbody tr")
    assert rows.count() == 1 and rows.first.inner_text().startswith("2026-07")
    assert "LMDI-I" in page.locator("#rebound").inner_text()
    page.fill("#wi-volume", "10")
    page.click("#wi-run")
    page.wait_for_selector("#whatif-table")
    assert "volume_multiplier: x10 inferences" in page.locator("#whatif-out").inner_text()
    page.fill("#wi-volume", "")
    page.select_option("#wi-tier", "T4")
    page.select_option("#wi-from-tier", "T5")
    page.click("#wi-run")
    page.wait_for_function(
        "document.querySelector('#whatif-out').innerText.indexOf('vision roofline') >= 0"
    )
    page.locator("#rebound-panel").screenshot(path=str(SHOTS / "infercarbon-dashboard-rebound.png"))
    assert errors == [], errors
    assert external == [], external
    page.close()
