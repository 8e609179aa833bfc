"""market_based, split into checks, claims and the residual factor: its warnings still name
the caller's line, and a residual figure in another unit is refused by name."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from infercarbon.errors import DataQualityWarning, FallbackWarning, InputError
from infercarbon.grid.market import EAC, market_based
from infercarbon.provenance import Figure

C = np.full(48, 10.0)
T = np.datetime64("2022-03-01T00:00", "s") + np.arange(48) * np.timedelta64(3600, "s")
LOC = Figure(400.0, "g_per_kwh", source="loc", label="cited")


def test_warnings_name_the_callers_line() -> None:
    with pytest.warns((DataQualityWarning, FallbackWarning)) as rejected:
        market_based(
            C, T, 3600, "ERCOT", eacs=[EAC("old", 100.0, "ERCOT", 2019)], location=LOC, strict=False
        )
    assert [w.category for w in rejected] == [DataQualityWarning, FallbackWarning]
    assert "old rejected" in str(rejected[0].message)
    assert {Path(w.filename).name for w in rejected} == {Path(__file__).name}


def test_a_residual_figure_in_another_unit_is_refused_by_name() -> None:
    kg = Figure(0.4, "kg_per_kwh", source="res", label="cited")
    with pytest.raises(InputError) as info:
        market_based(C, T, 3600, "ERCOT", residual_mix=kg)
    assert info.value.field == "residual_mix"
    assert "g_per_kwh" in str(info.value)


@pytest.mark.parametrize(
    ("consumption", "resolution_s", "problem"),
    [
        (np.zeros(48), 3600, "no consumption"),
        (np.full(48, -1.0), 3600, "non-negative"),
        (C, 0, "must be positive"),
        (C[:3], 3600, "equal, non-zero length"),
    ],
)
def test_bad_consumption(consumption: np.ndarray, resolution_s: int, problem: str) -> None:
    with pytest.raises(InputError, match=problem):
        market_based(
            consumption,
            T[: len(consumption)] if problem != "equal, non-zero length" else T,
            resolution_s,
            "ERCOT",
            location=LOC,
        )
