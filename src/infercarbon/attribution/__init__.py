"""Attribution: split measured device energy over inference intervals, batches and tenants;
idle policies; the conservation invariant."""

from infercarbon.attribution.engine import (
    Attribution,
    attribute,
    cumulative_from_power,
    drop_stale_readings,
)
from infercarbon.attribution.idle import (
    FOLLOW_FRAC_30_70,
    IDLE_POLICIES,
    IdlePolicy,
    split_idle,
)
from infercarbon.attribution.windows import WindowedAttribution, attribute_windows

__all__ = [
    "FOLLOW_FRAC_30_70",
    "IDLE_POLICIES",
    "Attribution",
    "IdlePolicy",
    "WindowedAttribution",
    "attribute",
    "attribute_windows",
    "cumulative_from_power",
    "drop_stale_readings",
    "split_idle",
]
