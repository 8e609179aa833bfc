"""Speed of the LLM estimator next to EcoLogits' ``compute_llm_impacts``, in one run.

Measures (median of repeats):
* scalar: one request per call, ``estimate_llm_scalar`` (plain floats, line items as floats)
  and ``estimate_llm`` (full labelled result with Figures);
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

from infercarbon.estimators.llm import estimate_llm, estimate_llm_arrays, estimate_llm_scalar


def _per_call_us(fn: Any, n: int, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        for _ in range(n):
            fn()
        times.append((time.perf_counter() - t) / n * 1e6)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=20_000)
    ap.add_argument("--eco-calls", type=int, default=500)
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--repeats", type=int, default=5)
    a = ap.parse_args()

    res: dict[str, Any] = {"python": platform.python_version(), "machine": platform.machine()}
    res["scalar_us"] = _per_call_us(
        lambda: estimate_llm_scalar(8.0, 8.0, "H100", 1, 64, 400, 300), a.calls, a.repeats
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
    if res.get("ecologits_us"):
        res["scalar_speedup_vs_ecologits"] = res["ecologits_us"] / res["scalar_us"]

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
    print()
    print(f"{'measure':38s} {'value':>16s}")
    print(f"{'infercarbon scalar [us/call]':38s} {res['scalar_us']:16.2f}")
    print(f"{'infercarbon full result [us/call]':38s} {res['full_result_us']:16.2f}")
    eco_us = res.get("ecologits_us")
    print(
        f"{'ecologits compute_llm_impacts [us/call]':38s} {eco_us if eco_us is None else f'{eco_us:16.2f}'}"
    )
    if eco_us:
        print(
            f"{'scalar speed-up vs ecologits [x]':38s} {res['scalar_speedup_vs_ecologits']:16.1f}"
        )
    print(f"{'vectorised, one GPU [M rows/s]':38s} {res['vector_one_gpu_rows_per_s'] / 1e6:16.1f}")
    print(
        f"{'vectorised, mixed GPUs [M rows/s]':38s} {res['vector_mixed_gpu_rows_per_s'] / 1e6:16.1f}"
    )


if __name__ == "__main__":
    main()
