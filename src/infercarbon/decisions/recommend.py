"""Right-sizing: rank (tier, region, batch size) options that meet a latency budget.

Energy per inference at batch size 1 comes from the estimators:

* ``workload``: the seed's illustrative energy for the workload on the tier
  (:func:`infercarbon.reference.seed.seed_energy_j`); a tier without a figure for the
  workload is rejected with that reason;
* ``model_params_b``: the calibrated LLM estimator
  (:func:`infercarbon.estimators.llm.estimate_llm_scalar`) on the tier's GPU, for
  ``input_tokens``/``output_tokens`` per request, on as many GPUs as the bf16 weights need.

Batching (workload path): energy per inference scales with the compute-side utilisation curve
of the vision roofline (:mod:`infercarbon.estimators.vision`,
``u(b) = u_max x b / (b + b_half)``), i.e. by ``(b + b_half) / (b x (1 + b_half))``
(modelled).  The LLM estimator models the batch itself.

Latency of a request at batch size ``b`` and arrival rate ``r``: the wait to fill the batch,
``(b - 1) / r``, plus the batch's service time ``b x device_time_s`` (workload path:
``device_time_s = energy / active power``, as the footprint engine computes it; LLM path: the
estimator's step time x output tokens).  An option meets the budget when its latency is at most
``latency_budget_s``.

Each option's footprint is the same engine as ``estimate`` (:func:`infercarbon.accounting.
build_request` and :func:`~infercarbon.accounting.footprint`), so it carries g per inference
and per outcome with the p5..p95 range, the embodied and idle shares at the rate, and the
embodied/operational crossover utilisation (:mod:`infercarbon.decisions.crossover`) with
consolidation advice.  Cost per inference is the seed's tier price (illustrative) apportioned
like embodied carbon: an owned unit over its five-year life by wall-clock share, a cloud
hour by the inference's share of it; electricity cost is not included.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from infercarbon.accounting import EstimateOptions, Input, build_request, footprint
from infercarbon.accounting.uncertainty import Fixed, Triangular
from infercarbon.decisions.crossover import crossover_utilisation_frac
from infercarbon.errors import InfercarbonError, InputError
from infercarbon.reference import seed

__all__ = ["DEFAULT_BATCH_SIZES", "TIER_COST_USD", "Option", "batch_energy_factor", "recommend"]

DEFAULT_BATCH_SIZES: tuple[int, ...] = (1, 2, 4, 8)
#: The seed's tier prices (illustrative; seed 000 tier table): (kind, central, low, high).
#: ``unit``: USD per device, amortised over the device life; ``hour``: USD per cloud hour.
TIER_COST_USD: dict[str, tuple[str, float, float, float]] = {
    "T0": ("unit", 5.0, 5.0, 5.0),
    "T1": ("unit", 500.0, 500.0, 500.0),
    "T2": ("unit", 900.0, 900.0, 900.0),
    "T3": ("unit", 2000.0, 2000.0, 2000.0),
    "T4": ("hour", 2.20, 2.20, 2.20),
    "T5": ("hour", 5.25, 3.50, 7.00),
}
#: The GPU of the spec table that stands for each tier in the LLM estimator.
TIER_GPU: dict[str, str] = {
    "T1": "Jetson Orin Nano 8GB",
    "T2": "Jetson Orin NX 16GB",
    "T3": "Jetson AGX Orin 64GB",
    "T4": "L4",
    "T5": "H100",
    "T6": "B200",
}


def batch_energy_factor(batch_size: float) -> float:
    """Energy per inference at batch ``b`` relative to batch 1 (vision roofline compute side).

    >>> batch_energy_factor(1), round(batch_energy_factor(8), 3)
    (1.0, 0.3)
    """
    from infercarbon.estimators.vision import DEFAULT_BATCH_HALF

    b = float(batch_size)
    if not b >= 1:
        raise InputError(f"{batch_size!r} must be >= 1", field="batch_size")
    return (b + DEFAULT_BATCH_HALF) / (b * (1.0 + DEFAULT_BATCH_HALF))


@dataclass(frozen=True)
class Option:
    """One (tier, region, batch size) and its figures (``None`` where unknown)."""

    tier: str
    region: str
    batch_size: int
    latency_s: float | None
    g_per_inference: float | None
    low_g: float | None
    high_g: float | None
    figures: dict[str, Any]
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out = {
            "tier": self.tier,
            "region": self.region,
            "batch_size": self.batch_size,
            "latency_s": self.latency_s,
            "g_per_inference": self.g_per_inference,
            "low_g": self.low_g,
            "high_g": self.high_g,
            **self.figures,
        }
        if self.reason is not None:
            out["reason"] = self.reason
        return out


def _llm_energy(
    params_b: float, tier: str, batch: int, input_tokens: float, output_tokens: float
) -> tuple[float, float, float, float, str]:
    """(energy, low, high [J], latency of one request's service [s], source)."""
    from infercarbon.estimators.llm import estimate_llm_scalar
    from infercarbon.reference.gpus import lookup_gpu

    gpu = TIER_GPU.get(tier)
    if gpu is None:
        raise InputError(f"no GPU of the spec table stands for {tier}", field="tiers")
    spec = lookup_gpu(gpu)
    n = max(1, math.ceil(params_b * 2.0 / (0.8 * spec.memory_gb)))
    r = estimate_llm_scalar(params_b, params_b, gpu, n, batch, output_tokens, input_tokens, pue=1.0)
    it = r.gpu_energy_j + r.host_energy_j
    lo = r.gpu_energy_low_j + r.host_energy_j
    hi = r.gpu_energy_high_j + r.host_energy_j
    service_s = r.gpu_seconds_s * batch / n
    return (
        it,
        lo,
        hi,
        service_s,
        (
            f"infercarbon LLM estimator ({spec.name} x {n}, bf16, "
            f"{input_tokens:g} in / {output_tokens:g} out tokens)"
        ),
    )


def _cost(
    tier: str, device_time_s: float, u: float, lifetime_s: float
) -> tuple[float | None, float | None, float | None, str]:
    c = TIER_COST_USD.get(tier)
    if c is None:
        return None, None, None, "no price published for this tier in the seed"
    kind, v, lo, hi = c
    if kind == "unit":
        k = device_time_s / u / lifetime_s
        return v * k, lo * k, hi * k, "unit price over the device life by wall-clock share"
    k = device_time_s / u / 3600.0
    return v * k, lo * k, hi * k, "cloud hourly price by the inference's share of the hour"


def _option(
    tier_id: str,
    region: str,
    b: int,
    *,
    workload: str | None,
    params_b: float | None,
    budget_s: float,
    rate_per_s: float,
    input_tokens: float,
    output_tokens: float,
    samples: int,
) -> Option:
    tier = seed.get_tier(tier_id)
    blank: dict[str, Any] = {}
    if workload is not None:
        try:
            e1 = seed.seed_energy_j(workload, tier.tier_id)
        except InfercarbonError:
            return Option(
                tier.tier_id,
                region,
                b,
                None,
                None,
                None,
                None,
                blank,
                f"no energy figure for {workload} on {tier.tier_id} in the seed",
            )
        f = batch_energy_factor(b)
        e, lo, hi = e1.value * f, e1.range[0] * f, e1.range[1] * f
        device_time = e / tier.active_power_w.value
        service = b * device_time
        src = f"{e1.source} ({e1.label}) x batch factor {f:.3g} (vision roofline, modelled)"
        e_inp: Input | None = Input.of("energy_j", e1.scaled(f))
    else:
        assert params_b is not None
        try:
            e, lo, hi, service, src = _llm_energy(
                params_b, tier.tier_id, b, input_tokens, output_tokens
            )
        except InfercarbonError as exc:
            return Option(
                tier.tier_id,
                region,
                b,
                None,
                None,
                None,
                None,
                blank,
                f"the LLM estimator cannot model {tier.tier_id}: {exc}",
            )
        device_time = service / b
        e_inp = None
    latency = (b - 1) / rate_per_s + service
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # fallbacks are recorded in the footprint
        # energy and device time are replaced below by the modelled figures
        req = build_request(
            EstimateOptions(
                region=region,
                workload=workload,
                tier=tier.tier_id,
                rate_per_s=rate_per_s,
                energy_j=repr(e),
                samples=samples,
            )
        )
        if e_inp is None:
            dist = Triangular(lo, e, hi) if hi > lo else Fixed(e)
            e_inp = Input("energy_j", dist, "j", src, "modelled")
        else:
            e_inp = replace(e_inp, source=src, label="modelled" if b > 1 else e_inp.label)
        req = req.with_(
            energy_j=e_inp,
            device_time_s=Input(
                "device_time_s", Fixed(device_time), "s", src, "modelled", "busy time per inference"
            ),
        )
        fp = footprint(req)
    loc = fp.totals_g["location"]
    total, p5, p95 = loc.point_g, loc.p5_g, loc.p95_g
    op = fp.item("operational_location").emissions_g
    emb = fp.item("embodied")
    idle = fp.item("idle_location")
    u = next(
        (float(a["value"]) for a in fp.assumptions if a.get("name") == "utilisation_frac"),
        float("nan"),
    )
    figures: dict[str, Any] = {
        "energy_j": e,
        "energy_low_j": lo,
        "energy_high_j": hi,
        "region_id": fp.region_id,
        "device": tier.device,
        "operating_model": req.operating_model,
        "utilisation_frac": u,
        "embodied_share_frac": emb.emissions_g / total if total > 0 and emb.in_total else 0.0,
        "idle_share_frac": idle.emissions_g / total if total > 0 and idle.in_total else 0.0,
        "operational_g": op,
        "embodied_g": emb.emissions_g if emb.in_total else None,
        "idle_g": idle.emissions_g if idle.in_total else None,
    }
    if fp.per_outcome_g is not None:
        po = fp.per_outcome_g
        figures.update(
            {
                "outcome": po["outcome"],
                "g_per_outcome": po["total_location_g"],
                "g_per_outcome_low": po["total_location_low_g"],
                "g_per_outcome_high": po["total_location_high_g"],
            }
        )
    lifetime_s = req.lifetime_s.central if req.lifetime_s is not None else seed.LIFETIME_S.value
    cost, c_lo, c_hi, how = _cost(tier.tier_id, device_time, u if u == u else 1.0, lifetime_s)
    figures.update(
        {
            "cost_usd": cost,
            "cost_low_usd": c_lo,
            "cost_high_usd": c_hi,
            "cost_basis": f"{how} ({tier.cost_basis}; seed, illustrative; "
            "electricity not included)",
        }
    )
    if emb.in_total and op > 0 and u == u:
        ustar = float(crossover_utilisation_frac(emb.emissions_g * u, op))
        figures["crossover_utilisation_frac"] = ustar
        figures["advice"] = (
            f"utilisation {u:.3g} is below the crossover {ustar:.3g}: embodied exceeds "
            "operational; consolidate onto fewer, better-utilised devices"
            if u < ustar
            else f"utilisation {u:.3g} is above the crossover {ustar:.3g}"
        )
    reason = None
    if latency > budget_s:
        reason = (
            f"latency {latency:.3g} s exceeds the budget {budget_s:g} s (batch fill "
            f"{(b - 1) / rate_per_s:.3g} s + service {service:.3g} s)"
        )
    return Option(tier.tier_id, region, b, latency, total, p5, p95, figures, reason)


def recommend(
    *,
    regions: Sequence[str],
    latency_budget_s: float,
    rate_per_s: float,
    workload: str | None = None,
    model_params_b: float | None = None,
    tiers: Sequence[str] | None = None,
    batch_sizes: Sequence[int] = DEFAULT_BATCH_SIZES,
    input_tokens: float = 400.0,
    output_tokens: float = 250.0,
    samples: int = 2000,
) -> dict[str, Any]:
    """``{"options": [...best first], "rejected": [...], ...}`` (see the module docstring)."""
    if (workload is None) == (model_params_b is None):
        raise InputError("give --workload or --model-params-b (one of them)", field="workload")
    for name, v in (("latency_budget_s", latency_budget_s), ("rate_per_s", rate_per_s)):
        if not (math.isfinite(v) and v > 0):
            raise InputError(f"{v!r} must be > 0", field=name)
    if model_params_b is not None and not (math.isfinite(model_params_b) and model_params_b > 0):
        raise InputError(f"{model_params_b!r} must be > 0 (billions)", field="model_params_b")
    if not regions:
        raise InputError("give at least one region", field="regions")
    if not batch_sizes or any(int(b) < 1 for b in batch_sizes):
        raise InputError("batch sizes must be integers >= 1", field="batch_sizes")
    wl = seed.get_workload(workload).workload_id if workload is not None else None
    tier_ids = [seed.get_tier(t).tier_id for t in (tiers or [t.tier_id for t in seed.tiers()])]
    opts = [
        _option(
            t,
            r,
            int(b),
            workload=wl,
            params_b=model_params_b,
            budget_s=latency_budget_s,
            rate_per_s=rate_per_s,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            samples=samples,
        )
        for t in tier_ids
        for r in regions
        for b in batch_sizes
    ]
    ok = sorted(
        (o for o in opts if o.reason is None),
        key=lambda o: (o.g_per_inference, o.tier, o.region, o.batch_size),
    )
    bad = [o for o in opts if o.reason is not None]
    return {
        "workload": wl,
        "model_params_b": model_params_b,
        "latency_budget_s": latency_budget_s,
        "rate_per_s": rate_per_s,
        "options": [o.to_dict() for o in ok],
        "rejected": [o.to_dict() for o in bad],
        "sort": "g_per_inference (location-based total, p5..p95 in low_g/high_g), ascending",
        "label": "modelled",
        "notes": [
            "latency = batch fill wait (b-1)/rate + batch service time b x device time",
            "batching: energy x (b + b_half)/(b (1 + b_half)), b_half 4 (vision roofline)"
            if wl
            else "batching: modelled by the LLM estimator",
            f"ranges: Monte Carlo p5..p95 of {samples} samples (estimate's engine)",
        ],
    }
