import math

import pytest

from infercarbon.errors import UnknownHardwareError
from infercarbon.reference.gpus import known_gpus, load_gpus, lookup_gpu


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("H100", "H100 SXM5 80GB"),
        ("H100 80GB HBM3", "H100 SXM5 80GB"),
        ("NVIDIA H100-SXM5-80GB", "H100 SXM5 80GB"),
        ("nvidia h100 pcie", "H100 PCIe 80GB"),
        ("B200", "B200 SXM 180GB"),
        ("GB200", "GB200 NVL72 GPU"),
        ("A100-SXM4-40GB", "A100 SXM4 40GB"),
        ("NVIDIA A100-SXM4-40GB", "A100 SXM4 40GB"),
        ("A100", "A100 SXM4 80GB"),
        ("A100 80GB PCIe", "A100 PCIe 80GB"),
        ("L4", "L4"),
        ("L40S", "L40S"),
        ("H200", "H200 SXM 141GB"),
        ("Jetson Orin Nano", "Jetson Orin Nano 8GB"),
        ("AGX Orin", "Jetson AGX Orin 64GB"),
    ],
)
def test_loose_name_matching(query: str, expected: str) -> None:
    assert lookup_gpu(query).name == expected


def test_unknown_gpu_lists_known_ones() -> None:
    with pytest.raises(UnknownHardwareError) as info:
        lookup_gpu("RTX 9090 Ti")
    msg = str(info.value)
    assert "RTX 9090 Ti" in msg
    for name in ("H100 SXM5 80GB", "B200 SXM 180GB", "L4"):
        assert name in msg


def test_contradicting_memory_is_unknown_not_a_guess() -> None:
    with pytest.raises(UnknownHardwareError, match="did you mean"):
        lookup_gpu("H100 40GB")


def test_table_has_provenance_and_sane_units() -> None:
    specs = load_gpus()
    assert len(specs) == len(known_gpus()) >= 15
    for s in specs:
        assert s.source
        assert s.vintage
        assert s.licence
        assert 0 < s.tdp_w <= 1500
        assert 1e10 < s.memory_bandwidth_bytes_per_s < 1e13  # 10 GB/s .. 10 TB/s
    h100 = lookup_gpu("H100")
    assert h100.tdp_w == 700.0
    assert h100.memory_bandwidth_bytes_per_s == pytest.approx(3.35e12)
    assert h100.flops_for("bf16") == pytest.approx(989.4e12)
    assert h100.flops_for("fp8") == pytest.approx(1978.9e12)
    a100 = lookup_gpu("A100-SXM4-40GB")
    assert math.isnan(a100.fp8_flops)
    assert a100.flops_for("fp8") == a100.bf16_flops  # no FP8 units: 16-bit rate
