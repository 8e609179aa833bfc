"""``infercarbon estimate llm``: energy and carbon of an LLM request from model size and hardware.

Single request::

    infercarbon estimate llm --params-b 8 --gpu H100 --gpus 1 --batch 64 \\
        --output-tokens 400 [--input-tokens N | --task TASK] [--precision bf16] \\
        [--stack vllm-2025] --region DE [--time-utc 2025-06-01T12:00Z] [--pue 1.2] --json

With ``--region`` the output is the footprint contract of ``infercarbon estimate`` (a
``line_items`` list with ``emissions_g``, p5..p95 ranges in g, scopes, totals, assumptions)
plus an ``llm_energy`` block; without it, the energy document alone.

Batch (vectorised energy, one footprint per row)::

    infercarbon estimate llm --csv IN.csv --format csv > OUT.csv

The CSV columns are the flag names (with or without ``--``; ``-`` and ``_`` alike):
``params-b, gpu, batch, output-tokens`` are required; ``active-params-b, gpus,
input-tokens, task, precision, stack`` and every carbon flag (``region, time-utc, pue,
utilisation, ...``) are optional and override the command-line value for their row.  The
older names ``total_params_b, num_gpus, batch_size`` are accepted too, and so are the ML.ENERGY
Leaderboard v3 columns (``total_params_billions, activated_params_billions, gpu_model,
num_gpus, avg_batch_size, avg_output_len, weight_precision, task``).  The output repeats
every input row with the energy columns and, where the row has a region, the footprint
columns appended.  A bad cell is a ParseError naming the file, the 1-based row (the header
is row 1) and the column.
"""

from __future__ import annotations

import csv
import io
import json
import math
import sys
import warnings
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer

from infercarbon.cli import _carbon as cb
from infercarbon.cli._common import TextTable, err_console, print_json, print_table
from infercarbon.errors import (
    FallbackWarning,
    InfercarbonError,
    InputError,
    ParseError,
    UnknownHardwareError,
)
from infercarbon.estimators.llm import (
    DEFAULT_HOST_POWER_PER_GPU_W,
    DEFAULT_PUE,
    PUE_SOURCE,
    calibrated_stacks,
    estimate_llm,
    estimate_llm_arrays,
    load_calibration,
    normalise_precision,
)
from infercarbon.reference.gpus import lookup_gpu

__all__ = [
    "COLUMN_ALIASES",
    "llm_command",
    "read_llm_csv",
    "register",
    "run_llm_csv",
    "task_input_tokens",
]

#: CSV column (flag name) -> estimator field; the older field names are accepted as they are.
COLUMN_ALIASES: dict[str, str] = {
    "params-b": "total_params_b",
    "total-params-b": "total_params_b",
    "active-params-b": "active_params_b",
    "gpu": "gpu",
    "gpus": "num_gpus",
    "num-gpus": "num_gpus",
    "batch": "batch_size",
    "batch-size": "batch_size",
    "output-tokens": "output_tokens",
    "input-tokens": "input_tokens",
    "precision": "precision",
    "task": "task",
    "stack": "stack",
    # ML.ENERGY Leaderboard v3 column names, so the leaderboard's files run as they are
    # (avg_batch_size is the measured running batch; max_num_seqs, the configured cap, is
    # not the batch)
    "total-params-billions": "total_params_b",
    "activated-params-billions": "active_params_b",
    "gpu-model": "gpu",
    "avg-batch-size": "batch_size",
    "avg-output-len": "output_tokens",
    "weight-precision": "precision",
}
REQUIRED = ("total_params_b", "gpu", "batch_size", "output_tokens")
OUTPUT_FIELDS = (
    "gpu_energy_j",
    "gpu_energy_low_j",
    "gpu_energy_high_j",
    "host_energy_j",
    "idle_energy_j",
    "pue_overhead_j",
    "energy_j_total",
)
_POSITIVE = ("total_params_b", "active_params_b", "num_gpus", "batch_size", "output_tokens")
_TASK_ALIASES = {
    "reasoning": "gpqa",
    "fim": "sourcegraph-fim",
    "code-completion": "sourcegraph-fim",
    "image": "image-chat",
    "video": "video-chat",
}


