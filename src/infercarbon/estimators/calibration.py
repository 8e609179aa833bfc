"""Fit and validate the LLM energy model on measured rows (ML.ENERGY Leaderboard v2 and v3).

Pure numpy: a small Levenberg-Marquardt on log residuals with Huber reweighting.  The
measured GPU energy per request, time per output token and average power per GPU all
enter the fit, so the time constants (overheads, inefficiencies) and the power constants
are separately identified rather than traded against each other (energy = power x time:
the power residual also pins how much of a request's time is prefill).

Two kinds of constants (see :mod:`infercarbon.estimators.llm`):

* **shared** (:data:`SHARED_NAMES`): hardware-side efficiencies that multiply spec-sheet
  numbers, the same for every serving stack;
* **per serving stack** (:data:`STACK_NAMES`): overheads (per step, per running request,
  per doubling of GPUs), the GPU-busy share of the per-request overhead and the
  quantised-kernel factors of one software vintage (``vllm-2024`` = Leaderboard v2,
  ``vllm-2025`` = Leaderboard v3).

The bundled training tables (``data/mlenergy_v2_llm_rows.csv``,
``data/mlenergy_v3_llm_h100_rows.csv``) are produced by ``tools/calibrate_llm.py`` from
``../shared/data/inference_energy``; the bundled fit and its validation
(``data/llm_calibration.json``) are :func:`build_calibration_document` on those tables, and
``docs/llm_estimator.md`` carries :func:`validation_markdown` of it (tests check both).
"""

from __future__ import annotations

import csv
import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import Any, cast

import numpy as np
import numpy.typing as npt

from infercarbon.arrays import FloatArray
from infercarbon.errors import DataError, ParseError
from infercarbon.estimators.ecologits_formula import ECOLOGITS_SOURCE, ecologits_gpu_energy_j
from infercarbon.estimators.llm import (
    BYTES_PER_PARAM,
    KERNEL_CLASS,
    LLMCalibration,
    decode_prefill_energy_j,
)
from infercarbon.reference.gpus import lookup_gpu

__all__ = [
    "BAND_MIN_COVERAGE_FRAC",
    "BAND_SPLITS",
    "CROSS_CAMPAIGN_SPLITS",
    "FIXED",
    "SHARED_NAMES",
    "STACKS",
    "STACK_NAMES",
    "TASK_INPUT_TOKENS",
    "ModelFit",
    "TrainingRows",
    "build_calibration_document",
    "error_metrics",
    "fit",
    "load_training_rows",
    "predict",
    "slice_labels",
    "validate",
    "validation_markdown",
]


#: Constants shared by every serving stack (hardware side), in order.
SHARED_NAMES = (
    "memory_inefficiency",
    "kv_inefficiency",
    "compute_inefficiency",
    "static_power_frac",
)
#: Constants of one serving stack (software side), in order.
STACK_NAMES = (
    "step_overhead_s",
    "seq_overhead_s",
    "seq_busy_frac",
    "comm_overhead_s",
    "fp8_kernel_factor",
    "fp4_kernel_factor",
)
#: Calibrated serving stacks, oldest first: name -> (campaign, source, vintage).
STACKS: dict[str, tuple[str, str, str]] = {
    "vllm-2024": (
        "v2",
        "ML.ENERGY Leaderboard v2 (Chung et al.), llm_text_generation rows, A100 and H100",
        "2024",
    ),
    "vllm-2025": (
        "v3",
        "ML.ENERGY Leaderboard v3 (2025 vLLM stack), H100 rows",
        "2025",
    ),
}
#: Constants held fixed (assumptions, documented in the JSON).
FIXED: dict[str, float] = {
    "prefill_mfu_frac": 0.5,
    "kv_bytes_coef": 45_000.0,
    "kv_bytes_exponent": 0.45,
    "default_input_tokens": 300.0,
}
#: Prompt tokens assumed per ML.ENERGY task (the leaderboards do not publish them).  v2:
#: chat (ShareGPT) and code; v3: LMArena chat, GPQA questions (short prompts, long
#: reasoning outputs), Sourcegraph fill-in-the-middle (long code context), image and video
#: chat (the vision encoder's tokens are prompt tokens for the language model).  The v3
#: figures for sourcegraph-fim and video-chat are *effective* prompt lengths inferred from
#: the v3 H100 rows (the grid 50..10,000 tokens, in-sample best of the bundled fit: 3,000
#: and 1,500 rather than the 4,000 and 5,000 first assumed); see docs/llm_estimator.md.
TASK_INPUT_TOKENS: dict[str, float] = {
    "chat": 300.0,
    "code": 150.0,
    "lm-arena-chat": 300.0,
    "gpqa": 250.0,
    "sourcegraph-fim": 3000.0,
    "image-chat": 1000.0,
    "video-chat": 1500.0,
}
#: The band must cover at least this share of held-out rows in each cross-campaign split.
BAND_MIN_COVERAGE_FRAC = 0.85
#: The two cross-campaign splits.
CROSS_CAMPAIGN_SPLITS = ("cross_campaign_v2_to_v3_h100", "cross_campaign_v3_h100_to_v2")
#: The splits the band must cover (>= BAND_MIN_COVERAGE_FRAC each): both cross-campaign
#: directions, every leave-one-GPU-out direction (within v2 and across campaigns), and the
#: A100 (v2) -> H100 (v3) transfer, i.e. every split that moves to another campaign or GPU.
BAND_SPLITS = (
    *CROSS_CAMPAIGN_SPLITS,
    "leave_one_gpu_out_v2_test_a100",
    "leave_one_gpu_out_v2_test_h100",
    "leave_one_gpu_out_cross_campaign_test_a100",
    "leave_one_gpu_out_cross_campaign_test_h100",
    "a100_v2_to_h100_v3",
)

