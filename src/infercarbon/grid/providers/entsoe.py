"""ENTSO-E Transparency Platform: actual generation per production type -> intensity.

Request (https://web-api.tp.entsoe.eu/api): ``documentType=A75`` (actual generation per type),
``processType=A16`` (realised), ``in_Domain=<EIC of the bidding zone>``,
``periodStart/periodEnd=yyyyMMddHHmm`` (UTC), ``securityToken=<key>``; at most one year per
request, so longer ranges are fetched in pieces.

Why this module parses the XML itself.  ``entsoe-py``'s ``EntsoeRawClient`` builds its own
``requests.Session`` and sleeps between its own retries, so it cannot run over an injected
``httpx`` transport (no mock transport in tests, no shared retry/backoff/cache, no injected
clock).  The transport here is :class:`~infercarbon.grid.providers._http.HttpTransport` and
the ``GL_MarketDocument`` is parsed with the standard library.  ``entsoe-py`` (the optional
``entsoe`` extra) is still used, lazily, to turn area names such as ``DE_LU`` or ``FR`` into
EIC codes; a 16-character EIC code works without it.

Parsing (:func:`parse_generation`): every ``TimeSeries`` with an ``inBiddingZone_Domain``
is generation of its ``MktPSRType/psrType``; series with only an ``outBiddingZone_Domain`` are
consumption (pumped-storage pumping, battery charging) and are left out of the intensity (the
count is recorded).  Each ``Period`` has a ``timeInterval``, a ``resolution`` (``PT15M``,
``PT30M``, ``PT60M``) and ``Point``s (``position`` 1-based, ``quantity`` in MW, unit ``MAW``).
Curve type ``A01`` lists every position; ``A03`` omits a position whose value repeats the
previous one, so values are carried forward.  Series at different resolutions are averaged
onto the coarsest one (MW averaged over the step: energy is conserved).

Intensity (:func:`intensity_from_generation`)::

    I_t = sum_f G_{f,t} x r_f / sum_f G_{f,t}      [g/kWh]

with ``G`` the generation [MW] and ``r_f`` the per-fuel rate [g/kWh] of the production type's
canonical fuel (:data:`PSR_FUELS`), by default from :func:`infercarbon.grid.factors.fuel_rate`;
``low``/``high`` use the rates' low/high (fully correlated, hence a conservative range).  This
is a *production-based* intensity: imports and exports are not traced.

Missing data is never read as zero: a production type that did not report a step is left out
of that step (``extra["types_missing"]`` counts them, with a :class:`DataQualityWarning`), and a
step where nothing reported is dropped (warned, recorded in the provenance).
"""

from __future__ import annotations

import difflib
import re
import warnings
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from infercarbon.errors import (
    ConfigurationError,
    DataQualityWarning,
    FallbackWarning,
    InputError,
    MissingCredentialsError,
    ProviderError,
    ProviderHTTPError,
    ProviderPayloadError,
    UnknownRegionError,
)
from infercarbon.grid.providers._http import HttpTransport
from infercarbon.grid.providers._payload import (
    TimeLike,
    chunks,
    iso_from_epoch,
    parse_time,
    period,
)
from infercarbon.grid.signal import BASES, Basis, IntensitySeries, SignalProvenance
from infercarbon.provenance import Figure

__all__ = [
    "API_KEY_ENV",
    "BASE_URL",
    "PSR_FUELS",
    "PSR_NAMES",
    "EntsoeClient",
    "GenerationByType",
    "RateLookup",
    "factor_rates",
    "intensity_from_generation",
    "parse_generation",
    "resolve_area",
]

PROVIDER: Final = "ENTSO-E"
BASE_URL: Final = "https://web-api.tp.entsoe.eu/api"
API_KEY_ENV: Final = "ENTSOE_API_KEY"
LICENCE: Final = "ENTSO-E Transparency Platform terms (attribution required)"
_MAX_RANGE_S: Final = 365 * 86_400
TTL_PAST_S: Final = 6 * 3_600.0

