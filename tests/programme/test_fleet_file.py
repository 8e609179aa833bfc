"""The fleet file: every field of a [[device]] table, and each error naming its field."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from infercarbon.errors import InputError
from infercarbon.programme import parse_fleet

DEVICE: dict[str, Any] = {
    "name": "gpus",
    "count": 8,
    "embodied_kg": 1500.0,
    "purchased": 2024,
    "refresh_years": 4,
}


def _fleet(**changes: Any) -> dict[str, Any]:
    device = {k: v for k, v in {**DEVICE, **changes}.items() if v is not None}
    return {"start_year": 2026, "pue": 1.2, "device": [device]}


def test_a_device_from_a_date_a_preset_and_a_region() -> None:
    doc = _fleet(purchased=date(2023, 3, 1), embodied_kg=None, preset="jetson", avg_power_w=40)
    fleet = parse_fleet({**doc, "region": "DEU"})
    (dev,) = fleet.devices
    assert dev.purchased_year == 2023 and dev.avg_power_w == 40.0
    assert dev.embodied_kg.unit == "kg" and dev.embodied_kg.value > 0
    assert fleet.intensity_g_per_kwh is not None and fleet.intensity_g_per_kwh.value > 0
    given = parse_fleet({**_fleet(), "intensity_g_per_kwh": 300, "region": "DEU"})
    assert given.intensity_g_per_kwh is not None and given.intensity_g_per_kwh.value == 300.0
    assert parse_fleet(_fleet()).intensity_g_per_kwh is None


@pytest.mark.parametrize(
    ("doc", "field"),
    [
        ({"pue": 1.2, "device": [DEVICE]}, "start_year"),
        ({"start_year": 2026, "years": 0, "pue": 1.2, "device": [DEVICE]}, "years"),
        ({"start_year": 2026, "device": [DEVICE]}, "fleet.pue"),
        ({**_fleet(), "region": 5}, "fleet.region"),
        ({"start_year": 2026, "pue": 1.2, "device": ["gpus"]}, "device[0]"),
        (_fleet(name=""), "device[0].name"),
        (_fleet(count=-1), "device[0].count"),
        (_fleet(embodied_kg=None), "device[0].embodied_kg"),
        (_fleet(embodied_kg=None, preset="mainframe"), "device[0].preset"),
        (_fleet(purchased="last year"), "device[0].purchased"),
        (_fleet(purchased=True), "device[0].purchased"),
        (_fleet(refresh_years=0), "device[0].refresh_years"),
    ],
)
def test_errors_name_the_field(doc: dict[str, Any], field: str) -> None:
    with pytest.raises(InputError) as info:
        parse_fleet(doc)
    assert info.value.field == field
