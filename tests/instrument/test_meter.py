"""Meter: known-answer attribution through the public API, batches, decorators, threads,
asyncio, ring overflow, and the footprint table."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from infercarbon.errors import FallbackWarning, InputError
from infercarbon.instrument import Meter
from infercarbon.instrument.buffers import EventBuffer
from infercarbon.telemetry import ReplaySource

S = 1_000_000_000


class FakeClock:
    def __init__(self) -> None:
        self.now = 0

    def __call__(self) -> int:
        return self.now


def _meter(clock: FakeClock, watts: float = 10.0, **kw):
    src = ReplaySource([0.0, 100.0], [0.0, watts * 100.0], clock=clock, origin_ns=0)
    kw.setdefault("idle_policy", "none")
    kw.setdefault("market_intensity_g_per_kwh", 100.0)
    return Meter("GB", sensor=src, clock=clock, sampler_mode="boundary", capacity=1024, **kw)


def test_overlapping_inferences_known_answer():
    clock = FakeClock()
    m = _meter(clock)
    clock.now = 1 * S
    a = m.inference(model="a", tenant="t1").__enter__()
    clock.now = 2 * S
    b = m.inference(model="b", tenant="t2").__enter__()
    clock.now = 3 * S
    a.__exit__(None, None, None)
    clock.now = 4 * S
    b.__exit__(None, None, None)
    clock.now = 10 * S
    t = m.footprints()
    assert isinstance(t, pa.Table)
    rows = t.to_pylist()
    assert [r["model"] for r in rows] == ["a", "b"]
    assert [r["active_energy_j"] for r in rows] == pytest.approx([15.0, 15.0])
    assert [r["device_time_s"] for r in rows] == pytest.approx([1.5, 1.5])
    intensity = rows[0]["intensity_location_g_per_kwh"]
    assert rows[0]["operational_location_g"] == pytest.approx(15.0 / 3.6e6 * intensity)
    assert rows[0]["operational_market_g"] == pytest.approx(15.0 / 3.6e6 * 100.0)
    assert rows[0]["method"] == "measured-counter"
    assert rows[0]["energy_label"] == "measured"
    summary = m.summary(t)
    assert summary["total_j"] == pytest.approx(100.0)
    assert summary["unattributed_idle_j"] == pytest.approx(70.0)
    assert abs(summary["conservation_residual_j"]) < 1e-9
    df = t.to_pandas()
    assert len(df) == 2


def test_30_70_and_line_items_sum_to_total():
    clock = FakeClock()
    m = _meter(
        clock,
        idle_policy="30-70",
        pue=1.2,
        embodied_kg=100.0,
        lifetime_years=4.0,
        training_t=10.0,
        lifetime_inferences=1e9,
        network_kwh_per_gb=0.05,
    )
    clock.now = 1 * S
    with m.inference(model="a", payload_bytes=10**6):
        clock.now = 5 * S
    clock.now = 10 * S
    row = m.footprints().to_pylist()[0]
    assert row["active_energy_j"] == pytest.approx(40.0)
    assert row["idle_energy_j"] == pytest.approx(0.3 * 60.0)
    parts = ("operational_location_g", "idle_location_g", "embodied_g", "training_g", "network_g")
    assert row["total_location_g"] == pytest.approx(sum(row[p] for p in parts))
    assert row["training_g"] == pytest.approx(10.0 * 1e6 / 1e9)
    assert row["embodied_g"] > 0 and row["network_g"] > 0
    assert row["pue"] == 1.2


def test_batch_splits_energy_over_items():
    clock = FakeClock()
    m = _meter(clock)
    clock.now = 2 * S
    with m.batch(4, model="wl"):
        clock.now = 6 * S
    clock.now = 10 * S
    t = m.footprints()
    assert t.num_rows == 4
    assert t.column("active_energy_j").to_pylist() == pytest.approx([10.0] * 4)
    assert t.column("item").to_pylist() == [0, 1, 2, 3]
    with pytest.raises(InputError, match="n"):
        m.batch(0)


def test_tokens_weight_the_split_and_set_inside_block():
    clock = FakeClock()
    m = _meter(clock)
    clock.now = 1 * S
    a = m.inference(model="llm", tokens_in=10, tokens_out=20).__enter__()
    b = m.inference(model="llm", tokens_in=5).__enter__()
    b.set(tokens_out=5, outcome="ok")
    clock.now = 5 * S
    a.__exit__(None, None, None)
    b.__exit__(None, None, None)
    clock.now = 10 * S
    rows = m.footprints().to_pylist()
    assert [r["active_energy_j"] for r in rows] == pytest.approx([30.0, 10.0])
    assert rows[1]["outcome"] == "ok" and rows[1]["tokens_out"] == 5


def test_track_sync_async_and_errors():
    clock = FakeClock()
    m = _meter(clock)

    @m.track(model="sync-model", tenant="acme")
    def predict(x):
        clock.now += S
        return x * 2

    @m.track
    async def apredict(x):
        clock.now += S
        await asyncio.sleep(0)
        return x + 1

    @m.track(model="bad")
    def fails():
        raise ValueError("boom")

    assert predict(2) == 4
    assert asyncio.run(apredict(1)) == 2
    with pytest.raises(ValueError, match="boom"):
        fails()
    clock.now += S
    rows = m.footprints().to_pylist()
    assert [r["model"] for r in rows] == ["sync-model", apredict.__qualname__, "bad"]
    assert rows[0]["tenant"] == "acme"
    assert rows[2]["outcome"] == "error"
    assert rows[0]["active_energy_j"] == pytest.approx(10.0)


def test_threads_record_every_inference():
    m = Meter(
        "GB",
        sensor=ReplaySource([0.0, 1e6], [0.0, 1e7]),
        capacity=1 << 15,
        market_intensity_g_per_kwh=50.0,
        period_s=0.01,
    )

    def work(name):
        for _ in range(2000):
            with m.inference(model=name):
                pass

    threads = [threading.Thread(target=work, args=(f"m{i}",)) for i in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    m.stop()
    t = m.footprints()
    assert t.num_rows == 8000
    assert sorted(set(t.column("model").to_pylist())) == ["m0", "m1", "m2", "m3"]
    s = m.summary(t)
    assert abs(s["conservation_residual_j"]) <= 1e-9 * s["total_j"]
    assert s["dropped_records"] == 0 and s["in_flight"] == 0
    assert (np.diff(t.column("seq").to_numpy()) > 0).all()


def test_asyncio_context_labels_do_not_leak():
    clock = FakeClock()
    m = _meter(clock)

    async def handler(tenant):
        with m.context(tenant=tenant, service="api"):
            await asyncio.sleep(0)
            with m.inference(model="x"):
                await asyncio.sleep(0)

    async def main():
        await asyncio.gather(*(handler(f"t{i}") for i in range(20)))

    asyncio.run(main())
    with m.inference(model="outside"):
        pass
    clock.now = S
    rows = m.footprints().to_pylist()
    assert sorted(r["tenant"] for r in rows[:-1]) == sorted(f"t{i}" for i in range(20))
    assert all(r["service"] == "api" for r in rows[:-1])
    assert rows[-1]["tenant"] is None


def test_ring_overflow_is_counted_and_warned():
    clock = FakeClock()
    src = ReplaySource([0.0, 100.0], [0.0, 100.0], clock=clock, origin_ns=0)
    m = Meter(
        "GB",
        sensor=src,
        clock=clock,
        sampler_mode="boundary",
        capacity=8,
        market_intensity_g_per_kwh=1.0,
    )
    for _ in range(20):
        with m.inference(model="a"):
            clock.now += 1000
    with pytest.warns(FallbackWarning, match="overwritten"):
        t = m.footprints()
    assert t.num_rows < 20
    assert m.summary(t)["dropped_records"] == 20 - t.num_rows


def test_market_fallback_is_warned_and_labelled():
    clock = FakeClock()
    src = ReplaySource([0.0, 10.0], [0.0, 10.0], clock=clock, origin_ns=0)
    m = Meter("GB", sensor=src, clock=clock, sampler_mode="boundary", capacity=8)
    with m.inference():
        clock.now = S
    with pytest.warns(FallbackWarning, match="market"):
        row = m.footprints().to_pylist()[0]
    assert row["market_label"].startswith("fallback")
    assert row["operational_market_g"] == row["operational_location_g"]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"idle_policy": "half"}, "idle_policy"),
        ({"idle_policy": "tenancy"}, "tenancy_shares"),
        ({"pue": 0.9}, "pue"),
        ({"embodied_kg": 10.0}, "lifetime_years"),
        ({"sensor": 42}, "sensor"),
        ({"capacity": 1000}, "capacity"),
    ],
)
def test_bad_configuration_names_the_field(kwargs, field):
    clock = FakeClock()
    kwargs.setdefault("sensor", ReplaySource([0.0, 1.0], [0.0, 1.0], clock=clock))
    with pytest.raises(InputError) as info:
        Meter("GB", clock=clock, sampler_mode="boundary", **kwargs)
    assert info.value.field == field


def test_bad_call_arguments():
    clock = FakeClock()
    m = _meter(clock)
    with pytest.raises(InputError, match="tokens_in"):
        m.inference(tokens_in=-1)
    with pytest.raises(InputError, match="model"):
        m.inference(model=3)
    # deliberately ill-typed arguments: each is rejected at run time
    bad: list[tuple[dict[str, Any], str]] = [
        ({"tokens_out": True}, "tokens_out"),
        ({"payload_bytes": 1.5}, "payload_bytes"),
        ({"items": 0}, "items"),
        ({"items": True}, "items"),
        ({"tokens_in": "9"}, "tokens_in"),
        ({"outcome": 5}, "outcome"),
        ({"outcome": ["scrap"]}, "outcome"),
    ]
    for kw, field in bad:
        with pytest.raises(InputError) as info:
            m.inference(**{"tokens_in": 1, **kw})
        assert info.value.field == field, kw
    # numpy integers are counts too; a rejected call reserved no slot
    with m.inference(tokens_in=np.int64(7), tokens_out=np.int32(3), items=np.int64(2)):
        clock.now += S
    clock.now += S
    t = m.footprints()
    assert t.num_rows == 2 and t.column("tokens_in").to_pylist() == [7, 7]


def test_tenancy_policy_through_the_meter():
    clock = FakeClock()
    m = _meter(clock, idle_policy="tenancy", tenancy_shares={"a": 0.5, "b": 0.5})
    with m.inference(tenant="a"):
        clock.now = 2 * S
    with m.inference(tenant="b"):
        clock.now = 4 * S
    clock.now = 10 * S
    t = m.footprints()
    assert t.column("idle_energy_j").to_pylist() == pytest.approx([30.0, 30.0])
    assert m.summary(t)["unattributed_idle_j"] == pytest.approx(0.0, abs=1e-9)


def test_buffer_snapshot_excludes_in_flight_and_counts_drops():
    b = EventBuffer(4)
    k = b.intern_labels("m", None, None)
    for _ in range(6):
        s, t = b.reserve()
        b.key[s] = k
        b.commit(s, t)
    snap = b.snapshot()
    assert snap.seq.tolist() == [2, 3, 4, 5] and snap.dropped == 2
    s, t = b.reserve()  # in flight during the next read
    snap = b.snapshot()
    assert snap.in_flight == 1 and 7 not in snap.seq.tolist()
    b.commit(s, t)
    assert 7 in b.snapshot().seq.tolist()
    with pytest.raises(InputError, match="capacity"):
        EventBuffer(6)