_SHARED_START = (1.0, 1.0, 2.0, 0.3)
_STACK_START = (0.01, 1e-4, 0.3, 0.003, 1.0, 1.0)
_HUBER_DELTA = 0.2
#: constants that are fractions in (0, 1): fitted as logits
_FRACTIONS = ("static_power_frac", "seq_busy_frac")


@dataclass(frozen=True)
class TrainingRows:
    """Measured rows as arrays (one element per configuration)."""

    model: npt.NDArray[np.str_]
    task: npt.NDArray[np.str_]
    gpu: npt.NDArray[np.str_]
    campaign: npt.NDArray[np.str_]
    stack: npt.NDArray[np.str_]
    num_gpus: FloatArray
    batch_size: FloatArray
    output_tokens: FloatArray
    input_tokens: FloatArray
    total_params_b: FloatArray
    active_params_b: FloatArray
    energy_j: FloatArray
    tpot_s: FloatArray
    gpu_power_w: FloatArray
    precision: npt.NDArray[np.str_]

    def __len__(self) -> int:
        return int(self.energy_j.size)

    def subset(self, mask: npt.NDArray[np.bool_]) -> TrainingRows:
        return TrainingRows(**{k: getattr(self, k)[mask] for k in self.__dataclass_fields__})

    @property
    def gpu_family(self) -> npt.NDArray[np.str_]:
        """``A100``/``H100``/... per row (the spec table's family)."""
        fam = {g: lookup_gpu(str(g)).family for g in np.unique(self.gpu)}
        return np.asarray([fam[g] for g in self.gpu], dtype=str)

    @staticmethod
    def concat(parts: Sequence[TrainingRows]) -> TrainingRows:
        return TrainingRows(
            **{
                k: np.concatenate([getattr(p, k) for p in parts])
                for k in TrainingRows.__dataclass_fields__
            }
        )


_TEXT = ("model", "task", "gpu", "campaign", "stack", "precision")
_NUMERIC = (
    "num_gpus",
    "batch_size",
    "output_tokens",
    "input_tokens",
    "total_params_b",
    "active_params_b",
    "energy_j",
    "tpot_s",
    "gpu_power_w",
)
BUNDLED_TABLES = ("mlenergy_v2_llm_rows.csv", "mlenergy_v3_llm_h100_rows.csv")


def _read_table(text: str, where: str) -> TrainingRows:
    lines = [ln for ln in text.splitlines() if not ln.startswith("#")]
    cols: dict[str, list[Any]] = {}
    for i, row in enumerate(csv.DictReader(lines), start=2):
        for key in (*_TEXT, *_NUMERIC):
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


def load_training_rows(paths: Sequence[str | Path] | None = None) -> TrainingRows:
    """Read the training tables (both bundled campaigns by default), concatenated."""
    parts = []
    if paths is None:
        for name in BUNDLED_TABLES:
            text = (
                resources.files("infercarbon.estimators")
                .joinpath("data", name)
                .read_text(encoding="utf-8")
            )
            parts.append(_read_table(text, name))
    else:
        parts = [_read_table(Path(p).read_text(encoding="utf-8"), str(p)) for p in paths]
    return TrainingRows.concat(parts)


# ------------------------------------------------------------------------------ model


