"""ENTSO-E A75 generation per type -> intensity, over a mock transport.

tests/data/providers/entsoe_*.xml follow the documented GL_MarketDocument /
Acknowledgement_MarketDocument schemas (see SOURCES.md there); they are not live captures.
"""

from __future__ import annotations

import re
import sys
import warnings

import httpx
import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from infercarbon.errors import (
    ConfigurationError,
    DataQualityWarning,
    FallbackWarning,
    MissingCredentialsError,
    ProviderAuthError,
    ProviderError,
    ProviderPayloadError,
    UnknownRegionError,
)
from infercarbon.grid import factors
from infercarbon.grid.providers.entsoe import (
    PSR_FUELS,
    EntsoeClient,
    GenerationByType,
    intensity_from_generation,
    parse_generation,
    resolve_area,
)
from infercarbon.provenance import Figure

DE_LU, FR, PL = "10Y1001A1001A82H", "10YFR-RTE------C", "10YPL-AREA-----S"

RATES = {  # explicit test rates [g/kWh]: value, low, high
    "lignite": (1000.0, 900.0, 1100.0),
    "gas": (400.0, 350.0, 450.0),
    "coal": (800.0, 750.0, 900.0),
    "storage": (0.0, 0.0, 0.0),
    "solar": (0.0, 0.0, 0.0),
    "wind": (0.0, 0.0, 0.0),
    "other": (400.0, 0.0, 500.0),
}


def explicit(fuel: str, basis: str) -> Figure:
    v, lo, hi = RATES[fuel]
    return Figure(v, "g_per_kwh", source="test rates", label="user", low=lo, high=hi)


def test_parse_fixture(fixture_bytes):
    gen = parse_generation(fixture_bytes("entsoe_a75_de_lu.xml"))
    assert gen.area_eic == "10Y1001A1001A82H"
    assert gen.resolution_s == 900
    assert gen.psr_types == ("B02", "B04", "B05", "B10", "B16", "B19")
    assert gen.fuels == ("lignite", "gas", "coal", "storage", "solar", "wind")
    assert len(gen.start_utc) == 8
    assert str(gen.start_utc[0]) == "2023-06-01T00:00:00"
    # A03 curve: the single solar point is carried over all 8 positions
    assert gen.mw[4].tolist() == [0.0] * 8
    assert gen.mw[0, :2].tolist() == [9812.0, 9790.0]
    # pumping (outBiddingZone) is consumption, not generation
    assert gen.mw[3, 3] == 350.0
    assert any("1 consumption series" in n for n in gen.notes)


def test_intensity_with_explicit_rates(fixture_bytes):
    gen = parse_generation(fixture_bytes("entsoe_a75_de_lu.xml"))
    s = intensity_from_generation(gen, basis="direct", rates=explicit, region="DE_LU")
    r = np.array([RATES[f] for f in gen.fuels])  # (types, 3)
    want = (gen.mw * r[:, 0:1]).sum(0) / gen.mw.sum(0)
    np.testing.assert_allclose(s.intensity_g_per_kwh, want)
    np.testing.assert_allclose(s.low_g_per_kwh, (gen.mw * r[:, 1:2]).sum(0) / gen.mw.sum(0))
    np.testing.assert_allclose(s.high_g_per_kwh, (gen.mw * r[:, 2:3]).sum(0) / gen.mw.sum(0))
    # first step by hand: (9812*1000 + 5210*400 + 2410*800) / 31972 MW
    assert s.intensity_g_per_kwh[0] == pytest.approx(13_824_000 / 31_972)
    assert (s.kind, s.basis, s.resolution_s) == ("location-average", "direct", 900)
    assert s.provenance.label == "derived"
    assert s.extra["mw_B19"][0] == 14120.0
    assert s.extra["types_missing"].tolist() == [0] * 8


def test_intensity_with_bundled_factors_is_plausible(fixture_bytes):
    gen = parse_generation(fixture_bytes("entsoe_a75_de_lu.xml"))
    s = intensity_from_generation(
        gen,
        basis="lifecycle",
        rates=lambda f, b: factors.fuel_rate(f, b, region="DE"),
        region="DE_LU",
    )
    # ~55 % fossil (lignite-heavy) at night: a few hundred g/kWh, range brackets the value
    assert (s.intensity_g_per_kwh > 300).all()
    assert (s.intensity_g_per_kwh < 800).all()
    assert (s.low_g_per_kwh < s.intensity_g_per_kwh).all()
    assert (s.high_g_per_kwh > s.intensity_g_per_kwh).all()


def test_every_psr_type_maps_to_a_known_fuel():
    assert set(f for f, _ in PSR_FUELS.values()) <= set(factors.FUELS)
    assert {f"B{i:02d}" for i in range(1, 21)} <= set(PSR_FUELS)


def test_psr_codes_agree_with_entsoe_py():
    mappings = pytest.importorskip("entsoe.mappings")
    assert set(PSR_FUELS) <= set(mappings.PSRTYPE_MAPPINGS)


