"""Data and infrastructure: the energy of stored data and of data moved, from the ledger's
``storage`` and ``transfers`` tables and the sourced factors of
:mod:`infercarbon.programme.factors`, and data movement as a share of compute energy (hidden
driver 2).

- storage [kWh] = GB-months / 1000 / 12 x kWh per TB-year of the storage class;
- transfer [kWh] = GB x kWh per GB of the network type;
- compute [J] = the ledger's inference energy + its runs' energy;
- data movement share = (transfers + data-pipeline runs) / compute (the seed, citing the
  Green Software Foundation, puts data movement at 5-15 % of compute energy).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from infercarbon.programme.factors import network_factor, storage_factor
from infercarbon.units import J_PER_KWH

__all__ = ["SEED_DATA_MOVEMENT_RANGE", "data_movement", "storage_energy", "transfer_energy"]

#: The seed's quoted range for data movement energy / compute energy.
SEED_DATA_MOVEMENT_RANGE = (0.05, 0.15)


def _factor_arrays(keys: list[str], lookup: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each key's factor (value, low, high): one lookup per distinct key."""
    if not keys:
        return np.zeros(0), np.zeros(0), np.zeros(0)
    uniq, inverse = np.unique(np.asarray(keys, dtype=str), return_inverse=True)
    figs = [lookup(str(k)) for k in uniq]
    return (
        np.asarray([f.value for f in figs])[inverse],
        np.asarray([f.range[0] for f in figs])[inverse],
        np.asarray([f.range[1] for f in figs])[inverse],
    )


def storage_energy(storage: pa.Table) -> dict[str, Any]:
    """Energy of the storage records [J], central/low/high, and by storage class."""
    classes = storage.column("storage_class").to_pylist()
    v, lo, hi = _factor_arrays(classes, storage_factor)
    tb_years = (
        np.asarray(
            storage.column("gb_months").to_numpy(zero_copy_only=False) if storage.num_rows else [],
            dtype=float,
        )
        / 1000.0
        / 12.0
    )
    by = {
        c: float((tb_years * v * J_PER_KWH)[np.asarray(classes) == c].sum())
        for c in sorted(set(classes))
    }
    return {
        "energy_j": float((tb_years * v).sum() * J_PER_KWH),
        "low_j": float((tb_years * lo).sum() * J_PER_KWH),
        "high_j": float((tb_years * hi).sum() * J_PER_KWH),
        "records": storage.num_rows,
        "by_class_j": by,
    }


def transfer_energy(transfers: pa.Table) -> dict[str, Any]:
    """Energy of the transfer records [J], central/low/high, and by network type."""
    types = transfers.column("network_type").to_pylist()
    v, lo, hi = _factor_arrays(types, network_factor)
    gb = np.asarray(
        transfers.column("gb").to_numpy(zero_copy_only=False) if transfers.num_rows else [],
        dtype=float,
    )
    by = {c: float((gb * v * J_PER_KWH)[np.asarray(types) == c].sum()) for c in sorted(set(types))}
    return {
        "energy_j": float((gb * v).sum() * J_PER_KWH),
        "low_j": float((gb * lo).sum() * J_PER_KWH),
        "high_j": float((gb * hi).sum() * J_PER_KWH),
        "records": transfers.num_rows,
        "by_type_j": by,
    }


def data_movement(transfers: pa.Table, runs: pa.Table, inference_energy_j: float) -> dict[str, Any]:
    """Data movement energy against compute energy (hidden driver 2)."""
    t = transfer_energy(transfers)
    kinds = runs.column("kind")
    pipe = runs.filter(pc.equal(kinds, "data-pipeline"))
    compute = runs.filter(pc.not_equal(kinds, "data-pipeline"))
    pipe_j = float(pc.sum(pipe.column("energy_j")).as_py() or 0.0)
    compute_j = float(pc.sum(compute.column("energy_j")).as_py() or 0.0) + inference_energy_j
    moved = t["energy_j"] + pipe_j
    share = moved / compute_j if compute_j > 0 and (t["records"] or pipe.num_rows) else None
    lo = ((t["low_j"] + pipe_j) / compute_j) if share is not None else None
    hi = ((t["high_j"] + pipe_j) / compute_j) if share is not None else None
    return {
        "transfer_j": t["energy_j"],
        "data_pipeline_j": pipe_j,
        "compute_j": compute_j,
        "share_frac": share,
        "low_frac": lo,
        "high_frac": hi,
        "transfer_records": t["records"],
        "data_pipeline_runs": pipe.num_rows,
    }
