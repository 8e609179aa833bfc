"""Engines that run the jobs' pure shard functions: ``local`` (the reference, in this
process) and ``ray`` (Ray tasks; Ray is imported only inside :mod:`.ray`, lazily).

An engine maps a pure function over parts (each a mapping of Arrow tables) with shared
arguments (tables broadcast to every part, and plain parameters), and returns the parts'
results in the parts' order.  A job receives an engine object and never imports one.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import pyarrow as pa

from infercarbon.errors import InputError

__all__ = ["ENGINES", "Engine", "get_engine"]

#: Engine name -> module under ``infercarbon.jobs.engines`` defining ``make(**options)``.
ENGINES: dict[str, str] = {"local": "local", "ray": "ray"}

ShardFn = Callable[..., pa.Table]


class Engine(Protocol):
    """What a job needs from an engine."""

    name: str

    @property
    def parallelism(self) -> int:
        """How many parts the job should cut its input into."""
        ...

    def map_parts(
        self, fn: ShardFn, parts: Sequence[Mapping[str, pa.Table]], shared: Mapping[str, Any]
    ) -> list[pa.Table]:
        """The tables ``fn(**part, **shared)`` of every part, in the parts' order (a part
        with no rows may be left out)."""
        ...


def get_engine(name: str, **options: Any) -> Engine:
    """The engine called ``name`` (``local`` or ``ray``), made with ``options`` (ray:
    ``num_cpus``, ``address``, ``api``)."""
    if name not in ENGINES:
        raise InputError(f"must be one of {', '.join(ENGINES)}, got {name!r}", field="engine")
    mod = importlib.import_module(f"infercarbon.jobs.engines.{ENGINES[name]}")
    engine: Engine = mod.make(**options)
    return engine
