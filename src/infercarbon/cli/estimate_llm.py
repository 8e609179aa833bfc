"""``infercarbon estimate llm``: energy of an LLM request from model size and hardware.

Single request::

    infercarbon estimate llm --params-b 8 --active-params-b 8 --gpu H100 --gpus 1 \\
        --batch 64 --output-tokens 400 [--input-tokens N] [--precision bf16] --json

Batch (vectorised)::

    infercarbon estimate llm --csv IN.csv --format csv > OUT.csv

The CSV needs ``total_params_b, active_params_b, gpu, num_gpus, batch_size,
output_tokens`` and may have ``input_tokens, precision``; the output repeats every input
row with the estimate columns appended.  A bad cell is a ParseError naming the file, the
1-based row (the header is row 1) and the column.
"""

from __future__ import annotations

import csv
import io
import json
import sys
import warnings
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.table import Table

from infercarbon.cli._common import console, err_console, print_json
from infercarbon.errors import FallbackWarning, InputError, ParseError, UnknownHardwareError
from infercarbon.estimators.llm import (
    DEFAULT_HOST_POWER_PER_GPU_W,
    DEFAULT_PUE,
    estimate_llm,
    estimate_llm_arrays,
    load_calibration,
    normalise_precision,
)
from infercarbon.reference.gpus import lookup_gpu

__all__ = ["llm_command", "read_llm_csv", "register", "run_llm_csv"]

REQUIRED = ("total_params_b", "active_params_b", "gpu", "num_gpus", "batch_size", "output_tokens")
OPTIONAL = ("input_tokens", "precision")
OUTPUT_FIELDS = (
    "input_tokens_used",
    "input_tokens_assumed",
    "gpu_energy_j",
    "gpu_energy_low_j",
    "gpu_energy_high_j",
    "host_energy_j",
    "idle_energy_j",
    "pue_overhead_j",
    "energy_j_total",
)
_POSITIVE = ("total_params_b", "active_params_b", "num_gpus", "batch_size", "output_tokens")


def _numeric(name: str, values: list[str], path: str) -> np.ndarray[Any, np.dtype[np.float64]]:
    try:
        arr = np.asarray(values, dtype=np.float64)
    except ValueError:
        for i, v in enumerate(values):  # failure path only: find the offending cell
            try:
                float(v)
            except ValueError:
                what = "empty cell" if not v.strip() else f"not a number: {v!r}"
                raise ParseError(what, path=path, row=i + 2, column=name) from None
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
        raise ParseError(f"{rule}, got {values[i]!r}", path=path, row=i + 2, column=name)
    return arr


def read_llm_csv(
    text: str, path: str = "<csv>"
) -> tuple[list[str], list[list[str]], dict[str, Any]]:
    """Parse and validate the batch CSV: header, raw rows, and typed columns."""
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        raise ParseError("empty file (no header)", path=path, row=1) from None
    header = [h.strip() for h in header]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise ParseError(
            f"missing required column(s): {', '.join(missing)}; need {', '.join(REQUIRED)}",
            path=path,
            row=1,
        )
    rows = [r for r in reader if r]
    if not rows:
        raise ParseError("no data rows", path=path, row=2)
    for i, r in enumerate(rows):
        if len(r) != len(header):
            raise ParseError(f"{len(r)} cells, header has {len(header)}", path=path, row=i + 2)
    columns = dict(zip(header, (list(c) for c in zip(*rows, strict=True)), strict=True))
    typed: dict[str, Any] = {}
    for name in _POSITIVE:
        typed[name] = _numeric(name, columns[name], path)
    over = typed["active_params_b"] > typed["total_params_b"]
    if over.any():
        i = int(np.flatnonzero(over)[0])
        raise ParseError(
            "active_params_b exceeds total_params_b", path=path, row=i + 2, column="active_params_b"
        )
    gpus = np.asarray([g.strip() for g in columns["gpu"]], dtype=object)
    for name in dict.fromkeys(gpus.tolist()):  # each distinct name once
        try:
            lookup_gpu(name)
        except UnknownHardwareError as exc:
            i = int(np.flatnonzero(gpus == name)[0])
            raise ParseError(str(exc), path=path, row=i + 2, column="gpu") from exc
    typed["gpu"] = gpus
    if "precision" in columns:
        precs = np.asarray([p.strip() for p in columns["precision"]], dtype=object)
        for name in dict.fromkeys(precs.tolist()):
            try:
                normalise_precision(name)
            except InputError as exc:
                i = int(np.flatnonzero(precs == name)[0])
                raise ParseError(str(exc), path=path, row=i + 2, column="precision") from exc
        typed["precision"] = precs
    else:
        typed["precision"] = "bf16"
    default_in = load_calibration().default_input_tokens
    if "input_tokens" in columns:
        raw = columns["input_tokens"]
        empty = np.asarray([not v.strip() for v in raw])
        filled = [default_in if e else v for v, e in zip(raw, empty, strict=True)]
        typed["input_tokens"] = _numeric("input_tokens", [str(v) for v in filled], path)
        typed["input_tokens_assumed"] = empty
    else:
        typed["input_tokens"] = np.full(len(rows), default_in)
        typed["input_tokens_assumed"] = np.ones(len(rows), dtype=bool)
    return header, rows, typed


