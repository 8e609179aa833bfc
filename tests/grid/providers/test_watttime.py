"""WattTime v3 client: login, token refresh on 401 and on expiry, index, history, forecast.

The payloads in tests/data/providers/watttime_*.json follow the documented v3 schema (see
SOURCES.md there); they are not live captures.
"""

from __future__ import annotations

import base64
import json

import httpx
import numpy as np
import pytest

from infercarbon.errors import (
    DataQualityWarning,
    InputError,
    MissingCredentialsError,
    ProviderAuthError,
    ProviderPayloadError,
)
from infercarbon.grid.providers.watttime import WattTimeClient
from infercarbon.units import G_PER_LB

FILES = {
    "/v3/signal-index": "watttime_signal_index.json",
    "/v3/historical": "watttime_historical.json",
    "/v3/forecast": "watttime_forecast.json",
}


class FakeWattTime:
    """Issues token-1, token-2, ... on /login; data routes accept only the newest token."""

    def __init__(
        self,
        json_response,
        *,
        reject_first_data_call: bool = False,
        bodies: dict[str, bytes] | None = None,
    ) -> None:
        self.json_response = json_response
        self.tokens = 0
        self.requests: list[httpx.Request] = []
        self.reject_first = reject_first_data_call
        self.bodies = bodies or {}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path == "/login":
            expected = "Basic " + base64.b64encode(b"ada:pw").decode()
            if request.headers.get("Authorization") != expected:
                return httpx.Response(403, json={"error": "invalid credentials"})
            self.tokens += 1
            return httpx.Response(200, json={"token": f"token-{self.tokens}"})
        auth = request.headers.get("Authorization")
        if self.reject_first:
            self.reject_first = False
            return httpx.Response(401, json={"error": "token expired"})
        if auth != f"Bearer token-{self.tokens}":
            return httpx.Response(401, json={"error": "invalid token"})
        if request.url.path in self.bodies:
            return httpx.Response(200, content=self.bodies[request.url.path])
        return self.json_response(FILES[request.url.path])


def test_login_then_historical_in_g_per_kwh(make_transport, json_response):
    api = FakeWattTime(json_response)
    wt = WattTimeClient("ada", "pw", transport=make_transport(api))
    s = wt.historical("CAISO_NORTH", "2024-05-20T12:00Z", "2024-05-20T13:00Z")
    assert [r.url.path for r in api.requests] == ["/login", "/v3/historical"]
    q = api.requests[1].url.params
    assert (q["region"], q["signal_type"], q["start"], q["end"]) == (
        "CAISO_NORTH",
        "co2_moer",
        "2024-05-20T12:00:00Z",
        "2024-05-20T13:00:00Z",
    )
    assert (s.kind, s.basis, s.resolution_s, len(s)) == ("marginal", "direct", 300, 12)
    # 1012 lb/MWh x 453.59237 g/lb / 1000 kWh/MWh
    assert s.intensity_g_per_kwh[0] == pytest.approx(1012.0 * G_PER_LB / 1000)
    assert s.provenance.version == "model 2023-03-01"
    assert any("CO2 only" in n for n in s.provenance.notes)


def test_forecast_is_labelled_modelled(make_transport, json_response):
    wt = WattTimeClient("ada", "pw", transport=make_transport(FakeWattTime(json_response)))
    s = wt.forecast("CAISO_NORTH", horizon_hours=1)
    assert s.provenance.method == "forecast co2_moer"
    assert s.provenance.label == "modelled"
    assert "forecast generated at 2024-05-21T17:00:00+00:00" in s.provenance.notes
    assert float(s.at(np.datetime64("2024-05-21T17:07"))[0][0]) == pytest.approx(
        948.0 * G_PER_LB / 1000
    )


def test_signal_index_is_a_fraction_not_an_intensity(make_transport, json_response):
    wt = WattTimeClient("ada", "pw", transport=make_transport(FakeWattTime(json_response)))
    idx = wt.signal_index("CAISO_NORTH")
    assert idx.index_frac.tolist() == [0.47]
    assert idx.signal_type == "co2_moer"


def test_token_is_refreshed_once_on_401(make_transport, json_response):
    api = FakeWattTime(json_response, reject_first_data_call=True)
    wt = WattTimeClient("ada", "pw", transport=make_transport(api))
    wt.signal_index("CAISO_NORTH")
    assert [r.url.path for r in api.requests] == [
        "/login",
        "/v3/signal-index",
        "/login",
        "/v3/signal-index",
    ]
    assert wt.logins == 2


