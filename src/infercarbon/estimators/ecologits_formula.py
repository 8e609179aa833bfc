"""The published EcoLogits GPU-energy formula, re-implemented for comparison only.

Source: EcoLogits methodology, "Environmental Impacts of LLM Inference"
(genai-impact/ecologits, ``docs/methodology/llm_inference.md``, ML.ENERGY-based
version; EcoLogits 0.6+).  The page states:

* energy per output token of one GPU [Wh]
  ``f_E(P_active, B) = alpha * exp(beta * B) * P_active + gamma`` with
  ``alpha = 1.17e-6``, ``beta = -1.12e-2``, ``gamma = 4.05e-5`` (``P_active`` in
  billions), fitted on ML.ENERGY H100 data (batch <= 512, models <= 200 B);
* "from now on, we consider that the batch size is fixed to B = 64";
* ``E_GPU = #T_out * f_E(P_active, 64)``, multiplied by the number of required GPUs;
* required GPUs ``2 ** ceil(log2(ceil(1.2 * P_total * Q / 8 / M_GPU)))`` with
  ``Q = 16`` bits and ``M_GPU = 80`` GB.

This module re-derives those equations from the documentation (no EcoLogits code is
used); it is not a runtime dependency of the estimator.

>>> round(float(ecologits_gpu_energy_j(8.0, 8.0, 400.0)), 1)
64.9
"""

from __future__ import annotations

from typing import Any

import numpy as np

from infercarbon.units import J_PER_WH

__all__ = [
    "ECOLOGITS_ALPHA_WH",
    "ECOLOGITS_BATCH_SIZE",
    "ECOLOGITS_BETA",
    "ECOLOGITS_GAMMA_WH",
    "ECOLOGITS_SOURCE",
    "ecologits_gpu_count",
    "ecologits_gpu_energy_j",
]

ECOLOGITS_SOURCE = (
    "EcoLogits methodology 'Environmental Impacts of LLM Inference' "
    "(github.com/genai-impact/ecologits docs/methodology/llm_inference.md)"
)
ECOLOGITS_ALPHA_WH = 1.17e-6
ECOLOGITS_BETA = -1.12e-2
ECOLOGITS_GAMMA_WH = 4.05e-5
ECOLOGITS_BATCH_SIZE = 64
ECOLOGITS_GPU_MEMORY_GB = 80.0
ECOLOGITS_QUANT_BITS = 16.0
ECOLOGITS_MEMORY_OVERHEAD = 1.2


def ecologits_gpu_count(total_params_b: Any, quant_bits: float = ECOLOGITS_QUANT_BITS) -> Any:
    """Required GPUs per the methodology (rounded up to a power of two)."""
    mem_gb = (
        ECOLOGITS_MEMORY_OVERHEAD * np.asarray(total_params_b, dtype=np.float64) * quant_bits / 8
    )
    raw = np.ceil(mem_gb / ECOLOGITS_GPU_MEMORY_GB)
    return 2.0 ** np.ceil(np.log2(np.maximum(raw, 1.0)))


def ecologits_gpu_energy_j(
    total_params_b: Any,
    active_params_b: Any,
    output_tokens: Any,
    batch_size: Any = ECOLOGITS_BATCH_SIZE,
    gpu_count: Any = None,
) -> Any:
    """GPU energy of one request [J] by the EcoLogits formula.

    ``batch_size`` defaults to the methodology's fixed 64 ("as users get it");
    ``gpu_count`` None uses the methodology's memory rule.
    """
    b = np.asarray(batch_size, dtype=np.float64)
    per_token_wh = (
        ECOLOGITS_ALPHA_WH
        * np.exp(ECOLOGITS_BETA * b)
        * np.asarray(active_params_b, dtype=np.float64)
        + ECOLOGITS_GAMMA_WH
    )
    gpus = ecologits_gpu_count(total_params_b) if gpu_count is None else np.asarray(gpu_count)
    return np.asarray(output_tokens, dtype=np.float64) * per_token_wh * gpus * J_PER_WH
