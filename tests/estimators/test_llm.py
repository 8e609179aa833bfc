import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from infercarbon.errors import FallbackWarning, InputError, UnknownHardwareError
from infercarbon.estimators.llm import (
    estimate_llm,
    estimate_llm_arrays,
    estimate_llm_scalar,
    load_calibration,
)


def _e(**kw: float | str) -> float:
    base = dict(
        total_params_b=8.0,
        active_params_b=8.0,
        gpu="H100",
        num_gpus=1,
        batch_size=64,
        output_tokens=400,
        input_tokens=300,
    )
    base.update(kw)
    return estimate_llm_scalar(**base).gpu_energy_j  # type: ignore[arg-type]


@settings(max_examples=60, deadline=None)
@given(out=st.floats(1, 4000), extra=st.floats(1, 4000), batch=st.floats(1, 2048))
def test_monotonic_in_output_tokens(out: float, extra: float, batch: float) -> None:
    assert _e(output_tokens=out + extra, batch_size=batch) > _e(output_tokens=out, batch_size=batch)


@settings(max_examples=60, deadline=None)
@given(p=st.floats(0.5, 500), factor=st.floats(1.01, 10), batch=st.floats(1, 1024))
def test_monotonic_in_params(p: float, factor: float, batch: float) -> None:
    assert _e(total_params_b=p * factor, active_params_b=p * factor, batch_size=batch) > _e(
        total_params_b=p, active_params_b=p, batch_size=batch
    )


@settings(max_examples=60, deadline=None)
@given(b=st.floats(1, 1024), factor=st.floats(1.05, 8), p=st.floats(1, 400))
def test_batching_reduces_per_request_energy(b: float, factor: float, p: float) -> None:
    assert _e(batch_size=b * factor, total_params_b=p, active_params_b=p) < _e(
        batch_size=b, total_params_b=p, active_params_b=p
    )


def test_moe_costs_less_than_dense_of_same_total() -> None:
    assert _e(total_params_b=141, active_params_b=39, num_gpus=8) < _e(
        total_params_b=141, active_params_b=141, num_gpus=8
    )


def test_low_precision_reads_fewer_bytes() -> None:
    assert _e(precision="fp8") < _e(precision="bf16")


def test_range_and_line_items_add_up() -> None:
    r = estimate_llm(8, 8, "H100", 1, 64, 400, input_tokens=300, pue=1.2)
    assert r.gpu_energy_low_j < r.gpu_energy_j < r.gpu_energy_high_j
    items = r.line_items
    assert set(items) == {"gpu_energy_j", "host_energy_j", "idle_energy_j", "pue_overhead_j"}
    assert items["gpu_energy_j"].label == "modelled"
    assert items["idle_energy_j"].label == "excluded"  # no duty cycle given
    it = items["gpu_energy_j"].value + items["host_energy_j"].value
    assert items["pue_overhead_j"].value == pytest.approx(0.2 * it)
    assert r.energy_j_total == pytest.approx(1.2 * it)


def test_idle_share_with_duty_cycle() -> None:
    busy = estimate_llm(8, 8, "H100", 1, 64, 400, input_tokens=300, utilisation_frac=1.0)
    half = estimate_llm(8, 8, "H100", 1, 64, 400, input_tokens=300, utilisation_frac=0.5)
    assert busy.line_items["idle_energy_j"].value == 0.0
    assert half.line_items["idle_energy_j"].value > 0
    assert half.line_items["idle_energy_j"].label == "derived"


def test_missing_input_tokens_is_an_explicit_recorded_fallback() -> None:
    with pytest.warns(FallbackWarning, match="input_tokens"):
        r = estimate_llm(8, 8, "H100", 1, 64, 400)
    assert r.inputs["input_tokens_source"] == "assumed"
    assert r.inputs["input_tokens"] == load_calibration().default_input_tokens
    assert r.notes


