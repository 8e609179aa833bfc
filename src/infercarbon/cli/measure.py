"""``infercarbon measure``: run a command and meter its energy and emissions.

::

    infercarbon measure [--json] [--region DEU] [--sensor auto|...] [--tier T1] -- CMD ARGS...
    infercarbon measure --ledger L --run-kind train --model M [--system S] -- python train.py

The energy source is auto-detected like ``infercarbon sensors``.  With the CPU model (no
hardware counters) the command's **process tree** is metered: its CPU time (psutil) x the
SPECpower-derived power per busy CPU; the machine's idle power over the same time is reported
separately and not included.  With a hardware counter (NVML, RAPL, amd_energy) the reading is
the whole device's energy while the command ran, every process included.  Emissions use the
region's annual location-based intensity: ``--region``, else the environment variable
``INFERCARBON_REGION``; with neither, emissions are not computed (and the output says so).

With ``--json`` the command's own stdout is sent to stderr so that stdout holds only the JSON
document.  The exit code is the command's.

With ``--ledger`` the run is recorded in the ledger's ``runs`` table (created if the DuckDB
file does not exist): ``--run-kind`` (train, finetune, eval, retrain, data-pipeline),
``--model``, optional ``--system``, ``--lineage`` and ``--tenant``; its status comes from the
exit code or signal (succeeded, failed, killed), with the energy, its band, method and label,
the region, the UTC start and end, and GPU-hours (GPUs read x duration, with NVML).  The JSON
document then carries the stored ``run``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import warnings
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import IO, Annotated, Any

import typer

from infercarbon.cli._common import console, human_energy_j, human_mass_g, print_json
from infercarbon.errors import InputError
from infercarbon.ledger.schema import RUN_KINDS
from infercarbon.reference.regions import resolve_region
from infercarbon.telemetry.base import EnergySource
from infercarbon.telemetry.cpu_model import CpuModelSource
from infercarbon.telemetry.detect import SOURCE_NAMES, detect
from infercarbon.telemetry.sampler import Sampler
from infercarbon.timeutil import MonotonicClockNs, format_utc
from infercarbon.units import NS_PER_S, j_to_kwh

REGION_ENV = "INFERCARBON_REGION"


def run_metered(
    command: list[str],
    source: EnergySource,
    *,
    clock: MonotonicClockNs = time.monotonic_ns,
    period_s: float = 0.1,
    stdout: IO[str] | None = None,
) -> dict[str, Any]:
    """Run ``command`` to completion, reading ``source`` around it; return the raw figures."""
    if not command:
        raise InputError("give the command to run after --, e.g. -- python train.py", field="CMD")
    polled = source.needs_polling or source.name == "rapl"  # rapl: guard counter wraparound
    sampler = Sampler(
        source, clock=clock, period_s=period_s, mode="thread" if polled else "boundary"
    )
    busy0 = source.busy_cpu_s() if isinstance(source, CpuModelSource) else None
    t0_ns, e0_j = sampler.start().readings()[0][-1], sampler.readings()[1][-1]
    try:
        proc = subprocess.Popen(command, stdout=stdout)
    except (FileNotFoundError, PermissionError) as exc:
        sampler.stop()
        raise InputError(f"cannot run {command[0]!r}: {exc.strerror}", field="CMD") from exc
    try:
        exit_code = proc.wait()
    except KeyboardInterrupt:
        proc.terminate()
        proc.wait()
        sampler.stop()
        raise
    sampler.stop()
    t, e = sampler.readings()
    out: dict[str, Any] = {
        "command": command,
        "exit_code": exit_code,
        "duration_s": (int(t[-1]) - int(t0_ns)) / NS_PER_S,
        "energy_j": float(e[-1] - e0_j),
        "readings": len(t),
    }
    if isinstance(source, CpuModelSource) and busy0 is not None:
        out["busy_cpu_s"] = source.busy_cpu_s() - busy0
    return out


def _stderr_for_child() -> IO[str]:
    """A real stderr stream (with a file descriptor) for the child's stdout under --json."""
    for stream in (sys.stderr, sys.__stderr__):
        try:
            if stream is not None:
                stream.fileno()
                return stream
        except (AttributeError, OSError, ValueError):
            continue
    raise InputError("no stderr to send the command's output to under --json", field="--json")


def _figure_range(source: EnergySource, raw: dict[str, Any]) -> tuple[float, float]:
    if isinstance(source, CpuModelSource):
        _, lo, hi = source.energy_range_j(raw["busy_cpu_s"], raw["duration_s"])
        return lo, hi
    power = getattr(source, "power_w", None)
    if power is not None:  # constant source: scale its power range
        lo_w, hi_w = power.range
        return lo_w * raw["duration_s"], hi_w * raw["duration_s"]
    return raw["energy_j"], raw["energy_j"]


