"""Speed of the LLM estimator next to EcoLogits' ``compute_llm_impacts``, in one run.

Measures (median of repeats):
* scalar: one request per call, ``estimate_llm_scalar`` (plain floats, line items as floats)
  and ``estimate_llm`` (full labelled result with Figures); also the serving-stack model's
  heavier cases side by side (a MoE on 8 GPUs in fp8 with a long prompt, the older stack);
* the same requests through EcoLogits' formula as bundled
  (:func:`infercarbon.estimators.ecologits_formula.ecologits_gpu_energy_j`, scalar);
* EcoLogits ``ecologits.impacts.llm.compute_llm_impacts`` (``pip install '.[bench]'``);
* vectorised: ``estimate_llm_arrays`` over N requests (mixed models, one GPU name and a
  mixed-GPU case).

Prints a JSON document, then a table.  Usage: ``python benchmarks/bench_llm_estimator.py``
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
import warnings
from typing import Any

import numpy as np

from infercarbon.estimators.ecologits_formula import ecologits_gpu_energy_j
from infercarbon.estimators.llm import estimate_llm, estimate_llm_arrays, estimate_llm_scalar


def _per_call_us(fn: Any, n: int, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        for _ in range(n):
            fn()
        times.append((time.perf_counter() - t) / n * 1e6)
    return statistics.median(times)


def _side_by_side_us(
    fns: dict[str, Any], calls: dict[str, int], rounds: int
) -> dict[str, dict[str, float]]:
    """Per-call time of each function, measured in alternation (round-robin) so that a
    noisy shared machine slows all of them alike; min and median over rounds [us]."""
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            n = calls[name]
            t = time.perf_counter()
            for _ in range(n):
                fn()
            times[name].append((time.perf_counter() - t) / n * 1e6)
    return {k: {"min_us": min(v), "median_us": statistics.median(v)} for k, v in times.items()}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=20_000)
    ap.add_argument("--eco-calls", type=int, default=500)
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out", help="also write the JSON document to this file")
    a = ap.parse_args()

    res: dict[str, Any] = {"python": platform.python_version(), "machine": platform.machine()}
    res["scalar_us"] = _per_call_us(
        lambda: estimate_llm_scalar(8.0, 8.0, "H100", 1, 64, 400, 300), a.calls, a.repeats
    )
    res["scalar_moe_fp8_8gpu_us"] = _per_call_us(
        lambda: estimate_llm_scalar(235.0, 22.0, "H100", 8, 64, 6000, 4000, "fp8"),
        a.calls,
        a.repeats,
    )
    res["scalar_old_stack_us"] = _per_call_us(
        lambda: estimate_llm_scalar(8.0, 8.0, "H100", 1, 64, 400, 300, stack="vllm-2024"),
        a.calls,
        a.repeats,
    )
    res["ecologits_formula_bundled_us"] = _per_call_us(
        lambda: ecologits_gpu_energy_j(8.0, 8.0, 400.0, 64.0, 1.0), a.calls // 10, a.repeats
    )
    res["full_result_us"] = _per_call_us(
        lambda: estimate_llm(8.0, 8.0, "H100", 1, 64, 400, 300), a.calls // 10, a.repeats
    )
    try:
        from ecologits.impacts.llm import compute_llm_impacts
    except ImportError as exc:
        res["ecologits_us"] = None
        res["ecologits_error"] = f"ecologits not installed ({exc}); pip install '.[bench]'"
    else:
        import ecologits

        res["ecologits_version"] = ecologits.__version__

        def eco() -> None:
            compute_llm_impacts(
                model_active_parameter_count=8.0,
                model_total_parameter_count=8.0,
                output_token_count=400,
                if_electricity_mix_adpe=7.4e-8,
                if_electricity_mix_pe=10.0,
                if_electricity_mix_gwp=0.59,
                if_electricity_mix_wue=0.0,
                datacenter_pue=1.2,
                datacenter_wue=0.0,
                request_latency=10.0,
            )

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            eco()
            res["ecologits_us"] = _per_call_us(eco, a.eco_calls, a.repeats)
            sbs = _side_by_side_us(
                {
                    "ecologits": eco,
                    "scalar": lambda: estimate_llm_scalar(8.0, 8.0, "H100", 1, 64, 400, 300),
                    "scalar_moe_fp8_8gpu": lambda: estimate_llm_scalar(
                        235.0, 22.0, "H100", 8, 64, 6000, 4000, "fp8"
                    ),
                },
                {"ecologits": a.eco_calls, "scalar": a.calls // 4,
                 "scalar_moe_fp8_8gpu": a.calls // 4},
                a.repeats * 4,
            )  # fmt: skip
        res["side_by_side"] = sbs
        eco_min = sbs["ecologits"]["min_us"]
        res["scalar_speedup_vs_ecologits"] = eco_min / sbs["scalar"]["min_us"]
        res["scalar_moe_fp8_speedup_vs_ecologits"] = eco_min / sbs["scalar_moe_fp8_8gpu"]["min_us"]
        res["speedup_method"] = (
            "min per-call time over rounds, functions measured in alternation on one machine"
        )

    rng = np.random.default_rng(0)
    n = a.rows
    tot = rng.choice([2.6, 8.0, 13.0, 70.0, 141.0], n)
    act = np.minimum(tot, rng.choice([2.6, 8.0, 13.0, 39.0, 70.0], n))
    gpus = np.where(tot > 60, 8.0, 1.0)
    batch = rng.choice([8.0, 64.0, 256.0], n)
    out = rng.uniform(50, 1000, n)
    inp = rng.uniform(0, 4000, n)
    estimate_llm_arrays(
        tot[:1000], act[:1000], "H100", gpus[:1000], batch[:1000], out[:1000], inp[:1000]
    )
    t_one = []
    for _ in range(a.repeats):
        t = time.perf_counter()
        estimate_llm_arrays(tot, act, "H100", gpus, batch, out, inp)
        t_one.append(time.perf_counter() - t)
    res["vector_rows"] = n
    res["vector_one_gpu_rows_per_s"] = n / statistics.median(t_one)
    res["vector_one_gpu_best_rows_per_s"] = n / min(t_one)
    m = min(n, 1_000_000)
    names = rng.choice(np.array(["H100", "A100-SXM4-40GB", "B200", "L4"], dtype=object), m)
    t_mix = []
    for _ in range(a.repeats):
        t = time.perf_counter()
        estimate_llm_arrays(tot[:m], act[:m], names, gpus[:m], batch[:m], out[:m], inp[:m])
        t_mix.append(time.perf_counter() - t)
    res["vector_mixed_gpu_rows"] = m
    res["vector_mixed_gpu_rows_per_s"] = m / statistics.median(t_mix)
    print(json.dumps(res, indent=2))
    if a.out:
        with open(a.out, "w", encoding="utf-8") as fh:
            json.dump(res, fh, indent=2)
    print()
    print(f"{'measure':38s} {'value':>16s}")
    print(f"{'infercarbon scalar [us/call]':38s} {res['scalar_us']:16.2f}")
    print(f"{'infercarbon scalar MoE fp8 8 GPUs [us]':38s} {res['scalar_moe_fp8_8gpu_us']:16.2f}")
    print(f"{'infercarbon scalar, vllm-2024 [us/call]':38s} {res['scalar_old_stack_us']:16.2f}")
    print(f"{'infercarbon full result [us/call]':38s} {res['full_result_us']:16.2f}")
    print(
        f"{'EcoLogits formula, bundled [us/call]':38s} {res['ecologits_formula_bundled_us']:16.2f}"
    )
    eco_us = res.get("ecologits_us")
    print(
        f"{'ecologits compute_llm_impacts [us/call]':38s} "
        f"{eco_us if eco_us is None else f'{eco_us:16.2f}'}"
    )
    if eco_us:
        print(
            f"{'scalar speed-up vs ecologits [x]':38s} {res['scalar_speedup_vs_ecologits']:16.1f}"
        )
        print(
            f"{'MoE fp8 speed-up vs ecologits [x]':38s} "
            f"{res['scalar_moe_fp8_speedup_vs_ecologits']:16.1f}"
        )
    print(f"{'vectorised, one GPU [M rows/s]':38s} {res['vector_one_gpu_rows_per_s'] / 1e6:16.1f}")
    print(
        f"{'vectorised, mixed GPUs [M rows/s]':38s} "
        f"{res['vector_mixed_gpu_rows_per_s'] / 1e6:16.1f}"
    )


if __name__ == "__main__":
    main()
