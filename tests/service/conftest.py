"""Fixtures for the service tests: an in-memory ledger, keys for two tenants and an admin."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest

from infercarbon.grid.signal import IntensitySeries, SignalProvenance
from infercarbon.ledger import open_store
from infercarbon.service.auth import MemoryKeyStore, create_key

NOW = datetime(2026, 7, 2, tzinfo=UTC)


def clock() -> datetime:
    return NOW


def marginal_de() -> IntensitySeries:
    """An hourly marginal signal for Germany on 2026-07-01 (a test fixture, not data)."""
    hours = np.arange(48)
    value = 400.0 + 150.0 * np.sin(hours / 24 * 2 * np.pi)
    return IntensitySeries.from_arrays(
        region="DE",
        kind="marginal",
        basis="direct",
        resolution_s=3600,
        start_utc=np.datetime64("2026-07-01T00", "s") + hours * np.timedelta64(3600, "s"),
        intensity_g_per_kwh=value,
        low_g_per_kwh=value * 0.8,
        high_g_per_kwh=value * 1.2,
        provenance=SignalProvenance(
            source="test fixture", version="1", method="sine", label="illustrative"
        ),
    )


def event(i: int, **over: Any) -> dict[str, Any]:
    h = i % 24
    ev = {
        "event_id": f"e{i}",
        "start_utc": f"2026-07-01T{h:02d}:00:00Z",
        "end_utc": f"2026-07-01T{h:02d}:00:00.500000Z",
        "service": "chat",
        "model": "m1",
        "region": "DE",
        "device": "gpu0",
        "energy_j": 100.0 + i,
        "attribution_method": "measured-counter",
        "outcome": "ok" if i % 3 else "error",
        "batch_id": f"b{i // 4}",
    }
    ev.update(over)
    return ev


@dataclass
class Env:
    app: Any
    client: Any
    store: Any
    keys: MemoryKeyStore
    acme: dict[str, str]
    beta: dict[str, str]
    admin: dict[str, str]


def make_env(**kw: Any) -> Iterator[Env]:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from fastapi.testclient import TestClient

    from infercarbon.service.app import create_app

    store = open_store(":memory:", clock=clock)
    keys = MemoryKeyStore()
    toks = {}
    for name, admin in (("acme", False), ("beta", False), ("ops", True)):
        secret, _ = create_key(keys, tenant=name, admin=admin, clock=lambda: 0.0)
        toks[name] = {"Authorization": f"Bearer {secret}"}
    app = create_app(store, clock=clock, keys=keys, signals=[marginal_de()], **kw)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Env(app, client, store, keys, toks["acme"], toks["beta"], toks["ops"])
    store.close()


@pytest.fixture
def env() -> Iterator[Env]:
    yield from make_env()


@pytest.fixture
def h() -> Any:
    """The helpers above, for test modules (importlib mode cannot import conftest)."""
    from types import SimpleNamespace

    return SimpleNamespace(
        event=event, clock=clock, make_env=make_env, marginal_de=marginal_de, NOW=NOW
    )
