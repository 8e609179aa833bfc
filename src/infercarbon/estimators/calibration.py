"""Fit and evaluate the LLM energy model on measured rows (ML.ENERGY Leaderboard v2).

Pure numpy: a small Levenberg-Marquardt on log residuals with Huber reweighting.  Both
the measured GPU energy per request and the measured time per output token enter the
fit, so the time constants (overheads, inefficiencies) and the power constant are
separately identified rather than traded against each other.

The bundled training table (``data/mlenergy_v2_llm_rows.csv``) is produced by
``tools/calibrate_llm.py`` from ``../shared/data/inference_energy``; the bundled fit
(``data/llm_calibration.json``) is :func:`build_calibration_document` on that table, and
a test checks it reproduces.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from infercarbon.errors import DataError, ParseError
from infercarbon.estimators.ecologits_formula import ECOLOGITS_SOURCE, ecologits_gpu_energy_j
from infercarbon.estimators.llm import (
    BYTES_PER_PARAM,
    LLMCalibration,
    decode_prefill_energy_j,
)
from infercarbon.reference.gpus import lookup_gpu

__all__ = [
    "FIXED",
    "PARAM_NAMES",
    "TrainingRows",
    "build_calibration_document",
    "error_metrics",
    "evaluate",
    "fit",
    "load_training_rows",
    "predict",
]

FloatArray = npt.NDArray[np.float64]

#: Fitted constants, in order.
PARAM_NAMES = (
    "step_overhead_s",
    "seq_overhead_s",
    "memory_inefficiency",
    "compute_inefficiency",
    "static_power_frac",
)
#: Constants held fixed (assumptions, documented in the JSON).
FIXED: dict[str, float] = {
    "prefill_mfu_frac": 0.5,
    "kv_bytes_coef": 45_000.0,
    "kv_bytes_exponent": 0.45,
    "default_input_tokens": 300.0,
}
#: Prompt tokens assumed per ML.ENERGY task (the leaderboard does not publish them).
TASK_INPUT_TOKENS = {"chat": 300.0, "code": 150.0}
_START = (0.02, 2.5e-4, 1.0, 3.0, 0.3)
_HUBER_DELTA = 0.2
_TIME_WEIGHT = 1.0


@dataclass(frozen=True)
class TrainingRows:
    """Measured rows as arrays (one element per configuration)."""

    model: npt.NDArray[np.str_]
    task: npt.NDArray[np.str_]
    gpu: npt.NDArray[np.str_]
    num_gpus: FloatArray
    batch_size: FloatArray
    output_tokens: FloatArray
    input_tokens: FloatArray
    total_params_b: FloatArray
    active_params_b: FloatArray
    energy_j: FloatArray
    tpot_s: FloatArray
    precision: npt.NDArray[np.str_]

    def __len__(self) -> int:
        return int(self.energy_j.size)

    def subset(self, mask: npt.NDArray[np.bool_]) -> TrainingRows:
        return TrainingRows(**{k: getattr(self, k)[mask] for k in self.__dataclass_fields__})


_NUMERIC = (
    "num_gpus",
    "batch_size",
    "output_tokens",
    "input_tokens",
    "total_params_b",
    "active_params_b",
    "energy_j",
    "tpot_s",
)


def load_training_rows(path: str | Path | None = None) -> TrainingRows:
    """Read the training table (bundled by default)."""
    if path is None:
        text = (
            resources.files("infercarbon.estimators")
            .joinpath("data", "mlenergy_v2_llm_rows.csv")
            .read_text(encoding="utf-8")
        )
        where = "mlenergy_v2_llm_rows.csv"
    else:
        text = Path(path).read_text(encoding="utf-8")
        where = str(path)
    lines = [ln for ln in text.splitlines() if not ln.startswith("#")]
    cols: dict[str, list[Any]] = {}
    for i, row in enumerate(csv.DictReader(lines), start=2):
        for key in ("model", "task", "gpu", "precision", *_NUMERIC):
            raw = row.get(key)
            if raw is None or raw == "":
                raise ParseError("missing value", path=where, row=i, column=key)
            if key in _NUMERIC:
                try:
                    val: Any = float(raw)
                except ValueError as exc:
                    raise ParseError(
                        f"not a number: {raw!r}", path=where, row=i, column=key
                    ) from exc
            else:
                val = raw
            cols.setdefault(key, []).append(val)
    if not cols:
        raise DataError(f"{where}: no rows")
    return TrainingRows(
        **{k: np.asarray(v, dtype=np.float64 if k in _NUMERIC else str) for k, v in cols.items()}
    )


def _calibration(
    params: FloatArray | tuple[float, ...], base: LLMCalibration | None = None
) -> LLMCalibration:
    values: dict[str, Any] = dict(zip(PARAM_NAMES, (float(x) for x in params), strict=True))
    if base is not None:
        return replace(base, **values)
    fixed: dict[str, Any] = dict(FIXED)
    return LLMCalibration(
        **values,
        **fixed,
        log_residual_q05=0.0,
        log_residual_q95=0.0,
        source="(fit in progress)",
        vintage="",
        licence="",
        n_rows=0,
    )


def _hardware(rows: TrainingRows) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    tdp, bw, fl, bpp = (np.empty(len(rows)) for _ in range(4))
    for name in np.unique(rows.gpu):
        m = rows.gpu == name
        spec = lookup_gpu(str(name))
        tdp[m], bw[m] = spec.tdp_w, spec.memory_bandwidth_bytes_per_s
    for prec in np.unique(rows.precision):
        m = rows.precision == prec
        bpp[m] = BYTES_PER_PARAM[str(prec)]
        for name in np.unique(rows.gpu[m]):
            mm = m & (rows.gpu == name)
            fl[mm] = lookup_gpu(str(name)).flops_for(str(prec))
    return tdp, bw, fl, bpp


def _model(rows: TrainingRows, hw: tuple[FloatArray, FloatArray, FloatArray, FloatArray],
           cal: LLMCalibration) -> tuple[FloatArray, FloatArray]:
    """GPU energy per request [J] and decode step time [s], given the rows' hardware specs."""
    tdp, bw, fl, bpp = hw
    dec, pre, step, _ = decode_prefill_energy_j(
        rows.total_params_b, rows.active_params_b, rows.num_gpus, rows.batch_size,
        rows.input_tokens, rows.output_tokens, tdp, bw, fl, bpp, cal,
    )
    return np.asarray(dec + pre, dtype=np.float64), np.asarray(step, dtype=np.float64)


