"""T&D losses and cooling: explicit, cited factors and the arithmetic that applies them."""

from __future__ import annotations

import numpy as np
import pytest

from infercarbon.errors import InputError, UnknownRegionError
from infercarbon.grid.adjustments import (
    COOLING_OVERHEAD,
    apply_cooling,
    at_meter_intensity,
    td_loss_emissions_g,
    td_loss_frac,
)


def test_td_loss_factor_is_cited() -> None:
    f = td_loss_frac("US")
    assert (f.value, f.range, f.label) == (0.05, (0.047, 0.06), "cited")
    assert "EIA" in f.source
    e = td_loss_frac("ERCOT")
    assert e.value == 0.05 and "US value used" in (e.note or "")
    with pytest.raises(UnknownRegionError):
        td_loss_frac("DE")


def test_loss_arithmetic() -> None:
    assert at_meter_intensity(380.0, 0.05) == pytest.approx(400.0)
    np.testing.assert_allclose(
        at_meter_intensity(np.array([95.0, 190.0]), td_loss_frac("US")), [100.0, 200.0]
    )
    # delivered 950 kWh at 400 g/kWh: generation 1000 kWh, 50 kWh lost
    assert td_loss_emissions_g(950.0, 400.0, 0.05) == pytest.approx(50 * 400.0)
    with pytest.raises(InputError, match="loss fraction"):
        at_meter_intensity(1.0, 1.0)


def test_cooling() -> None:
    assert apply_cooling(1000.0, COOLING_OVERHEAD["hyperscale"]) == pytest.approx(1100.0)
    assert apply_cooling(1000.0, 0.58) == pytest.approx(1580.0)
    with pytest.raises(InputError):
        apply_cooling(1.0, -0.1)
