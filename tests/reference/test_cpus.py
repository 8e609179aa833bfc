"""CPU power reference: bundled SPECpower/TDP data, the memory fit, and CPU matching."""

from __future__ import annotations

import pytest

from infercarbon.errors import InputError
from infercarbon.reference.cpus import (
    cpu_power_curve,
    cpu_tdp_w,
    memory_power_w_per_gb,
    normalise_cpu_name,
    specpower_results,
)


def test_bundled_specpower_rows_are_sane() -> None:
    rs = specpower_results()
    assert len(rs) > 700
    for r in rs:
        assert 0 < r.watts_idle <= r.watts_100, r
        assert r.threads > 0 and r.memory_gb > 0
    assert any(r.cpu == "EPYC 7742" for r in rs)


def test_memory_power_is_a_positive_ranged_derived_figure() -> None:
    idle, full, dyn = memory_power_w_per_gb()
    for f in (idle, full, dyn):
        assert f.unit == "w_per_gb" and f.label == "derived" and f.has_range
        assert f.low is not None and f.high is not None
        assert f.low <= f.value <= f.high
    assert 0.05 < idle.value < full.value < 1.0
    # deterministic (seeded bootstrap, cached)
    assert memory_power_w_per_gb()[0] == idle


def test_memory_slope_recomputes_by_hand() -> None:
    """Pooled within-configuration slope, recomputed with plain Python per group."""
    groups: dict[tuple, list] = {}
    for r in specpower_results():
        groups.setdefault((r.cpu, r.chips, r.nodes, r.threads), []).append(r)
    sxy = {"idle": 0.0, "full": 0.0}
    sxx = 0.0
    for rows in groups.values():
        if len({r.memory_gb for r in rows}) < 2:
            continue
        mx = sum(r.memory_gb for r in rows) / len(rows)
        mi = sum(r.watts_idle for r in rows) / len(rows)
        mf = sum(r.watts_100 for r in rows) / len(rows)
        for r in rows:
            sxx += (r.memory_gb - mx) ** 2
            sxy["idle"] += (r.memory_gb - mx) * (r.watts_idle - mi)
            sxy["full"] += (r.memory_gb - mx) * (r.watts_100 - mf)
    idle, full, dyn = memory_power_w_per_gb()
    assert idle.value == pytest.approx(sxy["idle"] / sxx, rel=1e-9)
    assert full.value == pytest.approx(sxy["full"] / sxx, rel=1e-9)
    assert dyn.value == pytest.approx(full.value - idle.value, rel=1e-9)


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("Intel(R) Xeon(R) Platinum 8280 CPU @ 2.70GHz", "xeon platinum 8280"),
        ("AMD EPYC 7763 64-Core Processor", "epyc 7763"),
        ("Intel(R) Xeon(R) CPU E5-2686 v4 @ 2.30GHz", "xeon e5-2686 v4"),
    ],
)
def test_normalise(name: str, key: str) -> None:
    assert normalise_cpu_name(name) == key


def test_match_levels() -> None:
    assert cpu_power_curve("AMD EPYC 7763 64-Core Processor").match == "model"
    fam = cpu_power_curve("AMD EPYC")
    assert (fam.match, fam.matched) == ("family", "family 'epyc'")
    assert cpu_power_curve("Intel(R) Xeon(R) CPU E5-2686 v4 @ 2.30GHz").matched == (
        "family 'xeon e5 v4'"
    )
    ryzen = "AMD Ryzen 7 5800X 8-Core Processor"
    tdp = cpu_power_curve(ryzen, threads_per_package=16)
    assert tdp.match == "tdp"
    assert cpu_power_curve(ryzen, threads_per_package=16, virtualised=True).match == "cohort"
    assert cpu_power_curve("Apple M1").match == "cohort"


def test_curve_figures_are_consistent() -> None:
    for name in ("AMD EPYC 7742", "Intel Xeon Platinum 8280", "Apple M1"):
        c = cpu_power_curve(name)
        assert 0 <= c.idle_w_per_thread.value < c.full_w_per_thread.value
        assert c.dynamic_w_per_thread.value > 0
        for f in (c.idle_w_per_thread, c.full_w_per_thread, c.dynamic_w_per_thread):
            assert f.low is not None and f.high is not None
            assert f.label == "derived" and f.low <= f.value <= f.high and f.low >= 0
            assert "SPECpower" in f.source
        assert c.n_results > 0


def test_tdp_lookup() -> None:
    f = cpu_tdp_w("Intel(R) Xeon(R) Platinum 8280 CPU @ 2.70GHz")
    assert f is not None and f.value == 205.0 and f.label == "cited"
    assert cpu_tdp_w("No Such CPU 9999") is None


def test_bad_input() -> None:
    with pytest.raises(InputError, match="cpu_name"):
        cpu_power_curve(42)  # type: ignore[arg-type]