def predict(rows: TrainingRows, cal: LLMCalibration) -> tuple[FloatArray, FloatArray]:
    """Modelled GPU energy per request [J] and decode step time [s] for each row."""
    return _model(rows, _hardware(rows), cal)


def _to_params(theta: FloatArray) -> FloatArray:
    p = np.exp(theta)
    p[4] = 1.0 / (1.0 + math.exp(-theta[4]))  # static power fraction in (0, 1)
    return p


def _from_params(p: tuple[float, ...] | FloatArray) -> FloatArray:
    theta = np.log(np.asarray(p, dtype=np.float64))
    theta[4] = math.log(p[4] / (1.0 - p[4]))
    return theta


def _levenberg_marquardt(
    fun: Callable[[FloatArray], FloatArray], theta: FloatArray, *, max_iter: int = 200
) -> FloatArray:
    lam = 1e-2
    r = fun(theta)
    for _ in range(max_iter):
        w = np.minimum(1.0, _HUBER_DELTA / np.maximum(np.abs(r), 1e-12))  # Huber IRLS weights
        sw = np.sqrt(w)
        jac = np.empty((r.size, theta.size))
        for j in range(theta.size):  # forward differences (5 parameters)
            step = 1e-6 * max(1.0, abs(theta[j]))
            t2 = theta.copy()
            t2[j] += step
            jac[:, j] = (fun(t2) - r) / step
        jw, rw = jac * sw[:, None], r * sw
        g = jw.T @ rw
        h = jw.T @ jw
        cost = float(rw @ rw)
        improved = False
        for _ in range(20):
            delta = np.linalg.solve(h + lam * np.diag(np.diag(h) + 1e-12), -g)
            cand = theta + delta
            rc = fun(cand)
            if np.all(np.isfinite(rc)) and float((rc * sw) @ (rc * sw)) < cost:
                theta, r, lam, improved = cand, rc, max(lam / 3.0, 1e-9), True
                break
            lam *= 4.0
        if not improved or float(np.max(np.abs(delta))) < 1e-9:
            break
    return theta


def fit(rows: TrainingRows, start: tuple[float, ...] | FloatArray = _START) -> LLMCalibration:
    """Fit the five constants on ``rows`` (energy and time per output token)."""
    hw = _hardware(rows)
    log_e, log_t = np.log(rows.energy_j), np.log(rows.tpot_s)

    def residuals(theta: FloatArray) -> FloatArray:
        energy, step = _model(rows, hw, _calibration(_to_params(theta)))
        return np.concatenate([np.log(energy) - log_e, _TIME_WEIGHT * (np.log(step) - log_t)])

    theta = _levenberg_marquardt(residuals, _from_params(start))
    return _calibration(_to_params(theta))