def test_persistent_401_is_an_auth_error(make_transport):
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/login":
            return httpx.Response(200, json={"token": "t"})
        return httpx.Response(401, json={"error": "no access to region"})

    wt = WattTimeClient("ada", "pw", transport=make_transport(handler))
    with pytest.raises(ProviderAuthError, match="no access to region"):
        wt.forecast("PJM_DC")
    assert wt.logins == 2


def test_token_expiry_on_the_injected_clock(make_transport, json_response, clock):
    api = FakeWattTime(json_response)
    wt = WattTimeClient("ada", "pw", transport=make_transport(api))
    wt.signal_index("CAISO_NORTH")
    clock.advance(10 * 60)
    wt.forecast("CAISO_NORTH")
    assert wt.logins == 1
    clock.advance(25 * 60)
    wt.historical("CAISO_NORTH", "2024-05-20T12:00Z", "2024-05-20T13:00Z")
    assert wt.logins == 2


def test_bad_password_names_the_env_vars(make_transport, json_response):
    wt = WattTimeClient("ada", "wrong", transport=make_transport(FakeWattTime(json_response)))
    with pytest.raises(ProviderAuthError, match="WATTTIME_USERNAME / WATTTIME_PASSWORD"):
        wt.signal_index("CAISO_NORTH")


def test_missing_credentials(make_transport):
    t = make_transport(lambda r: httpx.Response(200))
    with pytest.raises(MissingCredentialsError, match="WATTTIME_PASSWORD") as info:
        WattTimeClient("ada", None, transport=t)
    assert "WATTTIME_USERNAME" not in str(info.value)
    with pytest.raises(MissingCredentialsError, match="WATTTIME_USERNAME and WATTTIME_PASSWORD"):
        WattTimeClient(None, "", transport=t)


def test_unknown_units_and_missing_meta(make_transport, json_response, fixture_bytes):
    body = json.loads(fixture_bytes("watttime_historical.json"))
    body["meta"]["units"] = "percentile"
    wt = WattTimeClient(
        "ada",
        "pw",
        transport=make_transport(
            FakeWattTime(json_response, bodies={"/v3/historical": json.dumps(body).encode()})
        ),
    )
    with pytest.raises(ProviderPayloadError, match=r"meta\.units"):
        wt.historical("CAISO_NORTH", "2024-05-20T12:00Z", "2024-05-20T13:00Z")
    del body["meta"]
    wt2 = WattTimeClient(
        "ada",
        "pw",
        transport=make_transport(
            FakeWattTime(json_response, bodies={"/v3/forecast": json.dumps(body).encode()})
        ),
    )
    with pytest.raises(ProviderPayloadError, match="'meta': missing"):
        wt2.forecast("CAISO_NORTH")


def test_bad_point_is_named(make_transport, json_response, fixture_bytes):
    body = json.loads(fixture_bytes("watttime_forecast.json"))
    body["data"][4]["value"] = "high"
    wt = WattTimeClient(
        "ada",
        "pw",
        transport=make_transport(
            FakeWattTime(json_response, bodies={"/v3/forecast": json.dumps(body).encode()})
        ),
    )
    with pytest.raises(ProviderPayloadError, match=r"data\[4\]\.value"):
        wt.forecast("CAISO_NORTH")


def test_gap_warns(make_transport, json_response, fixture_bytes):
    body = json.loads(fixture_bytes("watttime_historical.json"))
    del body["data"][5:7]
    wt = WattTimeClient(
        "ada",
        "pw",
        transport=make_transport(
            FakeWattTime(json_response, bodies={"/v3/historical": json.dumps(body).encode()})
        ),
    )
    with pytest.warns(DataQualityWarning, match="2 missing step"):
        s = wt.historical("CAISO_NORTH", "2024-05-20T12:00Z", "2024-05-20T13:00Z")
    assert len(s) == 10


def test_bad_arguments(make_transport, json_response):
    wt = WattTimeClient("ada", "pw", transport=make_transport(FakeWattTime(json_response)))
    with pytest.raises(InputError, match="signal_type"):
        wt.forecast("CAISO_NORTH", signal_type="health_damage")
    with pytest.raises(InputError, match="horizon_hours"):
        wt.forecast("CAISO_NORTH", horizon_hours=200)
    with pytest.raises(InputError, match="end"):
        wt.historical("CAISO_NORTH", "2024-05-20", "2024-05-19")
