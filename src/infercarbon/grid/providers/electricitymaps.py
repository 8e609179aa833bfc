"""Electricity Maps API v3: carbon intensity latest, history and past range.

Endpoints (https://api.electricitymaps.com/v3, header ``auth-token: <key>``):

* ``GET /carbon-intensity/latest?zone=Z`` -> one object
  ``{zone, carbonIntensity, datetime, updatedAt, createdAt, emissionFactorType, isEstimated,
  estimationMethod, temporalGranularity}``;
* ``GET /carbon-intensity/history?zone=Z`` -> ``{zone, history: [objects as above]}`` (the last
  24 hours);
* ``GET /carbon-intensity/past-range?zone=Z&start=..&end=..`` -> ``{zone, data: [...]}``; the
  range is limited per request (10 days hourly, 3 days at 15 minutes, 1 day at 5 minutes), so
  longer ranges are fetched in pieces.

``emissionFactorType=direct|lifecycle`` selects the basis (the API defaults to lifecycle;
this client always sends it).  ``carbonIntensity`` is in gCO2eq/kWh of *consumed* electricity
(flow-traced, imports included) and the API gives no uncertainty, so ``low == high == value``.
Each step's ``isEstimated`` flag is kept in ``series.extra["is_estimated"]``.

The key is an argument; the CLI reads it from ``ELECTRICITYMAPS_API_KEY``.
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np

from infercarbon.errors import InputError, MissingCredentialsError, ProviderPayloadError
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
from infercarbon.grid.signal import BASES, Basis, IntensitySeries, SignalProvenance

__all__ = ["API_KEY_ENV", "BASE_URL", "GRANULARITY_S", "ElectricityMapsClient"]

PROVIDER: Final = "Electricity Maps"
BASE_URL: Final = "https://api.electricitymaps.com/v3"
#: Environment variable the CLI reads the key from.
API_KEY_ENV: Final = "ELECTRICITYMAPS_API_KEY"

#: temporalGranularity -> step [s]
GRANULARITY_S: Final[dict[str, int]] = {"5_minutes": 300, "15_minutes": 900, "hourly": 3600}
#: largest past-range window per request [s], by granularity
_MAX_RANGE_S: Final[dict[str, int]] = {
    "5_minutes": 86_400,
    "15_minutes": 3 * 86_400,
    "hourly": 10 * 86_400,
}
#: cache lifetimes [s]: latest changes every few minutes, the past hardly ever
TTL_LATEST_S: Final = 300.0
TTL_HISTORY_S: Final = 900.0
TTL_PAST_S: Final = 86_400.0


class ElectricityMapsClient:
    """Client for the Electricity Maps carbon-intensity endpoints.

    Parameters
    ----------
    api_key : str or None
        The API token; ``None`` or empty raises :class:`MissingCredentialsError`.
    transport : HttpTransport
        Retries, cache, clock (see :mod:`infercarbon.grid.providers._http`).
    base_url : str
        Override for testing or a dedicated endpoint.
    """

    def __init__(
        self, api_key: str | None, *, transport: HttpTransport, base_url: str = BASE_URL
    ) -> None:
        if not api_key:
            raise MissingCredentialsError(
                f"{PROVIDER} needs an API key: set {API_KEY_ENV} (CLI) or pass api_key=... "
                "(get one at https://api-portal.electricitymaps.com)"
            )
        self._headers = {"auth-token": api_key}
        self.transport = transport
        self.base_url = base_url.rstrip("/")

    # ------------------------------------------------------------------ endpoints
    def latest(self, zone: str, *, basis: Basis = "lifecycle") -> IntensitySeries:
        """The latest step for ``zone`` (a one-step series)."""
        params = self._params(zone, basis)
        body = self._get("latest", params, TTL_LATEST_S)
        return self._series(zone, basis, [body], path="", endpoint="latest")

    def history(self, zone: str, *, basis: Basis = "lifecycle") -> IntensitySeries:
        """The last 24 hours for ``zone``, hourly."""
        body = self._get("history", self._params(zone, basis), TTL_HISTORY_S)
        rows = as_sequence(
            require(body, "history", provider=PROVIDER, path=""), provider=PROVIDER, path="history"
        )
        return self._series(zone, basis, rows, path="history", endpoint="history")

    def past_range(
        self,
        zone: str,
        start: TimeLike,
        end: TimeLike,
        *,
        basis: Basis = "lifecycle",
        granularity: str = "hourly",
    ) -> IntensitySeries:
        """Steps starting in ``[start, end)`` at ``granularity`` (5_minutes|15_minutes|hourly)."""
        if granularity not in GRANULARITY_S:
            raise InputError(f"must be one of {', '.join(GRANULARITY_S)}", field="granularity")
        a, b = period(start, end)
        rows: list[Any] = []
        for ca, cb in chunks(a, b, _MAX_RANGE_S[granularity]):
            params = {
                **self._params(zone, basis),
                "start": iso_z(ca),
                "end": iso_z(cb),
                "temporalGranularity": granularity,
            }
            body = self._get("past-range", params, TTL_PAST_S)
            part = as_sequence(
                require(body, "data", provider=PROVIDER, path=""), provider=PROVIDER, path="data"
            )
            rows.extend(part)
        series = self._series(
            zone, basis, rows, path="data", endpoint="past-range", granularity=granularity
        )
        # the API end bound is inclusive; keep the half-open [start, end) contract
        return series.slice(a, b)

    # ------------------------------------------------------------------ plumbing
    @staticmethod
    def _params(zone: str, basis: Basis) -> dict[str, str]:
        if not isinstance(zone, str) or not zone.strip():
            raise InputError(
                "give an Electricity Maps zone key such as DE or US-TEX-ERCO", field="zone"
            )
        if basis not in BASES:
            raise InputError(f"must be one of {', '.join(BASES)}", field="basis")
        return {"zone": zone.strip(), "emissionFactorType": basis}

    def _get(self, endpoint: str, params: dict[str, str], ttl_s: float) -> Any:
        url = f"{self.base_url}/carbon-intensity/{endpoint}"
        key = ("electricitymaps", endpoint, tuple(sorted(params.items())))
        resp = self.transport.get(
            url, params=params, headers=self._headers, cache_key=key, ttl_s=ttl_s
        )
        try:
            return resp.json()
        except ValueError as exc:
            raise ProviderPayloadError(PROVIDER, "(body)", "response is not JSON") from exc

    def _series(
        self,
        zone: str,
        basis: Basis,
        rows: list[Any] | Any,
        *,
        path: str,
        endpoint: str,
        granularity: str | None = None,
    ) -> IntensitySeries:
        if not rows:
            raise ProviderPayloadError(
                PROVIDER, path or "(root)", f"no data points for zone {zone!r}"
            )
        n = len(rows)
        t = np.empty(n, dtype="datetime64[s]")
        v = np.empty(n)
        est = np.zeros(n, dtype=bool)
        gran = granularity
        for i, r in enumerate(rows):
            where = f"{path}[{i}]" if path else ""
            t[i] = parse_time(
                require(r, "datetime", provider=PROVIDER, path=where),
                provider=PROVIDER,
                field=f"{where}.datetime".lstrip("."),
            )
            v[i] = require_number(r, "carbonIntensity", provider=PROVIDER, path=where)
            eft = r.get("emissionFactorType")
            if eft is not None and eft != basis:
                raise ProviderPayloadError(
                    PROVIDER,
                    f"{where}.emissionFactorType".lstrip("."),
                    f"asked for {basis!r} emission factors, got {eft!r}",
                )
            est[i] = bool(r.get("isEstimated", False))
            if gran is None and isinstance(r.get("temporalGranularity"), str):
                gran = r["temporalGranularity"]
        gran = gran or "hourly"
        if gran not in GRANULARITY_S:
            raise ProviderPayloadError(
                PROVIDER, "temporalGranularity", f"unsupported granularity {gran!r}"
            )
        res = GRANULARITY_S[gran]
        order = np.argsort(t, kind="stable")
        t, v, est = t[order], v[order], est[order]
        # overlapping pieces of a chunked range repeat their boundary step: keep the first
        keep = np.concatenate([[True], np.diff(t) > np.timedelta64(0, "s")])
        t, v, est = t[keep], v[keep], est[keep]
        notes = list(check_spacing(t, res, provider=PROVIDER))
        notes.append(
            "consumption-based (flow-traced, imports included) gCO2eq/kWh; "
            "the API gives no uncertainty range"
        )
        if est.any():
            notes.append(
                f"{int(est.sum())} of {len(est)} steps are estimated by the provider "
                "(extra['is_estimated'])"
            )
        prov = SignalProvenance(
            source=f"{PROVIDER} API v3 /carbon-intensity/{endpoint}",
            version="v3",
            method=f"provider {endpoint} ({basis} emission factors, {gran})",
            retrieved_at_utc=iso_from_epoch(self.transport.clock()),
            licence="Electricity Maps commercial terms (not redistributable)",
            label="cited",
            notes=tuple(notes),
        )
        return IntensitySeries.from_arrays(
            region=zone,
            kind="location-average",
            basis=basis,
            resolution_s=res,
            start_utc=t,
            intensity_g_per_kwh=v,
            provenance=prov,
            extra={"is_estimated": est},
        )