def task_input_tokens(task: str) -> float:
    """Prompt tokens the calibration assumes for a task preset; InputError if unknown."""
    table: dict[str, float] = load_calibration().extra["task_input_tokens_assumed"]
    key = _TASK_ALIASES.get(task.strip().lower(), task.strip().lower())
    if key not in table:
        names = ", ".join([*table, *_TASK_ALIASES])
        raise InputError(f"unknown task {task!r}; use one of {names}", field="task")
    return float(table[key])


def _flag(name: str) -> str:
    return name.strip().lstrip("-").lower().replace("_", "-")


def _numeric(
    name: str, values: list[str], path: str, header: str
) -> np.ndarray[Any, np.dtype[np.float64]]:
    try:
        arr = np.asarray(values, dtype=np.float64)
    except ValueError:
        for i, v in enumerate(values):  # failure path only: find the offending cell
            try:
                float(v)
            except ValueError:
                what = "empty cell" if not v.strip() else f"not a number: {v!r}"
                raise ParseError(what, path=path, row=i + 2, column=header) from None
        raise
    bad = ~np.isfinite(arr)
    if name in _POSITIVE:
        bad |= ~(arr > 0)
        rule = "must be a finite number > 0"
    else:
        bad |= ~(arr >= 0)
        rule = "must be a finite number >= 0"
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ParseError(f"{rule}, got {values[i]!r}", path=path, row=i + 2, column=header)
    return arr


def _text_column(
    values: list[str], path: str, header: str, check: Any
) -> np.ndarray[Any, np.dtype[Any]]:
    arr = np.asarray([v.strip() for v in values], dtype=object)
    for name in dict.fromkeys(arr.tolist()):  # each distinct value once
        try:
            check(name)
        except (InputError, UnknownHardwareError) as exc:
            i = int(np.flatnonzero(arr == name)[0])
            raise ParseError(str(exc), path=path, row=i + 2, column=header) from exc
    return arr


def read_llm_csv(
    text: str,
    path: str = "<csv>",
    *,
    defaults: dict[str, Any] | None = None,
) -> tuple[list[str], list[list[str]], dict[str, Any]]:
    """Parse and validate the batch CSV: header, raw rows, and typed columns.

    ``defaults`` (estimator field -> value) fill columns the file does not have (the
    command-line flags); ``input_tokens`` falls back to the row's ``task`` preset, then to
    the calibration's documented default (marked in ``input_tokens_assumed``).
    """
    defaults = defaults or {}
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        raise ParseError("empty file (no header)", path=path, row=1) from None
    header = [h.strip() for h in header]
    field_of = {h: COLUMN_ALIASES.get(_flag(h), h) for h in header}
    col_of = {f: h for h, f in field_of.items()}
    missing = [c for c in REQUIRED if c not in col_of and defaults.get(c) is None]
    if missing:
        raise ParseError(
            f"missing required column(s): {', '.join(missing)}; need params-b, gpu, batch, "
            "output-tokens (flag names; the older total_params_b, batch_size are accepted)",
            path=path,
            row=1,
        )
    rows = [r for r in reader if r]
    if not rows:
        raise ParseError("no data rows", path=path, row=2)
    for i, r in enumerate(rows):
        if len(r) != len(header):
            raise ParseError(f"{len(r)} cells, header has {len(header)}", path=path, row=i + 2)
    raw = dict(zip(header, (list(c) for c in zip(*rows, strict=True)), strict=True))
    n = len(rows)

    def column(fld: str) -> tuple[list[str], str] | None:
        """The column's cells, empty cells filled from the defaults (None: no values)."""
        h = col_of.get(fld)
        d = defaults.get(fld)
        if h is None:
            return None if d is None else ([str(d)] * n, f"--{fld}")
        cells = raw[h]
        if d is not None:
            cells = [c if c.strip() else str(d) for c in cells]
        return cells, h

    typed: dict[str, Any] = {}
    for name in _POSITIVE:
        got = column(name)
        if got is None:
            continue
        typed[name] = _numeric(name, got[0], path, got[1])
    typed.setdefault("num_gpus", np.ones(n))
    if "active_params_b" not in typed:
        typed["active_params_b"] = typed["total_params_b"]
    else:
        over = typed["active_params_b"] > typed["total_params_b"]
        if over.any():
            i = int(np.flatnonzero(over)[0])
            raise ParseError(
                "active-params-b exceeds params-b",
                path=path,
                row=i + 2,
                column=col_of.get("active_params_b", "active_params_b"),
            )
    g = column("gpu")
    assert g is not None  # required above
    typed["gpu"] = _text_column(g[0], path, g[1], lookup_gpu)
    p = column("precision")
    typed["precision"] = (
        "bf16" if p is None else _text_column(p[0], path, p[1], normalise_precision)
    )
    s = column("stack")
    typed["stack"] = None if s is None else _text_column(s[0], path, s[1], load_calibration)
    typed.update(_input_tokens(column("input_tokens"), column("task"), n, path))
    return header, rows, typed


