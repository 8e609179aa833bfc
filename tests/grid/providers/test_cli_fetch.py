"""``infercarbon grid fetch`` over mock transports (recorded payloads, no network)."""

from __future__ import annotations

import csv
import io
import json

import httpx
import pytest

from infercarbon.cli import grid_providers
from infercarbon.cli.main import main

ENV = ("ELECTRICITYMAPS_API_KEY", "WATTTIME_USERNAME", "WATTTIME_PASSWORD", "ENTSOE_API_KEY")


@pytest.fixture(autouse=True)
def _no_keys(monkeypatch):
    for name in ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def served(monkeypatch, make_transport, fixture_bytes):
    """Route every CLI request to a recorded payload chosen by URL path."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        path = request.url.path
        if path == "/login":
            return httpx.Response(200, json={"token": "t"})
        name = {
            "/v3/carbon-intensity/past-range": "electricitymaps_past_range_direct.json",
            "/v3/carbon-intensity/latest": "electricitymaps_latest.json",
            "/v3/forecast": "watttime_forecast.json",
            "/v3/signal-index": "watttime_signal_index.json",
            "/api": "entsoe_a75_de_lu.xml",
        }.get(path)
        if name is None and path.startswith("/regional/"):
            name = "ukci_regional_13.json"
        elif name is None and path.startswith("/intensity/"):
            name = "ukci_national.json"
        return httpx.Response(200, content=fixture_bytes(name))

    monkeypatch.setattr(
        grid_providers,
        "make_transport",
        lambda provider: make_transport(handler, provider=provider),
    )
    return seen


def run(capsys, *args):
    code = main(["grid", "fetch", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_electricitymaps_csv(served, monkeypatch, capsys):
    monkeypatch.setenv("ELECTRICITYMAPS_API_KEY", "k")
    code, out, err = run(
        capsys,
        "--provider",
        "electricitymaps",
        "--region",
        "DE",
        "--from",
        "2024-05-01T00:00Z",
        "--to",
        "2024-05-01T04:00Z",
        "--basis",
        "direct",
    )
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert list(rows[0]) == ["time_utc", "intensity_g_per_kwh", "low", "high"]
    assert rows[0] == {
        "time_utc": "2024-05-01T00:00:00Z",
        "intensity_g_per_kwh": "301.0",
        "low": "301.0",
        "high": "301.0",
    }
    assert len(rows) == 4
    assert served[0].headers["auth-token"] == "k"


def test_ukci_regional_json(served, capsys):
    code, out, err = run(
        capsys,
        "--provider",
        "ukci",
        "--region",
        "13",
        "--from",
        "2024-05-20T12:00Z",
        "--to",
        "2024-05-20T14:00Z",
        "--format",
        "json",
    )
    assert code == 0, err
    doc = json.loads(out)
    assert (doc["provider"], doc["region"], doc["kind"], doc["basis"], doc["resolution_s"]) == (
        "ukci",
        "GB-13",
        "location-average",
        "direct",
        1800,
    )
    assert [r["intensity_g_per_kwh"] for r in doc["rows"]] == [212.0, 205.0, 198.0, 190.0]
    assert doc["provenance"]["licence"].startswith("CC BY 4.0")


def test_watttime_index_and_forecast(served, monkeypatch, capsys):
    monkeypatch.setenv("WATTTIME_USERNAME", "u")
    monkeypatch.setenv("WATTTIME_PASSWORD", "p")
    code, out, err = run(
        capsys, "--provider", "watttime", "--region", "CAISO_NORTH", "--kind", "index"
    )
    assert code == 0, err
    assert out.splitlines() == ["time_utc,index_frac", "2024-05-21T17:05:00Z,0.47"]
    code, out, err = run(
        capsys,
        "--provider",
        "watttime",
        "--region",
        "CAISO_NORTH",
        "--kind",
        "forecast",
        "--format",
        "json",
    )
    assert code == 0, err
    doc = json.loads(out)
    assert doc["kind"] == "marginal"
    assert doc["provenance"]["label"] == "modelled"


def test_entsoe_uses_factor_rates(served, monkeypatch, capsys):
    monkeypatch.setenv("ENTSOE_API_KEY", "tok")
    code, out, err = run(
        capsys,
        "--provider",
        "entsoe",
        "--region",
        "10Y1001A1001A82H",
        "--from",
        "2023-06-01T00:00Z",
        "--to",
        "2023-06-01T02:00Z",
        "--basis",
        "direct",
    )
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 8
    assert all(float(r["low"]) <= float(r["intensity_g_per_kwh"]) <= float(r["high"]) for r in rows)


@pytest.mark.parametrize(
    ("provider", "var"),
    [
        ("electricitymaps", "ELECTRICITYMAPS_API_KEY"),
        ("watttime", "WATTTIME_USERNAME and WATTTIME_PASSWORD"),
        ("entsoe", "ENTSOE_API_KEY"),
    ],
)
def test_missing_credentials_exit_2_and_name_the_variable(served, capsys, provider, var):
    code, _, err = run(
        capsys,
        "--provider",
        provider,
        "--region",
        "X",
        "--from",
        "2024-01-01",
        "--to",
        "2024-01-02",
    )
    assert code == 2
    assert err.startswith("error: ")
    assert var in err
    assert served == []  # nothing was sent


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["--provider", "entsoe", "--region", "DE_LU", "--kind", "latest"], "--kind"),
        (["--provider", "ukci", "--region", "GB", "--from", "2024-01-01"], "--to"),
        (
            [
                "--provider",
                "ukci",
                "--region",
                "London",
                "--from",
                "2024-01-01",
                "--to",
                "2024-01-02",
            ],
            "--region",
        ),
        (
            [
                "--provider",
                "watttime",
                "--region",
                "X",
                "--kind",
                "forecast",
                "--basis",
                "lifecycle",
            ],
            "--basis",
        ),
        (
            ["--provider", "ukci", "--region", "GB", "--from", "yesterday", "--to", "2024-01-02"],
            "--from",
        ),
    ],
)
def test_bad_options_name_the_flag(served, capsys, args, field):
    code, _, err = run(capsys, *args)
    assert code == 2
    assert field in err
