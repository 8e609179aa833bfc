"""GB Carbon Intensity API client: national actual/forecast, regional, 48-hour forecast.

The payloads in tests/data/providers/ukci_*.json follow the documented API schema (see
SOURCES.md there); they are not live captures.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import httpx
import numpy as np
import pytest

from infercarbon.errors import InputError, ProviderPayloadError
from infercarbon.grid.providers.ukci import UKCarbonIntensityClient


def serve(json_response, seen, name):
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return json_response(name)

    return handler


def test_national_actual_else_forecast(make_transport, json_response):
    seen: list[httpx.Request] = []
    uk = UKCarbonIntensityClient(
        transport=make_transport(serve(json_response, seen, "ukci_national.json"))
    )
    s = uk.national("2024-05-20T12:00Z", "2024-05-20T14:00Z")
    assert seen[0].url.path == "/intensity/2024-05-20T12:00Z/2024-05-20T14:00Z"
    assert "auth" not in {k.lower() for k in seen[0].headers}
    assert (s.region, s.kind, s.basis, s.resolution_s) == ("GB", "location-average", "direct", 1800)
    assert s.intensity_g_per_kwh.tolist() == [176.0, 170.0, 165.0, 159.0]
    assert s.extra["is_forecast"].tolist() == [False, False, False, True]
    assert s.extra["index"].tolist() == ["moderate", "moderate", "moderate", "low"]
    assert any("1 of 4 half-hours" in n for n in s.provenance.notes)
    assert s.provenance.licence is not None and s.provenance.licence.startswith("CC BY 4.0")


def test_national_forecast_only_and_actual_only(make_transport, json_response):
    uk = UKCarbonIntensityClient(
        transport=make_transport(serve(json_response, [], "ukci_national.json"))
    )
    f = uk.national("2024-05-20T12:00Z", "2024-05-20T14:00Z", value="forecast")
    assert f.intensity_g_per_kwh.tolist() == [181.0, 176.0, 168.0, 159.0]
    assert f.provenance.label == "modelled"
    with pytest.raises(ProviderPayloadError, match=r"data\[3\]\.intensity\.actual"):
        uk.national("2024-05-20T12:00Z", "2024-05-20T14:00Z", value="actual")


def test_national_fw48h(make_transport, json_response):
    seen: list[httpx.Request] = []
    uk = UKCarbonIntensityClient(
        transport=make_transport(serve(json_response, seen, "ukci_national_fw48h.json"))
    )
    s = uk.national_forecast(np.datetime64("2024-05-21T18:00"))
    assert seen[0].url.path == "/intensity/2024-05-21T18:00Z/fw48h"
    assert s.provenance.method == "forecast"
    assert s.intensity_g_per_kwh.tolist() == [143.0, 139.0, 136.0, 140.0]


def test_regional_london(make_transport, json_response):
    seen: list[httpx.Request] = []
    uk = UKCarbonIntensityClient(
        transport=make_transport(serve(json_response, seen, "ukci_regional_13.json"))
    )
    s = uk.regional(13, "2024-05-20T12:00Z", "2024-05-20T14:00Z")
    assert seen[0].url.path == (
        "/regional/intensity/2024-05-20T12:00Z/2024-05-20T14:00Z/regionid/13"
    )
    assert s.region == "GB-13"
    assert s.intensity_g_per_kwh.tolist() == [212.0, 205.0, 198.0, 190.0]
    assert s.extra["is_forecast"].all()
    assert any("London" in n and "forecasts only" in n for n in s.provenance.notes)


def test_regional_accepts_one_element_array(make_transport, fixture_bytes):
    body = json.loads(fixture_bytes("ukci_regional_13.json"))
    body["data"] = [body["data"]]
    uk = UKCarbonIntensityClient(transport=make_transport(lambda r: httpx.Response(200, json=body)))
    assert len(uk.regional_forecast(13, "2024-05-20T12:00Z")) == 4


def test_regional_wrong_region_in_payload(make_transport, fixture_bytes):
    body = json.loads(fixture_bytes("ukci_regional_13.json"))
    body["data"]["regionid"] = 12
    uk = UKCarbonIntensityClient(transport=make_transport(lambda r: httpx.Response(200, json=body)))
    with pytest.raises(ProviderPayloadError, match=r"data\.regionid"):
        uk.regional(13, "2024-05-20T12:00Z", "2024-05-20T14:00Z")


def test_long_range_in_14_day_pieces_and_trimmed(make_transport):
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        _, _, a, b = request.url.path.split("/")
        t = datetime.fromisoformat(a) - timedelta(minutes=30)  # the API also returns the
        end = datetime.fromisoformat(b)  # half-hour ending at `from`
        rows = []
        while t < end:
            u = t + timedelta(minutes=30)
            rows.append(
                {
                    "from": t.strftime("%Y-%m-%dT%H:%MZ"),
                    "to": u.strftime("%Y-%m-%dT%H:%MZ"),
                    "intensity": {"forecast": 200, "actual": 190, "index": "moderate"},
                }
            )
            t = u
        return httpx.Response(200, json={"data": rows})

    uk = UKCarbonIntensityClient(transport=make_transport(handler))
    s = uk.national("2024-01-01", "2024-01-21")
    assert len(seen) == 2
    assert len(s) == 20 * 48
    assert str(s.start_utc[0]).startswith("2024-01-01T00:00")


def test_malformed_half_hour(make_transport, fixture_bytes):
    body = json.loads(fixture_bytes("ukci_national.json"))
    body["data"][1]["to"] = "2024-05-20T14:00Z"
    uk = UKCarbonIntensityClient(transport=make_transport(lambda r: httpx.Response(200, json=body)))
    with pytest.raises(ProviderPayloadError, match=r"data\[1\]\.to"):
        uk.national("2024-05-20T12:00Z", "2024-05-20T14:00Z")


def test_missing_intensity_object(make_transport, fixture_bytes):
    body = json.loads(fixture_bytes("ukci_national.json"))
    del body["data"][0]["intensity"]
    uk = UKCarbonIntensityClient(transport=make_transport(lambda r: httpx.Response(200, json=body)))
    with pytest.raises(ProviderPayloadError, match=r"data\[0\]\.intensity': missing"):
        uk.national("2024-05-20T12:00Z", "2024-05-20T14:00Z")


@pytest.mark.parametrize("rid", [0, 19, True, "13"])
def test_bad_region_id(make_transport, rid):
    uk = UKCarbonIntensityClient(transport=make_transport(lambda r: httpx.Response(200)))
    with pytest.raises(InputError, match="region_id"):
        uk.regional_forecast(rid, "2024-05-20")
