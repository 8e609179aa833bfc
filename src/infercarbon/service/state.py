"""The state of one service instance: what every request handler needs.

Held apart from the app factory (:mod:`infercarbon.service.app`) and the routes
(:mod:`infercarbon.service.routes`) so that neither imports the other for it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from infercarbon.accounting.batch import AccountingConfig
from infercarbon.accounting.signals import SignalBook
from infercarbon.ledger.base import Store
from infercarbon.ledger.spool import SpoolWriter
from infercarbon.service.auth import KeyStore
from infercarbon.service.metrics import Metrics
from infercarbon.service.shared import SharedReads
from infercarbon.timeutil import WallClockUtc

__all__ = ["ServiceState"]


@dataclass
class ServiceState:
    """Everything a request handler needs; one per app."""

    store: Store
    keys: KeyStore
    clock: WallClockUtc
    config: AccountingConfig
    book: SignalBook
    metrics: Metrics
    price_per_kwh: float | None
    metrics_public: bool
    max_batch: int
    ingest_lock: threading.Lock = field(default_factory=threading.Lock)  # start-up backfill
    #: the lake's ingest spool (``serve --spool DIR``): every accepted batch is also written
    #: there, durably, before the request is acknowledged
    spool: SpoolWriter | None = None
    backfilled: int = 0
    last_reprice: dict[str, Any] | None = None
    #: lifecycle factor set of the bundled hourly series (``serve --factors``)
    factor_set: str = "infercarbon"
    #: whole-ledger reads shared by requests that ask them of the same ledger state
    shared: SharedReads = field(default_factory=SharedReads)