def _input_tokens(
    inp: tuple[list[str], str] | None, task: tuple[list[str], str] | None, n: int, path: str
) -> dict[str, Any]:
    """Prompt tokens per row: the row's (or flag's) value, else its task preset, else the
    calibration's documented default (marked assumed)."""
    task_tokens: np.ndarray[Any, np.dtype[np.float64]] | None = None
    if task is not None:
        tasks = [c.strip() for c in task[0]]
        _text_column([x for x in tasks if x] or ["chat"], path, task[1], task_input_tokens)
        task_tokens = np.asarray([task_input_tokens(x) if x else math.nan for x in tasks])
    default_in = load_calibration().default_input_tokens
    given = np.zeros(n, dtype=bool)
    values = np.full(n, math.nan)
    if inp is not None:
        given = np.asarray([bool(v.strip()) for v in inp[0]])
        filled = [v if e else "0" for v, e in zip(inp[0], given, strict=True)]
        values = np.where(given, _numeric("input_tokens", filled, path, inp[1]), math.nan)
    from_task = ~given & (np.isfinite(task_tokens) if task_tokens is not None else False)
    if task_tokens is not None:
        values = np.where(from_task, task_tokens, values)
    assumed = ~given & ~from_task
    return {
        "input_tokens": np.where(assumed, default_in, values),
        "input_tokens_assumed": assumed,
        "input_tokens_source": np.where(given, "user", np.where(from_task, "task", "assumed")),
    }


def _idle_w_per_gpu(gpu: str, stack: str | None) -> tuple[float, str, str]:
    spec = lookup_gpu(gpu)
    if math.isfinite(spec.idle_w):
        return spec.idle_w, spec.source, "cited"
    cal = load_calibration(stack)
    return (
        cal.static_power_frac * spec.tdp_w,
        f"no published idle power for {spec.name}: static power fraction "
        f"{cal.static_power_frac:.3g} of the calibration x TDP {spec.tdp_w:g} W",
        "modelled",
    )


def _modelled(
    gpu_j: float, gpu_lo: float, gpu_hi: float, host_j: float, gpu_s: float,
    num_gpus: float, gpu: str, stack: str | None,
) -> cb.ModelledEnergy:  # fmt: skip
    cal = load_calibration(stack)
    idle_w, idle_src, idle_label = _idle_w_per_gpu(gpu, stack)
    return cb.ModelledEnergy(
        energy_j=gpu_j + host_j,
        energy_low_j=gpu_lo + host_j,
        energy_high_j=gpu_hi + host_j,
        source=f"infercarbon LLM estimator, serving stack {cal.stack} calibrated on "
        f"{cal.source}; host power: EcoLogits/Boavizta",
        vintage=cal.vintage,
        note="GPU (prefill + decode, band from cross-campaign validation) + host energy "
        "per request, before PUE",
        device_time_s=gpu_s / num_gpus,
        idle_power_w=idle_w * num_gpus,
        idle_power_source=idle_src,
        idle_power_label=idle_label,
        default_pue=DEFAULT_PUE,
        default_pue_source=PUE_SOURCE,
    )


