"""The GB Carbon Intensity API (NESO, carbonintensity.org.uk): national and regional, forecast.

No key is needed.  Endpoints (https://api.carbonintensity.org.uk, times ``YYYY-MM-DDThh:mmZ``):

* ``GET /intensity/{from}/{to}`` -> ``{data: [{from, to, intensity: {forecast, actual,
  index}}]}``: national half-hours, ``actual`` is the estimated outturn (``null`` until known);
* ``GET /intensity/{from}/fw48h`` -> the same shape, 48 hours ahead (forecasts);
* ``GET /regional/intensity/{from}/{to}/regionid/{id}`` and
  ``GET /regional/intensity/{from}/fw48h/regionid/{id}`` -> ``{data: {regionid, dnoregion,
  shortname, data: [{from, to, intensity: {forecast, index}, generationmix: [{fuel, perc}]}]}}``.
  Regional figures are forecasts only; the API publishes no regional outturn.

Ranges longer than 14 days are fetched in pieces.  Values are gCO2/kWh of GB demand, from the
NESO methodology: CO2 only, combustion (operational) factors, imports and transmission and
distribution losses included.  Hence kind ``location-average``, basis ``direct``.  No
uncertainty is published: ``low == high == value``.  The qualitative ``index`` band is kept in
``extra["index"]``; for national series ``extra["is_forecast"]`` says which steps are
forecasts.

Region ids: 1 North Scotland, 2 South Scotland, 3 North West England, 4 North East England,
5 Yorkshire, 6 North Wales & Merseyside, 7 South Wales, 8 West Midlands, 9 East Midlands,
10 East England, 11 South West England, 12 South England, 13 London, 14 South East England,
15 England, 16 Scotland, 17 Wales, 18 GB.
"""

from __future__ import annotations

from typing import Any, Final, Literal

import numpy as np

from infercarbon.errors import InputError, ProviderPayloadError
from infercarbon.grid.providers._http import HttpTransport
from infercarbon.grid.providers._payload import (
    TimeLike,
    as_sequence,
    check_spacing,
    chunks,
    iso_from_epoch,
    iso_z,
    parse_time,
    period,
    require,
    require_number,
    to_utc64,
)
from infercarbon.grid.signal import IntensitySeries, SignalProvenance

__all__ = ["BASE_URL", "REGION_IDS", "NationalValue", "UKCarbonIntensityClient", "ukci_region_id"]

PROVIDER: Final = "GB Carbon Intensity API"
BASE_URL: Final = "https://api.carbonintensity.org.uk"
STEP_S: Final = 1800
REGION_IDS: Final = range(1, 19)
_MAX_RANGE_S: Final = 14 * 86_400
TTL_PAST_S: Final = 3_600.0
TTL_FORECAST_S: Final = 900.0
LICENCE: Final = "CC BY 4.0 (NESO Carbon Intensity API)"

#: which figure a national half-hour takes
NationalValue = Literal["actual", "forecast", "actual-else-forecast"]
_NATIONAL_VALUES: Final = ("actual", "forecast", "actual-else-forecast")


