"""Electricity Maps v3 client over a mock transport.

The payloads in tests/data/providers/electricitymaps_*.json follow the documented v3 schema
(see SOURCES.md there); they are not live captures.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx
import numpy as np
import pytest

from infercarbon.errors import (
    DataQualityWarning,
    MissingCredentialsError,
    ProviderPayloadError,
    QuotaExceededError,
)
from infercarbon.grid.providers._http import RetryPolicy
from infercarbon.grid.providers.electricitymaps import ElectricityMapsClient


def route(json_response, seen):
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        name = request.url.path.rsplit("/", 1)[-1]
        return json_response(
            {
                "latest": "electricitymaps_latest.json",
                "history": "electricitymaps_history.json",
                "past-range": "electricitymaps_past_range_direct.json",
            }[name]
        )

    return handler


def test_latest_sends_auth_header_and_basis(make_transport, json_response):
    seen: list[httpx.Request] = []
    em = ElectricityMapsClient("k3y", transport=make_transport(route(json_response, seen)))
    s = em.latest("DE")
    req = seen[0]
    assert req.headers["auth-token"] == "k3y"
    assert req.url.path == "/v3/carbon-intensity/latest"
    assert req.url.params["zone"] == "DE"
    assert req.url.params["emissionFactorType"] == "lifecycle"
    assert (s.kind, s.basis, s.resolution_s, s.region) == (
        "location-average",
        "lifecycle",
        3600,
        "DE",
    )
    assert s.intensity_g_per_kwh.tolist() == [236.0]
    assert str(s.start_utc[0]).startswith("2024-05-21T11:00")
    assert s.provenance.retrieved_at_utc == "2024-05-21T14:00:00Z"


def test_history_keeps_estimation_flags_and_is_cached(make_transport, json_response):
    seen: list[httpx.Request] = []
    em = ElectricityMapsClient("k", transport=make_transport(route(json_response, seen)))
    s = em.history("DE")
    assert len(s) == 6
    assert s.intensity_g_per_kwh[:3].tolist() == [198.0, 187.0, 204.0]
    assert s.extra["is_estimated"].tolist() == [False] * 5 + [True]
    assert any("1 of 6 steps are estimated" in n for n in s.provenance.notes)
    # value at 13:30 is the 13:00 step
    assert float(s.at(np.datetime64("2024-05-20T13:30"))[0][0]) == 187.0
    em.history("DE")
    assert len(seen) == 1  # second call served from the TTL cache


def test_past_range_direct_basis(make_transport, json_response):
    seen: list[httpx.Request] = []
    em = ElectricityMapsClient("k", transport=make_transport(route(json_response, seen)))
    s = em.past_range("DE", "2024-05-01T00:00Z", "2024-05-01T04:00Z", basis="direct")
    q = seen[0].url.params
    assert (q["start"], q["end"], q["emissionFactorType"], q["temporalGranularity"]) == (
        "2024-05-01T00:00:00Z",
        "2024-05-01T04:00:00Z",
        "direct",
        "hourly",
    )
    assert s.basis == "direct"
    assert s.intensity_g_per_kwh.tolist() == [301.0, 296.0, 289.0, 284.0]
    # time-weighted mean over 00:30..02:30 = (0.5*301 + 296 + 0.5*289) / 2
    got = s.integrate(np.datetime64("2024-05-01T00:30"), np.datetime64("2024-05-01T02:30"))
    assert float(got[0]) == pytest.approx((0.5 * 301 + 296 + 0.5 * 289) / 2)


def test_long_past_range_is_fetched_in_ten_day_pieces(make_transport):
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        a = datetime.fromisoformat(request.url.params["start"])
        b = datetime.fromisoformat(request.url.params["end"])
        rows, t = [], a
        while t <= b:  # the API's end bound is inclusive
            rows.append(
                {
                    "zone": "FR",
                    "carbonIntensity": 50 + t.hour,
                    "datetime": t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                    "emissionFactorType": "lifecycle",
                    "isEstimated": False,
                }
            )
            t += timedelta(hours=1)
        return httpx.Response(200, json={"zone": "FR", "data": rows})

    em = ElectricityMapsClient("k", transport=make_transport(handler))
    s = em.past_range("FR", "2024-01-01", "2024-01-26")
    assert len(seen) == 3
    assert len(s) == 25 * 24
    assert str(s.start_utc[-1]).startswith("2024-01-25T23:00")


def test_basis_mismatch_is_a_payload_error(make_transport):
    body = json.loads(
        '{"zone":"DE","carbonIntensity":300,"datetime":"2024-05-21T11:00:00Z",'
        '"emissionFactorType":"lifecycle"}'
    )
    em = ElectricityMapsClient(
        "k", transport=make_transport(lambda r: httpx.Response(200, json=body))
    )
    with pytest.raises(ProviderPayloadError, match="emissionFactorType"):
        em.latest("DE", basis="direct")


def test_missing_field_is_named(make_transport, fixture_bytes):
    body = json.loads(fixture_bytes("electricitymaps_history.json"))
    del body["history"][2]["carbonIntensity"]
    em = ElectricityMapsClient(
        "k", transport=make_transport(lambda r: httpx.Response(200, json=body))
    )
    with pytest.raises(ProviderPayloadError, match=r"history\[2\]\.carbonIntensity"):
        em.history("DE")


def test_missing_history_array_and_non_json(make_transport):
    em = ElectricityMapsClient(
        "k", transport=make_transport(lambda r: httpx.Response(200, json={"zone": "DE"}))
    )
    with pytest.raises(ProviderPayloadError, match="'history': missing"):
        em.history("DE")
    em2 = ElectricityMapsClient(
        "k",
        transport=make_transport(lambda r: httpx.Response(200, text="<html>maintenance</html>")),
    )
    with pytest.raises(ProviderPayloadError, match="not JSON"):
        em2.latest("DE")


def test_gap_in_history_is_warned_and_recorded(make_transport, fixture_bytes):
    body = json.loads(fixture_bytes("electricitymaps_history.json"))
    del body["history"][3]
    em = ElectricityMapsClient(
        "k", transport=make_transport(lambda r: httpx.Response(200, json=body))
    )
    with pytest.warns(DataQualityWarning, match="1 missing step"):
        s = em.history("DE")
    assert any("missing step" in n for n in s.provenance.notes)


@pytest.mark.parametrize("key", [None, ""])
def test_missing_key_names_the_env_var(make_transport, key):
    with pytest.raises(MissingCredentialsError, match="ELECTRICITYMAPS_API_KEY"):
        ElectricityMapsClient(key, transport=make_transport(lambda r: httpx.Response(200)))


def test_quota(make_transport):
    t = make_transport(
        lambda r: httpx.Response(429, json={"message": "Monthly quota used"}),
        retry=RetryPolicy(max_attempts=2),
    )
    with pytest.raises(QuotaExceededError, match="Monthly quota used"):
        ElectricityMapsClient("k", transport=t).latest("DE")