def test_scalar_and_vector_paths_agree() -> None:
    rng = np.random.default_rng(1)
    n = 200
    tot = rng.uniform(1, 400, n)
    act = tot * rng.uniform(0.2, 1, n)
    gpus = rng.choice(np.array(["H100", "A100-SXM4-40GB", "B200", "L4"], dtype=object), n)
    prec = rng.choice(np.array(["bf16", "fp8", "int4"], dtype=object), n)
    ng = rng.integers(1, 9, n).astype(float)
    b = rng.uniform(1, 512, n)
    out = rng.uniform(1, 2000, n)
    inp = rng.uniform(0, 8000, n)
    v = estimate_llm_arrays(tot, act, gpus, ng, b, out, inp, prec, pue=1.3)
    for i in range(0, n, 17):
        s = estimate_llm_scalar(
            tot[i], act[i], gpus[i], ng[i], b[i], out[i], inp[i], prec[i], pue=1.3
        )
        assert v.gpu_energy_j[i] == pytest.approx(s.gpu_energy_j, rel=1e-12)
        assert v.energy_j_total[i] == pytest.approx(s.energy_j_total, rel=1e-12)


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"output_tokens": 0}, "output_tokens"),
        ({"batch_size": float("nan")}, "batch_size"),
        ({"active_params_b": 9.0}, "active_params_b"),
        ({"num_gpus": -1}, "num_gpus"),
        ({"input_tokens": -5}, "input_tokens"),
        ({"precision": "int3"}, "precision"),
    ],
)
def test_bad_scalar_input_names_the_field(kw: dict[str, float], field: str) -> None:
    with pytest.raises(InputError) as info:
        _e(**kw)
    assert info.value.field == field


def test_bad_vector_row_names_field_and_row() -> None:
    with pytest.raises(InputError, match="row 2") as info:
        estimate_llm_arrays(8, 8, "H100", 1, np.array([1.0, 2.0, -3.0]), 100, 10)
    assert info.value.field == "batch_size"
    with pytest.raises(UnknownHardwareError):
        estimate_llm_arrays(8, 8, ["H100", "Z9"], 1, 2, np.array([1.0, 2.0]), 10)


def test_magnitude_is_physical() -> None:
    # 8 B dense model, 400 tokens at batch 64 on one H100: tens to a few hundred joules
    e = _e()
    assert 20 < e < 400
    assert math.isfinite(e)


def test_gpu_column_forms_agree_and_missing_names_the_row() -> None:
    """Lists, numpy text/object arrays and Arrow string arrays give the same result."""
    import pyarrow as pa

    names = ["H100", "L4", "H100", "B200"]
    forms = [
        names,
        np.array(names),
        np.array(names, dtype=object),
        pa.array(names),
        pa.chunked_array([names[:2], names[2:]]),
    ]
    ref = estimate_llm_arrays(8, 8, names, 1, 16, 200, 100).gpu_energy_j
    for f in forms:
        assert estimate_llm_arrays(8, 8, f, 1, 16, 200, 100).gpu_energy_j.tolist() == ref.tolist()
    with pytest.raises(InputError, match="row 1: missing") as info:
        # a missing GPU name, as a column with a null would carry
        estimate_llm_arrays(8, 8, ["H100", None, "L4"], 1, 16, np.ones(3) * 200, 100)  # type: ignore[list-item]
    assert info.value.field == "gpu/precision"
    with pytest.raises(InputError, match="array lengths differ"):
        estimate_llm_arrays(8, 8, ["H100", "L4"], 1, 16, np.ones(3) * 200, 100)


# ------------------------------------------------- serving stacks, KV growth, MoE, transfer


@settings(max_examples=60, deadline=None)
@given(inp=st.floats(0, 16000), extra=st.floats(1, 16000), batch=st.floats(1, 512))
def test_monotonic_in_input_tokens(inp: float, extra: float, batch: float) -> None:
    # longer prompts cost prefill and a larger KV cache read at every decode step
    assert _e(input_tokens=inp + extra, batch_size=batch) > _e(input_tokens=inp, batch_size=batch)


@settings(max_examples=60, deadline=None)
@given(out=st.floats(10, 4000), factor=st.floats(1.5, 8), batch=st.floats(8, 256))
def test_energy_per_output_token_grows_with_output_length(
    out: float, factor: float, batch: float
) -> None:
    # the KV cache every step reads grows with the tokens generated so far
    short = _e(output_tokens=out, batch_size=batch, input_tokens=0) / out
    long = _e(output_tokens=out * factor, batch_size=batch, input_tokens=0) / (out * factor)
    assert long > short


@settings(max_examples=60, deadline=None)
@given(b=st.floats(1, 512), factor=st.floats(1.05, 8), act_frac=st.floats(0.02, 0.5))
def test_moe_batching_reduces_per_request_energy(b: float, factor: float, act_frac: float) -> None:
    kw = {"total_params_b": 120.0, "active_params_b": 120.0 * act_frac, "num_gpus": 4}
    assert _e(batch_size=b * factor, **kw) < _e(batch_size=b, **kw)