def run_llm_csv(
    text: str,
    *,
    path: str = "<csv>",
    out_format: str = "csv",
    pue: float | str | None = None,
    host_power_per_gpu_w: float = DEFAULT_HOST_POWER_PER_GPU_W,
    defaults: dict[str, Any] | None = None,
    carbon: cb.CarbonOptions | None = None,
) -> str:
    """Estimate every row of a batch CSV; returns the CSV (or JSON) text.

    Energy is vectorised over all rows; rows with a region (column or ``carbon``) also get
    their footprint from the accounting engine (one per distinct row).
    """
    header, rows, t = read_llm_csv(text, path, defaults=defaults)
    carbon = carbon or cb.CarbonOptions({})
    n_assumed = int(np.count_nonzero(t["input_tokens_assumed"]))
    if n_assumed:
        warnings.warn(
            f"{n_assumed} row(s) without input_tokens: assumed "
            f"{load_calibration().default_input_tokens:g} prompt tokens "
            "(column input_tokens_assumed marks them; give input-tokens or task)",
            FallbackWarning,
            stacklevel=2,
        )
    pue_col, pue_arr = _pue_column(header, rows, path, pue, carbon)
    cols, stack_used = _energy_columns(t, len(rows), pue_arr, host_power_per_gpu_w)
    out_cols: dict[str, Any] = {
        "input_tokens_used": t["input_tokens"],
        "input_tokens_assumed": t["input_tokens_assumed"],
        "stack": stack_used,
        **{k: cols[k] for k in OUTPUT_FIELDS},
    }
    fps = _footprints(header, rows, path, t, cols, carbon, pue if pue_col is None else None)
    if out_format == "json":
        return _json_text(header, rows, out_cols, fps)
    return _csv_text(header, rows, out_cols, fps)


def _pue_column(
    header: list[str],
    rows: list[list[str]],
    path: str,
    pue: float | str | None,
    carbon: cb.CarbonOptions,
) -> tuple[str | None, Any]:
    """The file's pue column (if any) and the PUE per row (a scalar without the column).

    A range uses its central value here; the footprint samples the range."""
    pue_col = {_flag(h): h for h in header}.get("pue")
    pue_default = pue if pue is not None else carbon.values.get("pue")
    pue_base = _pue_central(None if pue_default is None else str(pue_default))
    if pue_col is None:
        return None, pue_base
    j = header.index(pue_col)
    cells = [r[j] if r[j].strip() else str(pue_base) for r in rows]
    pue_arr = _numeric("pue", cells, path, pue_col)
    bad = pue_arr < 1.0
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ParseError("must be >= 1", path=path, row=i + 2, column=pue_col)
    return pue_col, pue_arr


def _energy_columns(
    t: dict[str, Any], n: int, pue_arr: Any, host_power_per_gpu_w: float
) -> tuple[dict[str, Any], np.ndarray[Any, np.dtype[Any]]]:
    """The vectorised estimate of every row (one call per serving stack in the file)."""
    stacks = t["stack"]
    groups = [None] if stacks is None else list(dict.fromkeys(stacks.tolist()))
    cols: dict[str, Any] = {k: np.empty(n) for k in (*OUTPUT_FIELDS, "gpu_seconds_s")}
    stack_used = np.empty(n, dtype=object)
    for st in groups:
        m = np.ones(n, dtype=bool) if stacks is None else stacks == st
        prec = t["precision"] if isinstance(t["precision"], str) else t["precision"][m]
        res = estimate_llm_arrays(
            t["total_params_b"][m], t["active_params_b"][m], t["gpu"][m], t["num_gpus"][m],
            t["batch_size"][m], t["output_tokens"][m], t["input_tokens"][m], prec,
            pue=pue_arr if np.ndim(pue_arr) == 0 else pue_arr[m],
            host_power_per_gpu_w=host_power_per_gpu_w, stack=st,
        )  # fmt: skip
        for k, v in res.as_columns().items():
            if k in cols:
                cols[k][m] = v
        stack_used[m] = load_calibration(st).stack
    return cols, stack_used


