import pytest

from infercarbon.errors import InputError
from infercarbon.estimators.vision import VISION_DEVICES, device_efficiency, vision_energy_j


def test_l4_by_hand() -> None:
    d = VISION_DEVICES["T4"]  # L4: 72 W, 242.5 TOPS int8 dense, 300 GB/s
    # batch 4: u = 0.5 * 4 / (4 + 4) = 0.25
    j_flop, j_byte = device_efficiency(d, 4)
    assert float(j_flop) == pytest.approx(72 / (242.5e12 * 0.25))
    assert j_byte == pytest.approx(72 / (300e9 * 0.7))
    e = vision_energy_j(8.7e9, 3e6, 12e6, d, batch_size=4)
    compute = 8.7e9 * 72 / (242.5e12 * 0.25)
    memory = (3e6 / 4 + 12e6) * 72 / (300e9 * 0.7)
    assert float(e) == pytest.approx(max(compute, memory))


def test_esp32_by_hand() -> None:
    d = VISION_DEVICES["T0"]
    assert d.peak_ops_per_s == pytest.approx(15.36e9)
    # 1D CNN ~300 k params: ~0.6 MFLOP per window, batch 1 -> u = 0.1
    e = vision_energy_j(0.6e6, 0.3e6, 0.05e6, d, batch_size=1)
    assert float(e) == pytest.approx(
        max(0.6e6 * 0.4 / (15.36e9 * 0.1), 0.35e6 * 0.4 / (3.84e9 * 0.7))
    )


def test_tiers_order_and_batching() -> None:
    e = {t: float(vision_energy_j(8.7e9, 3e6, 12e6, d, 1)) for t, d in VISION_DEVICES.items()}
    assert e["T0"] > e["T1"] > e["T2"] > e["T3"]
    d = VISION_DEVICES["T2"]
    assert float(vision_energy_j(8.7e9, 3e6, 12e6, d, 16)) < float(
        vision_energy_j(8.7e9, 3e6, 12e6, d, 1)
    )


def test_bad_input() -> None:
    with pytest.raises(InputError):
        vision_energy_j(-1, 0, 0, VISION_DEVICES["T1"])
    with pytest.raises(InputError):
        vision_energy_j(1, 0, 0, VISION_DEVICES["T1"], batch_size=0)
