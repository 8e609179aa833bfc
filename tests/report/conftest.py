"""A small DuckDB ledger of events and accounting-engine footprints for the report tests.

Three services, two tenants, three operating models (owned -> Scope 2, cloud -> Scope 3
cat. 1, sold -> Scope 3 cat. 11), market instruments on some footprints and the labelled
location-based fallback on others, one marginal signal, one event without a footprint, and
events just outside the third quarter on both sides.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from infercarbon.accounting import EstimateOptions, build_request
from infercarbon.ledger import DuckDBStore, FootprintRecord
from infercarbon.report.recompute import accounting_record


class FixedClock:
    def __init__(self) -> None:
        self.now = datetime(2026, 10, 2, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@dataclass
class Ledger:
    path: Path
    events: list[dict[str, Any]]
    records: list[FootprintRecord]

    def event(self, event_id: str) -> dict[str, Any]:
        return next(e for e in self.events if e["event_id"] == event_id)


def _events() -> list[tuple[dict[str, Any], dict[str, Any] | None]]:
    """(event, estimate options or None for no footprint)."""
    out: list[tuple[dict[str, Any], dict[str, Any] | None]] = []

    def add(
        eid: str,
        t: datetime,
        service: str,
        tenant: str,
        region: str,
        energy_j: float,
        outcome: str | None,
        opts: dict[str, Any] | None,
    ) -> None:
        ev = {
            "event_id": eid,
            "start_utc": t,
            "end_utc": t + timedelta(seconds=2),
            "service": service,
            "tenant": tenant,
            "model": f"{service}-model",
            "region": region,
            "device": f"{service}-dev",
            "energy_j": energy_j,
            "attribution_method": "measured-interval",
            "outcome": outcome,
            "payload_bytes": 50_000,
        }
        out.append((ev, opts))

    i = 0
    for month in (7, 8, 9):
        for k in range(6):
            t = datetime(2026, month, 3 + k, 10, 0, tzinfo=UTC)
            opts: dict[str, Any] = {
                "region": "DE",
                "tier": "T1",
                "operating_model": "owned",
                "utilisation_frac": "0.5",
                "payload_bytes": 50_000,
            }
            if k % 2 == 0:
                opts["market_intensity_g_per_kwh"] = "20"
            add(
                f"insp-{month}-{k}",
                t,
                "inspection",
                "acme",
                "DE",
                40_000.0 + 1_000 * i,
                "defect" if k % 3 == 0 else "ok",
                opts,
            )
            i += 1
    for month in (7, 9):
        for k in range(4):
            t = datetime(2026, month, 10 + k, 12, 0, tzinfo=UTC)
            opts = {
                "region": "FR",
                "tier": "T3",
                "operating_model": "cloud",
                "utilisation_frac": "0.4",
                "payload_bytes": 50_000,
            }
            if month == 9 and k == 0:
                opts["marginal_intensity_g_per_kwh"] = "450"
            add(f"chat-{month}-{k}", t, "chat", "globex", "FR", 90_000.0 + 5_000 * k, None, opts)
    for k in range(3):
        t = datetime(2026, 8, 20 + k, 8, 0, tzinfo=UTC)
        add(
            f"edge-{k}",
            t,
            "edge-product",
            "acme",
            "FR",
            10_000.0,
            "alert",
            {
                "region": "FR",
                "tier": "T1",
                "operating_model": "sold",
                "utilisation_frac": "0.5",
                "payload_bytes": 50_000,
            },
        )
    # no stored footprint: a coverage gap the report must state
    add("chat-gap", datetime(2026, 9, 20, tzinfo=UTC), "chat", "globex", "FR", 77_000.0, None, None)
    # just outside the third quarter, on both sides
    own = {
        "region": "DE",
        "tier": "T1",
        "operating_model": "owned",
        "utilisation_frac": "0.5",
        "payload_bytes": 50_000,
    }
    add(
        "insp-june",
        datetime(2026, 6, 30, 23, 59, 59, tzinfo=UTC),
        "inspection",
        "acme",
        "DE",
        500_000.0,
        "defect",
        dict(own),
    )
    add(
        "insp-oct",
        datetime(2026, 10, 1, tzinfo=UTC),
        "inspection",
        "acme",
        "DE",
        600_000.0,
        "defect",
        dict(own),
    )
    return out


def build_ledger(path: Path) -> Ledger:
    store = DuckDBStore(path, clock=FixedClock())
    pairs = _events()
    events = [e for e, _ in pairs]
    store.append_events(events)
    records = []
    for n, (ev, opts) in enumerate(pairs):
        if opts is None:
            continue
        req = build_request(
            EstimateOptions(energy_j=str(ev["energy_j"]), samples=200, seed=n, **opts)
        )
        records.append(
            accounting_record(
                req,
                tenant=ev["tenant"],
                event_id=ev["event_id"],
                period_start_utc=ev["start_utc"],
                period_end_utc=ev["end_utc"],
                computed_utc=datetime(2026, 10, 2, tzinfo=UTC),
            )
        )
    store.append_footprints(records)
    store.close()
    return Ledger(path, events, records)


@pytest.fixture(scope="session")
def _ledger_master(tmp_path_factory: pytest.TempPathFactory) -> Ledger:
    return build_ledger(tmp_path_factory.mktemp("ledger") / "master.duckdb")


@pytest.fixture
def ledger(_ledger_master: Ledger, tmp_path: Path) -> Ledger:
    """A private copy of the test ledger (tests may tamper with it)."""
    path = tmp_path / "ledger.duckdb"
    shutil.copy(_ledger_master.path, path)
    return Ledger(path, _ledger_master.events, _ledger_master.records)


# --------------------------------------------------------------- the service (ingest) path
#: A deployment profile with every figure the full footprint uses, and a price.
POOL_PROFILE: dict[str, Any] = {
    "name": "pool",
    "devices": ["gpu-*"],
    "operating_model": "owned",
    "idle_policy": "30-70",
    "currency": "EUR",
    "idle_power_w": {"value": 60, "low": 50, "high": 75, "source": "test: idle power"},
    "utilisation_frac": {"value": 0.4, "low": 0.25, "high": 0.6, "source": "test: util"},
    "embodied_kg": {"value": 1500, "low": 750, "high": 3000, "source": "test: vendor LCA"},
    "lifetime_years": {"value": 5, "low": 4, "high": 6, "source": "test: refresh policy"},
    "pue": {"value": 1.2, "low": 1.1, "high": 1.35, "source": "test: site metering"},
    "td_loss_frac": {"value": 0.05, "low": 0.04, "high": 0.07, "source": "test: grid"},
    "network_kwh_per_gb": {"value": 0.06, "low": 0.03, "high": 0.12, "source": "test: net"},
    "price_per_kwh": {"value": 0.21, "source": "supply contract 2026"},
}
#: A CPU profile with idle figures and no price.
CPU_PROFILE: dict[str, Any] = {
    "name": "cpu-box",
    "devices": ["cpu-*"],
    "operating_model": "owned",
    "idle_policy": "tenancy",
    "idle_power_w": {"value": 20, "low": 15, "high": 30, "source": "test: cpu idle"},
    "utilisation_frac": {"value": 0.5, "low": 0.4, "high": 0.6, "source": "test: cpu util"},
    "embodied_kg": {"value": 300, "low": 150, "high": 600, "source": "test: cpu LCA"},
    "lifetime_years": {"value": 4, "low": 3, "high": 5, "source": "test: cpu refresh"},
}


def location_series(region: str = "DE", value: float = 300.0, rel: float = 0.1) -> Any:
    """A flat hourly location signal over July-September 2026 with a +-rel band (a test
    fixture, not data)."""
    import numpy as np

    from infercarbon.grid.signal import IntensitySeries, SignalProvenance

    hours = np.arange(24 * 92)
    v = np.full(len(hours), value)
    return IntensitySeries.from_arrays(
        region=region,
        kind="location-average",
        basis="direct",
        resolution_s=3600,
        start_utc=np.datetime64("2026-07-01T00", "s") + hours * np.timedelta64(3600, "s"),
        intensity_g_per_kwh=v,
        low_g_per_kwh=v * (1 - rel),
        high_g_per_kwh=v * (1 + rel),
        provenance=SignalProvenance(
            source="test location signal", version="1", method="flat", label="cited"
        ),
    )


def write_service_path(
    store: Any,
    rows: list[dict[str, Any]],
    profiles: list[dict[str, Any]] | None = None,
    signals: Any = None,
    *,
    bundled: bool = False,
) -> Any:
    """Write ``rows`` (event dicts) and their full footprints as ingest does (compact layout):
    validate, compute_footprints, footprint_batch, append_events_with_footprints.  Returns
    the per-event records footprint_records builds (the same figures) for hand sums.
    ``signals``: the intensity series (default: a flat DE location signal, +-10 %);
    ``bundled``: whether the bundled grid data may be used too."""
    from infercarbon.accounting.batch import (
        AccountingConfig,
        compute_footprints,
        footprint_batch,
        footprint_records,
    )
    from infercarbon.accounting.profiles import profiles_from_data
    from infercarbon.accounting.signals import SignalBook
    from infercarbon.ledger.schema import EVENTS
    from infercarbon.ledger.validation import validate_rows

    cfg = AccountingConfig(
        profiles=profiles_from_data(
            {"profile": profiles if profiles is not None else [POOL_PROFILE, CPU_PROFILE]}
        )
    )
    table = validate_rows(EVENTS, rows)
    book = SignalBook(
        list(signals) if signals is not None else [location_series()], bundled=bundled
    )
    fps = compute_footprints(table, cfg, book)
    now = datetime(2026, 10, 2, tzinfo=UTC)
    store.append_events_with_footprints(table, footprint_batch(table, fps, cfg, computed_utc=now))
    return footprint_records(table, fps, cfg, computed_utc=now)


def service_event(i: int, **over: Any) -> dict[str, Any]:
    t = datetime(2026, 8, 1, tzinfo=UTC) + timedelta(minutes=i)
    ev: dict[str, Any] = {
        "event_id": f"s{i}",
        "start_utc": t,
        "end_utc": t + timedelta(seconds=2),
        "service": "chat" if i % 2 else "vision",
        "tenant": "acme",
        "model": "m1",
        "region": "DE",
        "device": "gpu-0" if i % 3 else "gpu-1",
        "energy_j": 500.0 + 10 * i,
        "attribution_method": "nvml:measured-counter",
        "outcome": "ok",
        "payload_bytes": 20_000,
    }
    ev.update(over)
    return ev
