"""Per-request LLM inference energy from hardware specs, calibrated on measurements.

The model (all quantities per decode *step* of a server running ``B`` concurrent requests
on ``n`` tensor/expert/pipeline-parallel GPUs):

* weights read per step ``W = N_tot x (1 - (1 - r)^B)`` with ``r = N_active / N_tot``: a
  dense model (r = 1) reads all its weights; a mixture-of-experts model reads the experts
  its ``B`` running tokens route to (each token touches a fraction ``r`` of the weights), so
  small batches read few experts and large batches nearly all (never fewer than
  ``N_active``);
* memory time ``t_mem = (a_mem * W * bytes + a_kv * B * kv * ctx) / (n * BW)``: weight
  bytes plus the KV cache of every running request (``kv`` bytes per token of context,
  ``ctx = input + output / 2`` tokens: the cache a request reads grows with every token it
  generates, so long reasoning outputs cost more per token), over the aggregate spec
  bandwidth ``BW``;
* compute time ``t_cmp = a_cmp * B * 2 * N_active / (n * F)`` at the dense peak ``F`` for
  the weight precision;
* quantised kernels: ``t_mem + t_cmp`` is multiplied by the serving stack's kernel factor for
  the precision (fp8/int8, fp4/int4; 1 for 16-bit);
* collectives ``t_comm = c_comm * log2(n)`` (tensor/expert-parallel all-reduce/all-to-all);
* serving overhead ``t0 + sigma * B`` (scheduler, sampling, launch), of which the share
  ``s_busy`` of ``sigma * B`` keeps the GPU busy (GPU-side per-request work);
* step time ``T = t0 + sigma * B + t_mem + t_cmp + t_comm``; busy time
  ``t_busy = t_mem + t_cmp + s_busy * sigma * B`` (never above ``T``);
* GPU power ``P = TDP * (p_static + (1 - p_static) * t_busy / T)``: from a static floor at
  the board's power limit to the limit itself when fully busy;
* decode energy per request ``out * n * P * T / B``; prefill energy
  ``TDP * 2 * N_active * input / (F * mfu_prefill)`` (compute bound, at the power limit).

**Serving stack (vintage).** ``t0, sigma, s_busy, c_comm`` and the quantised-kernel
factors describe the serving software, not the GPU: they are fitted per *stack*
(``vllm-2024``: ML.ENERGY Leaderboard v2; ``vllm-2025``: ML.ENERGY Leaderboard v3, H100
rows) and selected with ``stack=``; the default is the newest calibrated stack.  The
hardware side (``a_mem, a_kv, a_cmp, p_static``) is shared by all stacks and multiplies
spec-sheet numbers (bandwidth, dense FLOPS for the precision, TDP), so moving to another
GPU generation changes the prediction through the physics of that GPU, not through a
uniform factor.  Constants and
the validation (across campaigns, leaving one GPU out, leaving one model out) are in
``data/llm_calibration.json`` and ``docs/llm_estimator.md``
(:mod:`infercarbon.estimators.calibration`).

The uncertainty band is set from held-out log residuals (cross-campaign, leave-one-GPU-out
and leave-one-model-out) and widened until it covers at least 85 % in each split that
moves to another campaign or GPU generation; it is applied multiplicatively to the GPU
energy.

Line items: GPU energy (modelled), host CPU/DRAM (cited server power per GPU times the
request's GPU-seconds), idle share (only when a deployment utilisation is given;
otherwise excluded and said so), and the PUE overhead.

>>> r = estimate_llm_scalar(8.0, 8.0, "H100", 1, 64, 400, 250)
>>> round(r.gpu_energy_j) > 0 and r.gpu_energy_low_j < r.gpu_energy_j < r.gpu_energy_high_j
True
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from infercarbon.arrays import FloatArray
from infercarbon.errors import DataError, FallbackWarning, InputError
from infercarbon.provenance import Figure
from infercarbon.reference.gpus import GPUSpec, lookup_gpu

__all__ = [
    "BYTES_PER_PARAM",
    "DEFAULT_HOST_POWER_PER_GPU_W",
    "DEFAULT_PUE",
    "KERNEL_CLASS",
    "LLMCalibration",
    "LLMEstimate",
    "LLMEstimateArrays",
    "LLMScalarEstimate",
    "calibrated_stacks",
    "decode_prefill_energy_j",
    "estimate_llm",
    "estimate_llm_arrays",
    "estimate_llm_scalar",
    "load_calibration",
    "normalise_precision",
]


#: Bytes per weight for each supported precision.
BYTES_PER_PARAM: dict[str, float] = {
    "fp32": 4.0,
    "bf16": 2.0,
    "fp16": 2.0,
    "fp8": 1.0,
    "int8": 1.0,
    "int4": 0.5,
    "fp4": 0.5,
}

#: Host (non-GPU) server power per installed GPU [W]: 1.2 kW for an 8-GPU p5.48xlarge
#: (Boavizta estimate, as cited in the EcoLogits methodology) / 8.
DEFAULT_HOST_POWER_PER_GPU_W = 150.0
HOST_POWER_SOURCE = (
    "Boavizta average power of AWS p5.48xlarge without GPUs (1.2 kW / 8 GPUs), as cited in "
    "the EcoLogits LLM-inference methodology (genai-impact/ecologits docs)"
)
#: Default PUE: seed 000 best-in-class hyperscaler figure (illustrative).
DEFAULT_PUE = 1.15
PUE_SOURCE = "seed 000 methodology: best-in-class hyperscaler PUE 1.15 (illustrative)"


#: Precision -> which quantised-kernel factor of the stack applies (16-bit and fp32: none).
KERNEL_CLASS: dict[str, str] = {"fp8": "fp8", "int8": "fp8", "fp4": "fp4", "int4": "fp4"}


@dataclass(frozen=True)
class LLMCalibration:
    """Fitted constants of the LLM energy model for one serving stack, with provenance.

    ``step_overhead_s``, ``seq_overhead_s`` and the kernel factors belong to the serving
    stack named by ``stack``; the other constants are shared by every stack.
    """

    step_overhead_s: float
    seq_overhead_s: float
    memory_inefficiency: float
    compute_inefficiency: float
    static_power_frac: float
    prefill_mfu_frac: float
    kv_bytes_coef: float
    kv_bytes_exponent: float
    default_input_tokens: float
    log_residual_q05: float
    log_residual_q95: float
    source: str
    vintage: str
    licence: str
    n_rows: int
    evaluation: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    comm_overhead_s: float = 0.0
    seq_busy_frac: float = 0.0
    kv_inefficiency: float = 1.0
    fp8_kernel_factor: float = 1.0
    fp4_kernel_factor: float = 1.0
    stack: str = ""

    @property
    def low_factor(self) -> float:
        """Multiply a central estimate by this for the low end of the band."""
        return math.exp(-self.log_residual_q95)

    @property
    def high_factor(self) -> float:
        return math.exp(-self.log_residual_q05)

    def kernel_factor(self, precision: str) -> float:
        """Busy-time multiplier of the stack's kernels for weights in ``precision``."""
        cls = KERNEL_CLASS.get(normalise_precision(precision))
        if cls == "fp8":
            return self.fp8_kernel_factor
        if cls == "fp4":
            return self.fp4_kernel_factor
        return 1.0

    @classmethod
    def from_dict(cls, d: dict[str, Any], stack: str | None = None) -> LLMCalibration:
        """The calibration of ``stack`` (default: the document's ``default_stack``)."""
        stacks = d.get("stacks", {})
        name = str(d.get("default_stack")) if stack is None else stack
        if name not in stacks:
            raise InputError(
                f"unknown serving stack {name!r}; calibrated stacks: {', '.join(stacks)}",
                field="stack",
            )
        try:
            p = d["parameters"]
            st = stacks[name]
            return cls(
                step_overhead_s=float(st["step_overhead_s"]),
                seq_overhead_s=float(st["seq_overhead_s"]),
                seq_busy_frac=float(st["seq_busy_frac"]),
                fp8_kernel_factor=float(st["fp8_kernel_factor"]),
                fp4_kernel_factor=float(st["fp4_kernel_factor"]),
                memory_inefficiency=float(p["memory_inefficiency"]),
                compute_inefficiency=float(p["compute_inefficiency"]),
                static_power_frac=float(p["static_power_frac"]),
                kv_inefficiency=float(p["kv_inefficiency"]),
                comm_overhead_s=float(st["comm_overhead_s"]),
                prefill_mfu_frac=float(d["fixed"]["prefill_mfu_frac"]),
                kv_bytes_coef=float(d["fixed"]["kv_bytes_coef"]),
                kv_bytes_exponent=float(d["fixed"]["kv_bytes_exponent"]),
                default_input_tokens=float(d["fixed"]["default_input_tokens"]),
                log_residual_q05=float(d["uncertainty"]["log_residual_q05"]),
                log_residual_q95=float(d["uncertainty"]["log_residual_q95"]),
                source=str(st["source"]),
                vintage=str(st["vintage"]),
                licence=str(d["licence"]),
                n_rows=int(d["n_rows"]),
                evaluation=dict(d.get("evaluation", {})),
                extra={k: v for k, v in d.items() if k not in {"parameters", "fixed"}},
                stack=name,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(f"LLM calibration is malformed: {exc!r}") from exc


@lru_cache(maxsize=1)
def _calibration_document() -> dict[str, Any]:
    try:
        text = (
            resources.files("infercarbon.estimators")
            .joinpath("data", "llm_calibration.json")
            .read_text(encoding="utf-8")
        )
    except OSError as exc:
        raise DataError(f"bundled llm_calibration.json missing: {exc}") from exc
    doc: dict[str, Any] = json.loads(text)
    return doc


def calibrated_stacks() -> tuple[str, ...]:
    """Names of the calibrated serving stacks, oldest first (the last is the default)."""
    return tuple(_calibration_document()["stacks"])


@lru_cache(maxsize=8)
def load_calibration(stack: str | None = None) -> LLMCalibration:
    """The bundled calibration (``estimators/data/llm_calibration.json``) for ``stack``.

    ``stack`` None is the newest calibrated serving stack (the document's
    ``default_stack``); an unknown name is an InputError listing the calibrated ones.
    """
    return LLMCalibration.from_dict(_calibration_document(), stack)


_PRECISION_ALIASES = {
    "bfloat16": "bf16",
    "float16": "fp16",
    "half": "fp16",
    "float32": "fp32",
    "fp8_e4m3": "fp8",
    "fp8_e5m2": "fp8",
    "e4m3": "fp8",
    "w8a8": "fp8",
    "int4_awq": "int4",
    "awq": "int4",
    "gptq": "int4",
    "nf4": "int4",
    "mxfp4": "fp4",
    "nvfp4": "fp4",
}


def normalise_precision(precision: str) -> str:
    """Canonical precision name (``bfloat16`` -> ``bf16``); InputError if unknown."""
    p = precision.strip().lower()
    p = _PRECISION_ALIASES.get(p, p)
    if p not in BYTES_PER_PARAM:
        raise InputError(
            f"unknown precision {precision!r}; use one of {', '.join(BYTES_PER_PARAM)}",
            field="precision",
        )
    return p


def _bytes_per_param(precision: str) -> float:
    try:
        return BYTES_PER_PARAM[normalise_precision(precision)]
    except KeyError:
        raise InputError(
            f"unknown precision {precision!r}; use one of {', '.join(BYTES_PER_PARAM)}",
            field="precision",
        ) from None


class _Folded(NamedTuple):
    """The model's constants for one (GPU, precision, calibration), folded: floats for one
    hardware row, or arrays (one element per row) for the vectorised path."""

    mem_s_per_b: Any  # s per B params of weights read per step, on one GPU
    kv_s_per_token: Any  # KV read, s per token of context per B active params ^ kv_e
    kv_exponent: float
    cmp_s_per_b: Any  # s per B active params per token (decode compute)
    prefill_s_per_b: Any  # prefill s per B active params per token
    prefill_j_per_b: Any  # prefill J per B active params per token (at the power limit)
    step_overhead_s: float
    seq_overhead_s: float
    seq_busy_s: float  # the GPU-busy part of the per-request overhead [s]
    static_w: Any  # GPU power floor: TDP x static fraction [W]
    dynamic_w: Any  # TDP x (1 - static fraction) [W]
    comm_overhead_s: float


def _fold(
    cal: LLMCalibration,
    tdp_w: Any,
    bandwidth_bytes_per_s: Any,
    flops: Any,
    bytes_per_param: Any,
    kernel_factor: Any,
) -> _Folded:
    """Fold the spec-sheet numbers and the calibration into the physics' constants.

    Arithmetic only, so floats and numpy arrays (one element per row) both work."""
    kf, sp = kernel_factor, cal.static_power_frac
    return _Folded(
        kf * cal.memory_inefficiency * 1e9 * bytes_per_param / bandwidth_bytes_per_s,
        kf * cal.kv_inefficiency * cal.kv_bytes_coef / bandwidth_bytes_per_s,
        cal.kv_bytes_exponent,
        kf * cal.compute_inefficiency * 2e9 / flops,
        2e9 / (flops * cal.prefill_mfu_frac),
        tdp_w * 2e9 / (flops * cal.prefill_mfu_frac),
        cal.step_overhead_s,
        cal.seq_overhead_s,
        cal.seq_overhead_s * cal.seq_busy_frac,
        tdp_w * sp,
        tdp_w * (1.0 - sp),
        cal.comm_overhead_s,
    )


def _physics(
    k: _Folded,
    total_params_b: Any,
    active_params_b: Any,
    num_gpus: Any,
    batch_size: Any,
    input_tokens: Any,
    output_tokens: Any,
    maximum: Callable[[Any, Any], Any],
    log2: Callable[[Any], Any],
) -> tuple[Any, Any, Any, Any]:
    """The decode/prefill physics, written once (see the module docstring).

    Works on floats (``maximum=max, log2=math.log2``: the scalar path) and on numpy arrays
    (``np.maximum, np.log2``: the vectorised path).  Returns decode and prefill GPU energy
    per request [J], the decode step time [s] and the GPU-seconds the request occupies [s].
    """
    c_w, c_kv, kv_e, c_c, c_pf, c_pfe, t0, sig, sig_b, p_s, p_d, c_n = k
    # weights read per step: a MoE reads the experts its batch's tokens route to (never
    # fewer than the active parameters); a dense model (active = total) reads all of them
    w_read = maximum(
        total_params_b * (1.0 - (1.0 - active_params_b / total_params_b) ** batch_size),
        active_params_b,
    )
    ctx = input_tokens + 0.5 * output_tokens
    # kernel time per step on each GPU: weights + KV cache read, and compute
    work = (
        c_w * w_read + batch_size * (c_kv * active_params_b**kv_e * ctx + c_c * active_params_b)
    ) / num_gpus
    step = t0 + sig * batch_size + work + c_n * log2(num_gpus)
    # per request: decode GPU-seconds n x out x step / B at power p_s + p_d x busy / step,
    # busy = kernel time + the GPU-side part of the per-request overhead (attention
    # bookkeeping, sampling on the GPU); plus prefill (compute bound) at the power limit
    q = num_gpus * output_tokens / batch_size
    pre = active_params_b * input_tokens
    decode = (p_s * step + p_d * (work + sig_b * batch_size)) * q
    prefill = c_pfe * pre
    gpu_s = q * step + c_pf * pre
    return decode, prefill, step, gpu_s


def decode_prefill_energy_j(
    total_params_b: FloatArray | float,
    active_params_b: FloatArray | float,
    num_gpus: FloatArray | float,
    batch_size: FloatArray | float,
    input_tokens: FloatArray | float,
    output_tokens: FloatArray | float,
    tdp_w: FloatArray | float,
    bandwidth_bytes_per_s: FloatArray | float,
    flops: FloatArray | float,
    bytes_per_param: FloatArray | float,
    cal: LLMCalibration,
    kernel_factor: FloatArray | float = 1.0,
) -> tuple[Any, Any, Any, Any]:
    """The physics core, vectorised (numpy arrays or floats broadcast).

    ``kernel_factor`` is the stack's quantised-kernel busy-time multiplier for each row's
    precision (:meth:`LLMCalibration.kernel_factor`).  The same physics
    (:func:`_physics`) serves :func:`estimate_llm_scalar` and :func:`estimate_llm_arrays`.

    Returns
    -------
    decode_j, prefill_j, step_s, gpu_busy_s
        Decode and prefill GPU energy per request [J], decode step time [s], and the
        GPU-seconds the request occupies on all its GPUs [s].
    """
    k = _fold(
        cal,
        np.asarray(tdp_w, dtype=np.float64),
        np.asarray(bandwidth_bytes_per_s, dtype=np.float64),
        np.asarray(flops, dtype=np.float64),
        np.asarray(bytes_per_param, dtype=np.float64),
        np.asarray(kernel_factor, dtype=np.float64),
    )
    return _physics(
        k,
        np.asarray(total_params_b, dtype=np.float64),
        np.asarray(active_params_b, dtype=np.float64),
        np.asarray(num_gpus, dtype=np.float64),
        np.asarray(batch_size, dtype=np.float64),
        np.asarray(input_tokens, dtype=np.float64),
        np.asarray(output_tokens, dtype=np.float64),
        np.maximum,
        np.log2,
    )


# ------------------------------------------------------------------ scalar path


class LLMScalarEstimate(NamedTuple):
    """Fast scalar result: plain floats [J]."""

    gpu_energy_j: float
    gpu_energy_low_j: float
    gpu_energy_high_j: float
    host_energy_j: float
    idle_energy_j: float
    pue_overhead_j: float
    energy_j_total: float
    gpu_seconds_s: float


@lru_cache(maxsize=256)
def _gpu_consts(gpu: str, precision: str) -> tuple[GPUSpec, float, float]:
    spec = lookup_gpu(gpu)
    bpp = _bytes_per_param(precision)
    flops = spec.flops_for(normalise_precision(precision))
    if not (math.isfinite(spec.tdp_w) and math.isfinite(spec.memory_bandwidth_bytes_per_s)):
        raise InputError(f"{spec.name} lacks TDP or memory bandwidth in the table", field="gpu")
    if not math.isfinite(flops):
        raise InputError(f"{spec.name} has no dense FLOPS figure for {precision}", field="gpu")
    return spec, bpp, flops


def _check_scalar(name: str, value: float, *, minimum: float = 0.0, strict: bool = True) -> None:
    if not isinstance(value, int | float) or not math.isfinite(value):
        raise InputError(f"must be a finite number, got {value!r}", field=name)
    if (value <= minimum) if strict else (value < minimum):
        raise InputError(f"must be {'>' if strict else '>='} {minimum}, got {value!r}", field=name)


_INF = math.inf
_LOG2 = math.log2


def _validate_scalars(
    total_params_b: float,
    active_params_b: float,
    num_gpus: float,
    batch_size: float,
    output_tokens: float,
    input_tokens: float,
    pue: float,
) -> None:
    """The slow path: find which field is bad and say so."""
    _check_scalar("total_params_b", total_params_b)
    _check_scalar("active_params_b", active_params_b)
    if active_params_b > total_params_b:
        raise InputError("active parameters exceed total parameters", field="active_params_b")
    _check_scalar("num_gpus", num_gpus)
    _check_scalar("batch_size", batch_size)
    _check_scalar("output_tokens", output_tokens)
    _check_scalar("input_tokens", input_tokens, strict=False)
    _check_scalar("pue", pue, minimum=1.0, strict=False)
    raise InputError("invalid input")  # pragma: no cover - one check above always fires


def estimate_llm_scalar(
    total_params_b: float,
    active_params_b: float,
    gpu: str,
    num_gpus: float,
    batch_size: float,
    output_tokens: float,
    input_tokens: float,
    precision: str = "bf16",
    *,
    pue: float = DEFAULT_PUE,
    host_power_per_gpu_w: float = DEFAULT_HOST_POWER_PER_GPU_W,
    utilisation_frac: float | None = None,
    calibration: LLMCalibration | None = None,
    stack: str | None = None,
) -> LLMScalarEstimate:
    """One request, plain floats, minimal overhead (no Figures, no warnings).

    ``input_tokens`` is required here (the documented default lives in
    :func:`estimate_llm`).  ``utilisation_frac`` None excludes the idle share (0 J).
    ``stack`` names the serving stack (None: the newest calibrated one); ``calibration``,
    when given, wins over ``stack``.
    """
    inf = _INF  # a local: the checks below read it six times
    try:  # one chained comparison on the hot path; NaN and inf fail it
        ok = (
            0.0 < active_params_b <= total_params_b < inf
            and 0.0 < num_gpus < inf
            and 0.0 < batch_size < inf
            and 0.0 < output_tokens < inf
            and 0.0 <= input_tokens < inf
            and 1.0 <= pue < inf
        )
    except TypeError:
        ok = False
    if not ok:
        _validate_scalars(
            total_params_b, active_params_b, num_gpus, batch_size, output_tokens, input_tokens, pue
        )
    if calibration is None:
        k = _DEFAULT_CONSTS.get((gpu, precision, stack))
        if k is None:
            k = _DEFAULT_CONSTS[(gpu, precision, stack)] = _scalar_consts(
                gpu, precision, load_calibration(stack)
            )
    else:
        k = _scalar_consts(gpu, precision, calibration)
    folded, idle_w, lo_f, hi_f = k
    decode_j, prefill_j, _, gpu_s = _physics(
        folded,
        total_params_b,
        active_params_b,
        num_gpus,
        batch_size,
        input_tokens,
        output_tokens,
        max,
        _LOG2,
    )
    gpu_j = decode_j + prefill_j
    host_j = host_power_per_gpu_w * gpu_s
    idle_j = 0.0
    if utilisation_frac is not None:
        _check_scalar("utilisation_frac", utilisation_frac)
        if utilisation_frac > 1.0:
            raise InputError("must be in (0, 1]", field="utilisation_frac")
        idle_j = idle_w * gpu_s * (1.0 - utilisation_frac) / utilisation_frac
    it_j = gpu_j + host_j + idle_j
    pue_j = (pue - 1.0) * it_j
    return _new_scalar_estimate(
        LLMScalarEstimate,
        (gpu_j, gpu_j * lo_f, gpu_j * hi_f, host_j, idle_j, pue_j, it_j + pue_j, gpu_s),
    )


_new_scalar_estimate = tuple.__new__
_ScalarConsts = tuple[_Folded, float, float, float]  # folded, idle_w, low and high factors
_DEFAULT_CONSTS: dict[tuple[str, str, str | None], _ScalarConsts] = {}


def _scalar_consts(gpu: str, precision: str, cal: LLMCalibration) -> _ScalarConsts:
    """Constants of the scalar path for one (gpu, precision, calibration), folded."""
    spec, bpp, flops = _gpu_consts(gpu, precision)
    tdp = spec.tdp_w
    idle_w = spec.idle_w if math.isfinite(spec.idle_w) else cal.static_power_frac * tdp
    folded = _fold(
        cal, tdp, spec.memory_bandwidth_bytes_per_s, flops, bpp, cal.kernel_factor(precision)
    )
    return folded, idle_w, cal.low_factor, cal.high_factor


# ------------------------------------------------------------------ full result


@dataclass(frozen=True)
class LLMEstimate:
    """A labelled per-request estimate: totals plus line items with provenance."""

    gpu_energy_j: float
    gpu_energy_low_j: float
    gpu_energy_high_j: float
    energy_j_total: float
    energy_low_j_total: float
    energy_high_j_total: float
    line_items: dict[str, Figure]
    inputs: dict[str, Any]
    notes: tuple[str, ...] = ()
    #: GPU-seconds the request occupies on all its GPUs [s] (prefill + its decode share)
    gpu_seconds_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "gpu_seconds_s": self.gpu_seconds_s,
            "gpu_energy_j": self.gpu_energy_j,
            "gpu_energy_low_j": self.gpu_energy_low_j,
            "gpu_energy_high_j": self.gpu_energy_high_j,
            "energy_j_total": self.energy_j_total,
            "energy_low_j_total": self.energy_low_j_total,
            "energy_high_j_total": self.energy_high_j_total,
            "line_items": {k: v.to_dict() for k, v in self.line_items.items()},
            "inputs": self.inputs,
            "notes": list(self.notes),
        }


