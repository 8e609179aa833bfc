"""Grid-signal provider clients (opt-in; the offline default is the bundled data).

One module per API, each returning :class:`~infercarbon.grid.signal.IntensitySeries`:

* :mod:`~infercarbon.grid.providers.electricitymaps` -- Electricity Maps v3 (latest, history,
  past range; direct or lifecycle);
* :mod:`~infercarbon.grid.providers.watttime` -- WattTime v3 (marginal MOER: index,
  historical, forecast);
* :mod:`~infercarbon.grid.providers.ukci` -- GB Carbon Intensity API (national, regional,
  forecast; no key);
* :mod:`~infercarbon.grid.providers.entsoe` -- ENTSO-E generation per production type turned
  into intensity with :func:`infercarbon.grid.factors.fuel_rate`.

All share :class:`~infercarbon.grid.providers._http.HttpTransport` (timeouts, retries with
backoff and jitter honouring ``Retry-After``, a TTL cache, injected clock and sleep).  Keys,
clock and HTTP client are arguments; only :mod:`infercarbon.cli` reads the environment.
"""

from __future__ import annotations

from infercarbon.grid.providers._http import (
    HttpTransport,
    RetryPolicy,
    TTLCache,
    default_client,
    system_transport,
)

__all__ = [
    "HttpTransport",
    "RetryPolicy",
    "TTLCache",
    "default_client",
    "system_transport",
]