def _footprints(
    header: list[str],
    rows: list[list[str]],
    path: str,
    t: dict[str, Any],
    cols: dict[str, Any],
    carbon: cb.CarbonOptions,
    pue_flag: float | str | None,
) -> list[Any]:
    """The footprint of every row that has a region (the accounting engine, one call per
    distinct row); ``pue_flag`` fills rows whose options give no PUE."""
    stacks = t["stack"]
    fps: list[Any] = [None] * len(rows)
    cache: dict[tuple[Any, ...], Any] = {}
    for i, r in enumerate(rows):
        try:
            opts = carbon.with_row({_flag(h): c for h, c in zip(header, r, strict=True)})
        except InputError as exc:
            raise ParseError(str(exc), path=path, row=i + 2, column=exc.field) from exc
        if opts.region is None:
            continue
        if opts.values.get("pue") is None and pue_flag is not None:
            opts = cb.CarbonOptions({**opts.values, "pue": pue_flag})
        energy = _modelled(
            float(cols["gpu_energy_j"][i]), float(cols["gpu_energy_low_j"][i]),
            float(cols["gpu_energy_high_j"][i]), float(cols["host_energy_j"][i]),
            float(cols["gpu_seconds_s"][i]), float(t["num_gpus"][i]), str(t["gpu"][i]),
            None if stacks is None else str(stacks[i]),
        )  # fmt: skip
        key = (energy, tuple(sorted((k, str(v)) for k, v in opts.values.items())))
        if key not in cache:
            try:
                cache[key] = cb.modelled_footprint(energy, opts)
            except InfercarbonError as exc:
                col = getattr(exc, "field", None)
                raise ParseError(str(exc), path=path, row=i + 2, column=col) from exc
        fps[i] = cache[key]
    return fps


def _json_text(
    header: list[str], rows: list[list[str]], out_cols: dict[str, Any], fps: list[Any]
) -> str:
    recs = []
    for i, r in enumerate(rows):
        rec: dict[str, Any] = dict(zip(header, r, strict=True))
        for k, v in out_cols.items():
            val = v[i]
            rec[k] = bool(val) if v.dtype == bool else (val if isinstance(val, str) else float(val))
        rec["footprint"] = None if fps[i] is None else fps[i].to_dict()
        recs.append(rec)
    return json.dumps(recs, indent=2) + "\n"


def _csv_text(
    header: list[str], rows: list[list[str]], out_cols: dict[str, Any], fps: list[Any]
) -> str:
    carbon_keys = next((list(cb.footprint_columns(fp)) for fp in fps if fp is not None), [])
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([*header, *out_cols, *carbon_keys])
    formatted = [
        np.where(v, "true", "false") if v.dtype == bool
        else (v.astype(str) if v.dtype == object else np.char.mod("%.6g", v))
        for v in out_cols.values()
    ]  # fmt: skip
    for i, (r, extra) in enumerate(zip(rows, zip(*formatted, strict=True), strict=True)):
        carbon_cells: list[str] = []
        if carbon_keys:
            fc = cb.footprint_columns(fps[i]) if fps[i] is not None else {}
            carbon_cells = [_cell(fc.get(k)) for k in carbon_keys]
        w.writerow([*r, *extra, *carbon_cells])
    return buf.getvalue()


def _cell(v: float | str | None) -> str:
    if v is None:
        return ""
    return v if isinstance(v, str) else f"{v:.6g}"


_STACK_HELP = (
    "Serving stack (software vintage) whose overheads apply: "
    + " | ".join(calibrated_stacks())
    + f". Default: the newest calibrated ({calibrated_stacks()[-1]})."
)
_TASK_HELP = (
    "Workload preset for the prompt length when --input-tokens is not given: chat, code, "
    "lm-arena-chat, gpqa (reasoning), sourcegraph-fim (long code prompts), image-chat, "
    "video-chat (documented assumptions in docs/llm_estimator.md)."
)
_CSV_HELP = (
    "Batch mode: input CSV ('-' = stdin). Columns are the flag names: params-b, gpu, batch, "
    "output-tokens (required), active-params-b, gpus, input-tokens, task, precision, stack, "
    "and the carbon flags (region, time-utc, pue, utilisation, ...); a cell overrides the "
    "flag for its row. ML.ENERGY Leaderboard v3 files run as they are (total_params_billions, "
    "activated_params_billions, gpu_model, num_gpus, avg_batch_size, avg_output_len, "
    "weight_precision, task)."
)