def estimate_llm(
    total_params_b: float,
    active_params_b: float | None,
    gpu: str,
    num_gpus: int,
    batch_size: float,
    output_tokens: float,
    input_tokens: float | None = None,
    precision: str = "bf16",
    *,
    pue: float = DEFAULT_PUE,
    host_power_per_gpu_w: float = DEFAULT_HOST_POWER_PER_GPU_W,
    utilisation_frac: float | None = None,
    calibration: LLMCalibration | None = None,
    stack: str | None = None,
) -> LLMEstimate:
    """Energy of one LLM request with labelled line items.

    Parameters
    ----------
    total_params_b, active_params_b : float
        Parameters [billions]; ``active_params_b`` None means dense (= total).
    gpu : str
        Any name :func:`~infercarbon.reference.gpus.lookup_gpu` resolves.
    num_gpus : int
        GPUs serving one model replica (tensor x pipeline parallel).
    batch_size : float
        Concurrent requests on that replica.
    output_tokens, input_tokens : float
        Tokens generated and prompt tokens.  ``input_tokens`` None uses the
        calibration's documented default (warned with FallbackWarning, noted).
    precision : str
        Weight precision, one of :data:`BYTES_PER_PARAM`.
    pue : float
        Facility PUE (default 1.15, seed 000 illustrative hyperscaler figure).
    utilisation_frac : float, optional
        Deployment duty cycle; gives the idle-share line item.  None excludes it.
    stack : str, optional
        Serving stack (vintage) whose software constants apply, one of
        :func:`calibrated_stacks`; None is the newest calibrated stack.
    """
    cal = calibration or load_calibration(stack)
    notes: list[str] = []
    active = total_params_b if active_params_b is None else active_params_b
    in_src = "user"
    if input_tokens is None:
        input_tokens = cal.default_input_tokens
        in_src = "assumed"
        msg = (
            f"input_tokens not given: assumed {input_tokens:g} prompt tokens "
            "(the calibration's documented default)"
        )
        warnings.warn(msg, FallbackWarning, stacklevel=2)
        notes.append(msg)
    r = estimate_llm_scalar(
        total_params_b,
        active,
        gpu,
        num_gpus,
        batch_size,
        output_tokens,
        input_tokens,
        precision,
        pue=pue,
        host_power_per_gpu_w=host_power_per_gpu_w,
        utilisation_frac=utilisation_frac,
        calibration=cal,
    )
    spec = lookup_gpu(gpu)
    lo_f, hi_f = cal.low_factor, cal.high_factor
    items: dict[str, Figure] = {
        "gpu_energy_j": Figure(
            r.gpu_energy_j,
            "j",
            source=(
                f"infercarbon LLM estimator, serving stack {cal.stack} calibrated on "
                f"{cal.source}; specs: {spec.source}"
            ),
            label="modelled",
            vintage=cal.vintage,
            licence=cal.licence,
            low=r.gpu_energy_low_j,
            high=r.gpu_energy_high_j,
            note=(
                "prefill + decode GPU energy; range = band from held-out residuals "
                "(cross-campaign, leave-one-GPU-out, leave-one-model-out)"
            ),
        ),
        "host_energy_j": Figure(
            r.host_energy_j,
            "j",
            source=HOST_POWER_SOURCE,
            label="derived",
            note=f"{host_power_per_gpu_w:g} W per GPU x {r.gpu_seconds_s:.4g} GPU-seconds "
            "(CPU, DRAM, rest of server)",
        ),
    }
    if utilisation_frac is None:
        items["idle_energy_j"] = Figure(
            0.0,
            "j",
            source="not computed",
            label="excluded",
            note="idle share excluded: pass utilisation_frac (deployment duty cycle) to include it",
        )
    else:
        idle_src = (
            spec.source
            if math.isfinite(spec.idle_w)
            else f"no published idle power for {spec.name}: "
            "static_power_frac x TDP of the calibration"
        )
        items["idle_energy_j"] = Figure(
            r.idle_energy_j,
            "j",
            source=idle_src,
            label="derived",
            note=f"idle GPU power over the unused share of a {utilisation_frac:g} duty cycle",
        )
    items["pue_overhead_j"] = Figure(
        r.pue_overhead_j,
        "j",
        source=PUE_SOURCE if pue == DEFAULT_PUE else "user-supplied PUE",
        label="illustrative" if pue == DEFAULT_PUE else "user",
        note=f"(PUE {pue:g} - 1) x (GPU + host + idle)",
    )
    rest = r.host_energy_j + r.idle_energy_j
    return LLMEstimate(
        gpu_energy_j=r.gpu_energy_j,
        gpu_energy_low_j=r.gpu_energy_low_j,
        gpu_energy_high_j=r.gpu_energy_high_j,
        energy_j_total=r.energy_j_total,
        energy_low_j_total=pue * (r.gpu_energy_j * lo_f + rest),
        energy_high_j_total=pue * (r.gpu_energy_j * hi_f + rest),
        line_items=items,
        inputs={
            "total_params_b": total_params_b,
            "active_params_b": active,
            "gpu": spec.name,
            "num_gpus": num_gpus,
            "batch_size": batch_size,
            "input_tokens": input_tokens,
            "input_tokens_source": in_src,
            "output_tokens": output_tokens,
            "precision": precision,
            "stack": cal.stack,
            "pue": pue,
        },
        notes=tuple(notes),
        gpu_seconds_s=r.gpu_seconds_s,
    )


