"""The proxy's accounting: windows of sensor readings split over requests by tokens and time
with the attribution engine; the LLM estimator when nothing is measured."""

from __future__ import annotations

import math

import pytest

from infercarbon.errors import ConfigurationError, InputError, SensorError
from infercarbon.instrument.proxied import LlmServing, ReadingsLog, RequestAccountant, RequestRecord

LABELS = {"service": "s", "region": "DEU", "device": "gpu0"}
SENSOR = ("nvml", "measured-counter", "measured")
T0 = 1_780_000_000.0


def _rec(start: float, end: float, tokens_in: int, tokens_out: int) -> RequestRecord:
    r = RequestRecord(T0 + start, model="m", tenant="t")
    r.end_s = T0 + end
    r.tokens_in, r.tokens_out, r.token_source = tokens_in, tokens_out, "usage"
    return r


@pytest.mark.parametrize("cuts", [[10.0], [5.0, 10.0], [2.5, 7.5, 10.0]])
def test_split_by_tokens_and_time_whatever_the_windows(cuts: list[float]) -> None:
    """100 J over 10 s (10 W): A alone for 5 s (50 J), then A (30 tokens) and B (10 tokens)
    share 50 J 3:1.  Closing the window in one or several ticks gives the same split."""
    log = ReadingsLog()
    acc = RequestAccountant(LABELS, log=log, sensor=SENSOR, clock=lambda: T0 + 10)
    log.add(T0, 0.0)
    a, b = _rec(0, 10, 10, 20), _rec(5, 10, 4, 6)
    acc.start(a)
    acc.start(b)
    out = []
    for c in cuts:
        log.add(T0 + c, 10.0 * c)
        out += acc.tick()
    got = {e["tokens_in"]: e for e in out}
    assert got[10]["energy_j"] == pytest.approx(87.5) and got[4]["energy_j"] == pytest.approx(12.5)
    assert got[10]["energy_low_j"] == pytest.approx(87.5 * 0.95)  # class A band
    assert got[10]["attribution_method"] == (
        "proxy-tokens-time: nvml:measured-counter (measured); tokens: usage"
    )
    assert acc.stats["unattributed_idle_j"] == pytest.approx(0.0, abs=1e-9)


def test_idle_is_not_attributed_and_events_wait_for_a_reading_after_their_end() -> None:
    log = ReadingsLog()
    acc = RequestAccountant(LABELS, log=log, sensor=SENSOR, clock=lambda: T0 + 4)
    log.add(T0, 0.0)
    r = _rec(2, 4, 1, 1)
    acc.start(r)
    log.add(T0 + 3, 30.0)
    assert acc.tick() == []  # no reading after its end yet
    log.add(T0 + 6, 60.0)
    (ev,) = acc.tick()
    assert ev["energy_j"] == pytest.approx(20.0)  # 2 s of 10 W
    assert acc.stats["unattributed_idle_j"] == pytest.approx(40.0)


def test_without_readings_finished_requests_are_dropped_after_max_hold_and_counted() -> None:
    now = [T0 + 1]
    acc = RequestAccountant(
        LABELS, log=ReadingsLog(), sensor=SENSOR, max_hold_s=5, clock=lambda: now[0]
    )
    acc.start(_rec(0, 1, 1, 1))
    assert acc.tick() == [] and acc.stats["dropped_unmeasured"] == 0
    now[0] = T0 + 10
    assert acc.tick() == [] and acc.stats["dropped_unmeasured"] == 1


def test_modelled_energy_grows_with_tokens_and_is_labelled() -> None:
    acc = RequestAccountant(LABELS, llm=LlmServing(params_b=8, gpu="H100"))
    small, big = _rec(0, 1, 10, 10), _rec(0, 1, 10, 1000)
    unfinished = RequestRecord(T0, model="m", tenant="t")
    for r in (small, big, unfinished):
        acc.start(r)
    evs = {e["tokens_out"]: e for e in acc.tick()}
    assert set(evs) == {10, 1000} and acc.inflight() == 1
    assert 0 < evs[10]["energy_j"] < evs[1000]["energy_j"]
    assert evs[10]["energy_low_j"] < evs[10]["energy_j"] < evs[10]["energy_high_j"]
    assert "llm-estimator:modelled" in evs[10]["attribution_method"]


def test_bad_configuration_and_readings() -> None:
    with pytest.raises(ConfigurationError):
        RequestAccountant(LABELS)
    with pytest.raises(ConfigurationError):
        RequestAccountant(LABELS, log=ReadingsLog())
    with pytest.raises(InputError, match="gpus"):
        LlmServing(params_b=8, gpu="H100", gpus=0)
    log = ReadingsLog()
    log.add(T0, 5.0)
    with pytest.raises(SensorError, match="backwards"):
        log.add(T0 + 1, 4.0)
    assert math.isnan(RequestRecord(T0, model="m", tenant="t").end_s)