#: ENTSO-E production (PSR) types, from the Transparency Platform code list.
PSR_NAMES: Final[Mapping[str, str]] = MappingProxyType(
    {
        "B01": "Biomass",
        "B02": "Fossil Brown coal/Lignite",
        "B03": "Fossil Coal-derived gas",
        "B04": "Fossil Gas",
        "B05": "Fossil Hard coal",
        "B06": "Fossil Oil",
        "B07": "Fossil Oil shale",
        "B08": "Fossil Peat",
        "B09": "Geothermal",
        "B10": "Hydro Pumped Storage",
        "B11": "Hydro Run-of-river and poundage",
        "B12": "Hydro Water Reservoir",
        "B13": "Marine",
        "B14": "Nuclear",
        "B15": "Other renewable",
        "B16": "Solar",
        "B17": "Waste",
        "B18": "Wind Offshore",
        "B19": "Wind Onshore",
        "B20": "Other",
        "B25": "Energy storage",
    }
)

#: PSR type -> (canonical fuel of :mod:`infercarbon.grid.factors`, why, where not obvious).
PSR_FUELS: Final[Mapping[str, tuple[str, str]]] = MappingProxyType(
    {
        "B01": ("biomass", ""),
        "B02": ("lignite", ""),
        "B03": (
            "coal",
            "coke-oven/blast-furnace gas has no own factor: hard-coal rate (its "
            "CO2 per kWh is at least as high)",
        ),
        "B04": ("gas", "fleet-average gas (CCGT and open cycle are not split by ENTSO-E)"),
        "B05": ("coal", ""),
        "B06": ("oil", ""),
        "B07": ("lignite", "oil shale has no own factor: lignite rate (similar CO2 per kWh)"),
        "B08": (
            "lignite",
            "peat has no own factor: lignite rate (IPCC default EF 106 vs 101 t/TJ)",
        ),
        "B09": ("geothermal", ""),
        "B10": ("storage", "pumped-storage output re-delivers energy generated elsewhere"),
        "B11": ("hydro", ""),
        "B12": ("hydro", ""),
        "B13": ("hydro", "marine (tidal/wave) has no own factor: hydro rate"),
        "B14": ("nuclear", ""),
        "B15": ("biomass", "other renewable (mostly biogas) takes the biomass rate"),
        "B16": ("solar", ""),
        "B17": ("other", "waste incineration: 'other' (natural-gas factors, low bound 0)"),
        "B18": ("wind", ""),
        "B19": ("wind", ""),
        "B20": ("other", "unspecified: natural-gas factors, low bound 0"),
        "B25": ("storage", "battery output re-delivers energy generated elsewhere"),
    }
)

#: ENTSO-E area names whose fleet has region-specific rates in :mod:`infercarbon.grid.factors`
ZONE_FACTOR_REGION: Final[Mapping[str, str]] = MappingProxyType(
    {
        "DE": "DE",
        "DE_LU": "DE",
        "DE_AT_LU": "DE",
        "DE_50HZ": "DE",
        "DE_AMPRION": "DE",
        "DE_TENNET": "DE",
        "DE_TRANSNET": "DE",
        "10Y1001A1001A82H": "DE",
        "10Y1001A1001A63L": "DE",
        "10Y1001A1001A83F": "DE",
    }
)

#: (fuel, basis) -> Figure [g/kWh]
RateLookup = Callable[[str, Basis], Figure]

_EIC = re.compile(r"^[0-9]{2}[A-Z][A-Z0-9\-]{12}[A-Z0-9\-]$")
_DURATION = re.compile(r"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?)?$")


@dataclass(frozen=True, eq=False)
class GenerationByType:
    """Generation [MW] per production type on a regular grid.

    ``mw[k, t]`` is the mean output of ``psr_types[k]`` over step ``t`` (NaN where that type
    did not report).
    """

    area_eic: str
    start_utc: npt.NDArray[np.datetime64]
    resolution_s: int
    psr_types: tuple[str, ...]
    mw: npt.NDArray[np.float64]
    notes: tuple[str, ...] = ()

    @property
    def fuels(self) -> tuple[str, ...]:
        return tuple(PSR_FUELS[p][0] for p in self.psr_types)