# ------------------------------------------------------------------ vectorised path


@dataclass(frozen=True)
class LLMEstimateArrays:
    """Vectorised results, one element per request row [J]."""

    gpu_energy_j: FloatArray
    gpu_energy_low_j: FloatArray
    gpu_energy_high_j: FloatArray
    host_energy_j: FloatArray
    idle_energy_j: FloatArray
    pue_overhead_j: FloatArray
    energy_j_total: FloatArray
    gpu_seconds_s: FloatArray

    def as_columns(self) -> dict[str, FloatArray]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


_CHUNK = 1 << 15  # rows per block: keeps temporaries in cache


def _column(name: str, value: Any, size: int) -> FloatArray:
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim == 0:
        return np.broadcast_to(arr, (size,))
    if arr.shape != (size,):
        raise InputError(f"expected {size} values, got shape {arr.shape}", field=name)
    return arr


def _factorize(values: Any, size: int) -> tuple[npt.NDArray[np.str_], npt.NDArray[np.intp]]:
    """Distinct strings and the index of each row's value (scalars broadcast).

    Hash-based (Arrow's dictionary encoding): about 10x faster than sorting the strings
    with ``np.unique`` on millions of rows; Arrow string arrays are taken as they are."""
    if isinstance(values, str):
        return np.array([values]), np.zeros(size, dtype=np.intp)
    import pyarrow as pa  # lazy: the scalar path and `import infercarbon` stay light

    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if not isinstance(values, pa.Array):
        arr = np.asarray(values)
        if arr.ndim != 1:
            raise InputError(
                f"expected {size} values, got shape {arr.shape}", field="gpu/precision"
            )
        try:
            values = pa.array(arr if arr.dtype != object else arr.tolist(), pa.string())
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise InputError(f"expected text values: {exc}", field="gpu/precision") from exc
    if len(values) != size:
        raise InputError(f"expected {size} values, got {len(values)}", field="gpu/precision")
    if values.null_count:
        row = int(np.flatnonzero(np.asarray(values.is_null()))[0])
        raise InputError(f"row {row}: missing value", field="gpu/precision")
    enc = values.dictionary_encode()
    uniq = np.asarray(enc.dictionary.to_pylist(), dtype=str)
    return uniq, enc.indices.to_numpy().astype(np.intp)