def test_mixed_resolutions_average_onto_the_coarsest(fixture_bytes):
    text = fixture_bytes("entsoe_a75_de_lu.xml").decode()
    # turn the wind series (mRID 7) into one hourly series of 2 points
    head, tail = text.split("<mRID>7</mRID>")
    tail = re.sub(
        r"<resolution>PT15M</resolution>.*?</Period>",
        "<resolution>PT60M</resolution><Point><position>1</position><quantity>14000"
        "</quantity></Point><Point><position>2</position><quantity>15000</quantity>"
        "</Point></Period>",
        tail,
        count=1,
        flags=re.S,
    )
    gen = parse_generation(head + "<mRID>7</mRID>" + tail)
    assert gen.resolution_s == 3600
    assert gen.mw[gen.psr_types.index("B19")].tolist() == [14000.0, 15000.0]
    assert gen.mw[gen.psr_types.index("B02"), 0] == pytest.approx(np.mean([9812, 9790, 9775, 9760]))


def test_missing_points_are_not_zero(fixture_bytes):
    text = fixture_bytes("entsoe_a75_de_lu.xml").decode()
    # drop gas position 3
    text = text.replace("<position>3</position>\n          <quantity>5150</quantity>", "", 1)
    text = text.replace("<Point>\n          \n        </Point>", "", 1)
    gen = parse_generation(text)
    assert np.isnan(gen.mw[gen.psr_types.index("B04"), 2])
    with pytest.warns(DataQualityWarning, match="lack some production types"):
        s = intensity_from_generation(gen, basis="direct", rates=explicit, region="DE_LU")
    assert s.extra["types_missing"].tolist() == [0, 0, 1, 0, 0, 0, 0, 0]
    g = gen.mw[:, 2]
    ok = np.isfinite(g)
    r = np.array([RATES[f][0] for f in gen.fuels])
    assert s.intensity_g_per_kwh[2] == pytest.approx((g[ok] * r[ok]).sum() / g[ok].sum())


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        (("<psrType>B04</psrType>", ""), "TimeSeries[1]/MktPSRType/psrType"),
        (("<psrType>B04</psrType>", "<psrType>B99</psrType>"), "unknown production type"),
        (
            ("MAW</quantity_Measure_Unit.name>", "MWH</quantity_Measure_Unit.name>"),
            "quantity_Measure_Unit.name",
        ),
        (
            ("<resolution>PT15M</resolution>", "<resolution>fortnightly</resolution>"),
            "Period[0]/resolution",
        ),
        (("<quantity>9812</quantity>", "<quantity>lots</quantity>"), "Point[0]"),
        (("</GL_MarketDocument>", ""), "not well-formed"),
    ],
)
def test_malformed_documents_name_the_field(fixture_bytes, edit, field):
    text = fixture_bytes("entsoe_a75_de_lu.xml").decode().replace(*edit, 1)
    with pytest.raises(ProviderPayloadError, match=re.escape(field)):
        parse_generation(text)


def entsoe_handler(fixture_bytes, seen, name="entsoe_a75_de_lu.xml", status=200):
    """Serves the fixture, relabelled to the requested area (the DE-LU numbers stand in)."""

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        body = fixture_bytes(name).replace(
            b"10Y1001A1001A82H", request.url.params["in_Domain"].encode()
        )
        return httpx.Response(status, content=body, headers={"Content-Type": "text/xml"})

    return handler


def test_client_request_and_cache(make_transport, fixture_bytes):
    seen: list[httpx.Request] = []
    t = make_transport(entsoe_handler(fixture_bytes, seen))
    en = EntsoeClient("tok", transport=t)
    s = en.intensity(DE_LU, "2023-06-01T00:00Z", "2023-06-01T02:00Z", basis="direct")
    q = seen[0].url.params
    assert (
        q["documentType"],
        q["processType"],
        q["in_Domain"],
        q["periodStart"],
        q["periodEnd"],
        q["securityToken"],
    ) == ("A75", "A16", "10Y1001A1001A82H", "202306010000", "202306010200", "tok")
    assert len(s) == 8
    assert "region DE" in s.provenance.method
    en.intensity(DE_LU, "2023-06-01T00:00Z", "2023-06-01T02:00Z", basis="direct")
    assert len(seen) == 1
    assert all("tok" not in repr(k) for k in t.cache._store)


def test_non_german_zone_falls_back_to_generic_rates_with_warning(make_transport, fixture_bytes):
    en = EntsoeClient("tok", transport=make_transport(entsoe_handler(fixture_bytes, [])))
    with pytest.warns(FallbackWarning, match=f"no region-specific fuel rates for {PL}"):
        s = en.intensity(PL, "2023-06-01T00:00Z", "2023-06-01T02:00Z")
    assert any(n.startswith("fallback:") for n in s.provenance.notes)
    # choosing generic rates explicitly is not a fallback
    s2 = en.intensity(PL, "2023-06-01T00:00Z", "2023-06-01T02:00Z", factor_region=None)
    assert not any(n.startswith("fallback:") for n in s2.provenance.notes)
    np.testing.assert_allclose(s.intensity_g_per_kwh, s2.intensity_g_per_kwh)


