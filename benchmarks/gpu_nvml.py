"""Real-GPU check of the NVML path and measured inference energy (needs an NVIDIA GPU + torch).

Run on a machine with an NVIDIA GPU, PyTorch and nvidia-ml-py (not part of CI: CI has no GPU):

    python benchmarks/gpu_nvml.py [--out results.json] [--seconds 5]

What it does, each step recorded in the JSON (a step that fails records its error and the
others still run; the exit status is 1 if any step failed):

1. ``detect("auto")``: which source is chosen and why the others are not.
2. Idle: the NVML energy counter over a few idle seconds, against polled power.
3. ResNet-50 (random weights, bf16) at several batch sizes under ``meter.batch(n)``: J per
   image, and the meter's total against an independent NVML counter read around the window
   (conservation against the hardware, not only internally).
4. Counter vs power-polling fallback: the same window read by the energy counter and by a
   second source forced onto ``nvmlDeviceGetPowerUsage`` polling (the older-GPU path).
5. Concurrent tenants: four threads on their own CUDA streams, overlapping inferences.
6. A Llama-shaped decoder (random weights, bf16, greedy decode of a fixed length) under
   ``meter.inference(tokens_in=, tokens_out=)``: measured board J per request, next to
   ``estimate_llm_scalar`` for the same shape on this GPU (GPU energy only).
7. How often the driver refreshes the energy counter (idle and busy), which is why the Meter
   drops stale repeated readings of it before attribution.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
import traceback
import warnings
from collections.abc import Callable
from typing import Any

REGION = "DE"  # any region works; the figures here are energy, emissions follow linearly


def _step(results: dict[str, Any], name: str, fn: Callable[[], Any]) -> None:
    t0 = time.perf_counter()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            out = fn()
        results[name] = {
            "ok": True,
            "result": out,
            "warnings": sorted({str(w.message) for w in caught}),
            "elapsed_s": round(time.perf_counter() - t0, 2),
        }
    except Exception as exc:  # noqa: BLE001 -- recorded and reported: the run exits 1
        results[name] = {
            "ok": False,
            "error": f"{type(exc).__name__}: {exc}",
            "traceback": traceback.format_exc(limit=6),
        }
    print(f"[{name}] {json.dumps(results[name], default=str)[:1500]}", flush=True)


class _PowerOnlyNvml:
    """pynvml with the energy counter reported as NOT_SUPPORTED (the pre-Volta path)."""

    def __init__(self, nvml: Any) -> None:
        self._nvml = nvml

    def __getattr__(self, name: str) -> Any:
        return getattr(self._nvml, name)

    def nvmlDeviceGetTotalEnergyConsumption(self, handle: Any) -> int:
        raise self._nvml.NVMLError(self._nvml.NVML_ERROR_NOT_SUPPORTED)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="gpu_nvml.json")
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--llm-layers", type=int, default=32)
    args = ap.parse_args()

    import pynvml
    import torch

    from infercarbon import Meter
    from infercarbon.estimators.llm import estimate_llm_scalar
    from infercarbon.telemetry.detect import detect
    from infercarbon.telemetry.nvml import NvmlSource

    results: dict[str, Any] = {"torch": torch.__version__}
    dev = torch.device("cuda")
    secs = args.seconds

    def nvml_counter_j() -> float:
        return float(pynvml.nvmlDeviceGetTotalEnergyConsumption(handle)) / 1000.0

    pynvml.nvmlInit()
    handle = pynvml.nvmlDeviceGetHandleByIndex(0)
    results["gpu"] = str(pynvml.nvmlDeviceGetName(handle))
    results["driver"] = str(pynvml.nvmlSystemGetDriverVersion())

    def sensors() -> Any:
        src, avail = detect("auto")
        out = {
            "chosen": src.name,
            "method": src.method,
            "describe": src.describe(),
            "availability": [a.to_dict() for a in avail],
        }
        src.close()
        return out

    _step(results, "sensors", sensors)

    def idle() -> Any:
        torch.cuda.synchronize()
        time.sleep(0.5)
        src = NvmlSource()
        p = []
        e0, t0 = src.read_energy_j(), time.monotonic()
        while time.monotonic() - t0 < 3.0:
            p.append(pynvml.nvmlDeviceGetPowerUsage(handle) / 1000.0)
            time.sleep(0.05)
        e1, t1 = src.read_energy_j(), time.monotonic()
        src.close()
        return {
            "idle_counter_w": (e1 - e0) / (t1 - t0),
            "idle_polled_mean_w": sum(p) / len(p),
            "samples": len(p),
        }

    _step(results, "idle", idle)

    def counter_updates() -> Any:
        """How often the driver refreshes the energy counter: read it in a tight loop for
        1.5 s at idle and under a queued matmul load, and time the changes."""
        import numpy as np

        def intervals() -> dict[str, float]:
            t, v = [], []
            t_end = time.perf_counter() + 1.5
            while time.perf_counter() < t_end:
                v.append(pynvml.nvmlDeviceGetTotalEnergyConsumption(handle))
                t.append(time.perf_counter())
            ta, va = np.array(t), np.array(v)
            changes = ta[1:][np.diff(va) != 0]
            d = np.diff(changes) * 1e3
            return {
                "reads": len(v),
                "updates": int(changes.size),
                "median_ms": float(np.median(d)) if d.size else float("nan"),
                "p10_ms": float(np.percentile(d, 10)) if d.size else float("nan"),
                "p90_ms": float(np.percentile(d, 90)) if d.size else float("nan"),
            }

        idle_iv = intervals()
        a = torch.randn(8192, 8192, device=dev, dtype=torch.bfloat16)
        for _ in range(400):  # ~1.5-2 s of queued work; reads run while it executes
            a @ a
        busy_iv = intervals()
        torch.cuda.synchronize()
        return {"idle": idle_iv, "busy": busy_iv}

    _step(results, "counter_update_interval", counter_updates)
    idle_w = results["idle"]["result"]["idle_counter_w"] if results["idle"]["ok"] else None

    import torchvision

    torch.backends.cudnn.benchmark = True
    resnet = torchvision.models.resnet50(weights=None).to(dev, torch.bfloat16).eval()
    resnet = resnet.to(memory_format=torch.channels_last)

    def run_resnet(meter: Meter, bs: int, seconds: float, **labels: Any) -> int:
        x = torch.randn(bs, 3, 224, 224, device=dev, dtype=torch.bfloat16).to(
            memory_format=torch.channels_last
        )
        n = 0
        t_end = time.monotonic() + seconds
        with torch.inference_mode():
            while time.monotonic() < t_end:
                with meter.batch(bs, model="resnet50", **labels):
                    resnet(x)
                    torch.cuda.synchronize()
                n += bs
        return n

    def resnet_batches() -> Any:
        out = []
        with torch.inference_mode():  # warm-up (cudnn autotune) outside the window
            for bs in (1, 32, 256):
                x = torch.randn(bs, 3, 224, 224, device=dev, dtype=torch.bfloat16).to(
                    memory_format=torch.channels_last
                )
                for _ in range(5):
                    resnet(x)
            torch.cuda.synchronize()
        for bs in (1, 32, 256):
            meter = Meter(
                REGION,
                sensor=NvmlSource(),
                idle_policy="30-70",
                period_s=0.05,
                baseline_idle_w=idle_w,
            )
            hw0 = nvml_counter_j()
            t0 = time.monotonic()
            n = run_resnet(meter, bs, secs)
            table = meter.footprints()
            hw1, t1 = nvml_counter_j(), time.monotonic()
            meter.close()
            s = meter.summary(table)
            e = table.column("energy_j").to_numpy()
            act = table.column("active_energy_j").to_numpy()
            out.append(
                {
                    "batch": bs,
                    "images": n,
                    "images_per_s": n / (t1 - t0),
                    "board_j_per_image": s["total_j"] / n,
                    "j_per_image_active": float(act.mean()),
                    "j_per_image": float(e.mean()),
                    "mean_power_w": s["total_j"] / (s["window_s"][1] - s["window_s"][0]),
                    "meter_total_j": s["total_j"],
                    "attributed_j": float(e.sum()),
                    "unattributed_idle_j": s["unattributed_idle_j"],
                    "conservation_residual_j": s["conservation_residual_j"],
                    "independent_counter_j": hw1 - hw0,
                    "meter_vs_independent_frac": s["total_j"] / (hw1 - hw0),
                    "g_co2e_per_image_location": float(
                        table.column("total_location_g").to_numpy().mean()
                    ),
                    "method": table.column("method")[0].as_py(),
                }
            )
        return out

    _step(results, "resnet50_batches", resnet_batches)

    def counter_vs_polling() -> Any:
        counter = NvmlSource()
        polling = NvmlSource(nvml_module=_PowerOnlyNvml(pynvml))
        m_c = Meter(REGION, sensor=counter, period_s=0.05)
        m_p = Meter(REGION, sensor=polling, period_s=0.02)
        x = torch.randn(32, 3, 224, 224, device=dev, dtype=torch.bfloat16).to(
            memory_format=torch.channels_last
        )
        t_end = time.monotonic() + secs
        with torch.inference_mode():
            while time.monotonic() < t_end:
                with m_c.batch(32), m_p.batch(32):
                    resnet(x)
                    torch.cuda.synchronize()
                time.sleep(0.01)  # a duty cycle, so power swings between reads
        sc, sp = m_c.summary(m_c.footprints()), m_p.summary(m_p.footprints())
        m_c.close()
        m_p.close()
        return {
            "counter_j": sc["total_j"],
            "polling_j": sp["total_j"],
            "polling_vs_counter_frac": sp["total_j"] / sc["total_j"],
            "polling_method": polling.method,
            "counter_method": counter.method,
            "polling_caveats": polling.describe()["caveats"],
        }

    _step(results, "counter_vs_polling", counter_vs_polling)

    def concurrent_tenants() -> Any:
        meter = Meter(REGION, sensor=NvmlSource(), period_s=0.05, idle_policy="30-70")
        hw0 = nvml_counter_j()
        counts: dict[str, int] = {}

        def worker(i: int) -> None:
            stream = torch.cuda.Stream()
            x = torch.randn(8 * (i + 1), 3, 224, 224, device=dev, dtype=torch.bfloat16).to(
                memory_format=torch.channels_last
            )
            n = 0
            t_end = time.monotonic() + secs
            with torch.inference_mode(), torch.cuda.stream(stream):
                while time.monotonic() < t_end:
                    with meter.inference(model="resnet50", tenant=f"tenant{i}", items=x.shape[0]):
                        resnet(x)
                        stream.synchronize()
                    n += x.shape[0]
            counts[f"tenant{i}"] = n

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        table = meter.footprints()
        hw1 = nvml_counter_j()
        meter.close()
        s = meter.summary(table)
        tenants = table.column("tenant").to_pylist()
        energy = table.column("energy_j").to_numpy()
        per_tenant = {t: float(energy[[x == t for x in tenants]].sum()) for t in sorted(counts)}
        return {
            "images": counts,
            "per_tenant_j": per_tenant,
            "per_tenant_j_per_image": {t: per_tenant[t] / counts[t] for t in counts},
            "meter_total_j": s["total_j"],
            "attributed_j": float(energy.sum()),
            "unattributed_idle_j": s["unattributed_idle_j"],
            "conservation_residual_j": s["conservation_residual_j"],
            "independent_counter_j": hw1 - hw0,
        }

    _step(results, "concurrent_tenants", concurrent_tenants)

    def llm() -> Any:
        from transformers import LlamaConfig, LlamaForCausalLM

        cfg = LlamaConfig(
            hidden_size=4096,
            intermediate_size=14336,
            num_hidden_layers=args.llm_layers,
            num_attention_heads=32,
            num_key_value_heads=8,
            vocab_size=128256,
            max_position_embeddings=4096,
        )
        torch.set_default_dtype(torch.bfloat16)
        with torch.device(dev):
            model = LlamaForCausalLM(cfg).eval()
        torch.set_default_dtype(torch.float32)
        params_b = sum(p.numel() for p in model.parameters()) / 1e9
        out = {"params_b": params_b, "layers": args.llm_layers, "runs": []}
        n_in, n_out = 256, 128
        for bs in (1, 16):
            ids = torch.randint(0, cfg.vocab_size, (bs, n_in), device=dev)
            gen = dict(
                max_new_tokens=n_out,
                min_new_tokens=n_out,
                do_sample=False,
                eos_token_id=None,
                pad_token_id=0,
            )
            with torch.inference_mode():
                model.generate(ids, **{**gen, "max_new_tokens": 8, "min_new_tokens": 8})
                torch.cuda.synchronize()
                meter = Meter(REGION, sensor=NvmlSource(), period_s=0.05, baseline_idle_w=idle_w)
                reps = 0
                t0 = time.monotonic()
                while reps < 3 or time.monotonic() - t0 < secs:
                    with meter.inference(
                        model="llama-shape", tokens_in=bs * n_in, tokens_out=bs * n_out, items=bs
                    ):
                        o = model.generate(ids, **gen)
                        torch.cuda.synchronize()
                    reps += 1
                wall = time.monotonic() - t0
            table = meter.footprints()
            meter.close()
            assert o.shape[1] == n_in + n_out, o.shape
            s = meter.summary(table)
            act = table.column("active_energy_j").to_numpy()
            est = estimate_llm_scalar(
                params_b,
                params_b,
                results["gpu"],
                1,
                bs,
                n_out,
                n_in,
                "bf16",
                pue=1.0,
                host_power_per_gpu_w=0.0,
            )
            out["runs"].append(
                {
                    "batch": bs,
                    "requests": int(table.num_rows),
                    "wall_s": wall,
                    "tokens_out_per_s": reps * bs * n_out / wall,
                    "measured_board_j_per_request": s["total_j"] / table.num_rows,
                    "estimator_vs_measured_board": est.gpu_energy_j * table.num_rows / s["total_j"],
                    "measured_active_j_per_request": float(act.mean()),
                    "measured_j_per_request": float(table.column("energy_j").to_numpy().mean()),
                    "measured_active_j_per_out_token": float(act.mean()) / n_out,
                    "mean_power_w": s["total_j"] / (s["window_s"][1] - s["window_s"][0]),
                    "estimator_gpu_j_per_request": est.gpu_energy_j,
                    "estimator_range_j": [est.gpu_energy_low_j, est.gpu_energy_high_j],
                    "conservation_residual_j": s["conservation_residual_j"],
                }
            )
        return out

    _step(results, "llm_decode", llm)
    pynvml.nvmlShutdown()

    with open(args.out, "w") as fh:
        json.dump(results, fh, indent=2, default=str)
    failed = [k for k, v in results.items() if isinstance(v, dict) and v.get("ok") is False]
    print("failed steps:", failed or "none")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
