"""The local engine: the jobs' reference, every part in this process, one after another."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pyarrow as pa

from infercarbon.jobs.engines import ShardFn

__all__ = ["LocalEngine", "make"]


class LocalEngine:
    """Runs each part in turn in this process (one part: no cutting at all)."""

    name = "local"

    def __init__(self, parts: int = 1) -> None:
        self._parts = max(1, int(parts))

    @property
    def parallelism(self) -> int:
        return self._parts

    def map_parts(
        self, fn: ShardFn, parts: Sequence[Mapping[str, pa.Table]], shared: Mapping[str, Any]
    ) -> list[pa.Table]:
        return [fn(**part, **shared) for part in parts]


def make(*, parts: int = 1) -> LocalEngine:
    return LocalEngine(parts)
