"""``audit verify --run``: re-run a recorded job pinned to its inputs and compare.

The run's row in the lake's ``runs`` table holds the job, its parameters and its inputs'
lineage (Iceberg snapshot ids, or Parquet files with their SHA-256).  :func:`verify_run`
reads the same inputs (time travel to the snapshots; a Parquet input whose bytes changed is
refused), runs the job again with any engine, and compares the result with the rows the run
wrote (its output snapshot, filtered to its run id): energies within ``tol_j`` [J] per
row, grams within ``rel_tol`` relative, and no row missing or extra.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from infercarbon.accounting.profiles import ProfileSet, profiles_from_data
from infercarbon.attribution.idle import as_idle_policy
from infercarbon.errors import InputError, LedgerError
from infercarbon.jobs.account import run_account
from infercarbon.jobs.attribute import run_attribute
from infercarbon.jobs.engines import Engine
from infercarbon.jobs.io import reread
from infercarbon.jobs.rollup import SUMMED, run_rollup
from infercarbon.ledger.lake import Lake

__all__ = ["profiles_data", "select_run", "verify_run"]

_OUT_TABLE: Final = {"attribute": "attributions", "account": "footprints", "rollup": "rollups"}


def profiles_data(profiles: ProfileSet) -> dict[str, Any]:
    """A profile set as the data :func:`profiles_from_data` reads back (for a run's
    parameters)."""

    def one(p: Any, name: str | None = None) -> dict[str, Any]:
        d = {k: v for k, v in p.to_dict().items() if v is not None and not k.startswith("tariff")}
        if name is not None:
            d["name"] = name
        return d

    rows = [one(p) for p in profiles.profiles]
    if profiles.default is not None:
        rows.append(one(profiles.default, "default"))
    return {"profile": rows}


def select_run(attributions: pa.Table, run_id: str | None) -> pa.Table:
    """The rows of ``attributions`` one attribute run wrote (all rows when None)."""
    if run_id is None:
        return attributions
    out = attributions.filter(pc.equal(attributions.column("run_id"), run_id))
    if out.num_rows == 0:
        raise InputError(f"no attributions row carries run id {run_id!r}", field="attributions_run")
    return out


def _key(t: pa.Table, cols: tuple[str, ...]) -> pa.Array:
    parts = [pc.fill_null(t.column(c).cast(pa.string()), "") for c in cols]
    return pc.binary_join_element_wise(*parts, "\x1f").combine_chunks()


def _compare(
    stored: pa.Table,
    fresh: pa.Table,
    key: tuple[str, ...],
    abs_cols: tuple[str, ...],
    rel_cols: tuple[str, ...],
    tol_j: float,
    rel_tol: float,
) -> dict[str, Any]:
    ks, kf = _key(stored, key), _key(fresh, key)
    missing = pc.invert(pc.is_in(kf, value_set=ks))
    extra = pc.invert(pc.is_in(ks, value_set=kf))
    pos = pc.index_in(kf, value_set=ks)
    both = pc.is_valid(pos)
    f = fresh.filter(both)
    s = stored.take(pos.filter(both))
    worst_abs = 0.0
    worst_rel = 0.0
    bad = 0
    for c in (*abs_cols, *rel_cols):
        a = np.asarray(
            pc.fill_null(s.column(c), np.nan).to_numpy(zero_copy_only=False), dtype=np.float64
        )
        b = np.asarray(
            pc.fill_null(f.column(c), np.nan).to_numpy(zero_copy_only=False), dtype=np.float64
        )
        same_null = np.isnan(a) & np.isnan(b)
        d = np.where(same_null, 0.0, np.abs(a - b))
        d = np.where(np.isnan(d), np.inf, d)
        if c in abs_cols:
            worst_abs = max(worst_abs, float(d.max(initial=0.0)))
            bad += int((d > tol_j).sum())
        else:
            r = d / np.maximum(np.abs(np.where(np.isnan(a), 0.0, a)), 1e-300)
            r = np.where(d == 0, 0.0, r)
            worst_rel = max(worst_rel, float(r.max(initial=0.0)))
            bad += int((r > rel_tol).sum())
    n_missing = int(pc.sum(missing).as_py() or 0)
    n_extra = int(pc.sum(extra).as_py() or 0)
    return {
        "checked": f.num_rows,
        "max_abs_diff_j": worst_abs,
        "max_rel_diff": worst_rel,
        "mismatched_values": bad,
        "missing_rows": n_missing,
        "extra_rows": n_extra,
        "ok": bad == 0 and n_missing == 0 and n_extra == 0,
    }


def verify_run(
    lake: Lake, run_id: str, *, engine: Engine, tol_j: float = 1e-9, rel_tol: float = 1e-9
) -> dict[str, Any]:
    """Re-run ``run_id`` from its recorded inputs with ``engine``; compare with its output."""
    run = lake.run(run_id)
    job = str(run["job"])
    if job not in _OUT_TABLE:
        raise LedgerError(
            f"run {run_id} is a {job!r} job; verify re-runs attribute, account and rollup runs"
        )
    params: Mapping[str, Any] = run["params"]
    inputs: Mapping[str, Any] = run["inputs"]
    table = _OUT_TABLE[job]
    if run["output_table"] != table or run["output_snapshot_id"] is None:
        raise LedgerError(
            f"run {run_id} wrote no {table} snapshot to the lake (a Parquet "
            "output); verify compares with lake outputs only"
        )
    stored = lake.read(table, snapshot_id=int(run["output_snapshot_id"]), equals={"run_id": run_id})
    data = {name: reread(lin, name, lake) for name, lin in inputs.items()}
    if job == "attribute":
        fresh = run_attribute(
            data["events"],
            data["readings"],
            engine=engine,
            window_s=float(params["window_s"]),
            idle_policy=as_idle_policy(params["idle_policy"]),
            split=str(params["split"]),
        )
        res = _compare(
            stored,
            fresh,
            ("row_kind", "event_id", "device", "start_utc"),
            ("energy_j", "active_j", "idle_j"),
            (),
            tol_j,
            rel_tol,
        )
    elif job == "account":
        rows, _ = run_account(
            select_run(data["attributions"], params.get("attributions_run")),
            data["intensity"],
            engine=engine,
            profiles=profiles_from_data(params["profiles"]),
            default_region=params.get("region"),
        )
        res = _compare(
            stored,
            rows,
            ("event_id", "context_id"),
            ("energy_j", "idle_j"),
            tuple(c for c in SUMMED if c.startswith("total_")),
            tol_j,
            rel_tol,
        )
    else:
        fresh = run_rollup(data["footprints"], engine=engine)
        res = _compare(
            stored,
            fresh,
            ("day_utc", "region", "tenant"),
            ("energy_j", "idle_j"),
            tuple(c for c in SUMMED if c.startswith("total_")),
            tol_j,
            rel_tol,
        )
    return {
        "run_id": run_id,
        "job": job,
        "engine": engine.name,
        "code_version_recorded": run["code_version"],
        "tol_j": tol_j,
        "rel_tol": rel_tol,
        **res,
    }
