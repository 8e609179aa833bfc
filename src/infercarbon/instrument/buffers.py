"""Preallocated, lock-free event buffers for the Meter's hot path.

One record per inference (or per batch) lives in a ring of ``capacity`` slots (a power of two)
made of numpy arrays written through ``memoryview`` (a typed store, far cheaper than numpy's
``__setitem__``).  A writer reserves a slot with ``next(itertools.count())``, which is atomic, so
the hot path takes no lock and allocates nothing that outlives the call.

Each slot carries the ticket of the record it holds, stored last, when the record is complete
(``commit``).  Readers need no lock with writers: :meth:`EventBuffer.snapshot` copies the
ticket array before and after copying the fields, then takes a ticket itself (``issued``).  A
writer that could have touched a slot during the copy holds a ticket below ``issued`` and above
the slot's stored ticket by a multiple of ``capacity``; so a slot is read only when its ticket
is unchanged by the copy and ``>= issued - capacity`` (its next reuse has not been handed out).
A record still being written, or overwritten by the ring, is therefore never read torn; the
snapshot counts ring overwrites as ``dropped`` and uncommitted records as ``in_flight``.

Strings (model, tenant, service, outcome) are interned once to small integers; the label
tables grow only with the number of distinct label sets, not with calls.

>>> buf = EventBuffer(4)
>>> slot, ticket = buf.reserve()
>>> buf.t_start[slot] = 10; buf.t_end[slot] = 20; buf.key[slot] = buf.intern_labels("m", "t", "s")
>>> buf.commit(slot, ticket)
>>> snap = buf.snapshot()
>>> snap.seq.tolist(), snap.t_end_ns.tolist(), snap.dropped
([0], [20], 0)
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from infercarbon.errors import InputError

__all__ = ["EXTRAS_BIT", "EventBuffer", "Snapshot"]

#: Set in a record's key when its tokens/payload/outcome/items fields were written.
EXTRAS_BIT: Final = 1 << 30

I64 = npt.NDArray[np.int64]
I32 = npt.NDArray[np.int32]


def _view(a: npt.NDArray[np.int64] | npt.NDArray[np.int32]) -> memoryview:
    """A typed memoryview: item stores are a C assignment, not numpy's ``__setitem__``."""
    return memoryview(a)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Snapshot:
    """Committed records, oldest first, as numpy arrays (copies)."""

    seq: I64
    t_start_ns: I64
    t_end_ns: I64
    label_id: I32
    tokens_in: I64
    tokens_out: I64
    payload_bytes: I64
    outcome_id: I32
    items: I64
    #: records overwritten by the ring (or lost to a torn read) before this snapshot
    dropped: int
    #: records reserved but not yet committed (inferences still running)
    in_flight: int
    labels: tuple[tuple[str | None, str | None, str | None], ...]
    outcomes: tuple[str | None, ...]
    #: W3C trace context per record, when the buffer keeps it (:attr:`EventBuffer.traced`):
    #: the trace id's high and low 64 bits and the calling span's id (0: none); else None
    trace: tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64], npt.NDArray[np.uint64]] | None = (
        None
    )


