"""The grid-signal refresher: runs update specs, records failures once, keeps going."""

from __future__ import annotations

import contextlib
import logging
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pyarrow as pa
import pytest

from infercarbon.cli.serve import parse_refresh_options
from infercarbon.errors import InputError
from infercarbon.grid.providers._http import HttpTransport, RetryPolicy
from infercarbon.grid.update_sources import UpdateRequest, fetch_update
from infercarbon.grid.updates import UpdateSpec
from infercarbon.ledger import open_store
from infercarbon.service.refresh import Refresher, parse_interval_s

DATA = Path(__file__).resolve().parents[1] / "data" / "providers"


class FakeClock:
    def __init__(self) -> None:
        self.now = datetime(2024, 5, 21, 14, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def ukci(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, content=(DATA / "ukci_national.json").read_bytes())


def fetcher(credentials: dict[str, str | None]):
    def fetch(spec: UpdateSpec, now: datetime, sleep) -> pa.Table:
        def transport(provider: str) -> HttpTransport:
            client = httpx.Client(transport=httpx.MockTransport(ukci))
            return HttpTransport(
                provider,
                client=client,
                clock=now.timestamp,
                sleep=sleep,
                rand=lambda: 0.5,
                retry=RetryPolicy(max_attempts=1),
            )

        return fetch_update(
            UpdateRequest(spec, start="2024-05-20T12:00Z", end="2024-05-20T14:00Z"),
            now_utc=now,
            transport_factory=transport,
            credentials=credentials,
        )

    return fetch


@pytest.fixture
def store(tmp_path):
    s = open_store(tmp_path / "l.duckdb")
    yield s
    s.close()


def test_runs_specs_records_a_missing_key_once_and_keeps_going(store, caplog):
    clock = FakeClock()
    arrived: list[pa.Table] = []
    r = Refresher(
        [UpdateSpec("ukci", "GB"), UpdateSpec("electricitymaps", "DE")],
        fetch=fetcher({}),
        store_factory=lambda: contextlib.nullcontext(store),
        clock=clock,
        interval_s=900,
        on_update=arrived.append,
    )
    with caplog.at_level(logging.WARNING, logger="infercarbon.refresh"):
        st = r.run_once()
        clock.now += timedelta(minutes=15)
        st = r.run_once()
    gb, de = st["ukci:GB:location"], st["electricitymaps:DE:location"]
    assert (gb["runs"], gb["rows_written_total"], gb["last_error"]) == (2, 4, None)
    assert gb["rows_written"] == 0  # the second round found nothing new
    assert gb["last_success_utc"] == clock.now
    assert "ELECTRICITYMAPS_API_KEY" in de["last_error"] and de["disabled"]
    assert de["runs"] == 1  # switched off after the first attempt: keys come at start-up
    failures = [m for m in caplog.messages if "electricitymaps:DE" in m]
    assert len(failures) == 1 and "ELECTRICITYMAPS_API_KEY" in failures[0]
    assert store.intensity(region="GB").num_rows == 4
    assert [t.num_rows for t in arrived] == [4]  # on_update: only when rows were written


def test_network_errors_are_logged_once_until_recovery(store, caplog):
    calls = {"n": 0}

    def flaky(spec, now, sleep):
        calls["n"] += 1
        if calls["n"] < 3:
            from infercarbon.errors import ProviderTransportError

            raise ProviderTransportError("ukci: no answer from https://api.example/x")
        return fetcher({})(spec, now, sleep)

    r = Refresher(
        [UpdateSpec("ukci", "GB")],
        fetch=flaky,
        store_factory=lambda: contextlib.nullcontext(store),
        clock=FakeClock(),
        interval_s=900,
    )
    with caplog.at_level(logging.INFO, logger="infercarbon.refresh"):
        r.run_once()
        st = r.run_once()["ukci:GB:location"]
        assert "api.example" in st["last_error"] and not st["disabled"]
        st = r.run_once()["ukci:GB:location"]
    assert st["last_error"] is None and st["rows_written"] == 4
    assert sum("failed" in m for m in caplog.messages) == 1
    assert sum("recovered" in m for m in caplog.messages) == 1


def test_thread_runs_and_stops_promptly(store):
    ran = threading.Event()

    def fetch(spec, now, sleep):
        ran.set()
        return fetcher({})(spec, now, sleep)

    r = Refresher(
        [UpdateSpec("ukci", "GB")],
        fetch=fetch,
        store_factory=lambda: contextlib.nullcontext(store),
        clock=FakeClock(),
        interval_s=3600,
    )
    r.start()
    try:
        assert ran.wait(10)
        running_inside = r.running
    finally:
        assert r.stop(timeout_s=5)  # the hour-long wait ends at once
    assert running_inside
    assert not r.running
    assert r.status()["ukci:GB:location"]["runs"] >= 1


def test_duplicate_specs_are_refused(store):
    with pytest.raises(InputError, match="twice"):
        Refresher(
            [UpdateSpec("ukci", "GB"), UpdateSpec.parse("ukci:GB:location")],
            fetch=fetcher({}),
            store_factory=lambda: contextlib.nullcontext(store),
            clock=FakeClock(),
        )


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("15m", 900.0), ("90s", 90.0), ("1h", 3600.0), ("1.5H", 5400.0), (" 2m ", 120.0)],
)
def test_parse_interval(text: str, seconds: float) -> None:
    assert parse_interval_s(text) == seconds


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("15", "not a duration"),
        ("m", "not a duration"),
        ("-5m", "not a duration"),
        ("1d", "not a duration"),
        ("10s", "shorter than 60s"),
    ],
)
def test_parse_interval_errors(text: str, match: str) -> None:
    with pytest.raises(InputError, match=match) as e:
        parse_interval_s(text)
    assert e.value.field == "--refresh"


