"""Runs: training, fine-tuning, evaluation, retraining and data-pipeline runs, as ledger rows
(the ``runs`` table, schema version 7), and the figures computed over them.

A run's status comes from how its process ended (:func:`status_from_exit`): exit code 0 is
``succeeded``; a termination signal (SIGKILL, SIGTERM, SIGINT, SIGHUP, directly or as a
shell's 128+n) is ``killed``; anything else (a non-zero exit, a crash signal) is ``failed``.

>>> status_from_exit(0), status_from_exit(1), status_from_exit(-9)
(('succeeded', None), ('failed', None), ('killed', 'SIGKILL'))
"""

from __future__ import annotations

import signal as _signal
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from infercarbon.errors import InputError
from infercarbon.ledger.canonical import run_id_for
from infercarbon.ledger.schema import RUN_KINDS, RUNS
from infercarbon.provenance import Label
from infercarbon.reference.regions import resolve_region
from infercarbon.timeutil import format_utc
from infercarbon.units import J_PER_KWH

__all__ = [
    "RUN_KINDS",
    "TRAINING_KINDS",
    "RunTotals",
    "make_run",
    "run_emissions_g",
    "run_id_for",
    "run_totals",
    "status_from_exit",
]

#: Kinds whose energy is the training line of a model's lineage.
TRAINING_KINDS = ("train", "finetune", "retrain")
#: Signals that mean the run was stopped from outside (not a crash).
_KILL_SIGNALS = frozenset({_signal.SIGKILL, _signal.SIGTERM, _signal.SIGINT, _signal.SIGHUP})


def _signal_name(num: int) -> str:
    try:
        return _signal.Signals(num).name
    except ValueError:
        return f"signal {num}"


def status_from_exit(code: int) -> tuple[str, str | None]:
    """``(status, signal name)`` of a process that ended with ``code``.

    ``code`` as :attr:`subprocess.Popen.returncode` gives it (negative: killed by that
    signal) or as a shell reports it (128 + signal number).
    """
    if isinstance(code, bool) or not isinstance(code, int):
        raise InputError(f"must be an integer exit code, got {code!r}", field="exit_code")
    if code == 0:
        return "succeeded", None
    sig = -code if code < 0 else code - 128 if 128 < code < 128 + 65 else None
    if sig is None:
        return "failed", None
    name = _signal_name(sig)
    return ("killed" if sig in _KILL_SIGNALS else "failed"), name


def make_run(
    *,
    tenant: str,
    kind: str,
    model: str,
    status: str,
    start_utc: datetime,
    end_utc: datetime,
    energy_j: float,
    method: str,
    label: Label,
    source: str,
    energy_low_j: float | None = None,
    energy_high_j: float | None = None,
    lineage: str | None = None,
    system: str | None = None,
    exit_code: int | None = None,
    signal: str | None = None,
    region: str | None = None,
    gpu_hours: float | None = None,
    emissions_g: float | None = None,
    intensity_g_per_kwh: float | None = None,
    command: str | None = None,
    run_id: str | None = None,
    supersedes: str | None = None,
) -> dict[str, Any]:
    """One ``runs`` row (checked by the store on append); ``run_id`` defaults to
    :func:`run_id_for` of the row."""
    if kind not in RUN_KINDS:
        raise InputError(f"must be one of {', '.join(RUN_KINDS)}, got {kind!r}", field="run_kind")
    row: dict[str, Any] = {
        "tenant": tenant,
        "kind": kind,
        "model": model,
        "lineage": lineage,
        "system": system,
        "status": status,
        "exit_code": exit_code,
        "signal": signal,
        "start_utc": start_utc.astimezone(UTC),
        "end_utc": end_utc.astimezone(UTC),
        "energy_j": float(energy_j),
        "energy_low_j": None if energy_low_j is None else float(energy_low_j),
        "energy_high_j": None if energy_high_j is None else float(energy_high_j),
        "method": method,
        "label": label,
        "source": source,
        "region": region,
        "gpu_hours": gpu_hours,
        "emissions_g": emissions_g,
        "intensity_g_per_kwh": intensity_g_per_kwh,
        "command": command,
        "supersedes": supersedes,
    }
    row["run_id"] = run_id if run_id is not None else run_id_for(row)
    return {c: row[c] for c in RUNS.names}