def llm_command(
    params_b: Annotated[
        float | None, typer.Option("--params-b", help="Total parameters [billions].")
    ] = None,
    active_params_b: Annotated[
        float | None,
        typer.Option(
            "--active-params-b",
            help="Active parameters per token [billions] (MoE); default = total.",
        ),
    ] = None,
    gpu: Annotated[
        str | None, typer.Option("--gpu", help="GPU model, e.g. H100, A100-SXM4-40GB, B200, L4.")
    ] = None,
    gpus: Annotated[
        int | None, typer.Option("--gpus", help="GPUs per model replica (TP x PP or EP).")
    ] = None,
    batch: Annotated[
        float | None, typer.Option("--batch", help="Concurrent requests (running batch).")
    ] = None,
    output_tokens: Annotated[
        float | None, typer.Option("--output-tokens", help="Generated tokens.")
    ] = None,
    input_tokens: Annotated[
        float | None,
        typer.Option(
            "--input-tokens",
            help="Prompt tokens (default: the --task preset, else the calibration's "
            "documented assumption).",
        ),
    ] = None,
    task: Annotated[str | None, typer.Option("--task", help=_TASK_HELP)] = None,
    precision: Annotated[
        str | None, typer.Option("--precision", help="Weights: bf16 fp16 fp8 int8 int4 fp4 fp32.")
    ] = None,
    stack: Annotated[str | None, typer.Option("--stack", help=_STACK_HELP)] = None,
    pue: Annotated[
        str | None,
        typer.Option(
            "--pue",
            help="Facility PUE (default 1.15, illustrative). A number or a "
            "range LOW..HIGH with --region.",
        ),
    ] = None,
    host_power_per_gpu_w: Annotated[
        float, typer.Option("--host-power-per-gpu-w", help="Host CPU/DRAM power per GPU [W].")
    ] = DEFAULT_HOST_POWER_PER_GPU_W,
    utilisation: cb.Utilisation = None,
    region: cb.Region = None,
    time_utc: cb.TimeUtc = None,
    td_loss_frac: cb.TdLoss = None,
    idle_policy: cb.IdlePolicy = "30-70",
    tenancy_share: cb.TenancyShare = None,
    idle_power_w: cb.IdlePowerW = None,
    rate_per_s: cb.RatePerS = None,
    payload_bytes: cb.PayloadBytes = None,
    network: cb.Network = "fixed",
    outcome_rate: cb.OutcomeRate = None,
    outcome_name: cb.OutcomeName = None,
    training_t: cb.TrainingT = None,
    lifetime_inferences: cb.LifetimeInferences = None,
    embodied_kg: cb.EmbodiedKg = None,
    lifetime_years: cb.LifetimeYears = None,
    intensity: cb.Intensity = None,
    market_intensity: cb.MarketIntensity = None,
    instruments: cb.Instruments = None,
    marginal_intensity: cb.MarginalIntensity = None,
    basis: cb.BasisOpt = "lifecycle",
    operating_model: cb.OperatingModel = None,
    samples: cb.Samples = 10_000,
    seed: cb.Seed = 0,
    csv_path: Annotated[Path | None, typer.Option("--csv", help=_CSV_HELP)] = None,
    out_format: Annotated[str, typer.Option("--format", help="Batch output: csv | json.")] = "csv",
    output: Annotated[
        Path | None, typer.Option("--output", help="Batch mode: write here, not stdout.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the JSON contract.")] = False,
) -> None:
    """Energy and carbon of one LLM request (or a CSV of them): line items, ranges, scopes."""
    carbon = cb.carbon_options(
        region=region, time_utc=time_utc, pue=pue, td_loss_frac=td_loss_frac,
        idle_policy=idle_policy, tenancy_share_frac=tenancy_share, idle_power_w=idle_power_w,
        utilisation_frac=utilisation, rate_per_s=rate_per_s, payload_bytes=payload_bytes,
        network=network, outcome_rate=outcome_rate, outcome_name=outcome_name,
        training_t=training_t, lifetime_inferences=lifetime_inferences,
        embodied_kg=embodied_kg, lifetime_years=lifetime_years, intensity_g_per_kwh=intensity,
        market_intensity_g_per_kwh=market_intensity, instruments=instruments,
        marginal_intensity_g_per_kwh=marginal_intensity, basis=basis,
        operating_model=operating_model, samples=samples, seed=seed,
    )  # fmt: skip
    if csv_path is not None:
        _run_csv(csv_path, out_format, output, host_power_per_gpu_w, carbon, {
            "total_params_b": params_b, "active_params_b": active_params_b, "gpu": gpu,
            "num_gpus": gpus, "batch_size": batch, "output_tokens": output_tokens,
            "input_tokens": input_tokens, "task": task, "precision": precision,
            "stack": stack,
        })  # fmt: skip
        return
    for name, value in (
        ("--params-b", params_b),
        ("--gpu", gpu),
        ("--batch", batch),
        ("--output-tokens", output_tokens),
    ):
        if value is None:
            raise InputError("required (or use --csv for batch mode)", field=name)
    assert params_b is not None
    assert gpu is not None
    assert batch is not None
    assert output_tokens is not None
    in_source = None
    if input_tokens is None and task is not None:
        input_tokens, in_source = task_input_tokens(task), f"task preset {task}"
    pue_num = _pue_central(pue)
    util_num = None
    if region is None and utilisation is not None:
        try:
            util_num = float(utilisation)
        except ValueError:
            raise InputError("a number in (0, 1] without --region", field="utilisation") from None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", FallbackWarning)
        est = estimate_llm(
            params_b, active_params_b, gpu, 1 if gpus is None else gpus, batch, output_tokens,
            input_tokens, precision or "bf16", pue=pue_num,
            host_power_per_gpu_w=host_power_per_gpu_w, utilisation_frac=util_num, stack=stack,
        )  # fmt: skip
    if in_source is not None:
        est.inputs["input_tokens_source"] = in_source
        est.inputs["task"] = task
    if region is not None:
        r = est.line_items
        energy = _modelled(
            est.gpu_energy_j, est.gpu_energy_low_j, est.gpu_energy_high_j,
            r["host_energy_j"].value, est.gpu_seconds_s,
            float(1 if gpus is None else gpus), gpu, stack,
        )  # fmt: skip
        fp = cb.modelled_footprint(energy, carbon)
        doc = fp.to_dict()
        doc["llm_energy"] = est.to_dict()
        doc["warnings"] = [*doc["warnings"], *est.notes]
        if as_json:
            print_json(doc)
            return
        from infercarbon.cli.estimate import render

        render(fp)
        for note in est.notes:
            err_console.print(f"note: {note}")
        return
    if as_json:
        print_json(est.to_dict())
        return
    for wmsg in caught:
        err_console.print(f"note: {wmsg.message}")
    _render_energy(est, 1 if gpus is None else gpus)
    err_console.print("note: give --region for the carbon figures (g CO2e, scopes)")