class EventBuffer:
    """A ring of preallocated per-inference records; see the module docstring."""

    def __init__(self, capacity: int, *, traced: bool = False) -> None:
        if capacity < 2 or capacity & (capacity - 1):
            raise InputError(f"must be a power of two >= 2, got {capacity!r}", field="capacity")
        self.capacity = capacity
        self.mask = capacity - 1
        self._seq = np.full(capacity, -1, dtype=np.int64)  # -1: never committed
        self._t0 = np.zeros(capacity, dtype=np.int64)
        self._t1 = np.zeros(capacity, dtype=np.int64)
        self._key = np.zeros(capacity, dtype=np.int32)
        self._tin = np.zeros(capacity, dtype=np.int64)
        self._tout = np.zeros(capacity, dtype=np.int64)
        self._payload = np.zeros(capacity, dtype=np.int64)
        self._outcome = np.zeros(capacity, dtype=np.int32)
        self._items = np.ones(capacity, dtype=np.int64)
        # typed stores for the hot path
        self.seq = _view(self._seq)
        self.t_start = _view(self._t0)
        self.t_end = _view(self._t1)
        self.key = _view(self._key)
        self.tokens_in = _view(self._tin)
        self.tokens_out = _view(self._tout)
        self.payload = _view(self._payload)
        self.outcome = _view(self._outcome)
        self.items = _view(self._items)
        # the W3C trace context of each record (only when asked: three more stores a call)
        self.traced = traced
        self._trace: tuple[npt.NDArray[np.uint64], ...] = tuple(
            np.zeros(capacity if traced else 0, dtype=np.uint64) for _ in range(3)
        )
        self.trace_hi, self.trace_lo, self.span_id = (memoryview(a) for a in self._trace)  # type: ignore[arg-type]
        self._tickets = itertools.count()
        self.next_ticket = self._tickets.__next__
        # interning (slow path only: a new label set); readers copy under the lock
        self._intern_lock = threading.Lock()
        self.label_ids: dict[tuple[str | None, str | None, str | None], int] = {}
        self._labels: list[tuple[str | None, str | None, str | None]] = []
        self.outcome_ids: dict[str | None, int] = {None: 0}
        self._outcomes: list[str | None] = [None]
        self._read_lock = threading.Lock()
        self._reader_tickets: list[int] = []  # recent tickets taken by snapshots
        self._n_readers = 0  # tickets ever taken by snapshots (never committed)

    # ------------------------------------------------------------------ writing
    def reserve(self) -> tuple[int, int]:
        """A slot and its ticket; the record becomes readable at :meth:`commit`."""
        ticket = self.next_ticket()
        return ticket & self.mask, ticket

    def commit(self, slot: int, ticket: int) -> None:
        self.seq[slot] = ticket

    def intern_labels(self, model: str | None, tenant: str | None, service: str | None) -> int:
        """Small integer for a (model, tenant, service) label set (stable for the buffer)."""
        key = (model, tenant, service)
        got = self.label_ids.get(key)
        if got is not None:
            return got
        for name, v in zip(("model", "tenant", "service"), key, strict=True):
            if v is not None and not isinstance(v, str):
                raise InputError(f"must be a string, got {type(v).__name__}", field=name)
        with self._intern_lock:
            got = self.label_ids.get(key)
            if got is None:
                got = len(self._labels)
                if got >= EXTRAS_BIT:
                    raise InputError("too many distinct label sets", field="model")
                self._labels.append(key)
                self.label_ids[key] = got
        return got

    def intern_outcome(self, outcome: str | None) -> int:
        if outcome is not None and not isinstance(outcome, str):  # before hashing: [1] is not
            raise InputError(f"must be a string, got {type(outcome).__name__}", field="outcome")
        got = self.outcome_ids.get(outcome)
        if got is not None:
            return got
        with self._intern_lock:
            got = self.outcome_ids.get(outcome)
            if got is None:
                got = len(self._outcomes)
                self._outcomes.append(outcome)
                self.outcome_ids[outcome] = got
        return got

    # ------------------------------------------------------------------ reading
    def snapshot(self) -> Snapshot:
        """Committed records, oldest first (not the hot path: copies and sorts)."""
        with self._read_lock:
            before = self._seq.copy()
            fields = [
                a.copy()
                for a in (
                    self._t0,
                    self._t1,
                    self._key,
                    self._tin,
                    self._tout,
                    self._payload,
                    self._outcome,
                    self._items,
                )
            ]
            trace = [a.copy() for a in self._trace]
            after = self._seq.copy()
            # a ticket past every reservation so far; it is never committed
            issued = self.next_ticket()
            with self._intern_lock:
                labels = tuple(self._labels)
                outcomes = tuple(self._outcomes)
            lo = max(0, issued - self.capacity)
            prior = self._reader_tickets
            readers_below = self._n_readers - sum(1 for t in prior if t >= lo)
            readers_in_window = sum(1 for t in prior if t >= lo)
            self._reader_tickets = [*(t for t in prior if t >= lo), issued]
            self._n_readers += 1
        ok = (before == after) & (before >= lo)
        idx = np.flatnonzero(ok)
        order = idx[np.argsort(before[idx], kind="stable")]
        t0, t1, key, tin, tout, payload, outcome, items = (
            np.asarray(f[order], dtype=np.int64) for f in fields
        )
        extras = (key & EXTRAS_BIT) != 0
        key = key & ~EXTRAS_BIT
        zero = np.zeros(1, np.int64)
        tin = np.where(extras, tin, zero)
        tout = np.where(extras, tout, zero)
        payload = np.where(extras, payload, zero)
        outcome = np.where(extras, outcome, zero)
        items = np.where(extras, items, zero + 1)
        committed = int(order.size)
        # tickets lo .. issued-1 belong to the window; those not committed are in flight
        # (or were taken by readers)
        in_flight = (issued - lo) - committed - readers_in_window
        dropped = lo - readers_below
        return Snapshot(
            seq=before[order],
            t_start_ns=t0,
            t_end_ns=t1,
            label_id=key.astype(np.int32),
            tokens_in=tin,
            tokens_out=tout,
            payload_bytes=payload,
            outcome_id=outcome.astype(np.int32),
            items=items,
            dropped=dropped,
            in_flight=in_flight,
            labels=labels,
            outcomes=outcomes,
            trace=(trace[0][order], trace[1][order], trace[2][order]) if self.traced else None,
        )

    @property
    def nbytes(self) -> int:
        """Memory held by the preallocated arrays [bytes]."""
        fixed: list[npt.NDArray[Any]] = [
            self._seq,
            self._t0,
            self._t1,
            self._key,
            self._tin,
            self._tout,
            self._payload,
            self._outcome,
            self._items,
        ]
        return int(sum(a.nbytes for a in (*fixed, *self._trace)))