class UKCarbonIntensityClient:
    """Client for the GB Carbon Intensity API (no credentials)."""

    def __init__(self, *, transport: HttpTransport, base_url: str = BASE_URL) -> None:
        self.transport = transport
        self.base_url = base_url.rstrip("/")

    # ------------------------------------------------------------------ national
    def national(
        self, start: TimeLike, end: TimeLike, *, value: NationalValue = "actual-else-forecast"
    ) -> IntensitySeries:
        """National half-hours starting in ``[start, end)``.

        ``value``: ``actual`` (error if a step has no outturn yet), ``forecast``, or
        ``actual-else-forecast`` (the outturn where published, else the forecast; which one
        each step took is in ``extra["is_forecast"]`` and the provenance notes).
        """
        if value not in _NATIONAL_VALUES:
            raise InputError(f"must be one of {', '.join(_NATIONAL_VALUES)}", field="value")
        a, b = period(start, end)
        rows: list[Any] = []
        for ca, cb in chunks(a, b, _MAX_RANGE_S):
            rows.extend(
                self._data(
                    f"/intensity/{iso_z(ca, minutes=True)}/{iso_z(cb, minutes=True)}", TTL_PAST_S
                )
            )
        return self._series("GB", rows, value=value, endpoint="/intensity/{from}/{to}").slice(a, b)

    def national_forecast(self, start: TimeLike) -> IntensitySeries:
        """The national forecast for 48 hours from ``start``."""
        a = to_utc64(start, field="start")
        rows = self._data(f"/intensity/{iso_z(a, minutes=True)}/fw48h", TTL_FORECAST_S)
        return self._series("GB", rows, value="forecast", endpoint="/intensity/{from}/fw48h")

    # ------------------------------------------------------------------ regional
    def regional(self, region_id: int, start: TimeLike, end: TimeLike) -> IntensitySeries:
        """Regional half-hours (forecasts: no regional outturn exists) in ``[start, end)``."""
        rid = _region_id(region_id)
        a, b = period(start, end)
        rows: list[Any] = []
        name = ""
        for ca, cb in chunks(a, b, _MAX_RANGE_S):
            part, name = self._regional(
                f"/regional/intensity/{iso_z(ca, minutes=True)}/"
                f"{iso_z(cb, minutes=True)}/regionid/{rid}",
                rid,
                TTL_PAST_S,
            )
            rows.extend(part)
        return self._series(
            f"GB-{rid}",
            rows,
            value="forecast",
            endpoint="/regional/intensity/{from}/{to}/regionid/{id}",
            region_name=name,
        ).slice(a, b)

    def regional_forecast(self, region_id: int, start: TimeLike) -> IntensitySeries:
        """The regional forecast for 48 hours from ``start``."""
        rid = _region_id(region_id)
        a = to_utc64(start, field="start")
        rows, name = self._regional(
            f"/regional/intensity/{iso_z(a, minutes=True)}/fw48h/regionid/{rid}",
            rid,
            TTL_FORECAST_S,
        )
        return self._series(
            f"GB-{rid}",
            rows,
            value="forecast",
            endpoint="/regional/intensity/{from}/fw48h/regionid/{id}",
            region_name=name,
        )

    # ------------------------------------------------------------------ plumbing
    def _body(self, path: str, ttl_s: float) -> Any:
        resp = self.transport.get(
            f"{self.base_url}{path}",
            headers={"Accept": "application/json"},
            cache_key=("ukci", path),
            ttl_s=ttl_s,
        )
        try:
            return resp.json()
        except ValueError as exc:
            raise ProviderPayloadError(PROVIDER, "(body)", "response is not JSON") from exc

    def _data(self, path: str, ttl_s: float) -> list[Any]:
        body = self._body(path, ttl_s)
        return list(
            as_sequence(
                require(body, "data", provider=PROVIDER, path=""), provider=PROVIDER, path="data"
            )
        )

    def _regional(self, path: str, rid: int, ttl_s: float) -> tuple[list[Any], str]:
        data = require(self._body(path, ttl_s), "data", provider=PROVIDER, path="")
        # documented as an object; accept the one-element array other regional routes use
        if isinstance(data, list):
            if len(data) != 1:
                raise ProviderPayloadError(
                    PROVIDER, "data", f"expected one region, got {len(data)}"
                )
            data = data[0]
        got = require(data, "regionid", provider=PROVIDER, path="data")
        if got != rid:
            raise ProviderPayloadError(PROVIDER, "data.regionid", f"asked for {rid}, got {got!r}")
        name = data.get("shortname") or data.get("dnoregion") or ""
        rows = as_sequence(
            require(data, "data", provider=PROVIDER, path="data"),
            provider=PROVIDER,
            path="data.data",
        )
        return list(rows), str(name)

    def _series(
        self,
        region: str,
        rows: list[Any],
        *,
        value: NationalValue,
        endpoint: str,
        region_name: str = "",
    ) -> IntensitySeries:
        base = "data.data" if region != "GB" else "data"
        if not rows:
            raise ProviderPayloadError(PROVIDER, base, "no half-hours returned")
        n = len(rows)
        t = np.empty(n, dtype="datetime64[s]")
        v = np.empty(n)
        is_fc = np.zeros(n, dtype=bool)
        band = np.empty(n, dtype=object)
        for i, r in enumerate(rows):
            where = f"{base}[{i}]"
            t0 = parse_time(
                require(r, "from", provider=PROVIDER, path=where),
                provider=PROVIDER,
                field=f"{where}.from",
            )
            t1 = parse_time(
                require(r, "to", provider=PROVIDER, path=where),
                provider=PROVIDER,
                field=f"{where}.to",
            )
            if (t1 - t0) != np.timedelta64(STEP_S, "s"):
                raise ProviderPayloadError(
                    PROVIDER, f"{where}.to", f"expected a half-hour after 'from', got {t0}..{t1}"
                )
            ci = require(r, "intensity", provider=PROVIDER, path=where)
            fc = require_number(
                ci, "forecast", provider=PROVIDER, path=f"{where}.intensity", allow_null=True
            )
            act = (
                require_number(
                    ci, "actual", provider=PROVIDER, path=f"{where}.intensity", allow_null=True
                )
                if value != "forecast"
                else None
            )
            if value == "actual" and act is None:
                raise ProviderPayloadError(
                    PROVIDER,
                    f"{where}.intensity.actual",
                    f"no outturn published for {t0} yet; ask for "
                    "value='actual-else-forecast' or 'forecast'",
                )
            chosen, from_fc = (act, False) if act is not None else (fc, True)
            if chosen is None:
                raise ProviderPayloadError(
                    PROVIDER, f"{where}.intensity.forecast", f"no value for {t0}"
                )
            t[i], v[i], is_fc[i] = t0, chosen, from_fc
            band[i] = str(ci.get("index", ""))
        order = np.argsort(t, kind="stable")
        t, v, is_fc, band = t[order], v[order], is_fc[order], band[order]
        keep = np.concatenate([[True], np.diff(t) > np.timedelta64(0, "s")])
        t, v, is_fc, band = t[keep], v[keep], is_fc[keep], band[keep]
        notes = list(check_spacing(t, STEP_S, provider=PROVIDER))
        if value == "actual-else-forecast" and is_fc.any():
            notes.append(
                f"{int(is_fc.sum())} of {len(t)} half-hours have no outturn yet and "
                "take the forecast (extra['is_forecast'])"
            )
        notes.append(
            "CO2 only, operational (combustion) factors; imports and T&D losses "
            "included; no uncertainty published"
        )
        if region_name:
            notes.append(f"region {region_name}; regional values are forecasts only")
        forecast_only = bool(is_fc.all())
        prov = SignalProvenance(
            source=f"{PROVIDER} {endpoint}",
            version="2.0",
            method="forecast" if forecast_only else f"national {value}",
            retrieved_at_utc=iso_from_epoch(self.transport.clock()),
            licence=LICENCE,
            label="modelled" if forecast_only else "cited",
            notes=tuple(notes),
        )
        return IntensitySeries.from_arrays(
            region=region,
            kind="location-average",
            basis="direct",
            resolution_s=STEP_S,
            start_utc=t,
            intensity_g_per_kwh=v,
            provenance=prov,
            extra={"is_forecast": is_fc, "index": band},
        )


def _region_id(region_id: int) -> int:
    if isinstance(region_id, bool) or not isinstance(region_id, int) or region_id not in REGION_IDS:
        raise InputError(
            f"{region_id!r} is not a GB region id (1..18; 13 is London)", field="region_id"
        )
    return region_id


def ukci_region_id(region: str) -> int | None:
    """The GB API's region id of ``region``: None for ``GB`` (national), else 1..18
    (``13`` or ``GB-13``)."""
    r = region.strip().upper()
    if r in ("GB", "NATIONAL"):
        return None
    r = r.removeprefix("GB-")
    if not r.isdigit():
        raise InputError(
            "ukci takes GB (national) or a region id 1..18 (e.g. 13 or GB-13)", field="--region"
        )
    return int(r)