def resolve_area(zone: str) -> tuple[str, str]:
    """``(EIC code, name)`` of an ENTSO-E area given by name (``DE_LU``) or EIC code."""
    if not isinstance(zone, str) or not zone.strip():
        raise InputError(
            "give an ENTSO-E bidding zone such as DE_LU or FR, or its EIC code", field="zone"
        )
    z = zone.strip()
    if _EIC.match(z):
        return z, z
    try:
        from entsoe.mappings import Area, lookup_area
    except ImportError as exc:
        raise ConfigurationError(
            f"resolving the ENTSO-E area name {z!r} needs the optional entsoe-py package: "
            "pip install 'infercarbon[entsoe]', or pass the 16-character EIC code "
            "(e.g. 10Y1001A1001A82H for DE_LU)"
        ) from exc
    try:
        area = lookup_area(z)
    except ValueError as exc:
        names = [a.name for a in Area]
        raise UnknownRegionError(
            z, suggestions=difflib.get_close_matches(z.upper(), names, n=3)
        ) from exc
    return str(area.value), str(area.name)


def _duration_s(text: str, *, field: str) -> int:
    m = _DURATION.match(text.strip())
    if not m or not any(m.groups()):
        raise ProviderPayloadError(PROVIDER, field, f"unsupported resolution {text!r}")
    d, h, mi = (int(g) if g else 0 for g in m.groups())
    return ((d * 24 + h) * 60 + mi) * 60


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(el: ET.Element, name: str) -> ET.Element | None:
    for c in el:
        if _local(c.tag) == name:
            return c
    return None


def _children(el: ET.Element, name: str) -> list[ET.Element]:
    return [c for c in el if _local(c.tag) == name]


def _text(el: ET.Element, path: str, *, where: str) -> str:
    cur: ET.Element | None = el
    for part in path.split("/"):
        cur = _child(cur, part) if cur is not None else None
    if cur is None or cur.text is None or not cur.text.strip():
        raise ProviderPayloadError(PROVIDER, f"{where}/{path}", "missing")
    return cur.text.strip()


def _ack_reason(root: ET.Element) -> str:
    texts = [
        (_text(r, "text", where="Reason") if _child(r, "text") is not None else "")
        for r in _children(root, "Reason")
    ]
    return "; ".join(t for t in texts if t) or "no reason given"


def parse_generation(xml: str | bytes) -> GenerationByType:
    """Parse an A75 ``GL_MarketDocument`` into generation per production type [MW]."""
    root = _generation_document(xml)
    # (psr, start_s, step_s, values) per period
    pieces: list[tuple[str, int, int, npt.NDArray[np.float64]]] = []
    area = ""
    consumption = 0
    negatives = 0
    for si, ts in enumerate(_children(root, "TimeSeries")):
        where = f"TimeSeries[{si}]"
        if _child(ts, "inBiddingZone_Domain.mRID") is None:
            if _child(ts, "outBiddingZone_Domain.mRID") is not None:
                consumption += 1
                continue
            raise ProviderPayloadError(PROVIDER, f"{where}/inBiddingZone_Domain.mRID", "missing")
        area = area or _text(ts, "inBiddingZone_Domain.mRID", where=where)
        psr, curve = _series_type_and_curve(ts, where)
        for pi, per in enumerate(_children(ts, "Period")):
            start_s, step, vals, neg = _period_values(per, f"{where}/Period[{pi}]", curve)
            negatives += neg
            pieces.append((psr, start_s, step, vals))
    if not pieces:
        raise ProviderPayloadError(PROVIDER, "TimeSeries", "no generation time series")
    notes: list[str] = []
    if consumption:
        notes.append(
            f"{consumption} consumption series (outBiddingZone: pumping/charging) left out"
        )
    if negatives:
        notes.append(f"{negatives} negative generation values treated as missing")
        warnings.warn(
            f"{PROVIDER}: {negatives} negative generation values treated as missing",
            DataQualityWarning,
            stacklevel=2,
        )
    return _regrid(area, pieces, tuple(notes))


