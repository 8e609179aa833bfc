"""What the ledger holds that the programme's artefacts need, read once with set-based SQL
(the rollups) into :class:`LedgerFacts`; the artefacts are pure functions of these facts and
the inventory, so tests build facts by hand.

An inference system seen in the ledger is a ``service`` of the events; a training pipeline
or fine-tuning workflow is a run's ``system`` (else its model's lineage).  An event's energy
counts as *measured* when its attribution method starts with ``measured`` (a device counter
or power polling split over the inferences), else as *modelled*.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa

from infercarbon.errors import DataError
from infercarbon.ledger import Store, rollup_events
from infercarbon.ledger.rollup import event_spans, idle_and_cost, ranged_sums
from infercarbon.ledger.schema import RUNS, STORAGE, TRANSFERS

__all__ = [
    "ESTIMATE_SETTING",
    "LedgerFacts",
    "ServiceFacts",
    "has_measured_idle",
    "model_facts",
    "read_facts",
]

#: The ``ledger_meta`` setting where ``programme estimate --record`` keeps its summary.
ESTIMATE_SETTING = "programme_estimate"
#: The window over which metering counts as continuous [days].
CONTINUOUS_WINDOW_DAYS = 30


@dataclass(frozen=True)
class ServiceFacts:
    """One inference service seen in the events."""

    service: str
    events: int
    measured_events: int
    energy_j: float
    emissions_g: float | None  # location-based, live footprints
    models: tuple[str, ...]
    regions: tuple[str, ...]
    devices: tuple[str, ...]
    first_utc: datetime | None
    last_utc: datetime | None
    #: distinct UTC days with events in the trailing window ending at ``as_of_utc``
    days_in_window: int

    @property
    def measured_frac(self) -> float:
        return self.measured_events / self.events if self.events else 0.0


@dataclass(frozen=True)
class LedgerFacts:
    """The ledger's content the artefacts read (see the module docstring)."""

    as_of_utc: datetime
    runs: pa.Table = field(default_factory=lambda: RUNS.stored_schema.empty_table())
    storage: pa.Table = field(default_factory=lambda: STORAGE.stored_schema.empty_table())
    transfers: pa.Table = field(default_factory=lambda: TRANSFERS.stored_schema.empty_table())
    services: tuple[ServiceFacts, ...] = ()
    #: per model: (events, location-based emissions [g] or None, first, last event start)
    models: Mapping[str, tuple[int, float | None, datetime | None, datetime | None]] = field(
        default_factory=dict
    )
    #: idle energy over active energy of the footprints that record it (None: none does)
    idle_share_of_active_frac: float | None = None
    idle_footprints: int = 0
    idle_measured: bool = False
    devices_with_readings: int = 0
    #: what ``programme estimate --record`` stored (None: no first-cut estimate recorded)
    estimate: Mapping[str, Any] | None = None
    ledger: str = ""

    def service(self, name: str) -> ServiceFacts | None:
        return next((s for s in self.services if s.service == name), None)


