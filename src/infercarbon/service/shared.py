"""Whole-ledger reads shared by the requests that ask the same question of the same ledger
state (the dashboard's panels ask some at once: the programme panel's drivers and runs both
read :func:`~infercarbon.programme.read_facts`).

A result is kept under its question and the ledger's data version
(:meth:`~infercarbon.ledger.base.SqlStore.data_version`, taken before the reads): a request
whose version is the same gets it (waiting for it while it is being read), any other reads
afresh.  A store without a data version never shares.  A read that fails is not kept: the
requests waiting on it get its error, the next one reads again.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from typing import Any, TypeVar

__all__ = ["SharedReads"]

T = TypeVar("T")


class SharedReads:
    """Results by (question, data version), at most ``max_entries`` questions."""

    def __init__(self, max_entries: int = 64) -> None:
        self._lock = threading.Lock()
        self._entries: OrderedDict[Hashable, tuple[str, Future[Any]]] = OrderedDict()
        self._max = max_entries
        #: results read, and results shared (for tests and metrics)
        self.reads = 0
        self.shared = 0

    def get(self, key: Hashable, version: str | None, read: Callable[[], T]) -> T:
        """The result of ``read()`` for ``key`` at ``version``: shared with every request
        that asks ``key`` at the same version (None: read, never shared)."""
        if version is None:
            return read()
        with self._lock:
            hit = self._entries.get(key)
            if hit is not None and hit[0] == version:
                self.shared += 1
                fut: Future[Any] = hit[1]
                mine = False
            else:
                fut = Future()
                self._entries[key] = (version, fut)
                self._entries.move_to_end(key)
                while len(self._entries) > self._max:
                    self._entries.popitem(last=False)
                self.reads += 1
                mine = True
        if mine:
            try:
                fut.set_result(read())
            except Exception as exc:
                fut.set_exception(exc)  # the waiting requests get it too
                raise
            finally:
                if not fut.done():  # interrupted: the waiting requests must not hang
                    fut.set_exception(RuntimeError("the shared ledger read was interrupted"))
                if fut.exception() is not None:
                    with self._lock:
                        if self._entries.get(key, (None, None))[1] is fut:
                            del self._entries[key]
        result: T = fut.result()
        return result
