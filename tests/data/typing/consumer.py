"""A user's module: the public API's names carry their real types (checked by mypy)."""

from __future__ import annotations

from typing import assert_type

import infercarbon
from infercarbon import Figure, InfercarbonError, Meter, Region, resolve_region
from infercarbon.instrument.meter import Meter as MeterClass

assert_type(infercarbon.Meter, type[MeterClass])
assert_type(infercarbon.__version__, str)


def use(meter: Meter, region: Region, figure: Figure) -> None:
    assert_type(resolve_region("DE"), Region)
    assert_type(region.region_id, str)
    assert_type(figure.value, float)
    assert_type(meter, MeterClass)


def handle(exc: InfercarbonError) -> Exception:
    return exc
