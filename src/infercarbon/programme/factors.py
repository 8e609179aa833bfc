"""Sourced factors of the data & infrastructure category: storage energy per TB-year by
storage class and network energy per GB by network type.

Every factor is a :class:`~infercarbon.provenance.Figure` with its source, licence and range.

Storage: Cloud Carbon Footprint (CCF) methodology (Thoughtworks, Apache-2.0): 0.65 Wh per
TB-hour for HDD-backed and 1.2 Wh per TB-hour for SSD-backed storage, x 8,760 h per year;
object storage is HDD-backed and replicated (CCF applies a replication factor of 3 to object
storage such as Amazon S3).  Network: CCF's 0.001 kWh per GB for data moved inside and
between cloud regions, and the seed's IEA-quoted 0.06 kWh per GB (fixed) and 0.1 kWh per GB
(mobile) for data that leaves over access networks.  The ranges are assumptions stated in
each figure's note (CCF publishes none).

>>> round(STORAGE_KWH_PER_TB_YEAR["ssd"].value, 3)
10.512
>>> NETWORK_KWH_PER_GB["cross-region"].value
0.001
"""

from __future__ import annotations

from infercarbon.errors import InputError
from infercarbon.provenance import Figure, Label
from infercarbon.reference.seed import NETWORK_KWH_PER_GB as SEED_NETWORK

__all__ = [
    "HOURS_PER_YEAR",
    "NETWORK_KWH_PER_GB",
    "NETWORK_TYPES",
    "STORAGE_CLASSES",
    "STORAGE_KWH_PER_TB_YEAR",
    "network_factor",
    "storage_factor",
]

#: Hours in a (non-leap) year, the CCF convention for TB-hours -> TB-years.
HOURS_PER_YEAR = 8760.0
_CCF = (
    "Cloud Carbon Footprint methodology (cloudcarbonfootprint.org, docs/methodology: "
    "storage and networking coefficients)"
)
_CCF_LICENCE = "Apache-2.0"


def _storage(wh_per_tb_hour: float, replication: float, what: str) -> Figure:
    kwh = wh_per_tb_hour * HOURS_PER_YEAR * replication / 1000.0
    return Figure(
        kwh,
        "kwh_per_tb_year",
        source=_CCF,
        label="cited",
        vintage="2021",
        licence=_CCF_LICENCE,
        low=kwh / 2,
        high=kwh * 2,
        note=f"{what}: {wh_per_tb_hour} Wh/TB-h x {HOURS_PER_YEAR:g} h x "
        f"replication {replication:g}; range x/2..x2 assumed (none published)",
    )


#: kWh per TB-year of stored data (IT energy; the facility PUE is applied by the caller).
STORAGE_KWH_PER_TB_YEAR: dict[str, Figure] = {
    "ssd": _storage(1.2, 1.0, "SSD-backed block storage"),
    "hdd": _storage(0.65, 1.0, "HDD-backed block storage"),
    "object": _storage(0.65, 3.0, "object storage (HDD, replicated x3 as CCF does for S3)"),
}
STORAGE_CLASSES = tuple(STORAGE_KWH_PER_TB_YEAR)


def _net(
    value: float,
    low: float,
    high: float,
    source: str,
    licence: str | None,
    note: str,
    label: Label = "cited",
) -> Figure:
    return Figure(
        value,
        "kwh_per_gb",
        source=source,
        label=label,
        licence=licence,
        low=low,
        high=high,
        note=note,
    )


#: kWh per GB moved, by network type (IT energy of the network; no PUE).
NETWORK_KWH_PER_GB: dict[str, Figure] = {
    "intra-region": _net(
        0.001, 0.0005, 0.002, _CCF, _CCF_LICENCE, "cloud data-centre fabric; range x/2..x2 assumed"
    ),
    "cross-region": _net(
        0.001,
        0.001,
        0.06,
        _CCF,
        _CCF_LICENCE,
        "cloud backbone between regions (CCF); the high end is the seed's "
        "IEA-quoted fixed-network figure",
    ),
    "internet": _net(
        SEED_NETWORK["fixed"].value,
        SEED_NETWORK["fixed"].range[0],
        SEED_NETWORK["fixed"].range[1],
        SEED_NETWORK["fixed"].source,
        None,
        "fixed access networks (seed, quoting the IEA 2024 Networks tracker)",
        "illustrative",
    ),
    "mobile": _net(
        SEED_NETWORK["mobile"].value,
        SEED_NETWORK["mobile"].range[0],
        SEED_NETWORK["mobile"].range[1],
        SEED_NETWORK["mobile"].source,
        None,
        "mobile access networks (seed, quoting the IEA 2024 Networks tracker)",
        "illustrative",
    ),
}
NETWORK_TYPES = tuple(NETWORK_KWH_PER_GB)


def storage_factor(storage_class: str) -> Figure:
    """kWh per TB-year of ``storage_class`` (one of :data:`STORAGE_CLASSES`)."""
    try:
        return STORAGE_KWH_PER_TB_YEAR[storage_class]
    except KeyError:
        raise InputError(
            f"unknown storage class {storage_class!r}; one of {', '.join(STORAGE_CLASSES)}",
            field="storage_class",
        ) from None


def network_factor(network_type: str) -> Figure:
    """kWh per GB over ``network_type`` (one of :data:`NETWORK_TYPES`)."""
    try:
        return NETWORK_KWH_PER_GB[network_type]
    except KeyError:
        raise InputError(
            f"unknown network type {network_type!r}; one of {', '.join(NETWORK_TYPES)}",
            field="network_type",
        ) from None