def test_serve_options() -> None:
    specs, s = parse_refresh_options(["ukci:GB", "watttime:CAISO_NORTH:marginal"], "5m")
    assert [x.label for x in specs] == ["ukci:GB:location", "watttime:CAISO_NORTH:marginal"]
    assert s == 300.0
    assert parse_refresh_options(None, None) == ([], None)
    with pytest.raises(InputError, match="--refresh needs at least one --update"):
        parse_refresh_options(None, "15m")
    with pytest.raises(InputError, match="SOURCE:REGION"):
        parse_refresh_options(["ukci"], None)


@pytest.mark.slow
def test_serve_runs_the_refresher_beside_the_server_and_stops_it(monkeypatch, tmp_path):
    """``serve --update operator-csv:ERCOT``: the bundled data arrive while the server runs
    (uvicorn is replaced by a stub that waits for the first round); the thread ends with the
    server."""
    uvicorn = pytest.importorskip("uvicorn")
    from infercarbon.cli import grid_update
    from infercarbon.cli.main import main

    made: list[Refresher] = []
    real = grid_update.make_refresher

    def capture(*args, **kwargs) -> Refresher:
        made.append(real(*args, **kwargs))
        return made[-1]

    seen: dict[str, object] = {}

    def fake_run(app, **kwargs) -> None:
        r = made[0]
        for _ in range(400):
            if r.rounds:
                break
            threading.Event().wait(0.05)
        seen["running"], seen["status"] = r.running, r.status()

    monkeypatch.setattr(grid_update, "make_refresher", capture)
    monkeypatch.setattr(uvicorn, "run", fake_run)
    monkeypatch.setattr("infercarbon.cli.serve.gc.freeze", lambda: None)
    ledger = tmp_path / "l.duckdb"
    assert (
        main(
            ["serve", "--ledger", str(ledger), "--update", "operator-csv:ERCOT", "--refresh", "1h"]
        )
        == 0
    )
    assert seen["running"]
    st = seen["status"]["operator-csv:ERCOT:location"]  # type: ignore[index]
    assert st["last_error"] is None and st["rows_written"] > 29_000
    assert not made[0].running  # stopped with the server
    with open_store(ledger) as store:
        assert store.intensity(region="ERCOT").num_rows == st["rows_written"]