@dataclass(frozen=True)
class ModelFit:
    """Fitted constants: shared ones and, per serving stack, the stack's own."""

    shared: dict[str, float]
    stacks: dict[str, dict[str, float]]

    def calibration(self, stack: str) -> LLMCalibration:
        """An :class:`LLMCalibration` for ``stack`` (no band: residual quantiles 0)."""
        values: dict[str, Any] = {**self.shared, **self.stacks[stack], **FIXED}
        return LLMCalibration(
            **values,
            log_residual_q05=0.0,
            log_residual_q95=0.0,
            source=STACKS.get(stack, ("", stack, ""))[1],
            vintage=STACKS.get(stack, ("", "", ""))[2],
            licence="Apache-2.0 (data)",
            n_rows=0,
            stack=stack,
        )


def _hardware(rows: TrainingRows) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    tdp, bw, fl, bpp = (np.empty(len(rows)) for _ in range(4))
    for name in np.unique(rows.gpu):
        m = rows.gpu == name
        spec = lookup_gpu(str(name))
        tdp[m], bw[m] = spec.tdp_w, spec.memory_bandwidth_bytes_per_s
        for prec in np.unique(rows.precision[m]):
            mm = m & (rows.precision == prec)
            fl[mm] = spec.flops_for(str(prec))
            bpp[mm] = BYTES_PER_PARAM[str(prec)]
    return tdp, bw, fl, bpp