def test_document_for_another_area_is_rejected(make_transport, fixture_bytes):
    en = EntsoeClient(
        "tok",
        transport=make_transport(
            lambda r: httpx.Response(200, content=fixture_bytes("entsoe_a75_de_lu.xml"))
        ),
    )
    with pytest.raises(ProviderPayloadError, match="asked for 10YFR-RTE------C"):
        en.generation(FR, "2023-06-01T00:00Z", "2023-06-01T02:00Z")


def test_no_data_acknowledgement(make_transport, fixture_bytes):
    en = EntsoeClient(
        "tok",
        transport=make_transport(entsoe_handler(fixture_bytes, [], name="entsoe_ack_no_data.xml")),
    )
    with pytest.raises(ProviderError, match="No matching data found"):
        en.generation(DE_LU, "2031-06-01", "2031-06-02")


def test_bad_request_acknowledgement_keeps_status(make_transport, fixture_bytes):
    en = EntsoeClient(
        "tok",
        transport=make_transport(
            entsoe_handler(fixture_bytes, [], name="entsoe_ack_no_data.xml", status=400)
        ),
    )
    with pytest.raises(ProviderError, match=r"HTTP 400.*No matching data"):
        en.generation(DE_LU, "2031-06-01", "2031-06-02")


def test_unauthorized(make_transport):
    en = EntsoeClient(
        "bad",
        transport=make_transport(
            lambda r: httpx.Response(401, text="<html><body>Unauthorized</body></html>")
        ),
    )
    with pytest.raises(ProviderAuthError) as info:
        en.generation("10Y1001A1001A82H", "2023-06-01", "2023-06-02")
    assert "bad" not in str(info.value).replace("badly", "")


def test_missing_key(make_transport):
    with pytest.raises(MissingCredentialsError, match="ENTSOE_API_KEY"):
        EntsoeClient(None, transport=make_transport(lambda r: httpx.Response(200)))


def test_area_names_resolve_through_entsoe_py():
    pytest.importorskip("entsoe.mappings")
    assert resolve_area("FR") == (FR, "FR")
    assert resolve_area("de_lu") == (DE_LU, "DE_LU")
    with pytest.raises(UnknownRegionError, match="DE_LU"):
        resolve_area("DE-LU")


def test_eic_codes_need_no_entsoe_py(monkeypatch):
    monkeypatch.setitem(sys.modules, "entsoe.mappings", None)  # import now fails
    assert resolve_area(FR) == (FR, FR)
    with pytest.raises(ConfigurationError, match=r"infercarbon\[entsoe\]"):
        resolve_area("FR")


@settings(max_examples=60, deadline=None)
@given(
    mw=hnp.arrays(np.float64, (4, 6), elements=st.floats(0, 20_000)),
    rates=hnp.arrays(np.float64, (4,), elements=st.floats(0, 1_500)),
    spread=st.floats(0, 0.5),
)
def test_intensity_is_a_generation_weighted_mean(mw, rates, spread):
    """Each step lies within the rates of the types generating, and low <= value <= high."""
    mw[:, 0] += 1.0  # at least one step with generation
    fuels = ("lignite", "gas", "coal", "wind")
    table = {
        f: Figure(
            r, "g_per_kwh", source="t", label="user", low=r * (1 - spread), high=r * (1 + spread)
        )
        for f, r in zip(fuels, rates, strict=True)
    }
    gen = GenerationByType(
        "X",
        np.arange(6).astype("datetime64[h]").astype("datetime64[s]"),
        3600,
        ("B02", "B04", "B05", "B19"),
        mw,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)  # all-zero steps are dropped
        s = intensity_from_generation(gen, basis="direct", rates=lambda f, b: table[f], region="X")
    kept = mw[:, mw.sum(0) > 0]
    for j in range(kept.shape[1]):
        on = kept[:, j] > 0
        assert rates[on].min() - 1e-6 <= s.intensity_g_per_kwh[j] <= rates[on].max() + 1e-6
    assert (s.low_g_per_kwh <= s.intensity_g_per_kwh + 1e-9).all()
    assert (s.high_g_per_kwh >= s.intensity_g_per_kwh - 1e-9).all()


def test_tiny_generation_still_weights_the_rates():
    """Generation of 5e-324 MW (subnormal): its products with a rate underflow to zero; the
    mean is taken over shares instead (found by the property test above)."""
    mw = np.full((2, 2), 5e-324)
    mw[:, 0] = 1.0
    table = {
        f: Figure(r, "g_per_kwh", source="t", label="user")
        for f, r in (("lignite", 0.5), ("gas", 0.5))
    }
    gen = GenerationByType(
        "X", np.arange(2).astype("datetime64[h]").astype("datetime64[s]"), 3600, ("B02", "B04"), mw
    )
    s = intensity_from_generation(gen, basis="direct", rates=lambda f, b: table[f], region="X")
    assert s.intensity_g_per_kwh.tolist() == [0.5, 0.5]