def test_moe_reads_more_experts_at_larger_batch() -> None:
    # one token reads only its experts (= a dense model of the active size); 64 tokens
    # route to most experts, so the step reads more than the active weights, less than all
    moe, small, big = (
        {"total_params_b": 30, "active_params_b": 3},
        {"total_params_b": 3, "active_params_b": 3},
        {"total_params_b": 30, "active_params_b": 30},
    )
    assert _e(batch_size=1, **moe) == pytest.approx(_e(batch_size=1, **small))
    assert _e(batch_size=64, **small) < _e(batch_size=64, **moe) < _e(batch_size=64, **big)


@settings(max_examples=40, deadline=None)
@given(
    b=st.floats(1, 512),
    out=st.floats(1, 4000),
    p=st.floats(1, 400),
    ng=st.sampled_from([1, 2, 4, 8]),
    prec=st.sampled_from(["bf16", "fp8", "fp4"]),
)
def test_newer_stack_is_never_costlier(b: float, out: float, p: float, ng: int, prec: str) -> None:
    kw = {
        "batch_size": b,
        "output_tokens": out,
        "total_params_b": p,
        "active_params_b": p,
        "num_gpus": ng,
        "precision": prec,
    }
    old = estimate_llm_scalar(**kw, gpu="H100", input_tokens=300, stack="vllm-2024")  # type: ignore[arg-type]
    new = estimate_llm_scalar(**kw, gpu="H100", input_tokens=300, stack="vllm-2025")  # type: ignore[arg-type]
    assert new.gpu_energy_j <= old.gpu_energy_j


def test_gpu_transfer_is_physics_not_a_uniform_factor() -> None:
    # memory-bound (batch 1) and compute-heavy (batch 512) regimes move differently from
    # H100 to B200: bandwidth x2.4, dense FLOPS x2.3, power limit x1.43
    small = _e(gpu="B200", batch_size=1) / _e(gpu="H100", batch_size=1)
    large = _e(gpu="B200", batch_size=512, input_tokens=4000) / _e(
        gpu="H100", batch_size=512, input_tokens=4000
    )
    assert small < 1 and large < 1
    assert abs(small - large) > 0.02


def test_stack_selection_in_every_path() -> None:
    s = estimate_llm_scalar(8, 8, "H100", 1, 64, 400, 300, stack="vllm-2024")
    a = estimate_llm_arrays(8, 8, "H100", 1, 64, 400, 300, stack="vllm-2024")
    f = estimate_llm(8, 8, "H100", 1, 64, 400, 300, stack="vllm-2024")
    assert a.gpu_energy_j[0] == pytest.approx(s.gpu_energy_j)
    assert f.gpu_energy_j == pytest.approx(s.gpu_energy_j)
    assert f.inputs["stack"] == "vllm-2024"
    assert f.gpu_seconds_s == pytest.approx(s.gpu_seconds_s)
    with pytest.raises(InputError) as info:
        estimate_llm_scalar(8, 8, "H100", 1, 64, 400, 300, stack="tgi-2023")
    assert info.value.field == "stack"


@settings(max_examples=80, deadline=None)
@given(
    b=st.floats(1, 2048),
    out=st.floats(1, 16000),
    inp=st.floats(0, 16000),
    act_frac=st.floats(0.02, 1.0),
    p=st.floats(0.5, 700),
    ng=st.sampled_from([1, 2, 4, 8, 16]),
    gpu=st.sampled_from(["A100-SXM4-80GB", "H100", "B200", "L4"]),
    stack=st.sampled_from(["vllm-2024", "vllm-2025"]),
)
def test_average_power_between_static_floor_and_power_limit(
    b: float, out: float, inp: float, act_frac: float, p: float, ng: int, gpu: str, stack: str
) -> None:
    """GPU energy / GPU-seconds is a power per GPU: never below the static floor, never
    above the board's power limit (the busy share of a step is at most the step)."""
    from infercarbon.reference.gpus import lookup_gpu

    r = estimate_llm_scalar(p, p * act_frac, gpu, ng, b, out, inp, stack=stack)
    cal = load_calibration(stack)
    tdp = lookup_gpu(gpu).tdp_w
    watts = r.gpu_energy_j / r.gpu_seconds_s
    assert cal.static_power_frac * tdp * (1 - 1e-9) <= watts <= tdp * (1 + 1e-9)
