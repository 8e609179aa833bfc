"""Region routing: ranking, residency and latency rules, the margin and its range."""

from __future__ import annotations

import json

import numpy as np
import pytest

from infercarbon.cli.main import main
from infercarbon.decisions.route import parse_latency_map, route
from infercarbon.errors import InputError
from infercarbon.reference.regions import resolve_region

NOW = np.datetime64("2026-07-01T12:30")


def test_lowest_allowed_region_and_margin() -> None:
    r = route(["PL", "FR", "GB"], NOW, energy_kwh=2.0)
    ids = [c.region_id for c in r.ranked]
    assert ids == ["FRA", "GBR", "POL"]
    d = r.to_dict()
    fr, gb = (resolve_region(x).intensity_g_per_kwh for x in ("FR", "GB"))
    assert d["region_id"] == "FRA" and d["next_best"] == "GBR"
    assert d["margin_g_per_kwh"] == pytest.approx(gb.value - fr.value)
    assert d["margin_g"] == pytest.approx(2 * (gb.value - fr.value))
    assert d["margin_low_g_per_kwh"] <= d["margin_g_per_kwh"] <= d["margin_high_g_per_kwh"]
    assert d["margin_low_g_per_kwh"] == pytest.approx(
        min(gb.range[0] - fr.range[1], gb.value - fr.value)
    )


def test_residency_and_latency_rules_reject_with_reasons() -> None:
    r = route(
        ["FR", "DE", "PL", "GB", "ERCOT"],
        NOW,
        residency="EU",
        max_latency_ms=40,
        latency_ms={"FR": 55, "DE": 20},
    )
    assert r.best.region_id == "DEU"
    why = {c.region_id: c.reason or "" for c in r.rejected}
    assert "exceeds the maximum" in why["FRA"]
    assert "no latency given" in why["POL"]
    assert "outside the residency rule EU" in why["GBR"]
    assert "outside the residency rule EU" in why["em:US-TX"]
    assert r.margin() is None


def test_hourly_region_uses_its_profile_now() -> None:
    r = route(["ERCOT", "PL"], NOW)
    tx = next(c for c in r.ranked if c.region_id == "em:US-TX")
    assert "profile" in tx.source
    assert tx.low_g_per_kwh is not None and tx.intensity_g_per_kwh is not None
    assert tx.low_g_per_kwh <= tx.intensity_g_per_kwh
    assert any("mixes resolutions" in n for n in r.notes)


def test_nothing_allowed_is_an_error_naming_regions() -> None:
    r = route(["GB"], NOW, residency="EU")
    with pytest.raises(InputError, match="regions: no candidate region is allowed"):
        _ = r.best


def test_cli_json(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "route",
            "--regions",
            "FR,DE,PL",
            "--residency",
            "EU",
            "--at",
            "2026-07-01T12:00Z",
            "--json",
        ]
    )
    out = capsys.readouterr()
    assert code == 0, out.err
    d = json.loads(out.out)
    assert d["region_id"] == "FRA" and d["now_utc"] == "2026-07-01T12:00:00Z"
    assert [c["region_id"] for c in d["ranked"]] == ["FRA", "DEU", "POL"]
    code = main(["route", "--regions", "FR", "--latency-ms", "FR=fast"])
    assert code == 2 and "error: --latency-ms" in capsys.readouterr().err


def test_latency_map() -> None:
    assert parse_latency_map("FR=25, DE=18.5") == {"FR": 25.0, "DE": 18.5}
    with pytest.raises(InputError):
        parse_latency_map("FR")
