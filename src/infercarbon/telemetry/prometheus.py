"""GPU (or container) energy from Prometheus: NVIDIA DCGM exporter or Kepler metrics.

On Kubernetes fleets GPU energy is already scraped into Prometheus.  :class:`PrometheusSource`
reads it through the Prometheus HTTP API (``GET /api/v1/query`` with a range selector, which
returns the raw scraped samples with their scrape timestamps):

``dcgm-energy``
    ``DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION`` [mJ], the GPU's energy counter since the driver
    loaded (method ``measured-counter``).
``dcgm-power``
    ``DCGM_FI_DEV_POWER_USAGE`` [W], board power at each scrape, integrated with the trapezoid
    rule between scrapes (method ``measured-power-polling``: a scrape sees one instant of
    power, so peaks between scrapes are missed).
``kepler``
    ``kepler_container_joules_total`` [J], Kepler's per-container energy counter (its GPU, CPU
    and DRAM share as Kepler attributes them; method ``measured-counter``, with Kepler's own
    model behind it, which ``describe()`` says).

``selector`` is the label matchers inside ``{...}`` (``gpu="0",Hostname="node-1"``,
``UUID="GPU-..."``, ``pod="vllm-0"``, ``container_namespace="llm"``); every series it
matches is summed (several GPUs of one replica).  A counter that goes down (exporter or
driver restart) is treated as a reset: the energy before it is kept.

Resolution: one reading per scrape, so ``scrape_interval_s`` (DCGM exporter's default 30 s,
commonly 5-15 s; DCGM itself refreshes the fields every ~1 s).  Between two scrapes the energy
is known only as a total: the attribution engine spreads it as constant mean power, so a
request shorter than the interval gets its tokens-and-time share of the interval's mean power,
not its own peak.  Totals stay exact (conservation).  Any interval works with the engine; the
proxy holds finished requests until a scrape after their end arrives (``max_hold_s``, at least
4 scrape intervals), so per-request events are delayed by about one scrape interval plus
Prometheus's ingestion delay.  Readings are stamped with the scrape times, not the time they
were fetched.
"""

from __future__ import annotations

import math
import re
import time
from typing import Any, Final

import httpx
import numpy as np

from infercarbon.errors import InputError, SensorError, SensorUnavailableError
from infercarbon.telemetry.base import ACCURACY_CLASSES
from infercarbon.timeutil import EpochClockS

__all__ = ["PROMETHEUS_METRICS", "PrometheusSource"]

#: metric option -> (metric name, unit factor to J or W, kind)
PROMETHEUS_METRICS: Final[dict[str, tuple[str, float, str]]] = {
    "dcgm-energy": ("DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", 1e-3, "counter"),
    "dcgm-power": ("DCGM_FI_DEV_POWER_USAGE", 1.0, "power"),
    "kepler": ("kepler_container_joules_total", 1.0, "counter"),
}

#: DCGM reports a field it has no value for (a GPU without an energy counter: before Volta)
#: as a "blank" sentinel at 2^63 - 16 and above (``DCGM_INT64_BLANK`` = 0x7ffffffffffffff0);
#: as a float every one of them is 2^63.  Such samples are no reading.
DCGM_BLANK_FLOOR: Final[float] = float(2**63 - 4096)

_MATCHER = re.compile(r'^\s*[a-zA-Z_][a-zA-Z0-9_]*\s*(=|!=|=~|!~)\s*"(?:[^"\\]|\\.)*"\s*$')


def _check_selector(selector: str) -> str:
    sel = selector.strip().strip("{}").strip()
    if not sel:
        return ""
    parts = re.split(r',(?=(?:[^"]*"[^"]*")*[^"]*$)', sel)
    for p in parts:
        if p.strip() and not _MATCHER.match(p):
            raise InputError(
                f"{p.strip()!r} is not a label matcher; write e.g. "
                'gpu="0",Hostname="node-1" or pod=~"vllm-.*"',
                field="selector",
            )
    return sel