def _model(
    rows: TrainingRows,
    hw: tuple[FloatArray, FloatArray, FloatArray, FloatArray],
    mf: ModelFit,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """GPU energy per request [J], decode step time [s] and average power per GPU [W], each
    row with its stack."""
    tdp, bw, fl, bpp = hw
    per_row = {k: np.empty(len(rows)) for k in STACK_NAMES}
    for name in np.unique(rows.stack):
        m = rows.stack == name
        for k in STACK_NAMES:
            per_row[k][m] = mf.stacks[str(name)][k]
    kclass = np.asarray([KERNEL_CLASS.get(str(p), "") for p in rows.precision])
    kf = np.where(
        kclass == "fp8",
        per_row["fp8_kernel_factor"],
        np.where(kclass == "fp4", per_row["fp4_kernel_factor"], 1.0),
    )
    cal = replace(
        mf.calibration(next(iter(mf.stacks))),
        step_overhead_s=cast(float, per_row["step_overhead_s"]),
        seq_overhead_s=cast(float, per_row["seq_overhead_s"]),
        comm_overhead_s=cast(float, per_row["comm_overhead_s"]),
        seq_busy_frac=cast(float, per_row["seq_busy_frac"]),
    )
    dec, pre, step, gpu_s = decode_prefill_energy_j(
        rows.total_params_b, rows.active_params_b, rows.num_gpus, rows.batch_size,
        rows.input_tokens, rows.output_tokens, tdp, bw, fl, bpp, cal, kf,
    )  # fmt: skip
    energy = np.asarray(dec + pre, dtype=np.float64)
    return energy, np.asarray(step, dtype=np.float64), energy / gpu_s


def predict(rows: TrainingRows, mf: ModelFit) -> tuple[FloatArray, FloatArray]:
    """Modelled GPU energy per request [J] and decode step time [s] for each row."""
    energy, step, _ = _model(rows, _hardware(rows), mf)
    return energy, step


# ------------------------------------------------------------------------------ fitting
# Parameters live in an unconstrained vector: log of every constant except the static power
# fraction, which is a logit (it must stay in (0, 1)).


def _layout(stacks: Sequence[str]) -> list[tuple[str, str]]:
    return [("", k) for k in SHARED_NAMES] + [(s, k) for s in stacks for k in STACK_NAMES]


def _to_theta(mf: ModelFit, layout: list[tuple[str, str]]) -> FloatArray:
    out = []
    for s, k in layout:
        v = mf.shared[k] if s == "" else mf.stacks[s][k]
        if k in _FRACTIONS:
            v = min(max(v, 1e-12), 1.0 - 1e-12)  # a fraction fitted to its bound
            out.append(math.log(v / (1.0 - v)))
        else:
            out.append(math.log(v))
    return np.asarray(out, dtype=np.float64)


def _from_theta(theta: FloatArray, layout: list[tuple[str, str]], base: ModelFit) -> ModelFit:
    shared = dict(base.shared)
    stacks = {s: dict(v) for s, v in base.stacks.items()}
    for (s, k), t in zip(layout, theta, strict=True):
        t = min(max(float(t), -40.0), 40.0)  # a runaway LM step must not overflow exp
        v = 1.0 / (1.0 + math.exp(-t)) if k in _FRACTIONS else math.exp(t)
        if s == "":
            shared[k] = v
        else:
            stacks[s][k] = v
    return ModelFit(shared, stacks)


def _start(stacks: Sequence[str]) -> ModelFit:
    return ModelFit(
        dict(zip(SHARED_NAMES, _SHARED_START, strict=True)),
        {s: dict(zip(STACK_NAMES, _STACK_START, strict=True)) for s in stacks},
    )


def _levenberg_marquardt(
    fun: Callable[[FloatArray], FloatArray], theta: FloatArray, *, max_iter: int = 100
) -> FloatArray:
    lam = 1e-2
    r = fun(theta)
    for _ in range(max_iter):
        w = np.minimum(1.0, _HUBER_DELTA / np.maximum(np.abs(r), 1e-12))  # Huber IRLS weights
        sw = np.sqrt(w)
        jac = np.empty((r.size, theta.size))
        for j in range(theta.size):  # forward differences
            step = 1e-6 * max(1.0, abs(theta[j]))
            t2 = theta.copy()
            t2[j] += step
            jac[:, j] = (fun(t2) - r) / step
        jw, rw = jac * sw[:, None], r * sw
        g = jw.T @ rw
        h = jw.T @ jw
        cost = float(rw @ rw)
        improved = False
        delta: FloatArray = np.zeros_like(theta)
        for _ in range(20):
            delta = np.asarray(
                np.linalg.solve(h + lam * np.diag(np.diag(h) + 1e-9), -g), dtype=np.float64
            )
            cand = theta + delta
            rc = fun(cand)
            if np.all(np.isfinite(rc)) and float((rc * sw) @ (rc * sw)) < cost:
                theta, r, lam, improved = cand, rc, max(lam / 3.0, 1e-9), True
                break
            lam *= 4.0
        if not improved or float(np.max(np.abs(delta))) < 1e-7:
            break
    return theta


def _identifiable(rows: TrainingRows, s: str, k: str) -> bool:
    """A stack's kernel factor is fitted only where that stack has rows of the precision."""
    if s == "" or k not in ("fp8_kernel_factor", "fp4_kernel_factor"):
        return True
    kc = k.split("_", 1)[0]
    prec = rows.precision[rows.stack == s]
    return any(KERNEL_CLASS.get(str(p)) == kc for p in prec)


def fit(
    rows: TrainingRows,
    *,
    base: ModelFit | None = None,
    free: Callable[[str, str], bool] | None = None,
) -> ModelFit:
    """Fit the constants on ``rows`` (energy and time per output token, jointly).

    Every stack present in ``rows`` gets its own constants; ``base`` supplies starting
    values and the constants that are not free (``free(stack, name)`` False, stack ``""``
    for the shared ones).  A stack's kernel factor for a precision it has no rows of keeps
    its base value (1 unless given).
    """
    stacks = [str(s) for s in dict.fromkeys(rows.stack.tolist())]
    start = base or _start(stacks)
    for s in stacks:
        if s not in start.stacks:
            start = ModelFit(start.shared, {**start.stacks, s: dict(_start([s]).stacks[s])})
    layout = [
        (s, k)
        for s, k in _layout(stacks)
        if _identifiable(rows, s, k) and (free is None or free(s, k))
    ]
    hw = _hardware(rows)
    log_e, log_t = np.log(rows.energy_j), np.log(rows.tpot_s)
    log_p = np.log(rows.gpu_power_w)

    def residuals(theta: FloatArray) -> FloatArray:
        energy, step, power = _model(rows, hw, _from_theta(theta, layout, start))
        return np.concatenate([np.log(energy) - log_e, np.log(step) - log_t, np.log(power) - log_p])

    theta = _levenberg_marquardt(residuals, _to_theta(start, layout))
    return _from_theta(theta, layout, start)


# ------------------------------------------------------------------------------ validation


def error_metrics(
    predicted: FloatArray,
    measured: FloatArray,
    band: tuple[float, float] | None = None,
) -> dict[str, float]:
    """MdAPE, share within +-25 %, median ratio and (with a band) its coverage, in %.

    ``band`` is (low, high) multipliers of the central estimate; coverage is the share of
    rows whose measurement lies in ``[low x predicted, high x predicted]``.
    """
    ratio = predicted / measured
    ape = np.abs(ratio - 1.0)
    out: dict[str, float] = {
        "mdape_pct": round(float(np.median(ape)) * 100, 2),
        "within_25_pct": round(float(np.mean(ape <= 0.25)) * 100, 2),
        "median_ratio": round(float(np.median(ratio)), 3),
        "n": int(ape.size),
    }
    if band is not None:
        lo, hi = band
        inside = (measured >= lo * predicted) & (measured <= hi * predicted)
        out["band_coverage_pct"] = round(float(np.mean(inside)) * 100, 2)
    return out


def _lomo_stack(test: TrainingRows, shared_fit: ModelFit) -> FloatArray:
    """Predict ``test`` (one campaign) with the shared constants of ``shared_fit`` frozen and
    the test stack's constants fitted on the campaign's *other* models (leave one model out)."""
    pred = np.empty(len(test))
    for model in np.unique(test.model):
        hold = test.model == model
        mf = fit(test.subset(~hold), base=shared_fit, free=lambda s, _k: s != "")
        pred[hold] = predict(test.subset(hold), mf)[0]
    return pred


def _held_out_by(rows: TrainingRows, groups: npt.NDArray[np.str_], base: ModelFit) -> FloatArray:
    pred = np.empty(len(rows))
    for g in np.unique(groups):
        test = groups == g
        pred[test] = predict(rows.subset(test), fit(rows.subset(~test), base=base))[0]
    return pred


def validate(rows: TrainingRows, full: ModelFit) -> dict[str, tuple[FloatArray, FloatArray]]:
    """Held-out predictions per split: name -> (predicted, measured) [J].

    Splits (no prediction uses the measurement it is scored on):

    * ``cross_campaign_v2_to_v3_h100`` / ``cross_campaign_v3_h100_to_v2``: the shared
      (hardware) constants fitted on one campaign only; the other campaign's stack constants
      fitted on its other models (leave one model out), shared constants frozen;
    * ``stale_stack_v2_to_v3_h100``: everything fitted on v2, v3 predicted with the 2024
      stack (what the estimator did before stacks were an input);
    * ``leave_one_gpu_out_v2``: within v2, fit on A100 -> test H100 and the reverse;
    * ``leave_one_gpu_out_cross_campaign``: fit on the other GPU of v2 plus the v3 H100 rows
      -> test each v2 GPU (the 2024 stack then comes from the other GPU generation);
    * ``a100_v2_to_h100_v3``: the shared constants from the v2 A100 rows only -> test v3 H100
      (another GPU generation *and* campaign; the 2025 stack constants from the other v3
      models, as in the cross-campaign splits);
    * ``leave_one_model_out``: all rows, one model configuration out at a time.
    """
    camp, fam = rows.campaign, rows.gpu_family
    v2, v3 = camp == "v2", camp == "v3"
    out: dict[str, tuple[FloatArray, FloatArray]] = {}
    for name, tr, te in (
        (CROSS_CAMPAIGN_SPLITS[0], v2, v3),
        (CROSS_CAMPAIGN_SPLITS[1], v3, v2),
    ):
        shared_fit = fit(rows.subset(tr), base=full)
        out[name] = (_lomo_stack(rows.subset(te), shared_fit), rows.energy_j[te])
    v2_fit = fit(rows.subset(v2), base=full)
    # the 2024 stack as fitted on v2; v2 has no quantised rows, so its kernel factors are the
    # ideal 1 here (the bundled document borrows them from the 2025 stack, which would leak)
    old = {**v2_fit.stacks["vllm-2024"], "fp8_kernel_factor": 1.0, "fp4_kernel_factor": 1.0}
    stale = ModelFit(v2_fit.shared, {**v2_fit.stacks, "vllm-2025": old})
    out["stale_stack_v2_to_v3_h100"] = (predict(rows.subset(v3), stale)[0], rows.energy_j[v3])
    pred_w, pred_x = np.empty(int(v2.sum())), np.empty(int(v2.sum()))
    r2, fam2 = rows.subset(v2), fam[v2]
    for g in np.unique(fam2):
        test = fam2 == g
        pred_w[test] = predict(r2.subset(test), fit(r2.subset(~test), base=full))[0]
        train = ~(v2 & (fam == g))
        pred_x[test] = predict(r2.subset(test), fit(rows.subset(train), base=full))[0]
    out["leave_one_gpu_out_v2"] = (pred_w, r2.energy_j)
    out["leave_one_gpu_out_cross_campaign"] = (pred_x, r2.energy_j)
    for g in np.unique(fam2):  # each direction on its own: the band must cover both
        test = fam2 == g
        out[f"leave_one_gpu_out_v2_test_{str(g).lower()}"] = (pred_w[test], r2.energy_j[test])
        out[f"leave_one_gpu_out_cross_campaign_test_{str(g).lower()}"] = (
            pred_x[test],
            r2.energy_j[test],
        )
    a100_fit = fit(rows.subset(v2 & (fam == "A100")), base=full)
    out["a100_v2_to_h100_v3"] = (_lomo_stack(rows.subset(v3), a100_fit), rows.energy_j[v3])
    out["leave_one_model_out"] = (_held_out_by(rows, rows.model, full), rows.energy_j)
    return out


def _band(held: dict[str, tuple[FloatArray, FloatArray]]) -> tuple[float, float, float]:
    """Band (q05, q95 of log(pred/measured), widening) covering >= 85 % in every transfer.

    Start from the 5th/95th percentiles of the pooled held-out log residuals (every split
    but the stale-stack one and the directional copies), then widen both sides by the
    smallest common factor (steps of 1 %) that makes each of :data:`BAND_SPLITS` (another
    campaign or another GPU generation) reach 85 % coverage.
    """
    pooled = np.concatenate(
        [
            np.log(p / m)
            for k, (p, m) in held.items()
            if not k.startswith("stale") and "_test_" not in k
        ]
    )
    q05, q95 = float(np.quantile(pooled, 0.05)), float(np.quantile(pooled, 0.95))
    widen = 1.0
    for _ in range(400):
        lo, hi = math.exp(-q95 * widen), math.exp(-q05 * widen)
        cov = [
            float(np.mean((m >= lo * p) & (m <= hi * p))) for p, m in (held[k] for k in BAND_SPLITS)
        ]
        if min(cov) >= BAND_MIN_COVERAGE_FRAC:
            break
        widen += 0.01
    return round(q05 * widen, 4), round(q95 * widen, 4), round(widen, 2)


#: Batch-size bins of the slice tables (running requests per replica).
_BATCH_BINS = (12.0, 48.0, 160.0)
#: Active-parameter bins of the slice tables [B].
_SIZE_BINS = (10.0, 40.0)


def _bin_labels(values: FloatArray, edges: tuple[float, ...], unit: str) -> list[str]:
    names = [f"<= {edges[0]:g}{unit}"]
    names += [f"{a:g}-{b:g}{unit}" for a, b in itertools.pairwise(edges)]
    names.append(f"> {edges[-1]:g}{unit}")
    idx = np.searchsorted(np.asarray(edges), values, side="left")
    return [names[i] for i in idx]


def slice_labels(rows: TrainingRows) -> dict[str, npt.NDArray[np.str_]]:
    """Per row, its slice in each dimension the validation is broken down by."""
    moe = rows.active_params_b < rows.total_params_b
    return {
        "task": rows.task,
        "batch": np.asarray(_bin_labels(rows.batch_size, _BATCH_BINS, ""), dtype=str),
        "GPUs": np.asarray([f"{int(n)}" for n in rows.num_gpus], dtype=str),
        "precision": rows.precision,
        "architecture": np.where(moe, "mixture of experts", "dense").astype(str),
        "active params": np.asarray(_bin_labels(rows.active_params_b, _SIZE_BINS, " B"), dtype=str),
    }


def _by_slice(
    rows: TrainingRows, mask: npt.NDArray[np.bool_], pred: FloatArray, band: tuple[float, float]
) -> dict[str, dict[str, float]]:
    """Error metrics of one split's held-out predictions, per slice (``dimension: value``)."""
    out: dict[str, dict[str, float]] = {}
    measured = rows.energy_j[mask]
    for dim, labels in slice_labels(rows.subset(mask)).items():
        for value in sorted(set(labels.tolist()), key=_slice_order):
            m = labels == value
            out[f"{dim}: {value}"] = error_metrics(pred[m], measured[m], band)
    return out


def _slice_order(value: str) -> tuple[float, str]:
    """Numeric slices in numeric order (``<= 12`` < ``12-48`` < ``> 160``), text after."""
    head = value.lstrip("<=> ").split("-")[0].split(" ")[0]
    try:
        num = float(head)
    except ValueError:
        return (math.inf, value)
    shift = 0.5 if value.startswith(">") else -0.5 if value.startswith("<") else 0.0
    return (num + shift, value)


def build_calibration_document(rows: TrainingRows) -> dict[str, Any]:
    """Fit on all rows, validate, set the band, and return the JSON document that is bundled."""
    full = fit(rows)
    # stacks without rows of a quantised precision borrow the newest stack's kernel factor
    names = list(STACKS)
    borrowed: dict[str, dict[str, str]] = {}
    for s in names:
        for k in ("fp8_kernel_factor", "fp4_kernel_factor"):
            if not _identifiable(rows, s, k):
                donor = next(d for d in reversed(names) if _identifiable(rows, d, k))
                full.stacks[s][k] = full.stacks[donor][k]
                borrowed.setdefault(s, {})[k] = f"no {k[:3]} rows in this campaign: from {donor}"
    held = validate(rows, full)
    q05, q95, widen = _band(held)
    band = (math.exp(-q95), math.exp(-q05))
    evaluation: dict[str, Any] = {k: error_metrics(p, m, band) for k, (p, m) in held.items()}
    in_sample = predict(rows, full)[0]
    evaluation["in_sample"] = error_metrics(in_sample, rows.energy_j, band)
    v3 = rows.campaign == "v3"
    evaluation["by_slice_cross_campaign_v2_to_v3_h100"] = _by_slice(
        rows, v3, held[CROSS_CAMPAIGN_SPLITS[0]][0], band
    )
    evaluation["by_slice_cross_campaign_v3_h100_to_v2"] = _by_slice(
        rows, ~v3, held[CROSS_CAMPAIGN_SPLITS[1]][0], band
    )
    eco = ecologits_gpu_energy_j(
        rows.total_params_b, rows.active_params_b, rows.output_tokens, rows.batch_size,
        rows.num_gpus,
    )  # fmt: skip
    evaluation["ecologits_true_batch_true_gpus_v2"] = error_metrics(eco[~v3], rows.energy_j[~v3])
    evaluation["ecologits_true_batch_true_gpus_v3_h100"] = error_metrics(eco[v3], rows.energy_j[v3])
    evaluation["ecologits_source"] = ECOLOGITS_SOURCE
    n_by = {s: int(np.count_nonzero(rows.stack == s)) for s in names}
    return {
        "model": "infercarbon LLM prefill/decode roofline model v3 (serving stacks, fitted on "
        "energy, time per output token and average power)",
        "source": "; ".join(STACKS[s][1] for s in names),
        "licence": "Apache-2.0 (data)",
        "n_rows": len(rows),
        "default_stack": names[-1],
        "parameters": {k: float(f"{full.shared[k]:.6g}") for k in SHARED_NAMES},
        "parameter_meaning": {
            "memory_inefficiency": "spec bandwidth / achieved bandwidth for weight reads",
            "kv_inefficiency": "KV-cache read time relative to the size-based KV bytes over "
            "the spec bandwidth (< 1: models hold less KV cache than the size fit, e.g. fewer "
            "KV heads or sliding-window layers)",
            "compute_inefficiency": "dense peak FLOPS / achieved FLOPS in decode",
            "static_power_frac": "GPU power at zero busy fraction, as a fraction of TDP",
        },
        "stacks": {
            s: {
                **{k: float(f"{full.stacks[s][k]:.6g}") for k in STACK_NAMES},
                "campaign": STACKS[s][0],
                "source": STACKS[s][1],
                "vintage": STACKS[s][2],
                "n_rows": n_by[s],
                "borrowed": borrowed.get(s, {}),
            }
            for s in names
        },
        "stack_meaning": {
            "step_overhead_s": "fixed serving overhead per decode step [s] (scheduler, launch)",
            "seq_overhead_s": "serving overhead per running request per step [s]",
            "seq_busy_frac": "share of the per-request overhead the GPU is busy for (GPU-side "
            "attention bookkeeping and sampling: at busy power; the rest at the static floor)",
            "comm_overhead_s": "collective time per decode step per doubling of GPUs [s] "
            "(custom all-reduce and CUDA graphs make it a property of the stack)",
            "fp8_kernel_factor": "busy-time multiplier of fp8/int8 weight kernels",
            "fp4_kernel_factor": "busy-time multiplier of fp4/int4 weight kernels",
        },
        "fixed": dict(FIXED),
        "fixed_meaning": {
            "prefill_mfu_frac": "assumed prefill model-FLOPS utilisation (prefill at TDP)",
            "kv_bytes_coef": "KV-cache bytes per token = coef x active_params_b ** exponent "
            "(approximate fit to published GQA configs: Llama-3.1, Mistral, Mixtral, Gemma-2)",
            "kv_bytes_exponent": "see kv_bytes_coef",
            "default_input_tokens": "prompt tokens assumed when none are given (chat-task "
            "assumption)",
        },
        "task_input_tokens_assumed": dict(TASK_INPUT_TOKENS),
        "uncertainty": {
            "log_residual_q05": q05,
            "log_residual_q95": q95,
            "widening": widen,
            "method": "5th/95th percentile of pooled held-out log(pred/measured) "
            "(cross-campaign, leave-one-GPU-out, leave-one-model-out), widened by the "
            "factor above until each of these splits is covered >= "
            f"{BAND_MIN_COVERAGE_FRAC:.0%}: " + ", ".join(BAND_SPLITS),
        },
        "evaluation": evaluation,
    }


_SPLIT_TEXT = {
    "cross_campaign_v2_to_v3_h100": "fit on v2 -> test v3 H100 (2025 stack constants from "
    "the other v3 models)",
    "cross_campaign_v3_h100_to_v2": "fit on v3 H100 -> test v2 (2024 stack constants from "
    "the other v2 models)",
    "stale_stack_v2_to_v3_h100": "fit on v2 -> test v3 H100 with the 2024 stack (no "
    "stack input: the old behaviour)",
    "leave_one_gpu_out_v2": "within v2: fit A100 -> test H100, fit H100 -> test A100",
    "leave_one_gpu_out_v2_test_h100": "within v2: fit A100 -> test H100 (a newer generation)",
    "leave_one_gpu_out_v2_test_a100": "within v2: fit H100 -> test A100 (an older generation)",
    "leave_one_gpu_out_cross_campaign": "fit other v2 GPU + v3 H100 -> test each v2 GPU",
    "leave_one_gpu_out_cross_campaign_test_h100": "fit v2 A100 + v3 H100 -> test v2 H100",
    "leave_one_gpu_out_cross_campaign_test_a100": "fit v2 H100 + v3 H100 -> test v2 A100",
    "a100_v2_to_h100_v3": "fit v2 A100 only -> test v3 H100 (2025 stack constants from the "
    "other v3 models)",
    "leave_one_model_out": "all rows, one model configuration held out at a time",
    "in_sample": "all rows, in sample (not a validation)",
    "ecologits_true_batch_true_gpus_v2": "EcoLogits formula (true batch, true GPU count), v2",
    "ecologits_true_batch_true_gpus_v3_h100": "EcoLogits formula (true batch, true GPU "
    "count), v3 H100",
}


def validation_markdown(doc: dict[str, Any]) -> str:
    """The validation tables of ``docs/llm_estimator.md``, from a calibration document."""
    ev = doc["evaluation"]
    unc = doc["uncertainty"]
    lo, hi = math.exp(-unc["log_residual_q95"]), math.exp(-unc["log_residual_q05"])
    lines = [
        f"Band: x{lo:.2f} .. x{hi:.2f} of the central GPU energy (widening {unc['widening']:g}).",
        "",
        "| split | rows | MdAPE % | within +-25 % | median est/measured | band covers % |",
        "|---|---|---|---|---|---|",
    ]
    for key, text in _SPLIT_TEXT.items():
        m = ev[key]
        cov = f"{m['band_coverage_pct']:.1f}" if "band_coverage_pct" in m else "-"
        lines.append(
            f"| {text} | {m['n']} | {m['mdape_pct']:.1f} | {m['within_25_pct']:.1f} | "
            f"{m['median_ratio']:.2f} | {cov} |"
        )
    for key, title in (
        ("by_slice_cross_campaign_v2_to_v3_h100", "By slice, fit on v2 -> test v3 H100:"),
        ("by_slice_cross_campaign_v3_h100_to_v2", "By slice, fit on v3 H100 -> test v2:"),
    ):
        lines += [
            "",
            title,
            "",
            "| slice | rows | MdAPE % | within +-25 % | median est/measured | band covers % |",
            "|---|---|---|---|---|---|",
        ]
        for name, m in ev[key].items():
            lines.append(
                f"| {name} | {m['n']} | {m['mdape_pct']:.1f} | {m['within_25_pct']:.1f} | "
                f"{m['median_ratio']:.2f} | {m['band_coverage_pct']:.1f} |"
            )
    lines += ["", "Constants (shared | per stack):", ""]
    lines.append("| constant | value |")
    lines.append("|---|---|")
    for k, v in doc["parameters"].items():
        lines.append(f"| {k} | {v:g} |")
    for s, st in doc["stacks"].items():
        for k in STACK_NAMES:
            lines.append(f"| {s}: {k} | {st[k]:g} |")
    return "\n".join(lines) + "\n"