def _generation_document(xml: str | bytes) -> ET.Element:
    """The root of an A75 ``GL_MarketDocument`` (an acknowledgement without data is a
    ProviderError with its reason)."""
    try:
        root = ET.fromstring(xml)
    except ET.ParseError as exc:
        raise ProviderPayloadError(PROVIDER, "(body)", f"not well-formed XML: {exc}") from exc
    kind = _local(root.tag)
    if kind == "Acknowledgement_MarketDocument":
        raise ProviderError(f"{PROVIDER}: request acknowledged without data: {_ack_reason(root)}")
    if kind != "GL_MarketDocument":
        raise ProviderPayloadError(PROVIDER, "(root)", f"expected GL_MarketDocument, got {kind}")
    doc_type = _child(root, "type")
    if doc_type is not None and (doc_type.text or "").strip() not in ("A75", ""):
        raise ProviderPayloadError(
            PROVIDER, "type", f"expected document type A75, got {doc_type.text!r}"
        )
    return root


def _series_type_and_curve(ts: ET.Element, where: str) -> tuple[str, str]:
    """A generation series' production type (a known psrType) and curve type (A01 or A03),
    once its unit is MW."""
    psr = _text(ts, "MktPSRType/psrType", where=where)
    if psr not in PSR_FUELS:
        raise ProviderPayloadError(
            PROVIDER, f"{where}/MktPSRType/psrType", f"unknown production type {psr!r}"
        )
    unit = _text(ts, "quantity_Measure_Unit.name", where=where)
    if unit != "MAW":
        raise ProviderPayloadError(
            PROVIDER, f"{where}/quantity_Measure_Unit.name", f"expected MAW (MW), got {unit!r}"
        )
    curve_el = _child(ts, "curveType")
    curve = (curve_el.text or "A01").strip() if curve_el is not None else "A01"
    if curve not in ("A01", "A03"):
        raise ProviderPayloadError(
            PROVIDER, f"{where}/curveType", f"unsupported curve type {curve!r}"
        )
    return psr, curve


def _period_values(
    per: ET.Element, pw: str, curve: str
) -> tuple[int, int, npt.NDArray[np.float64], int]:
    """(start [UTC s], step [s], one value [MW] per step, negatives dropped) of one Period:
    A01 leaves a missing position NaN, A03 repeats the previous value; a negative value is
    NaN."""
    t0 = parse_time(
        _text(per, "timeInterval/start", where=pw),
        provider=PROVIDER,
        field=f"{pw}/timeInterval/start",
    )
    t1 = parse_time(
        _text(per, "timeInterval/end", where=pw),
        provider=PROVIDER,
        field=f"{pw}/timeInterval/end",
    )
    step = _duration_s(_text(per, "resolution", where=pw), field=f"{pw}/resolution")
    span = int((t1 - t0) / np.timedelta64(1, "s"))
    if span <= 0 or span % step:
        raise ProviderPayloadError(
            PROVIDER,
            f"{pw}/timeInterval",
            f"{t0}..{t1} is not a whole number of {step} s steps",
        )
    n = span // step
    pos, qty = _period_points(per, pw, n)
    neg = qty < 0
    negatives = int(neg.sum())
    if negatives:
        qty = np.where(neg, np.nan, qty)
    vals = np.full(n, np.nan)
    if curve == "A01":
        vals[pos - 1] = qty
    elif len(pos):
        # A03: a missing position repeats the previous value
        idx = np.searchsorted(pos, np.arange(1, n + 1), side="right") - 1
        ok = idx >= 0
        vals[ok] = qty[idx[ok]]
    start_s = int(t0.astype("datetime64[s]").astype(np.int64))
    return start_s, step, vals, negatives


