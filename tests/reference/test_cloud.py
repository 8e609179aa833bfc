"""Cloud Carbon Footprint instance coefficients: embodied share, CPU power, GPU counts."""

from __future__ import annotations

import math

import pytest

from infercarbon.errors import InputError, UnknownHardwareError
from infercarbon.reference.cloud import (
    EMBODIED_LIFESPAN_S,
    PROVIDERS,
    get_instance,
    gpu_count,
    instance_embodied_kg,
    instance_types,
    instance_use_w,
)


def test_lifespan_is_ccf_four_years() -> None:
    assert EMBODIED_LIFESPAN_S.value == 4 * 365 * 86_400
    assert EMBODIED_LIFESPAN_S.unit == "s"


def test_aws_gpu_instance() -> None:
    # CCF: p4d.24xlarge, 96 of 96 vCPUs, 8 x Tesla A100, server total 4676.79 kgCO2e
    inst = get_instance("aws", "p4d.24xlarge")
    assert gpu_count("aws", "p4d.24xlarge") == 8
    assert inst.gpu_name == "Tesla A100"
    emb = instance_embodied_kg("aws", "p4d.24xlarge")
    assert emb.value == pytest.approx(4676.79)
    assert emb.unit == "kg"
    assert emb.label == "derived"
    assert emb.licence == "Apache-2.0"


def test_embodied_is_server_total_times_vcpu_share() -> None:
    # CCF: m5.large has 2 of 96 platform vCPUs; server total 1610.79 kg
    assert instance_embodied_kg("aws", "m5.large").value == pytest.approx(1610.79 * 2 / 96)
    # Azure NC6s v3: 6 of 24 vCPUs, 2349.62 kg
    assert instance_embodied_kg("azure", "NC6s v3").value == pytest.approx(2349.62 * 6 / 24)


def test_use_watts_are_per_vcpu_times_vcpus() -> None:
    # GCP a2-highgpu-1g: 12 vCPUs, Cascade Lake 0.638949 / 3.642452 W per vCPU (CCF gcp use)
    lo, hi = instance_use_w("gcp", "a2-highgpu-1g")
    assert lo.value == pytest.approx(0.638949 * 12)
    assert hi.value == pytest.approx(3.642452 * 12)
    assert lo.unit == hi.unit == "w"
    assert "no GPU" in (lo.note or "")
    assert gpu_count("gcp", "a2-highgpu-1g") == 1


def test_several_candidate_microarchitectures_give_a_range() -> None:
    inst = get_instance("gcp", "e2-standard-2")
    assert len(inst.microarchitectures) > 1
    lo, _ = instance_use_w("gcp", "e2-standard-2")
    assert lo.low is not None
    assert lo.high is not None
    assert lo.low < lo.value < lo.high
    emb = instance_embodied_kg("gcp", "e2-standard-2")
    assert emb.low is not None
    assert emb.high is not None
    assert emb.low < emb.value < emb.high


def test_lookup_ignores_case_and_azure_api_prefix() -> None:
    assert get_instance("AWS", "M5.Large").instance_type == "m5.large"
    assert get_instance("azure", "Standard_NC6s_v3").instance_type == "NC6s v3"
    assert gpu_count("azure", "Standard_NC6s_v3") == 1


def test_unknown_instance_lists_close_matches() -> None:
    with pytest.raises(UnknownHardwareError) as exc:
        get_instance("aws", "m5.lrge")
    assert "m5.large" in exc.value.suggestions
    # newer types are not in this CCF snapshot: a clear error, never a guess
    with pytest.raises(UnknownHardwareError):
        instance_embodied_kg("aws", "p5.48xlarge")
    with pytest.raises(UnknownHardwareError):
        gpu_count("gcp", "g2-standard-4")


@pytest.mark.parametrize(
    ("provider", "itype"), [("oracle", "x"), ("", "m5.large"), ("aws", ""), ("aws", "  ")]
)
def test_bad_provider_or_type_is_input_error(provider: str, itype: str) -> None:
    with pytest.raises(InputError):
        get_instance(provider, itype)


def test_every_instance_is_consistent() -> None:
    total = 0
    for p in PROVIDERS:
        types = instance_types(p)
        assert types
        for t in types:
            inst = get_instance(p, t)
            total += 1
            assert 0 < inst.vcpus <= inst.platform_vcpus
            assert 0 < inst.vcpu_share_frac <= 1
            assert inst.gpus >= 0
            for f in (inst.platform_embodied_kg, inst.min_w_per_vcpu, inst.max_w_per_vcpu):
                assert math.isfinite(f.value)
                assert f.value >= 0
            assert inst.min_w_per_vcpu.value <= inst.max_w_per_vcpu.value
    assert total > 1000
