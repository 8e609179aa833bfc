"""WattTime API v3: marginal operating emissions rate (MOER), index, history and forecast.

Endpoints (https://api.watttime.org):

* ``GET /login`` with HTTP basic auth -> ``{"token": "<JWT>"}``, valid 30 minutes; every other
  call sends ``Authorization: Bearer <token>``.  The token is renewed before it expires and,
  once, whenever a call answers 401.
* ``GET /v3/signal-index?region=R&signal_type=co2_moer`` -> the current percentile (0-100) of
  the MOER against the recent past: ``{data: [{point_time, value}], meta: {units:
  "percentile", ...}}``.  Returned as :class:`MarginalIndex` (a fraction, not an intensity).
* ``GET /v3/historical?region=R&start=..&end=..&signal_type=co2_moer`` and
  ``GET /v3/forecast?region=R&signal_type=co2_moer[&horizon_hours=H]`` ->
  ``{data: [{point_time, value}], meta: {region, signal_type, units, data_point_period_seconds,
  model: {date}, generated_at?, warnings}}``.  ``units`` is ``lbs_co2_per_mwh``; it is converted
  once here to g/kWh (x 453.59237 / 1000).  History is fetched in 30-day pieces.

``co2_moer`` is a marginal signal (kind ``marginal``); ``co2_aoer`` is WattTime's average
rate (kind ``location-average``).  Both count CO2 from combustion only (basis ``direct``, CO2
not CO2e).  WattTime does not publish an uncertainty, so ``low == high == value``.

Credentials are arguments; the CLI reads ``WATTTIME_USERNAME`` / ``WATTTIME_PASSWORD``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from infercarbon.errors import (
    InputError,
    MissingCredentialsError,
    ProviderAuthError,
    ProviderPayloadError,
)
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
)
from infercarbon.grid.signal import IntensitySeries, Kind, SignalProvenance
from infercarbon.units import g_per_kwh_from_kg_per_mwh, g_per_kwh_from_lb_per_mwh

__all__ = [
    "BASE_URL",
    "PASSWORD_ENV",
    "SIGNAL_KINDS",
    "USERNAME_ENV",
    "MarginalIndex",
    "WattTimeClient",
]

PROVIDER: Final = "WattTime"
BASE_URL: Final = "https://api.watttime.org"
USERNAME_ENV: Final = "WATTTIME_USERNAME"
PASSWORD_ENV: Final = "WATTTIME_PASSWORD"
#: signal_type -> kind of intensity signal
SIGNAL_KINDS: Final[dict[str, Kind]] = {"co2_moer": "marginal", "co2_aoer": "location-average"}
#: the token lives 30 minutes; renew a minute early
TOKEN_LIFETIME_S: Final = 30 * 60 - 60
_HISTORY_CHUNK_S: Final = 30 * 86_400
TTL_INDEX_S: Final = 120.0
TTL_FORECAST_S: Final = 300.0
TTL_HISTORY_S: Final = 86_400.0


@dataclass(frozen=True, slots=True)
class MarginalIndex:
    """WattTime's signal index: where the current MOER sits among recent values.

    ``index_frac`` is the percentile / 100 (0 = cleanest, 1 = dirtiest of the recent
    window).  It is a ranking, not an intensity; use :meth:`WattTimeClient.historical` or
    :meth:`WattTimeClient.forecast` for g/kWh.
    """

    region: str
    signal_type: str
    point_time_utc: npt.NDArray[np.datetime64]
    index_frac: npt.NDArray[np.float64]
    provenance: SignalProvenance


class WattTimeClient:
    """Client for WattTime v3 (login, signal-index, historical, forecast).

    Parameters
    ----------
    username, password : str or None
        WattTime account; missing either raises :class:`MissingCredentialsError`.
    transport : HttpTransport
        Retries, cache, clock.
    """

    def __init__(
        self,
        username: str | None,
        password: str | None,
        *,
        transport: HttpTransport,
        base_url: str = BASE_URL,
    ) -> None:
        missing = [
            name for name, v in ((USERNAME_ENV, username), (PASSWORD_ENV, password)) if not v
        ]
        if missing:
            raise MissingCredentialsError(
                f"{PROVIDER} needs a username and password: set {' and '.join(missing)} (CLI) "
                "or pass username=... and password=... (register at https://watttime.org)"
            )
        self._auth = (str(username), str(password))
        self.transport = transport
        self.base_url = base_url.rstrip("/")
        self._token: str | None = None
        self._token_expires_s = 0.0
        #: number of successful logins (the first and every refresh)
        self.logins = 0

    # ------------------------------------------------------------------ auth
    def _login(self) -> str:
        resp = self.transport.get(f"{self.base_url}/login", auth=self._auth, check=False)
        if resp.status_code in (401, 403):
            raise ProviderAuthError(
                PROVIDER,
                resp.status_code,
                f"login refused; check {USERNAME_ENV} / {PASSWORD_ENV}",
                url=f"{self.base_url}/login",
            )
        self.transport.raise_for_status(resp)
        body = _json(resp)
        token = require(body, "token", provider=PROVIDER, path="")
        if not isinstance(token, str) or not token:
            raise ProviderPayloadError(PROVIDER, "token", "expected a non-empty string")
        self._token = token
        self._token_expires_s = self.transport.clock() + TOKEN_LIFETIME_S
        self.logins += 1
        return token

    def _token_now(self) -> str:
        if self._token is None or self.transport.clock() >= self._token_expires_s:
            return self._login()
        return self._token

    def _get(self, path: str, params: dict[str, str], *, ttl_s: float) -> Any:
        url = f"{self.base_url}{path}"
        key = ("watttime", path, tuple(sorted(params.items())))
        for attempt in (1, 2):
            headers = {"Authorization": f"Bearer {self._token_now()}"}
            resp = self.transport.get(
                url, params=params, headers=headers, cache_key=key, ttl_s=ttl_s, check=False
            )
            if resp.status_code == 401 and attempt == 1:
                self._token = None  # expired or revoked: log in again, retry once
                continue
            self.transport.raise_for_status(resp)
            return _json(resp)
        raise AssertionError("unreachable")  # pragma: no cover

    # ------------------------------------------------------------------ endpoints
    def signal_index(self, region: str, *, signal_type: str = "co2_moer") -> MarginalIndex:
        """The current signal index (percentile) for ``region``."""
        params = self._params(region, signal_type)
        body = self._get("/v3/signal-index", params, ttl_s=TTL_INDEX_S)
        meta = require(body, "meta", provider=PROVIDER, path="")
        units = require(meta, "units", provider=PROVIDER, path="meta")
        if units != "percentile":
            raise ProviderPayloadError(
                PROVIDER, "meta.units", f"expected 'percentile' for the index, got {units!r}"
            )
        t, v = self._points(body)
        if ((v < 0) | (v > 100)).any():
            raise ProviderPayloadError(PROVIDER, "data[].value", "a percentile is 0..100")
        return MarginalIndex(
            region,
            signal_type,
            t,
            v / 100.0,
            self._provenance("/v3/signal-index", meta, signal_type, ()),
        )

    def historical(
        self, region: str, start: TimeLike, end: TimeLike, *, signal_type: str = "co2_moer"
    ) -> IntensitySeries:
        """Past values for steps starting in ``[start, end)`` [g/kWh]."""
        a, b = period(start, end)
        bodies = []
        for ca, cb in chunks(a, b, _HISTORY_CHUNK_S):
            params = {**self._params(region, signal_type), "start": iso_z(ca), "end": iso_z(cb)}
            bodies.append(self._get("/v3/historical", params, ttl_s=TTL_HISTORY_S))
        series = self._series(
            region, signal_type, bodies, endpoint="/v3/historical", forecast=False
        )
        return series.slice(a, b)  # the API end bound is inclusive

    def forecast(
        self, region: str, *, signal_type: str = "co2_moer", horizon_hours: int | None = None
    ) -> IntensitySeries:
        """The most recent forecast [g/kWh] (provenance label ``modelled``)."""
        params = self._params(region, signal_type)
        if horizon_hours is not None:
            if not 0 < horizon_hours <= 72:
                raise InputError("must be 1..72", field="horizon_hours")
            params["horizon_hours"] = str(int(horizon_hours))
        body = self._get("/v3/forecast", params, ttl_s=TTL_FORECAST_S)
        return self._series(region, signal_type, [body], endpoint="/v3/forecast", forecast=True)

    # ------------------------------------------------------------------ parsing
    @staticmethod
    def _params(region: str, signal_type: str) -> dict[str, str]:
        if not isinstance(region, str) or not region.strip():
            raise InputError("give a WattTime region such as CAISO_NORTH", field="region")
        if signal_type not in SIGNAL_KINDS:
            raise InputError(f"must be one of {', '.join(SIGNAL_KINDS)}", field="signal_type")
        return {"region": region.strip(), "signal_type": signal_type}

    @staticmethod
    def _points(
        body: Any, base: str = ""
    ) -> tuple[npt.NDArray[np.datetime64], npt.NDArray[np.float64]]:
        rows = as_sequence(
            require(body, "data", provider=PROVIDER, path=""), provider=PROVIDER, path="data"
        )
        t = np.empty(len(rows), dtype="datetime64[s]")
        v = np.empty(len(rows))
        for i, r in enumerate(rows):
            where = f"{base}data[{i}]"
            t[i] = parse_time(
                require(r, "point_time", provider=PROVIDER, path=where),
                provider=PROVIDER,
                field=f"{where}.point_time",
            )
            v[i] = require_number(r, "value", provider=PROVIDER, path=where)
        return t, v

    def _series(
        self, region: str, signal_type: str, bodies: list[Any], *, endpoint: str, forecast: bool
    ) -> IntensitySeries:
        ts: list[npt.NDArray[np.datetime64]] = []
        vs: list[npt.NDArray[np.float64]] = []
        notes: list[str] = []
        period_s: int | None = None
        meta0: dict[str, Any] = {}
        for k, body in enumerate(bodies):
            meta = require(body, "meta", provider=PROVIDER, path="")
            meta0 = meta0 or meta
            units = require(meta, "units", provider=PROVIDER, path="meta")
            t, v = self._points(body, base=f"[{k}]." if len(bodies) > 1 else "")
            if units == "lbs_co2_per_mwh":
                v = g_per_kwh_from_lb_per_mwh(v)
            elif units == "kg_co2_per_mwh":
                v = g_per_kwh_from_kg_per_mwh(v)
            else:
                raise ProviderPayloadError(
                    PROVIDER, "meta.units", f"unsupported units {units!r} for an intensity"
                )
            p = meta.get("data_point_period_seconds")
            if p is not None:
                if isinstance(p, bool) or not isinstance(p, int) or p <= 0:
                    raise ProviderPayloadError(
                        PROVIDER,
                        "meta.data_point_period_seconds",
                        f"expected a positive integer, got {p!r}",
                    )
                if period_s is not None and p != period_s:
                    raise ProviderPayloadError(
                        PROVIDER,
                        "meta.data_point_period_seconds",
                        f"changed from {period_s} to {p} between pieces",
                    )
                period_s = p
            notes.extend(f"provider warning: {w}" for w in meta.get("warnings") or ())
            ts.append(t)
            vs.append(v)
        t = np.concatenate(ts)
        v = np.concatenate(vs)
        if len(t) == 0:
            raise ProviderPayloadError(PROVIDER, "data", f"no data points for {region!r}")
        order = np.argsort(t, kind="stable")
        t, v = t[order], v[order]
        keep = np.concatenate([[True], np.diff(t) > np.timedelta64(0, "s")])
        t, v = t[keep], v[keep]
        if period_s is None:
            if len(t) < 2:
                raise ProviderPayloadError(
                    PROVIDER,
                    "meta.data_point_period_seconds",
                    "missing, and one point cannot show the step",
                )
            period_s = int(np.min(np.diff(t)) / np.timedelta64(1, "s"))
            notes.append(
                f"step {period_s} s inferred from point spacing "
                "(meta.data_point_period_seconds absent)"
            )
        notes[:0] = check_spacing(t, period_s, provider=PROVIDER)
        notes.append(
            "CO2 only (not CO2e), combustion only; converted from lb/MWh; "
            "WattTime publishes no uncertainty range"
        )
        return IntensitySeries.from_arrays(
            region=region,
            kind=SIGNAL_KINDS[signal_type],
            basis="direct",
            resolution_s=period_s,
            start_utc=t,
            intensity_g_per_kwh=v,
            provenance=self._provenance(
                endpoint, meta0, signal_type, tuple(notes), forecast=forecast
            ),
        )

    def _provenance(
        self,
        endpoint: str,
        meta: Any,
        signal_type: str,
        notes: tuple[str, ...],
        *,
        forecast: bool = False,
    ) -> SignalProvenance:
        model = meta.get("model") if isinstance(meta, dict) else None
        version = str(model.get("date", "")) if isinstance(model, dict) else ""
        extra: tuple[str, ...] = ()
        if forecast and isinstance(meta, dict) and meta.get("generated_at"):
            extra = (f"forecast generated at {meta['generated_at']}",)
        return SignalProvenance(
            source=f"{PROVIDER} API {endpoint}",
            version=f"model {version}" if version else "v3",
            method=("forecast" if forecast else "reported") + f" {signal_type}",
            retrieved_at_utc=iso_from_epoch(self.transport.clock()),
            licence="WattTime terms of service (not redistributable)",
            label="modelled",
            notes=extra + notes,
        )


def _json(resp: Any) -> Any:
    try:
        return resp.json()
    except ValueError as exc:
        raise ProviderPayloadError(PROVIDER, "(body)", "response is not JSON") from exc