def _period_points(
    per: ET.Element, pw: str, n: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """The Period's points: positions (increasing, in 1..n) and finite quantities."""
    pts = _children(per, "Point")
    pos = np.empty(len(pts), dtype=np.int64)
    qty = np.empty(len(pts))
    for k, p in enumerate(pts):
        try:
            pos[k] = int(_text(p, "position", where=f"{pw}/Point[{k}]"))
            qty[k] = float(_text(p, "quantity", where=f"{pw}/Point[{k}]"))
        except ValueError as exc:
            raise ProviderPayloadError(
                PROVIDER, f"{pw}/Point[{k}]", f"not a number: {exc}"
            ) from exc
    if len(pos) and ((pos < 1) | (pos > n)).any():
        raise ProviderPayloadError(PROVIDER, f"{pw}/Point/position", f"positions must be 1..{n}")
    if len(pos) > 1 and (np.diff(pos) <= 0).any():
        raise ProviderPayloadError(PROVIDER, f"{pw}/Point/position", "positions must increase")
    if not np.isfinite(qty).all():
        raise ProviderPayloadError(PROVIDER, f"{pw}/Point/quantity", "not finite")
    return pos, qty


def _regrid(
    area: str, pieces: list[tuple[str, int, int, npt.NDArray[np.float64]]], notes: tuple[str, ...]
) -> GenerationByType:
    """Average every piece onto the coarsest step; a coarse step with any fine step missing
    is missing."""
    res = max(p[2] for p in pieces)
    if any(res % p[2] for p in pieces):
        raise ProviderPayloadError(
            PROVIDER,
            "Period/resolution",
            "resolutions do not nest: " + ", ".join(sorted({f"{p[2]} s" for p in pieces})),
        )
    t_lo = min(p[1] for p in pieces)
    t_lo -= t_lo % res
    t_hi = max(p[1] + p[2] * len(p[3]) for p in pieces)
    n = -(-(t_hi - t_lo) // res)
    types = tuple(sorted({p[0] for p in pieces}))
    row = {t: i for i, t in enumerate(types)}
    total = np.zeros((len(types), n))
    count = np.zeros((len(types), n), dtype=np.int64)
    for psr, start_s, step, vals in pieces:
        t = start_s + step * np.arange(len(vals))
        b = (t - t_lo) // res
        ok = np.isfinite(vals)
        np.add.at(total[row[psr]], b[ok], vals[ok])
        np.add.at(count[row[psr]], b[ok], 1)
    # how many fine steps a full coarse step holds, per type (its own resolution)
    step_of: dict[str, int] = {}
    for psr, _, step, _ in pieces:
        if step_of.setdefault(psr, step) != step:
            raise ProviderPayloadError(
                PROVIDER, "Period/resolution", f"{psr} changes resolution within the document"
            )
    need = np.array([res // step_of[t] for t in types])[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        mw = np.where(count == need, total / np.maximum(count, 1), np.nan)
    starts = (np.int64(t_lo) + res * np.arange(n)).astype("datetime64[s]")
    return GenerationByType(area, starts, int(res), types, mw, notes)


def factor_rates(region: str | None) -> RateLookup:
    """Rates from :func:`infercarbon.grid.factors.fuel_rate` for ``region`` (None: generic)."""
    from infercarbon.grid.factors import fuel_rate

    def lookup(fuel: str, basis: Basis) -> Figure:
        return fuel_rate(fuel, basis, region=region)

    return lookup


def intensity_from_generation(
    gen: GenerationByType,
    *,
    basis: Basis,
    rates: RateLookup,
    region: str,
    rates_source: str = "per-fuel rates",
    retrieved_at_utc: str | None = None,
    extra_notes: tuple[str, ...] = (),
) -> IntensitySeries:
    """Generation-weighted mean of per-fuel rates [g/kWh], with low/high from the rates."""
    if basis not in BASES:
        raise InputError(f"must be one of {', '.join(BASES)}", field="basis")
    figs = [rates(f, basis) for f in gen.fuels]
    r = np.array([f.value for f in figs])[:, None]
    rlo = np.array([f.range[0] for f in figs])[:, None]
    rhi = np.array([f.range[1] for f in figs])[:, None]
    have = np.isfinite(gen.mw)
    g = np.where(have, gen.mw, 0.0)  # masked, not read as zero: `have` drives the counts
    tot = g.sum(axis=0)
    reporting = have.sum(axis=0)
    ok = (reporting > 0) & (tot > 0)
    notes = list(gen.notes) + list(extra_notes)
    if not ok.any():
        raise ProviderPayloadError(PROVIDER, "TimeSeries", "no step has any generation")
    dropped = int((~ok).sum())
    if dropped:
        msg = f"{dropped} step(s) with no reported generation dropped"
        warnings.warn(f"{PROVIDER}: {msg}", DataQualityWarning, stacklevel=2)
        notes.append(msg + "; a lookup inside such a gap returns the step before it")
    missing = (len(gen.psr_types) - reporting)[ok]
    if missing.any():
        msg = (
            f"{int((missing > 0).sum())} step(s) lack some production types; their "
            "intensity uses the types that reported (extra['types_missing'])"
        )
        warnings.warn(f"{PROVIDER}: {msg}", DataQualityWarning, stacklevel=2)
        notes.append(msg)
    # each type's share of the step's generation first: products of tiny (subnormal)
    # generation and a rate underflow to zero, shares do not
    share = g[:, ok] / tot[ok]
    val = (share * r).sum(axis=0)
    lo = (share * rlo).sum(axis=0)
    hi = (share * rhi).sum(axis=0)
    mapped = "; ".join(
        f"{p}->{PSR_FUELS[p][0]}" + (f" ({PSR_FUELS[p][1]})" if PSR_FUELS[p][1] else "")
        for p in gen.psr_types
    )
    notes.append(f"production-based (imports not traced); PSR types: {mapped}")
    notes.extend(
        f"{f}: {fig.value:.1f} g/kWh [{fig.range[0]:.1f}, {fig.range[1]:.1f}] "
        f"{fig.label}, {fig.source}"
        for f, fig in dict(zip(gen.fuels, figs, strict=True)).items()
    )
    prov = SignalProvenance(
        source=f"{PROVIDER} Transparency Platform A75 (actual generation per type), "
        f"area {gen.area_eic}",
        version="A75/A16",
        method=f"generation-weighted {basis} rates ({rates_source})",
        retrieved_at_utc=retrieved_at_utc,
        licence=LICENCE,
        label="derived",
        notes=tuple(notes),
    )
    extra: dict[str, np.ndarray] = {"types_missing": missing.astype(np.int64)}
    for k, p in enumerate(gen.psr_types):
        extra[f"mw_{p}"] = gen.mw[k, ok]
    return IntensitySeries.from_arrays(
        region=region,
        kind="location-average",
        basis=basis,
        resolution_s=gen.resolution_s,
        start_utc=gen.start_utc[ok],
        intensity_g_per_kwh=val,
        low_g_per_kwh=lo,
        high_g_per_kwh=hi,
        provenance=prov,
        extra=extra,
    )


_AUTO: Final = "auto"


class EntsoeClient:
    """Client for ENTSO-E actual generation per production type (A75).

    Parameters
    ----------
    api_key : str or None
        The Transparency Platform security token; missing raises
        :class:`MissingCredentialsError`.
    transport : HttpTransport
        Retries, cache, clock.
    """

    def __init__(
        self, api_key: str | None, *, transport: HttpTransport, base_url: str = BASE_URL
    ) -> None:
        if not api_key:
            raise MissingCredentialsError(
                f"{PROVIDER} needs a security token: set {API_KEY_ENV} (CLI) or pass "
                "api_key=... (request one from transparency@entsoe.eu after registering)"
            )
        self._token = api_key
        self.transport = transport
        self.base_url = base_url

    def generation(self, zone: str, start: TimeLike, end: TimeLike) -> GenerationByType:
        """Actual generation per production type for ``zone`` over ``[start, end)``."""
        eic, _ = resolve_area(zone)
        a, b = period(start, end)
        parts = []
        for ca, cb in chunks(a, b, _MAX_RANGE_S):
            params = {
                "documentType": "A75",
                "processType": "A16",
                "in_Domain": eic,
                "periodStart": _stamp(ca),
                "periodEnd": _stamp(cb),
            }
            key = ("entsoe", tuple(sorted(params.items())))  # never the token
            resp = self.transport.get(
                self.base_url,
                params={**params, "securityToken": self._token},
                cache_key=key,
                ttl_s=TTL_PAST_S,
                check=False,
            )
            if not resp.is_success:
                self._raise(resp)
            part = parse_generation(resp.content)
            if part.area_eic != eic:
                raise ProviderPayloadError(
                    PROVIDER,
                    "TimeSeries/inBiddingZone_Domain.mRID",
                    f"asked for {eic}, got {part.area_eic}",
                )
            parts.append(part)
        gen = parts[0] if len(parts) == 1 else _concat(parts)
        keep = (gen.start_utc >= a) & (gen.start_utc < b)
        return GenerationByType(
            eic, gen.start_utc[keep], gen.resolution_s, gen.psr_types, gen.mw[:, keep], gen.notes
        )

    def intensity(
        self,
        zone: str,
        start: TimeLike,
        end: TimeLike,
        *,
        basis: Basis = "direct",
        rates: RateLookup | None = None,
        factor_region: str | None = _AUTO,
    ) -> IntensitySeries:
        """Production-based intensity [g/kWh] from generation per type.

        ``rates`` overrides the per-fuel rates.  Otherwise they come from
        :mod:`infercarbon.grid.factors` for ``factor_region``: by default ``DE`` for German
        zones and, elsewhere, the generic fleet rates, with a :class:`FallbackWarning` that
        is also recorded in the provenance (pass ``factor_region=None`` to choose them).
        """
        gen = self.generation(zone, start, end)
        notes: tuple[str, ...] = ()
        if rates is None:
            region = factor_region
            if region == _AUTO:
                region = ZONE_FACTOR_REGION.get(zone.strip().upper()) or ZONE_FACTOR_REGION.get(
                    gen.area_eic
                )
                if region is None:
                    msg = (
                        f"no region-specific fuel rates for {zone}: generic fleet heat "
                        "rates used (pass rates=... or factor_region=None to choose this)"
                    )
                    warnings.warn(f"{PROVIDER}: {msg}", FallbackWarning, stacklevel=2)
                    notes = (f"fallback: {msg}",)
            rates = factor_rates(region)
            source = f"infercarbon.grid.factors, region {region or 'generic'}"
        else:
            source = "caller-supplied rates"
        return intensity_from_generation(
            gen,
            basis=basis,
            rates=rates,
            region=zone.strip(),
            rates_source=source,
            retrieved_at_utc=iso_from_epoch(self.transport.clock()),
            extra_notes=notes,
        )

    def _raise(self, resp: Any) -> None:
        try:
            root = ET.fromstring(resp.content)
        except ET.ParseError:
            self.transport.raise_for_status(resp)
            return
        if _local(root.tag) == "Acknowledgement_MarketDocument":
            if resp.status_code in (401, 403):
                self.transport.raise_for_status(resp)
            raise ProviderHTTPError(
                PROVIDER, resp.status_code, _ack_reason(root), url=self.base_url
            )
        self.transport.raise_for_status(resp)


def _stamp(t: np.datetime64) -> str:
    return str(t.astype("datetime64[m]")).replace("-", "").replace("T", "").replace(":", "")


def _concat(parts: list[GenerationByType]) -> GenerationByType:
    res = {p.resolution_s for p in parts}
    if len(res) != 1:
        raise ProviderPayloadError(
            PROVIDER, "Period/resolution", f"resolution changes between requests: {sorted(res)}"
        )
    types = tuple(sorted({t for p in parts for t in p.psr_types}))
    t_all = np.unique(np.concatenate([p.start_utc for p in parts]))
    mw = np.full((len(types), len(t_all)), np.nan)
    for p in parts:
        cols = np.searchsorted(t_all, p.start_utc)
        for k, t in enumerate(p.psr_types):
            row = mw[types.index(t)]
            ok = np.isfinite(p.mw[k])
            row[cols[ok]] = p.mw[k][ok]
    notes = tuple(dict.fromkeys(n for p in parts for n in p.notes))
    return GenerationByType(parts[0].area_eic, t_all, res.pop(), types, mw, notes)