def measure_record(
    source: EnergySource,
    raw: dict[str, Any],
    region: str | None,
    region_from: str | None,
    notes: list[str],
) -> dict[str, Any]:
    """The ``--json`` contract of ``infercarbon measure``."""
    e_lo, e_hi = _figure_range(source, raw)
    rec: dict[str, Any] = {
        **raw,
        "energy_low_j": e_lo,
        "energy_high_j": e_hi,
        "sensor": source.name,
        "method": source.method,
        "label": source.label,
        "accuracy_class": source.accuracy_class,
    }
    if isinstance(source, CpuModelSource):
        rec["scope"] = f"process tree ({source.covers})"
        rec["machine_idle_j"] = source.idle_power_w.value * raw["duration_s"]
        rec["machine_idle_note"] = (
            "the machine's modelled idle power over the run; not caused by the command and "
            "not included in energy_j"
        )
    else:
        rec["scope"] = "whole device(s), every process on them"
    if region is None:
        rec["region"] = None
        rec["emissions_g"] = None
        rec["emissions_note"] = (
            f"not computed: no region given (pass --region, e.g. --region DEU, or set {REGION_ENV})"
        )
    else:
        reg = resolve_region(region)
        fig = reg.intensity_g_per_kwh
        i_lo, i_hi = fig.range
        rec["region"] = reg.region_id
        rec["region_from"] = region_from
        rec["intensity_g_per_kwh"] = fig.to_dict()
        rec["emissions_g"] = j_to_kwh(raw["energy_j"]) * fig.value
        rec["emissions_low_g"] = j_to_kwh(e_lo) * i_lo
        rec["emissions_high_g"] = j_to_kwh(e_hi) * i_hi
        rec["emissions_basis"] = f"location-based annual average ({reg.basis})"
    rec["sensor_description"] = source.describe()
    rec["warnings"] = notes
    return rec


def run_row(
    rec: dict[str, Any],
    *,
    source: EnergySource,
    kind: str,
    model: str,
    system: str | None,
    lineage: str | None,
    tenant: str,
    start_utc: datetime,
    end_utc: datetime,
) -> dict[str, Any]:
    """The ``runs`` row of a metered command (status from its exit code or signal)."""
    from infercarbon.programme.runs import make_run, status_from_exit

    status, sig = status_from_exit(int(rec["exit_code"]))
    gpus = getattr(source, "gpu_count", None)
    return make_run(
        tenant=tenant,
        kind=kind,
        model=model,
        system=system,
        lineage=lineage,
        status=status,
        exit_code=int(rec["exit_code"]),
        signal=sig,
        start_utc=start_utc,
        end_utc=end_utc,
        energy_j=rec["energy_j"],
        energy_low_j=min(rec["energy_low_j"], rec["energy_j"]),
        energy_high_j=max(rec["energy_high_j"], rec["energy_j"]),
        method=f"{rec['sensor']}/{rec['method']} ({rec['scope']})",
        label=rec["label"],
        source="measure",
        region=rec["region"],
        gpu_hours=None if not gpus else gpus * rec["duration_s"] / 3600.0,
        emissions_g=rec["emissions_g"],
        intensity_g_per_kwh=None
        if rec["emissions_g"] is None
        else rec["intensity_g_per_kwh"]["value"],
        command=" ".join(rec["command"])[:200],
    )


def _print_human(rec: dict[str, Any]) -> None:
    say = partial(console.print, markup=False, highlight=False, soft_wrap=True)
    say(f"command:   {' '.join(rec['command'])}  (exit code {rec['exit_code']})")
    say(f"duration:  {rec['duration_s']:.3f} s")
    say(
        f"energy:    {rec['energy_j']:.3f} J = {human_energy_j(rec['energy_j'])}  (range "
        f"{rec['energy_low_j']:.3f}..{rec['energy_high_j']:.3f} J; {rec['label']})"
    )
    if "busy_cpu_s" in rec:
        say(f"cpu time:  {rec['busy_cpu_s']:.3f} CPU-s")
    if "machine_idle_j" in rec:
        say(
            f"idle:      {rec['machine_idle_j']:.3f} J machine idle over the run, not included "
            f"(with it: {rec['energy_j'] + rec['machine_idle_j']:.3f} J)"
        )
    say(f"scope:     {rec['scope']}")
    if rec["emissions_g"] is None:
        say(f"emissions: {rec['emissions_note']}")
    else:
        fig = rec["intensity_g_per_kwh"]
        say(
            f"emissions: {human_mass_g(rec['emissions_g'])} CO2e  (range "
            f"{human_mass_g(rec['emissions_low_g'])}..{human_mass_g(rec['emissions_high_g'])}; "
            f"region {rec['region']}, {fig['value']:g} g/kWh, "
            f"{rec['emissions_basis']}, {fig.get('vintage', '')})"
        )
    say(f"method:    {rec['sensor']} / {rec['method']} ({rec['accuracy_class']})")
    for note in rec["warnings"]:
        say(f"warning:   {note}")
    if "run" in rec:
        run = rec["run"]
        say(
            f"run:       {run['run_id']} {run['kind']} {run['model']} {run['status']}"
            f"{' (' + run['signal'] + ')' if run['signal'] else ''} -> {rec['ledger']}"
        )