def _first_bad(name: str, bad: npt.NDArray[np.bool_], offset: int, what: str) -> InputError:
    return InputError(f"row {offset + int(np.flatnonzero(bad)[0])}: {what}", field=name)


def estimate_llm_arrays(
    total_params_b: Any,
    active_params_b: Any,
    gpu: Sequence[str] | npt.NDArray[Any] | str,
    num_gpus: Any,
    batch_size: Any,
    output_tokens: Any,
    input_tokens: Any,
    precision: Sequence[str] | npt.NDArray[Any] | str = "bf16",
    *,
    pue: Any = DEFAULT_PUE,
    host_power_per_gpu_w: float = DEFAULT_HOST_POWER_PER_GPU_W,
    utilisation_frac: Any = None,
    calibration: LLMCalibration | None = None,
    stack: str | None = None,
) -> LLMEstimateArrays:
    """Vectorised estimate: numpy arrays in (scalars broadcast), arrays out.

    GPU names and precisions are resolved once per distinct value; the arithmetic runs
    over blocks of rows.  Invalid values raise :class:`InputError` naming the field and
    the 0-based row.  ``stack`` as in :func:`estimate_llm`.
    """
    cal = calibration or load_calibration(stack)
    shapes = [
        np.shape(x)
        for x in (
            total_params_b,
            active_params_b,
            num_gpus,
            batch_size,
            output_tokens,
            input_tokens,
            pue,
            utilisation_frac,
        )
    ]
    shapes += [np.shape(x) for x in (gpu, precision) if not isinstance(x, str)]
    try:
        shape = np.broadcast_shapes(*shapes)
    except ValueError as exc:
        raise InputError(f"array lengths differ: {shapes}", field="inputs") from exc
    if len(shape) > 1:
        raise InputError(f"expected 1-D arrays, got shape {shape}", field="inputs")
    size = int(shape[0]) if shape else 1
    cols = {
        "total_params_b": _column("total_params_b", total_params_b, size),
        "active_params_b": _column("active_params_b", active_params_b, size),
        "num_gpus": _column("num_gpus", num_gpus, size),
        "batch_size": _column("batch_size", batch_size, size),
        "output_tokens": _column("output_tokens", output_tokens, size),
        "input_tokens": _column("input_tokens", input_tokens, size),
        "pue": _column("pue", pue, size),
    }
    util = None if utilisation_frac is None else _column("utilisation_frac", utilisation_frac, size)
    if isinstance(gpu, str) and isinstance(precision, str):  # one hardware row: no grouping
        spec, bpp0, fl0 = _gpu_consts(gpu, precision)
        tdp_u = np.array([spec.tdp_w])
        bw_u = np.array([spec.memory_bandwidth_bytes_per_s])
        fl_u, bpp_u = np.array([fl0]), np.array([bpp0])
        kf_u = np.array([cal.kernel_factor(precision)])
        idle_u = np.array(
            [spec.idle_w if math.isfinite(spec.idle_w) else cal.static_power_frac * spec.tdp_w]
        )
        inv: npt.NDArray[np.intp] | None = None
    else:
        g_u, g_inv = _factorize(gpu, size)
        p_u, p_inv = _factorize(precision, size)
        inv = g_inv * p_u.size + p_inv
        n_keys = g_u.size * p_u.size
        tdp_u, bw_u, fl_u, bpp_u, idle_u, kf_u = (np.full(n_keys, np.nan) for _ in range(6))
        for code in np.unique(inv):  # one lookup per distinct (gpu, precision) present
            spec, bpp_c, flops_c = _gpu_consts(
                str(g_u[code // p_u.size]), str(p_u[code % p_u.size])
            )
            tdp_u[code], bw_u[code] = spec.tdp_w, spec.memory_bandwidth_bytes_per_s
            fl_u[code], bpp_u[code] = flops_c, bpp_c
            kf_u[code] = cal.kernel_factor(str(p_u[code % p_u.size]))
            idle_u[code] = (
                spec.idle_w if math.isfinite(spec.idle_w) else cal.static_power_frac * spec.tdp_w
            )
    # the constants folded once per distinct (gpu, precision): arrays indexed by ``inv``
    folded_u = _fold(cal, tdp_u, bw_u, fl_u, bpp_u, kf_u)
    if inv is None:
        folded_u = _Folded._make(x[0] if isinstance(x, np.ndarray) else x for x in folded_u)
    out = {k: np.empty(size) for k in LLMEstimateArrays.__dataclass_fields__}
    lo_f, hi_f = cal.low_factor, cal.high_factor
    for a in range(0, size, _CHUNK):
        z = slice(a, min(a + _CHUNK, size))
        c = {k: v[z] for k, v in cols.items()}
        for name, arr in c.items():
            lo = 1.0 if name == "pue" else 0.0
            bad = (
                ~((arr >= lo) & (arr < _INF))
                if name in ("input_tokens", "pue")
                else ~((arr > 0.0) & (arr < _INF))
            )
            if bad.any():
                op = ">=" if name in ("input_tokens", "pue") else ">"
                what = f"must be a finite number {op} {lo:g}"
                raise _first_bad(name, bad, a, what)
        over = c["active_params_b"] > c["total_params_b"]
        if over.any():
            raise _first_bad("active_params_b", over, a, "active parameters exceed total")
        idle_w: Any
        if inv is None:
            folded, idle_w = folded_u, idle_u[0]
        else:
            iz = inv[z]
            folded = _Folded._make(x[iz] if isinstance(x, np.ndarray) else x for x in folded_u)
            idle_w = idle_u[iz]
        decode, prefill, _, gpu_s = _physics(
            folded,
            c["total_params_b"],
            c["active_params_b"],
            c["num_gpus"],
            c["batch_size"],
            c["input_tokens"],
            c["output_tokens"],
            np.maximum,
            np.log2,
        )
        gpu_j = decode + prefill
        host = host_power_per_gpu_w * gpu_s
        idle: Any
        if util is None:
            idle = 0.0
        else:
            u = util[z]
            bad = ~((u > 0.0) & (u <= 1.0))
            if bad.any():
                raise _first_bad("utilisation_frac", bad, a, "must be in (0, 1]")
            idle = idle_w * gpu_s * (1.0 - u) / u
        it = gpu_j + host + idle
        pue_j = (c["pue"] - 1.0) * it
        out["gpu_energy_j"][z] = gpu_j
        out["gpu_energy_low_j"][z] = gpu_j * lo_f
        out["gpu_energy_high_j"][z] = gpu_j * hi_f
        out["host_energy_j"][z] = host
        out["idle_energy_j"][z] = idle
        out["pue_overhead_j"][z] = pue_j
        out["energy_j_total"][z] = it + pue_j
        out["gpu_seconds_s"][z] = gpu_s
    return LLMEstimateArrays(**out)
