"""``serve --factors``: the bundled hourly series the service computes from a fuel mix use the
named lifecycle factor set, and say so; signals loaded as published are left alone."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from infercarbon.accounting.signals import SignalBook, region_of
from infercarbon.grid import catalogue

START = np.array(["2021-07-15T22:00:00"], "datetime64[ns]")
END = np.array(["2021-07-15T23:00:00"], "datetime64[ns]")


@pytest.mark.parametrize("kind", ["location", "marginal"])
def test_the_bundled_series_use_the_books_factor_set(kind: str) -> None:
    ercot = region_of("ERCOT")
    (base,) = SignalBook().lookup(ercot, kind, START, END)
    (other,) = SignalBook(factor_set="ipcc-ar5").lookup(ercot, kind, START, END)
    series = catalogue.hourly_location if kind == "location" else catalogue.hourly_marginal
    want = series("ERCOT", "lifecycle", "ipcc-ar5").integrate(START, END)[0]
    assert other.value[0] == pytest.approx(want, rel=1e-12)
    assert other.value[0] != pytest.approx(base.value[0], rel=1e-6)
    assert "factor set ipcc-ar5" in other.provenance["method"]
    assert "factor set" not in base.provenance["method"]  # the default, as before


def test_loaded_signals_are_used_as_published(h: Any) -> None:
    book = SignalBook([h.marginal_de()], factor_set="unece-2021")
    (seg,) = book.lookup(
        region_of("DE"),
        "marginal",
        np.array(["2026-07-01T10:00:00"], "datetime64[ns]"),
        np.array(["2026-07-01T11:00:00"], "datetime64[ns]"),
    )
    assert seg.provenance["method"] == "sine"


def test_unknown_set_names_the_field() -> None:
    from infercarbon.errors import InputError

    with pytest.raises(InputError, match="factors"):
        SignalBook(factor_set="ar6")


def test_create_app_keeps_the_set_through_a_reload(h: Any) -> None:
    from infercarbon.service.app import reload_signals

    for env in h.make_env(factor_set="electricitymaps"):
        state = env.app.state.infercarbon
        assert state.factor_set == "electricitymaps"
        assert state.book.factor_set == "electricitymaps"
        assert reload_signals(state).factor_set == "electricitymaps"


def test_serve_passes_factors_to_the_server(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Any
) -> None:
    from infercarbon.cli import serve
    from infercarbon.cli.main import main

    seen: dict[str, Any] = {}
    monkeypatch.setattr(serve, "run_server", lambda ledger, **kw: seen.update(kw))
    assert main(["serve", "--ledger", str(tmp_path / "l.duckdb"), "--factors", "ipcc-ar5"]) == 0
    assert seen["factor_set"] == "ipcc-ar5"
    assert main(["serve", "--ledger", str(tmp_path / "l.duckdb"), "--factors", "ar6"]) == 2
    assert "unknown factor set" in capsys.readouterr().err


def test_the_refresher_computes_operator_csv_with_the_set(monkeypatch: pytest.MonkeyPatch) -> None:
    import pyarrow as pa

    from infercarbon.cli import grid_update
    from infercarbon.grid.updates import INTENSITY_SCHEMA, UpdateSpec
    from infercarbon.ledger import open_store

    reqs: list[Any] = []

    def fake_fetch(req: Any, **kw: Any) -> pa.Table:
        reqs.append(req)
        return INTENSITY_SCHEMA.empty_table()

    monkeypatch.setattr(grid_update, "fetch_update", fake_fetch)
    with open_store(":memory:") as store:
        r = grid_update.make_refresher(
            ":memory:",
            store,
            [UpdateSpec("operator-csv", "ERCOT", "location"), UpdateSpec("ukci", "GB", "location")],
            3600.0,
            factor_set="unece-2021",
        )
        r.run_once()
    assert {(q.spec.source, q.factor_set) for q in reqs} == {
        ("operator-csv", "unece-2021"),
        ("ukci", "infercarbon"),
    }
