"""The Ray engine: each part is one Ray task; the parts' tables travel through Ray's object
store (put once, read zero-copy by the worker: Arrow buffers pickle out of band).

Two ways to launch the parts (``api``):

- ``tasks`` (the default): one ``ray.remote`` task per part, the part's tables passed as
  object references and the results fetched in the parts' order;
- ``data``: a Ray Data dataset of part numbers, one ``map_batches`` task per part (the
  engine's first form).  Ray Data plans and streams a dataset for every call, which cost
  0.4-0.5 s per job with 2 workers on a 2-CPU machine (none measured with 1) for no gain
  here: the parts are already cut by the job (one part per group of whole devices), so
  there is no shuffle for Ray Data to do (see ``docs/scale-out.md``, *What was tried*).

Ray is imported here only, when the engine is made.  Without a running Ray it starts a local
one with ``num_cpus`` CPUs (no dashboard); with ``address`` it joins a cluster (KubeRay in
production: see ``docs/scale-out.md``).  The shard function and its arguments are pickled to
the workers, which need the same infercarbon installed.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping, Sequence
from typing import Any, Final

import pyarrow as pa

from infercarbon.errors import ConfigurationError, InputError
from infercarbon.jobs.engines import ShardFn

__all__ = ["APIS", "RayEngine", "make"]

#: How the parts are launched: ``ray.remote`` tasks, or a Ray Data ``map_batches``.
APIS: Final = ("tasks", "data")


def _task(fn: ShardFn, names: Sequence[str], params: Mapping[str, Any], *tables: Any) -> pa.Table:
    """One part as a Ray task: Ray resolves the object references in ``tables`` (zero-copy
    Arrow tables) before the call."""
    return fn(**dict(zip(names, tables, strict=True)), **params)


def _run_part(
    batch: pa.Table,
    *,
    fn: ShardFn,
    part_refs: Sequence[Mapping[str, Any]],
    shared_refs: Mapping[str, Any],
    params: Mapping[str, Any],
) -> pa.Table:
    """One Ray Data task (``api='data'``): the batch holds part numbers (one, by
    ``batch_size=1``)."""
    import ray

    shared = {k: ray.get(v) for k, v in shared_refs.items()}
    outs = []
    for i in batch.column("id").to_pylist():
        tables = {k: ray.get(v) for k, v in part_refs[i].items()}
        outs.append(fn(**tables, **shared, **params))
    return pa.concat_tables(outs)


class RayEngine:
    """Runs each part as a Ray task (``api='tasks'``) or a Ray Data task (``'data'``)."""

    name = "ray"

    def __init__(
        self, *, num_cpus: int | None = None, address: str | None = None, api: str = "tasks"
    ) -> None:
        if api not in APIS:
            raise InputError(f"must be one of {', '.join(APIS)}, got {api!r}", field="api")
        try:
            import ray
        except ImportError as exc:
            raise ConfigurationError(
                "the ray engine needs Ray: pip install 'infercarbon[lake]'"
            ) from exc
        self._ray = ray
        self.api = api
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
        remote: Any = ray.remote  # untyped in Ray
        self._remote_task = remote(num_cpus=1)(_task)

    @property
    def parallelism(self) -> int:
        return self._cpus

    def map_parts(
        self, fn: ShardFn, parts: Sequence[Mapping[str, pa.Table]], shared: Mapping[str, Any]
    ) -> list[pa.Table]:
        ray = self._ray
        tables = {k: ray.put(v) for k, v in shared.items() if isinstance(v, pa.Table)}
        params = {k: v for k, v in shared.items() if not isinstance(v, pa.Table)}
        if self.api == "tasks":
            refs = [
                self._remote_task.remote(
                    fn, [*p, *tables], params, *(ray.put(t) for t in p.values()), *tables.values()
                )
                for p in parts
            ]
            return list(ray.get(refs))
        return self._map_data(fn, parts, tables, params)

    def _map_data(
        self,
        fn: ShardFn,
        parts: Sequence[Mapping[str, pa.Table]],
        tables: Mapping[str, Any],
        params: Mapping[str, Any],
    ) -> list[pa.Table]:
        ray = self._ray
        import ray.data as ray_data
        from ray.data import DataContext

        part_refs = [{k: ray.put(t) for k, t in p.items()} for p in parts]
        ctx = DataContext.get_current()
        keep_order = ctx.execution_options.preserve_order
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            # the results in the parts' order (the engine's contract); restored after
            ctx.execution_options.preserve_order = True
            # one block per part: no repartition (a materialisation) before the map
            ds: Any = ray_data.range(len(parts), override_num_blocks=max(1, len(parts)))
            task: Any = _run_part
            ds = ds.map_batches(
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
            try:
                refs = ds.to_arrow_refs()
            finally:
                ctx.execution_options.preserve_order = keep_order
            done = [ray.get(r) for r in refs]
        return [t for t in done if t.num_rows]


def make(
    *, num_cpus: int | None = None, address: str | None = None, api: str = "tasks"
) -> RayEngine:
    return RayEngine(num_cpus=num_cpus, address=address, api=api)