class PrometheusSource:
    """Cumulative energy [J] of the series a selector matches, from Prometheus.

    Parameters
    ----------
    client : httpx.Client
        Client whose ``base_url`` is the Prometheus server (``http://prometheus:9090``).
    metric : {"dcgm-energy", "dcgm-power", "kepler"}
    selector : str
        Label matchers (without or with the braces).
    scrape_interval_s : float
        The metric's scrape interval [s]: the resolution, and how far back a read looks
        (``lookback_intervals`` x it).
    clock : callable
        Wall clock [s since the Unix epoch] (the scrapes' time base).
    """

    name = "prometheus"
    label = "measured"
    needs_polling = False
    #: many reads between two scrapes return the same reading
    coarse_updates = True

    def __init__(
        self,
        client: httpx.Client,
        *,
        metric: str = "dcgm-energy",
        selector: str = "",
        scrape_interval_s: float = 15.0,
        lookback_intervals: float = 20.0,
        clock: EpochClockS = time.time,
    ) -> None:
        if metric not in PROMETHEUS_METRICS:
            raise InputError(
                f"unknown metric {metric!r}; choose one of {', '.join(PROMETHEUS_METRICS)}",
                field="metric",
            )
        if not (math.isfinite(scrape_interval_s) and scrape_interval_s > 0):
            raise InputError(f"must be > 0 s, got {scrape_interval_s!r}", field="scrape_interval_s")
        self.client = client
        self.metric = metric
        self.metric_name, self._factor, self._kind = PROMETHEUS_METRICS[metric]
        self.selector = _check_selector(selector)
        self.scrape_interval_s = float(scrape_interval_s)
        self.lookback_s = lookback_intervals * self.scrape_interval_s
        self.clock = clock
        self.method = "measured-counter" if self._kind == "counter" else "measured-power-polling"
        self.accuracy_class = ACCURACY_CLASSES[self.method]
        # per series: last sample time, last raw value, cumulative J (resets / integration)
        self._series: dict[tuple[tuple[str, str], ...], list[float]] = {}
        self._closed = False
        self._last_j: float | None = None

    @property
    def resolution_s(self) -> float:
        """One reading per scrape [s]."""
        return self.scrape_interval_s

    @property
    def query(self) -> str:
        return f"{self.metric_name}{{{self.selector}}}"

    def _fetch(self, start_s: float, end_s: float) -> list[dict[str, Any]]:
        if self._closed:
            raise SensorError("the Prometheus source is closed")
        span = max(1, math.ceil(end_s - start_s))
        q = f"{self.query}[{span}s]"
        try:
            r = self.client.get("/api/v1/query", params={"query": q, "time": f"{end_s:.3f}"})
        except httpx.HTTPError as exc:
            raise SensorError(
                f"Prometheus at {self.client.base_url} unreachable: {type(exc).__name__}: {exc}"
            ) from exc
        try:
            doc = r.json()
        except ValueError as exc:
            raise SensorError(
                f"Prometheus answered HTTP {r.status_code} without JSON: {r.text[:200]!r}"
            ) from exc
        if r.status_code != 200 or doc.get("status") != "success":
            raise SensorError(
                f"Prometheus refused {q!r}: HTTP {r.status_code} "
                f"{doc.get('errorType')}: {doc.get('error')}"
            )
        data = doc.get("data") or {}
        if data.get("resultType") != "matrix":
            raise SensorError(
                f"Prometheus returned {data.get('resultType')!r} for {q!r}, expected a matrix"
            )
        result: list[dict[str, Any]] = data.get("result") or []
        return result

    def readings_between(self, start_s: float, end_s: float) -> tuple[list[float], list[float]]:
        """Readings ``(t_s, cumulative_j)`` at the scrapes in ``(start_s, end_s]``, summed
        over the matched series (each series' cumulative energy interpolated at the union of
        their scrape times, up to the series that ends first).

        Raises
        ------
        SensorUnavailableError
            No series matches the selector (the first read only).
        SensorError
            Prometheus unreachable or refused the query.
        """
        result = self._fetch(start_s, end_s)
        if not result and not self._series:
            raise SensorUnavailableError(
                f"no series matches {self.query} on {self.client.base_url} in the last "
                f"{end_s - start_s:.0f} s: check the selector and that the exporter is scraped"
            )
        seen: dict[tuple[tuple[str, str], ...], tuple[np.ndarray, np.ndarray]] = {}
        blank = 0
        for s in result:
            key = tuple(sorted((s.get("metric") or {}).items()))
            vals = [v for v in s.get("values") or [] if float(v[1]) < DCGM_BLANK_FLOOR]
            blank += len(s.get("values") or []) - len(vals)
            if vals:
                seen[key] = (
                    np.array([float(v[0]) for v in vals]),
                    np.array([float(v[1]) for v in vals]) * self._factor,
                )
        if blank and not seen and not self._series:
            raise SensorUnavailableError(
                f"{self.query} on {self.client.base_url} holds only DCGM's blank value (no "
                "reading): the GPU has no energy counter (GPUs before Volta); use "
                "metric='dcgm-power' (DCGM_FI_DEV_POWER_USAGE, integrated)"
            )
        per: list[tuple[np.ndarray, np.ndarray]] = []
        for key, (t, x) in seen.items():
            state = self._series.get(key)
            if state is None:  # first sight: the first sample is the origin
                state = [float(t[0]), float(x[0]), 0.0]
                self._series[key] = state
            prev_t, prev_c = state[0], state[2]
            new = t > state[0]
            t_new, x_new = t[new], x[new]
            cum = np.empty(t_new.size)
            last_t, last_x, c = state
            for i in range(t_new.size):  # per scrape: a handful per poll
                if self._kind == "power":
                    c += 0.5 * (last_x + x_new[i]) * (t_new[i] - last_t)
                else:  # a counter that went down was reset: count from zero again
                    c += x_new[i] - last_x if x_new[i] >= last_x else x_new[i]
                last_t, last_x = float(t_new[i]), float(x_new[i])
                cum[i] = c
            state[:] = [last_t, last_x, c]
            per.append((np.concatenate(([prev_t], t_new)), np.concatenate(([prev_c], cum))))
        for key, state in self._series.items():  # known series without a new scrape
            if key not in seen:
                per.append((np.array([state[0]]), np.array([state[2]])))
        return self._sum(per, start_s)

    @staticmethod
    def _sum(
        per: list[tuple[np.ndarray, np.ndarray]], start_s: float
    ) -> tuple[list[float], list[float]]:
        if not per:
            return [], []
        until = min(float(t[-1]) for t, _ in per)
        ts = np.unique(np.concatenate([t for t, _ in per]))
        ts = ts[(ts > start_s) & (ts <= until)]
        if ts.size == 0:
            return [], []
        total = np.zeros(ts.size)
        for t, c in per:
            total += np.interp(ts, t, c)
        return ts.tolist(), total.tolist()

    def read_energy_j(self) -> float:
        """The cumulative energy at the newest scrape [J] (stamped at that scrape's time, not
        now; a :class:`~infercarbon.instrument.proxied.SensorPoller` uses the timestamps)."""
        now = self.clock()
        _t, c = self.readings_between(now - self.lookback_s, now)
        if c:
            self._last_j = c[-1]
        if self._last_j is None:
            raise SensorError(f"no scrape of {self.query} in the last {self.lookback_s:g} s")
        return float(self._last_j)

    def describe(self) -> dict[str, Any]:
        return {
            "source": "prometheus",
            "url": str(self.client.base_url),
            "query": self.query,
            "metric": self.metric,
            "unit": "mJ"
            if self.metric == "dcgm-energy"
            else ("W" if self._kind == "power" else "J"),
            "method": self.method,
            "resolution_s": self.resolution_s,
            "series": len(self._series),
            "caveats": (
                "one reading per scrape: energy between scrapes is spread as constant "
                "mean power; per-request figures are shares of the scrape interval's "
                "mean power"
                + (
                    ", by Kepler's attribution model (container share)"
                    if self.metric == "kepler"
                    else ""
                )
            ),
        }

    def close(self) -> None:
        self._closed = True