def register(app: typer.Typer) -> None:
    @app.command(
        "measure",
        context_settings={"allow_interspersed_args": False},
    )
    def measure(
        command: Annotated[
            list[str], typer.Argument(help="The command to run, after --.", show_default=False)
        ],
        json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
        region: Annotated[
            str | None,
            typer.Option("--region", help=f"Grid region for emissions (else ${REGION_ENV})."),
        ] = None,
        sensor: Annotated[
            str,
            typer.Option("--sensor", help=f"auto, auto-cpu or one of: {', '.join(SOURCE_NAMES)}."),
        ] = "auto",
        tier: Annotated[
            str | None, typer.Option("--tier", help="Seed tier id (T0..T6) for --sensor constant.")
        ] = None,
        period_s: Annotated[
            float, typer.Option("--period-s", help="Sampling period for polled sources [s].")
        ] = 0.1,
        sysfs_root: Annotated[
            Path, typer.Option("--sysfs-root", hidden=True, help="Root of sysfs (testing).")
        ] = Path("/sys"),
        ledger: Annotated[
            str | None,
            typer.Option(
                "--ledger",
                help="Record the run in this ledger (DuckDB file, created if "
                "missing, or postgresql:// URL).",
            ),
        ] = None,
        run_kind: Annotated[
            str | None, typer.Option("--run-kind", help=f"With --ledger: {', '.join(RUN_KINDS)}.")
        ] = None,
        model: Annotated[
            str | None,
            typer.Option("--model", help="With --ledger: the model the run trains or serves."),
        ] = None,
        system: Annotated[
            str | None,
            typer.Option(
                "--system", help="With --ledger: the inventory system (pipeline) it belongs to."
            ),
        ] = None,
        lineage: Annotated[
            str | None,
            typer.Option(
                "--lineage",
                help="With --ledger: the model family whose training line it "
                "counts in (default: the model).",
            ),
        ] = None,
        tenant: Annotated[
            str, typer.Option("--tenant", help="With --ledger: the tenant that owns the run.")
        ] = "default",
    ) -> None:
        """Run CMD and print its energy [J], emissions [gCO2e], duration and method."""
        if ledger is None and (run_kind or model or system or lineage):
            raise InputError(
                "--run-kind, --model, --system and --lineage record a run: give --ledger too",
                field="--ledger",
            )
        if ledger is not None:
            if run_kind not in RUN_KINDS:
                raise InputError(
                    f"give --run-kind, one of {', '.join(RUN_KINDS)}", field="--run-kind"
                )
            if not model:
                raise InputError("give --model (the model the run trains)", field="--model")
        region_from = "--region" if region else None
        if region is None and os.environ.get(REGION_ENV):
            region, region_from = os.environ[REGION_ENV], REGION_ENV
        if region is not None:
            resolve_region(region)  # fail before running the command
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            source, _ = detect(
                sensor,
                tier=tier,
                sysfs_root=sysfs_root,
                cpu_scope="process",
                pid=os.getpid(),
                include_self=False,
            )
        notes = [str(w.message) for w in caught]
        try:
            start_utc = datetime.now(UTC)
            raw = run_metered(
                command, source, period_s=period_s, stdout=_stderr_for_child() if json_out else None
            )
            end_utc = datetime.now(UTC)
            rec = measure_record(source, raw, region, region_from, notes)
            row = (
                None
                if ledger is None
                else run_row(
                    rec,
                    source=source,
                    kind=str(run_kind),
                    model=str(model),
                    system=system,
                    lineage=lineage,
                    tenant=tenant,
                    start_utc=start_utc,
                    end_utc=max(end_utc, start_utc),
                )
            )
        finally:
            source.close()
        if ledger is not None and row is not None:
            from infercarbon.ledger import open_store

            store = open_store(ledger)
            try:
                store.append_runs([row])
            finally:
                store.close()
            rec["run"] = {
                k: (format_utc(v) if isinstance(v, datetime) else v) for k, v in row.items()
            }
            rec["ledger"] = ledger
        if json_out:
            print_json(rec)
        else:
            _print_human(rec)
        if rec["exit_code"]:
            raise typer.Exit(code=int(rec["exit_code"]) if rec["exit_code"] > 0 else 1)
