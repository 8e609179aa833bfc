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


def _e(**kw: float) -> float:
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
    forms = [names, np.array(names), np.array(names, dtype=object), pa.array(names),
             pa.chunked_array([names[:2], names[2:]])]
    ref = estimate_llm_arrays(8, 8, names, 1, 16, 200, 100).gpu_energy_j
    for f in forms:
        assert estimate_llm_arrays(8, 8, f, 1, 16, 200, 100).gpu_energy_j.tolist() == ref.tolist()
    with pytest.raises(InputError, match="row 1: missing") as info:
        estimate_llm_arrays(8, 8, ["H100", None, "L4"], 1, 16, np.ones(3) * 200, 100)
    assert info.value.field == "gpu/precision"
    with pytest.raises(InputError, match="array lengths differ"):
        estimate_llm_arrays(8, 8, ["H100", "L4"], 1, 16, np.ones(3) * 200, 100)