def _day(t: datetime) -> datetime:
    return t.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def read_facts(
    store: Store, *, as_of_utc: datetime, tenant: str | None = None, end_utc: datetime | None = None
) -> LedgerFacts:
    """Read :class:`LedgerFacts` from ``store`` (of ``tenant``, else every tenant); with
    ``end_utc``, only the runs and events that started before it (a report's period end)."""
    runs = store.runs(tenant=tenant, end_utc=end_utc)
    storage = store.storage(tenant=tenant)
    transfers = store.transfers(tenant=tenant)
    groups = rollup_events(
        store,
        by=("service", "model", "region", "device", "attribution_method"),
        tenant=tenant,
        end_utc=end_utc,
    )
    window_start = _day(as_of_utc) - timedelta(days=CONTINUOUS_WINDOW_DAYS - 1)
    days = rollup_events(
        store,
        by=("service",),
        period="day",
        tenant=tenant,
        start_utc=window_start,
        end_utc=_day(as_of_utc) + timedelta(days=1),
    )
    by_model_time = event_spans(store, by=("service", "model"), tenant=tenant, end_utc=end_utc)
    # the footprint totals (SQL over the hourly rollup where it answers: not the views)
    fp_service = _location(
        ranged_sums(
            store, of="totals", keys=("basis",), by=("service",), tenant=tenant, end_utc=end_utc
        ),
        "service",
    )
    fp_model = _location(
        ranged_sums(
            store, of="totals", keys=("basis",), by=("model",), tenant=tenant, end_utc=end_utc
        ),
        "model",
    )
    per: dict[str, dict[str, Any]] = {}
    for r in groups.to_pylist():
        s = per.setdefault(
            r["service"],
            {
                "events": 0,
                "measured": 0,
                "energy_j": 0.0,
                "models": set(),
                "regions": set(),
                "devices": set(),
            },
        )
        s["events"] += r["events"]
        s["energy_j"] += r["energy_j"] or 0.0
        if str(r["attribution_method"]).startswith("measured"):
            s["measured"] += r["events"]
        s["models"].add(r["model"])
        s["regions"].add(r["region"])
        s["devices"].add(r["device"])
    day_counts: dict[str, int] = {}
    for r in days.to_pylist():
        day_counts[r["service"]] = day_counts.get(r["service"], 0) + 1
    times: dict[str, tuple[datetime, datetime]] = {}
    model_times: dict[str, tuple[datetime, datetime]] = {}
    model_events: dict[str, int] = {}
    for r in groups.to_pylist():
        model_events[r["model"]] = model_events.get(r["model"], 0) + r["events"]
    for r in by_model_time.to_pylist():
        for key, d in ((r["service"], times), (r["model"], model_times)):
            lo, hi = d.get(key, (r["first_utc"], r["last_utc"]))
            d[key] = (min(lo, r["first_utc"]), max(hi, r["last_utc"]))
    services = tuple(
        ServiceFacts(
            name,
            s["events"],
            s["measured"],
            s["energy_j"],
            fp_service.get(name),
            tuple(sorted(s["models"])),
            tuple(sorted(s["regions"])),
            tuple(sorted(s["devices"])),
            times.get(name, (None, None))[0],
            times.get(name, (None, None))[1],
            day_counts.get(name, 0),
        )
        for name, s in sorted(per.items())
    )
    models = {
        m: (n, fp_model.get(m), *model_times.get(m, (None, None)))
        for m, n in sorted(model_events.items())
    }
    idle = idle_and_cost(store, by=(), tenant=tenant, per_currency=False).to_pylist()
    idle_row = idle[0] if idle else {}
    measured_idle = has_measured_idle(store, tenant)
    n_dev = (
        store.query_arrow(
            "SELECT count(DISTINCT device) FROM readings", [], pa.schema([("n", pa.int64())])
        )
        .column(0)[0]
        .as_py()
    )
    raw = store.setting(ESTIMATE_SETTING)
    estimate = None
    if raw is not None:
        try:
            estimate = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise DataError(f"the stored {ESTIMATE_SETTING} setting is not JSON: {exc}") from exc
    return LedgerFacts(
        as_of_utc=as_of_utc,
        runs=runs,
        storage=storage,
        transfers=transfers,
        services=services,
        models=models,
        idle_share_of_active_frac=idle_row.get("idle_share_of_active_frac"),
        idle_footprints=int(idle_row.get("idle_known") or 0),
        idle_measured=measured_idle,
        devices_with_readings=int(n_dev or 0),
        estimate=estimate,
        ledger=store.url,
    )


def model_facts(
    store: Store, *, tenant: str | None = None, end_utc: datetime | None = None
) -> dict[str, tuple[int, float | None, datetime | None, datetime | None]]:
    """:attr:`LedgerFacts.models` alone (what the training lines need besides the runs), in
    three reads of the rollups instead of :func:`read_facts`' dozen: per model, the events,
    their location-based emissions [g] (None: none has a location figure) and the first and
    last event start (the same figures: counts, minima and maxima per model)."""
    counts = rollup_events(store, by=("model",), tenant=tenant, end_utc=end_utc)
    spans = {
        r["model"]: (r["first_utc"], r["last_utc"])
        for r in event_spans(store, by=("model",), tenant=tenant, end_utc=end_utc).to_pylist()
    }
    fp_model = _location(
        ranged_sums(
            store, of="totals", keys=("basis",), by=("model",), tenant=tenant, end_utc=end_utc
        ),
        "model",
    )
    events: dict[str, int] = {}
    for r in counts.to_pylist():
        events[r["model"]] = events.get(r["model"], 0) + r["events"]
    return {m: (n, fp_model.get(m), *spans.get(m, (None, None))) for m, n in sorted(events.items())}


def has_measured_idle(store: Store, tenant: str | None) -> bool:
    """Whether any footprint (of ``tenant``) carries a measured idle line (device readings
    covered its window); stops at the first one."""
    cond = (
        " AND footprint_id IN (SELECT footprint_id FROM all_footprints WHERE tenant = %s)"
        if tenant is not None
        else ""
    )
    t = store.query_arrow(
        "SELECT EXISTS (SELECT 1 FROM all_footprint_items WHERE name LIKE 'idle%%' "
        f"AND label = 'measured'{cond})",
        [tenant] if tenant is not None else [],
        pa.schema([("x", pa.bool_())]),
    )
    return bool(t.column(0)[0].as_py())


def _location(t: pa.Table, key: str) -> dict[str, float]:
    return {
        r[key]: float(r["value_g"])
        for r in t.to_pylist()
        if r["basis"] == "location" and r["value_g"] is not None
    }