def _pue_central(pue: str | None) -> float:
    if pue is None:
        return DEFAULT_PUE
    from infercarbon.accounting.uncertainty import parse_quantity

    return float(parse_quantity(pue, field="pue").central)


def _run_csv(
    csv_path: Path, out_format: str, output: Path | None, host_w: float,
    carbon: cb.CarbonOptions, defaults: dict[str, Any],
) -> None:  # fmt: skip
    if out_format not in ("csv", "json"):
        raise InputError("use csv or json", field="--format")
    if str(csv_path) == "-":
        text, where = sys.stdin.read(), "<stdin>"
    else:
        try:
            text = csv_path.read_text(encoding="utf-8")
        except OSError as exc:
            raise InputError(f"cannot read {csv_path}: {exc.strerror}", field="--csv") from exc
        where = str(csv_path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", FallbackWarning)
        result = run_llm_csv(
            text, path=where, out_format=out_format, host_power_per_gpu_w=host_w,
            defaults=defaults, carbon=carbon,
        )  # fmt: skip
    for wmsg in caught:
        err_console.print(f"note: {wmsg.message}")
    if output is None:
        sys.stdout.write(result)
    else:
        output.write_text(result, encoding="utf-8")


def _render_energy(est: Any, gpus: int) -> None:
    table = TextTable(
        f"LLM request on {est.inputs['gpu']} x{gpus}, stack {est.inputs['stack']}",
        ["line item", "J", "low..high J", "label", "source"],
        numeric=frozenset({"J", "low..high J"}),
    )
    for key, fig in est.line_items.items():
        lo, hi = fig.range
        table.add_row(key, f"{fig.value:.4g}", f"{lo:.4g}..{hi:.4g}", fig.label, fig.source[:60])
    table.add_row(
        "energy_j_total",
        f"{est.energy_j_total:.4g}",
        f"{est.energy_low_j_total:.4g}..{est.energy_high_j_total:.4g}",
        "derived",
        "",
    )
    print_table(table)


def register(app: typer.Typer) -> None:
    """Add ``llm`` under the ``estimate`` group (owned by cli/estimate.py)."""
    from infercarbon.cli.estimate import estimate_app

    estimate_app.command("llm")(llm_command)
