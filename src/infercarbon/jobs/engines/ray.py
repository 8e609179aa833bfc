"""The Ray engine: each part is one Ray Data task (``map_batches`` over a dataset of part
numbers; the parts' tables travel through Ray's object store, put once).

Ray is imported here only, when the engine is made.  Without a running Ray it starts a local
one with ``num_cpus`` CPUs (no dashboard); with ``address`` it joins a cluster (KubeRay in
production: see ``docs/scale-out.md``).  The shard function and its arguments are pickled to
the workers, which need the same infercarbon installed.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import pyarrow as pa

from infercarbon.errors import ConfigurationError
from infercarbon.jobs.engines import ShardFn

__all__ = ["RayEngine", "make"]


def _run_part(
    batch: pa.Table,
    *,
    fn: ShardFn,
    part_refs: Sequence[Mapping[str, Any]],
    shared_refs: Mapping[str, Any],
    params: Mapping[str, Any],
) -> pa.Table:
    """One Ray Data task: the batch holds part numbers (one, by ``batch_size=1``)."""
    import ray

    shared = {k: ray.get(v) for k, v in shared_refs.items()}
    outs = []
    for i in batch.column("part").to_pylist():
        tables = {k: ray.get(v) for k, v in part_refs[i].items()}
        out = fn(**tables, **shared, **params)
        outs.append(out)
    return pa.concat_tables(outs)


class RayEngine:
    """Runs each part as a Ray Data task."""

    name = "ray"

    def __init__(self, *, num_cpus: int | None = None, address: str | None = None) -> None:
        try:
            import ray
        except ImportError as exc:
            raise ConfigurationError(
                "the ray engine needs Ray: pip install 'infercarbon[lake]'"
            ) from exc
        self._ray = ray
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            if not ray.is_initialized():
                ray.init(
                    address=address,
                    num_cpus=num_cpus,
                    include_dashboard=False,
                    log_to_driver=False,
                    logging_level=logging.ERROR,
                )
            from ray.data import DataContext

            ctx = DataContext.get_current()
        # Ray Data logs a warning when its progress bars are turned off, and an INFO line per
        # dataset: the CLI's output is the job's JSON, so only errors are logged
        logging.getLogger("ray.data").setLevel(logging.ERROR)
        ctx.enable_progress_bars = False
        ctx.print_on_execution_start = False
        resources: Any = ray.cluster_resources  # untyped in Ray
        self._cpus = max(1, int(resources().get("CPU", 1)))

    @property
    def parallelism(self) -> int:
        return self._cpus

    def map_parts(
        self, fn: ShardFn, parts: Sequence[Mapping[str, pa.Table]], shared: Mapping[str, Any]
    ) -> list[pa.Table]:
        ray = self._ray
        import ray.data as ray_data

        tables = {k: ray.put(v) for k, v in shared.items() if isinstance(v, pa.Table)}
        params = {k: v for k, v in shared.items() if not isinstance(v, pa.Table)}
        part_refs = [{k: ray.put(t) for k, t in p.items()} for p in parts]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            ds: Any = ray_data.from_arrow(pa.table({"part": list(range(len(parts)))}))
            task: Any = _run_part
            ds = ds.repartition(max(1, len(parts))).map_batches(
                task,
                batch_size=1,
                batch_format="pyarrow",
                zero_copy_batch=True,
                fn_kwargs={
                    "fn": fn,
                    "part_refs": part_refs,
                    "shared_refs": tables,
                    "params": params,
                },
            )
            refs = ds.to_arrow_refs()
            done = [ray.get(r) for r in refs]
        return [t for t in done if t.num_rows]


def make(*, num_cpus: int | None = None, address: str | None = None) -> RayEngine:
    return RayEngine(num_cpus=num_cpus, address=address)
