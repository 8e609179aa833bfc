"""``infercarbon grid update`` from provider APIs over mock transports (recorded payloads).

No test here reaches the network: the CLI's transport factory is replaced by one over
:class:`httpx.MockTransport`; "no network" is a transport that refuses every connection.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx
import pytest

from infercarbon.cli import grid_update
from infercarbon.cli.main import main
from infercarbon.grid.providers._http import RetryPolicy
from infercarbon.ledger import open_store

ENV = ("ELECTRICITYMAPS_API_KEY", "WATTTIME_USERNAME", "WATTTIME_PASSWORD", "ENTSOE_API_KEY")
NOW = datetime(2024, 5, 21, 14, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _no_keys(monkeypatch):
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(grid_update, "_now", lambda: NOW)


@pytest.fixture
def payloads(monkeypatch, make_transport, fixture_bytes):
    """Serve recorded payloads by URL path; ``payloads[path] = bytes`` overrides one."""
    seen: list[httpx.Request] = []
    override: dict[str, bytes] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        path = request.url.path
        if path in override:
            return httpx.Response(200, content=override[path])
        if path == "/login":
            return httpx.Response(200, json={"token": "t"})
        name = {
            "/v3/carbon-intensity/history": "electricitymaps_history.json",
            "/v3/forecast": "watttime_forecast.json",
            "/v3/historical": "watttime_historical.json",
        }.get(path)
        if name is None and path.endswith("/fw48h"):
            name = "ukci_national_fw48h.json"
        elif name is None and path.startswith("/intensity/"):
            name = "ukci_national.json"
        return httpx.Response(200, content=fixture_bytes(name))

    monkeypatch.setattr(
        grid_update, "make_transport", lambda provider: make_transport(handler, provider=provider)
    )
    return seen, override


def run(capsys, *args):
    code = main(["grid", "update", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_electricitymaps_history_rows(payloads, fixture_bytes, monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("ELECTRICITYMAPS_API_KEY", "k")
    ledger = str(tmp_path / "l.duckdb")
    code, out, err = run(
        capsys, "--ledger", ledger, "--source", "electricitymaps", "--region", "DE"
    )
    assert code == 0, err
    assert "6 written" in out
    with open_store(ledger) as store:
        t = store.intensity(region="DE").sort_by("interval_start_utc")
    assert t.num_rows == 6
    assert set(t.column("kind").to_pylist()) == {"location-average"}
    assert t.column("status").to_pylist() == ["final"] * 5 + ["provisional"]  # isEstimated
    assert t.column("source")[0].as_py().endswith("/carbon-intensity/history")
    assert "lifecycle" in t.column("method")[0].as_py()
    assert t.column("low_g_per_kwh").null_count == 6  # the API publishes no range

    # the same answer again: nothing new to store
    code, out, err = run(
        capsys, "--ledger", ledger, "--source", "electricitymaps", "--region", "DE"
    )
    assert code == 0, err
    assert "0 written, 6 already stored unchanged" in out

    # later the estimated hour is settled: only that interval is stored again
    _, override = payloads
    doc = json.loads(fixture_bytes("electricitymaps_history.json"))
    doc["history"][-1]["isEstimated"] = False
    override["/v3/carbon-intensity/history"] = json.dumps(doc).encode()
    monkeypatch.setattr(grid_update, "_now", lambda: datetime(2024, 5, 21, 15, tzinfo=UTC))
    code, out, err = run(
        capsys, "--ledger", ledger, "--source", "electricitymaps", "--region", "DE"
    )
    assert code == 0, err
    assert "1 written, 5 already stored unchanged" in out
    with open_store(ledger) as store:
        t = store.intensity(region="DE").sort_by("retrieved_utc")
    assert t.num_rows == 7
    assert t.column("status")[-1].as_py() == "final"


def test_missing_key_is_one_clear_error_and_nothing_is_written(payloads, capsys, tmp_path):
    ledger = tmp_path / "l.duckdb"
    code, _, err = run(
        capsys, "--ledger", str(ledger), "--source", "electricitymaps", "--region", "DE"
    )
    assert code == 2
    assert "ELECTRICITYMAPS_API_KEY" in err and err.count("\n") == 1
    assert payloads[0] == []  # no request was sent
    assert not ledger.exists()  # the ledger was not even opened


def test_watttime_missing_password_names_it(payloads, monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("WATTTIME_USERNAME", "u")
    code, _, err = run(
        capsys,
        "--ledger",
        str(tmp_path / "l.duckdb"),
        "--source",
        "watttime",
        "--region",
        "CAISO_NORTH",
        "--kind",
        "marginal",
    )
    assert code == 2 and "WATTTIME_PASSWORD" in err and "WATTTIME_USERNAME" not in err


def test_no_network_names_the_host_and_writes_nothing(
    monkeypatch, make_transport, capsys, tmp_path
):
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    monkeypatch.setattr(
        grid_update,
        "make_transport",
        lambda provider: make_transport(
            refuse, provider=provider, retry=RetryPolicy(max_attempts=2)
        ),
    )
    ledger = tmp_path / "l.duckdb"
    code, _, err = run(capsys, "--ledger", str(ledger), "--source", "ukci", "--region", "GB")
    assert code == 2
    assert "api.carbonintensity.org.uk" in err and "no answer" in err
    assert not ledger.exists()


def test_ukci_national_marks_missing_outturn_as_forecast(payloads, capsys, tmp_path):
    ledger = str(tmp_path / "l.duckdb")
    code, _, err = run(
        capsys,
        "--ledger",
        ledger,
        "--source",
        "ukci",
        "--region",
        "GB",
        "--from",
        "2024-05-20T12:00Z",
        "--to",
        "2024-05-20T14:00Z",
    )
    assert code == 0, err
    with open_store(ledger) as store:
        t = store.intensity(region="GB").sort_by("interval_start_utc")
    assert t.column("status").to_pylist() == ["final", "final", "final", "forecast"]
    assert t.column("resolution_s").to_pylist() == [1800] * 4


def test_forecast_endpoints_store_status_forecast(payloads, monkeypatch, capsys, tmp_path):
    ledger = str(tmp_path / "l.duckdb")
    code, _, err = run(
        capsys, "--ledger", ledger, "--source", "ukci", "--region", "GB", "--kind", "forecast"
    )
    assert code == 0, err
    monkeypatch.setenv("WATTTIME_USERNAME", "u")
    monkeypatch.setenv("WATTTIME_PASSWORD", "p")
    code, _, err = run(
        capsys,
        "--ledger",
        ledger,
        "--source",
        "watttime",
        "--region",
        "CAISO_NORTH",
        "--kind",
        "forecast",
    )
    assert code == 0, err
    with open_store(ledger) as store:
        gb = store.intensity(region="GB")
        wt = store.intensity(region="CAISO_NORTH")
    assert set(gb.column("status").to_pylist()) == {"forecast"}
    assert set(gb.column("kind").to_pylist()) == {"location-average"}
    assert (wt.num_rows, set(wt.column("status").to_pylist())) == (12, {"forecast"})
    assert set(wt.column("kind").to_pylist()) == {"marginal"}


def test_a_provider_without_forecast_says_so(payloads, monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("ELECTRICITYMAPS_API_KEY", "k")
    code, _, err = run(
        capsys,
        "--ledger",
        str(tmp_path / "l.duckdb"),
        "--source",
        "electricitymaps",
        "--region",
        "DE",
        "--kind",
        "forecast",
    )
    assert code == 2 and "no forecast" in err
