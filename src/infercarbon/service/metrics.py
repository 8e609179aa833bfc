"""Prometheus counters of metered energy and emissions, by service and model.

Each :class:`Metrics` owns its own :class:`prometheus_client.CollectorRegistry` (no global
registry: two apps in one process do not collide).  Counters grow only with events the ledger
accepted (duplicates are not counted twice).

Exposed series::

    infercarbon_energy_joules_total{service,model}           IT energy of accepted events [J]
    infercarbon_co2e_grams_total{service,model,kind}          gCO2e, kind = location|market|marginal
    infercarbon_events_total{service,model}                   accepted events
    infercarbon_ingest_rejected_batches_total{reason}         batches refused (422/403)
    infercarbon_live_events{service,model}                    live events in the ledger
    infercarbon_live_energy_joules{service,model}             their IT energy [J]
    infercarbon_live_co2e_grams{service,model,kind}           their totals [gCO2e]

The ``_total`` counters count what was accepted, as counters must (they only grow, so a
``rate()`` works): a later correction or re-pricing does not take an event back out of them.
The ``live_`` gauges are read from the ledger's hourly rollup at each scrape (:meth:`live`):
corrected and superseded footprints are not in them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

__all__ = ["CONTENT_TYPE_LATEST", "Metrics"]

_KINDS = ("location", "market", "marginal")


#: The most (service, model) label pairs /metrics carries; later pairs count as (other).
MAX_SERIES = 1_000


class Metrics:
    """The service's counters in a private registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.energy = Counter(
            "infercarbon_energy_joules",
            "IT energy of accepted inference events [J]",
            ["service", "model"],
            registry=self.registry,
        )
        self.co2e = Counter(
            "infercarbon_co2e_grams",
            "Emissions of accepted inference events [gCO2e] by accounting kind",
            ["service", "model", "kind"],
            registry=self.registry,
        )
        self.events = Counter(
            "infercarbon_events",
            "Accepted inference events",
            ["service", "model"],
            registry=self.registry,
        )
        self.rejected = Counter(
            "infercarbon_ingest_rejected_batches",
            "Event batches refused",
            ["reason"],
            registry=self.registry,
        )
        self._series: set[str] = set()

    def reject(self, reason: str) -> None:
        """Count a refused batch (``reason``: invalid, forbidden, too_large, conflict,
        not_json)."""
        self.rejected.labels(reason).inc()

    def _capped(self, key: str) -> str:
        """``key`` while fewer than :data:`MAX_SERIES` (service, model) pairs are counted,
        then ``(other)`` for new ones: a client cannot grow /metrics without bound."""
        if key in self._series:
            return key
        if len(self._series) >= MAX_SERIES:
            return "(other)\x1f(other)"
        self._series.add(key)
        return key

    def observe(
        self,
        service: Sequence[str] | pa.Array | pa.ChunkedArray,
        model: Sequence[str] | pa.Array | pa.ChunkedArray,
        energy_j: npt.NDArray[np.float64],
        co2e_g: Mapping[str, npt.NDArray[np.float64]],
    ) -> None:
        """Add accepted events (arrays aligned with ``service`` and ``model``).

        Sums per (service, model) group with numpy (groups found by Arrow's dictionary
        encoding), then one counter increment per group.  A kind whose array holds NaN for an
        event (no signal) adds nothing for that event.
        """
        if len(service) == 0:
            return
        keys = pc.binary_join_element_wise(
            pa.array(service, pa.string())
            if not isinstance(service, pa.Array | pa.ChunkedArray)
            else service,
            pa.array(model, pa.string())
            if not isinstance(model, pa.Array | pa.ChunkedArray)
            else model,
            "\x1f",
        )
        codes = (
            keys.combine_chunks() if isinstance(keys, pa.ChunkedArray) else keys
        ).dictionary_encode()
        uniq = codes.dictionary.to_pylist()
        inv = np.asarray(codes.indices.to_numpy(zero_copy_only=False), dtype=np.intp)
        e = np.bincount(inv, weights=energy_j, minlength=len(uniq))
        n = np.bincount(inv, minlength=len(uniq))
        # a kind without a signal for any event of a group adds no series for that group
        sums = {
            k: (
                np.bincount(inv, weights=np.nan_to_num(v, nan=0.0), minlength=len(uniq)),
                np.bincount(inv, weights=np.isfinite(v), minlength=len(uniq)),
            )
            for k, v in co2e_g.items()
            if k in _KINDS
        }
        for i, key in enumerate(uniq):
            svc, _, mdl = self._capped(key).partition("\x1f")
            self.energy.labels(svc, mdl).inc(float(e[i]))
            self.events.labels(svc, mdl).inc(float(n[i]))
            for kind, (arr, has) in sums.items():
                if has[i] > 0:
                    self.co2e.labels(svc, mdl, kind).inc(float(arr[i]))

    def live(self, read: Callable[[], pa.Table]) -> None:
        """Expose the ``live_`` gauges: ``read`` returns, at each scrape, one row per
        (service, model) with ``events``, ``energy_j`` and ``location_g``/``market_g``/
        ``marginal_g`` (null: no signal), the largest first (at most :data:`MAX_SERIES`)."""
        self.registry.register(_LiveCollector(read))

    def exposition(self) -> bytes:
        """The Prometheus text format."""
        return generate_latest(self.registry)


class _LiveCollector:
    """The ``live_`` gauges, read from the ledger at each scrape."""

    def __init__(self, read: Callable[[], pa.Table]) -> None:
        self._read = read

    def describe(self) -> list[Any]:
        return []  # read at scrape time only (the registry does not call collect to describe)

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily

        t = self._read().slice(0, MAX_SERIES)
        n = GaugeMetricFamily(
            "infercarbon_live_events",
            "Live inference events in the ledger (corrections and superseded footprints left out)",
            labels=["service", "model"],
        )
        e = GaugeMetricFamily(
            "infercarbon_live_energy_joules",
            "IT energy of the live events [J]",
            labels=["service", "model"],
        )
        g = GaugeMetricFamily(
            "infercarbon_live_co2e_grams",
            "Emissions of the live events [gCO2e] by accounting kind",
            labels=["service", "model", "kind"],
        )
        for r in t.to_pylist():
            labels = [str(r["service"]), str(r["model"])]
            n.add_metric(labels, float(r["events"] or 0))
            e.add_metric(labels, float(r["energy_j"] or 0.0))
            for k in _KINDS:
                if r[f"{k}_g"] is not None:
                    g.add_metric([*labels, k], float(r[f"{k}_g"]))
        yield from (n, e, g)