def run_llm_csv(
    text: str,
    *,
    path: str = "<csv>",
    out_format: str = "csv",
    pue: float = DEFAULT_PUE,
    host_power_per_gpu_w: float = DEFAULT_HOST_POWER_PER_GPU_W,
) -> str:
    """Estimate every row of a batch CSV; returns the CSV (or JSON) text."""
    header, rows, t = read_llm_csv(text, path)
    n_assumed = int(np.count_nonzero(t["input_tokens_assumed"]))
    if n_assumed:
        warnings.warn(
            f"{n_assumed} row(s) without input_tokens: assumed "
            f"{load_calibration().default_input_tokens:g} prompt tokens "
            "(column input_tokens_assumed marks them)",
            FallbackWarning,
            stacklevel=2,
        )
    res = estimate_llm_arrays(
        t["total_params_b"],
        t["active_params_b"],
        t["gpu"],
        t["num_gpus"],
        t["batch_size"],
        t["output_tokens"],
        t["input_tokens"],
        t["precision"],
        pue=pue,
        host_power_per_gpu_w=host_power_per_gpu_w,
    )
    cols = res.as_columns()
    out_cols = {
        "input_tokens_used": t["input_tokens"],
        "input_tokens_assumed": t["input_tokens_assumed"],
        **{k: cols[k] for k in OUTPUT_FIELDS if k in cols},
    }
    if out_format == "json":
        recs = []
        for i, r in enumerate(rows):
            rec: dict[str, Any] = dict(zip(header, r, strict=True))
            for k, v in out_cols.items():
                rec[k] = bool(v[i]) if v.dtype == bool else float(v[i])
            recs.append(rec)
        return json.dumps(recs, indent=2) + "\n"
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([*header, *out_cols])
    formatted = [
        np.where(v, "true", "false") if v.dtype == bool else np.char.mod("%.6g", v)
        for v in out_cols.values()
    ]
    w.writerows([*r, *extra] for r, extra in zip(rows, zip(*formatted, strict=True), strict=True))
    return buf.getvalue()


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
    gpus: Annotated[int, typer.Option("--gpus", help="GPUs per model replica (TP x PP).")] = 1,
    batch: Annotated[
        float | None, typer.Option("--batch", help="Concurrent requests (batch size).")
    ] = None,
    output_tokens: Annotated[
        float | None, typer.Option("--output-tokens", help="Generated tokens.")
    ] = None,
    input_tokens: Annotated[
        float | None,
        typer.Option(
            "--input-tokens",
            help="Prompt tokens (default: the calibration's documented assumption).",
        ),
    ] = None,
    precision: Annotated[
        str, typer.Option("--precision", help="Weights: bf16 fp16 fp8 int8 int4 fp4 fp32.")
    ] = "bf16",
    pue: Annotated[
        float, typer.Option("--pue", help="Facility PUE (default 1.15, illustrative).")
    ] = DEFAULT_PUE,
    host_power_per_gpu_w: Annotated[
        float, typer.Option("--host-power-per-gpu-w", help="Host CPU/DRAM power per GPU [W].")
    ] = DEFAULT_HOST_POWER_PER_GPU_W,
    utilisation: Annotated[
        float | None,
        typer.Option(
            "--utilisation", help="Deployment duty cycle (0..1] to include the idle share."
        ),
    ] = None,
    csv_path: Annotated[
        Path | None, typer.Option("--csv", help="Batch mode: input CSV ('-' = stdin).")
    ] = None,
    out_format: Annotated[str, typer.Option("--format", help="Batch output: csv | json.")] = "csv",
    output: Annotated[
        Path | None, typer.Option("--output", help="Batch mode: write here, not stdout.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the JSON contract.")] = False,
) -> None:
    """Energy of one LLM request (or a CSV of them): GPU, host, idle share and PUE."""
    if csv_path is not None:
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
                text,
                path=where,
                out_format=out_format,
                pue=pue,
                host_power_per_gpu_w=host_power_per_gpu_w,
            )
        for wmsg in caught:
            err_console.print(f"note: {wmsg.message}")
        if output is None:
            sys.stdout.write(result)
        else:
            output.write_text(result, encoding="utf-8")
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
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", FallbackWarning)
        est = estimate_llm(
            params_b,
            active_params_b,
            gpu,
            gpus,
            batch,
            output_tokens,
            input_tokens,
            precision,
            pue=pue,
            host_power_per_gpu_w=host_power_per_gpu_w,
            utilisation_frac=utilisation,
        )
    if as_json:
        print_json(est.to_dict())
        return
    for wmsg in caught:
        err_console.print(f"note: {wmsg.message}")
    table = Table(title=f"LLM request on {est.inputs['gpu']} x{gpus}")
    for col in ("line item", "J", "low..high J", "label", "source"):
        table.add_column(col)
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
    console.print(table)


def register(app: typer.Typer) -> None:
    """Add ``llm`` under the ``estimate`` group (owned by cli/estimate.py)."""
    from infercarbon.cli.estimate import estimate_app

    estimate_app.command("llm")(llm_command)