def error_metrics(predicted: FloatArray, measured: FloatArray) -> dict[str, float]:
    """Median absolute percentage error and share within +-25 % (both in %)."""
    ape = np.abs(predicted / measured - 1.0)
    return {
        "mdape_pct": round(float(np.median(ape)) * 100, 2),
        "within_25_pct": round(float(np.mean(ape <= 0.25)) * 100, 2),
        "n": int(ape.size),
    }


def _held_out(rows: TrainingRows, groups: npt.NDArray[np.str_], start: FloatArray) -> FloatArray:
    pred = np.empty(len(rows))
    for g in np.unique(groups):
        test = groups == g
        cal = fit(rows.subset(~test), start)
        pred[test] = predict(rows.subset(test), cal)[0]
    return pred


def evaluate(rows: TrainingRows, cal: LLMCalibration) -> dict[str, Any]:
    """In-sample, leave-one-model-out and leave-one-GPU-out errors, and EcoLogits."""
    start = np.array([getattr(cal, k) for k in PARAM_NAMES])
    e = rows.energy_j
    lomo = _held_out(rows, rows.model, start)
    logo = _held_out(rows, rows.gpu, start)
    eco_default = ecologits_gpu_energy_j(
        rows.total_params_b, rows.active_params_b, rows.output_tokens
    )
    eco_batch = ecologits_gpu_energy_j(
        rows.total_params_b, rows.active_params_b, rows.output_tokens, rows.batch_size
    )
    eco_batch_gpus = ecologits_gpu_energy_j(
        rows.total_params_b,
        rows.active_params_b,
        rows.output_tokens,
        rows.batch_size,
        rows.num_gpus,
    )
    in_sample, _ = predict(rows, cal)
    lomo_res = np.log(lomo / e)
    return {
        "in_sample": error_metrics(in_sample, e),
        "leave_one_model_out": error_metrics(lomo, e),
        "leave_one_gpu_out": error_metrics(logo, e),
        "ecologits_batch64": error_metrics(eco_default, e),
        "ecologits_true_batch": error_metrics(eco_batch, e),
        "ecologits_true_batch_true_gpus": error_metrics(eco_batch_gpus, e),
        "ecologits_source": ECOLOGITS_SOURCE,
        "lomo_log_residual_q05": float(np.quantile(lomo_res, 0.05)),
        "lomo_log_residual_q95": float(np.quantile(lomo_res, 0.95)),
    }


def build_calibration_document(rows: TrainingRows) -> dict[str, Any]:
    """Fit on all rows, evaluate, and return the JSON document that is bundled."""
    cal = fit(rows)
    ev = evaluate(rows, cal)
    return {
        "model": "infercarbon LLM prefill/decode roofline-with-overheads model v1",
        "source": "ML.ENERGY Leaderboard v2 (Chung et al.), llm_text_generation rows",
        "vintage": "2024",
        "licence": "Apache-2.0 (data)",
        "n_rows": len(rows),
        "parameters": {k: float(f"{getattr(cal, k):.6g}") for k in PARAM_NAMES},
        "parameter_meaning": {
            "step_overhead_s": "fixed serving overhead per decode step [s] (scheduler, launch)",
            "seq_overhead_s": "serving overhead per running request per step [s]",
            "memory_inefficiency": "spec bandwidth / achieved bandwidth for weight+KV reads",
            "compute_inefficiency": "dense peak FLOPS / achieved FLOPS in decode",
            "static_power_frac": "GPU power at zero busy fraction, as a fraction of TDP",
        },
        "fixed": dict(FIXED),
        "fixed_meaning": {
            "prefill_mfu_frac": "assumed prefill model-FLOPS utilisation (prefill at TDP)",
            "kv_bytes_coef": "KV-cache bytes per token = coef x active_params_b ** exponent "
            "(approximate fit to published GQA configs: Llama-3.1, Mistral, Mixtral, Gemma-2)",
            "kv_bytes_exponent": "see kv_bytes_coef",
            "default_input_tokens": "prompt tokens assumed when none are given (chat-task assumption)",
        },
        "task_input_tokens_assumed": dict(TASK_INPUT_TOKENS),
        "uncertainty": {
            "log_residual_q05": round(ev["lomo_log_residual_q05"], 4),
            "log_residual_q95": round(ev["lomo_log_residual_q95"], 4),
            "method": "5th/95th percentile of leave-one-model-out log(pred/measured)",
        },
        "evaluation": {k: v for k, v in ev.items() if not k.startswith("lomo_log")},
    }