def run_emissions_g(runs: pa.Table) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Emissions of each run [g]: ``(central, low, high, known)``.

    The run's own ``emissions_g`` where recorded (CodeCarbon, measure with a region), else its
    energy x its region's annual location-based intensity (low..high: the energy band x the
    intensity range); ``known`` is False where neither is available (the value is NaN).
    """
    n = runs.num_rows
    e = np.asarray(runs.column("energy_j").to_numpy(zero_copy_only=False), dtype=float)
    elo = _col(runs, "energy_low_j", e)
    ehi = _col(runs, "energy_high_j", e)
    own = _col(runs, "emissions_g", np.full(n, np.nan))
    intensity = _col(runs, "intensity_g_per_kwh", np.full(n, np.nan))
    # one lookup per distinct region, then spread back over the rows
    regions = pc.fill_null(runs.column("region"), "").to_numpy(zero_copy_only=False)
    uniq, inverse = np.unique(regions.astype(str), return_inverse=True)
    figs = [None if not u else resolve_region(str(u)).intensity_g_per_kwh for u in uniq]
    v = np.asarray([np.nan if f is None else f.value for f in figs] or [np.nan])[inverse]
    ilo = np.asarray([np.nan if f is None else f.range[0] for f in figs] or [np.nan])[inverse]
    ihi = np.asarray([np.nan if f is None else f.range[1] for f in figs] or [np.nan])[inverse]
    intensity = np.where(np.isnan(intensity), v, intensity)
    ilo = np.where(np.isnan(ilo), intensity, ilo)
    ihi = np.where(np.isnan(ihi), intensity, ihi)
    central = np.where(np.isnan(own), e / J_PER_KWH * intensity, own)
    scale = np.divide(
        central,
        e / J_PER_KWH * intensity,
        out=np.ones(n),
        where=(e > 0) & ~np.isnan(intensity) & (intensity > 0),
    )
    low = np.where(np.isnan(own), elo / J_PER_KWH * ilo, elo / J_PER_KWH * ilo * scale)
    high = np.where(np.isnan(own), ehi / J_PER_KWH * ihi, ehi / J_PER_KWH * ihi * scale)
    low = np.where(np.isnan(low), central, low)
    high = np.where(np.isnan(high), central, high)
    return central, np.minimum(low, central), np.maximum(high, central), ~np.isnan(central)


def _col(t: pa.Table, name: str, fill: np.ndarray) -> np.ndarray:
    arr = np.asarray(
        pc.fill_null(t.column(name), np.nan).to_numpy(zero_copy_only=False)
        if t.num_rows
        else np.zeros(0),
        dtype=float,
    )
    return np.where(np.isnan(arr), fill, arr)


@dataclass(frozen=True)
class RunTotals:
    """Totals over a set of runs (one lineage, or all)."""

    runs: int
    succeeded: int
    failed: int
    killed: int
    energy_j: float
    failed_energy_j: float
    gpu_hours: float | None
    emissions_g: float | None
    emissions_low_g: float | None
    emissions_high_g: float | None
    emissions_unknown_runs: int
    first_start_utc: datetime | None
    last_end_utc: datetime | None
    labels: tuple[str, ...]

    @property
    def failed_share_frac(self) -> float | None:
        """Runs that did not succeed (failed or killed) / all runs."""
        return None if self.runs == 0 else (self.failed + self.killed) / self.runs

    @property
    def failed_energy_share_frac(self) -> float | None:
        """Energy of runs that did not succeed / energy of all runs (None: no energy)."""
        return None if self.energy_j <= 0 else self.failed_energy_j / self.energy_j

    def to_dict(self) -> dict[str, Any]:
        return {
            "runs": self.runs,
            "succeeded": self.succeeded,
            "failed": self.failed,
            "killed": self.killed,
            "failed_share_frac": self.failed_share_frac,
            "energy_j": self.energy_j,
            "failed_energy_j": self.failed_energy_j,
            "failed_energy_share_frac": self.failed_energy_share_frac,
            "gpu_hours": self.gpu_hours,
            "emissions_g": self.emissions_g,
            "emissions_low_g": self.emissions_low_g,
            "emissions_high_g": self.emissions_high_g,
            "emissions_unknown_runs": self.emissions_unknown_runs,
            "first_start_utc": _iso(self.first_start_utc),
            "last_end_utc": _iso(self.last_end_utc),
            "labels": list(self.labels),
        }


def _iso(t: datetime | None) -> str | None:
    return None if t is None else format_utc(t)


def run_totals(runs: pa.Table) -> RunTotals:
    """Totals of ``runs`` (a ``runs`` table): counts by status, energy, the failed share of
    runs and of energy, GPU-hours and emissions (vectorised over the rows)."""
    n = runs.num_rows
    status = np.asarray(runs.column("status").to_pylist() if n else [], dtype=object)
    e = np.asarray(runs.column("energy_j").to_numpy(zero_copy_only=False) if n else [], dtype=float)
    bad = (status == "failed") | (status == "killed")
    g, lo, hi, known = (
        run_emissions_g(runs) if n else (np.zeros(0),) * 3 + (np.zeros(0, dtype=bool),)
    )
    gh = runs.column("gpu_hours") if n else None
    gpu_hours = None if gh is None or gh.null_count == n else float(pc.sum(gh).as_py() or 0.0)
    return RunTotals(
        runs=n,
        succeeded=int((status == "succeeded").sum()),
        failed=int((status == "failed").sum()),
        killed=int((status == "killed").sum()),
        energy_j=float(e.sum()),
        failed_energy_j=float(e[bad].sum()),
        gpu_hours=gpu_hours,
        emissions_g=float(g[known].sum()) if known.any() else None,
        emissions_low_g=float(lo[known].sum()) if known.any() else None,
        emissions_high_g=float(hi[known].sum()) if known.any() else None,
        emissions_unknown_runs=int((~known).sum()),
        first_start_utc=pc.min(runs.column("start_utc")).as_py() if n else None,
        last_end_utc=pc.max(runs.column("end_utc")).as_py() if n else None,
        labels=tuple(sorted(set(runs.column("label").to_pylist()))) if n else (),
    )


def lineage_of(runs: pa.Table) -> pa.Array:
    """Each run's lineage: its ``lineage`` column, else its model."""
    return pc.coalesce(runs.column("lineage"), runs.column("model"))
