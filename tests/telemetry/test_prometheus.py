"""The Prometheus energy source against a real Prometheus on loopback, scraping a test
exporter that serves DCGM exporter and Kepler text (tests/data/telemetry/prometheus: one
recorded real A100 scrape from NVIDIA's documentation, and exporter-format text written for
the tests)."""

from __future__ import annotations

import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import numpy as np
import pytest

from infercarbon.errors import InputError, SensorError, SensorUnavailableError
from infercarbon.telemetry.prometheus import PrometheusSource

pytestmark = pytest.mark.slow  # a real Prometheus scrapes a test exporter

DATA = Path(__file__).resolve().parents[1] / "data" / "telemetry" / "prometheus"
#: Kepler series rates [W] by (pod, mode): the counters advance at these
KEPLER_W = {
    ("vllm-0", "dynamic"): 250.0,
    ("vllm-0", "idle"): 40.0,
    ("router-0", "dynamic"): 2.0,
    ("router-0", "idle"): 1.0,
}
_SAMPLE = re.compile(r"^(\w+)\{(.*)\} (\S+)$")
#: A series whose energy counter is DCGM's blank value (a GPU without one), as DCGM reports it
BLANK = (
    'DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION{gpu="0",UUID="GPU-blank",device="nvidia0",'
    'Hostname="old-node"} 9223372036854775794'
)


def _labels(text: str) -> dict[str, str]:
    return dict(re.findall(r'(\w+)="([^"]*)"', text))


class Exporter:
    """Serves the recorded texts; energy counters advance with the recorded power."""

    def __init__(self) -> None:
        self.dcgm = (DATA / "dcgm_exporter_h100x2.prom").read_text().splitlines()
        self.kepler = (DATA / "kepler_exporter.prom").read_text().splitlines()
        self.a100 = (DATA / "dcgm_exporter_a100_recorded.prom").read_text().splitlines()
        self.power_w = {}  # node-a's GPUs by index
        self.power_by_uuid_w = {}  # every GPU's recorded power, by UUID
        for line in self.dcgm + self.a100:
            m = _SAMPLE.match(line)
            if m and m.group(1) == "DCGM_FI_DEV_POWER_USAGE":
                lab = _labels(m.group(2))
                self.power_by_uuid_w[lab["UUID"]] = float(m.group(3))
                if lab["Hostname"] == "node-a":
                    self.power_w[lab["gpu"]] = float(m.group(3))
        self.t0 = time.time()
        exporter = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = exporter.text().encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.target = f"127.0.0.1:{self.server.server_address[1]}"

    def text(self) -> str:
        dt = time.time() - self.t0
        out = []
        for line in self.dcgm + self.kepler + self.a100:
            m = _SAMPLE.match(line)
            if m and m.group(1) == "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION":
                mj = int(m.group(3)) + int(
                    self.power_by_uuid_w[_labels(m.group(2))["UUID"]] * dt * 1000
                )
                line = f"{m.group(1)}{{{m.group(2)}}} {mj}"
            elif m and m.group(1) == "kepler_container_joules_total":
                lab = _labels(m.group(2))
                j = float(m.group(3)) + KEPLER_W[(lab["pod_name"], lab["mode"])] * dt
                line = f"{m.group(1)}{{{m.group(2)}}} {j!r}"
            out.append(line)
        out.append(BLANK)
        return "\n".join(out) + "\n"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def prom(prometheus_factory):
    exp = Exporter()
    url = prometheus_factory({"dcgm": exp.target})
    client = httpx.Client(base_url=url, timeout=10)
    # wait for a few scrapes
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        r = client.get(
            "/api/v1/query",
            params={"query": "count_over_time(DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION[60s])"},
        ).json()
        res = r["data"]["result"]
        if res and min(float(x["value"][1]) for x in res) >= 4:
            break
        time.sleep(0.3)
    else:
        pytest.fail("prometheus did not scrape the exporter 4 times in 30 s")
    yield client, exp
    client.close()
    exp.close()


def _energy_rate(src: PrometheusSource) -> tuple[float, int]:
    now = time.time()
    t, c = src.readings_between(now - 60, now)
    assert len(t) >= 4 and np.all(np.diff(t) > 0) and np.all(np.diff(c) >= 0)
    return (c[-1] - c[0]) / (t[-1] - t[0]), len(t)


def test_dcgm_energy_counter_sums_the_selected_gpus(prom):
    client, exp = prom
    src = PrometheusSource(
        client, metric="dcgm-energy", selector='Hostname="node-a"', scrape_interval_s=1
    )
    rate_w, _n = _energy_rate(src)
    # the counter advanced at the recorded power of both GPUs (scrape stamps vs the time the
    # exporter computed the value differ by milliseconds: 2 % tolerance)
    assert rate_w == pytest.approx(sum(exp.power_w.values()), rel=0.02)
    one = PrometheusSource(
        client,
        metric="dcgm-energy",
        selector='{UUID="GPU-8f6a3c2e-91d4-5b7e-a0c3-2d4e6f8a1b3c"}',
        scrape_interval_s=1,
    )
    assert _energy_rate(one)[0] == pytest.approx(exp.power_w["0"], rel=0.02)
    assert src.describe()["resolution_s"] == 1 and src.method == "measured-counter"
    # later reads continue the same cumulative curve (no double counting across calls)
    t1, c1 = src.readings_between(time.time() - 60, time.time())
    time.sleep(2.2)
    t2, c2 = src.readings_between(t1[-1], time.time())
    assert t2 and t2[0] > t1[-1] and c2[0] >= c1[-1]
    rate2 = (c2[-1] - c1[-1]) / (t2[-1] - t1[-1])
    assert rate2 == pytest.approx(sum(exp.power_w.values()), rel=0.05)
    assert src.read_energy_j() >= c2[-1]


def test_recorded_a100_scrape(prom):
    """The recorded real scrape (NVIDIA's documentation, an A100 at 409.692 W) read through
    Prometheus by UUID: its counter, advancing at its recorded power, gives that power."""
    client, _ = prom
    src = PrometheusSource(
        client,
        metric="dcgm-energy",
        selector='UUID="GPU-34319582-d595-d1c7-d1d2-179bcfa61660"',
        scrape_interval_s=1,
    )
    rate_w, _ = _energy_rate(src)
    assert rate_w == pytest.approx(409.692, rel=0.02)
    power = PrometheusSource(
        client, metric="dcgm-power", selector='Hostname="ub20-a100-k8s"', scrape_interval_s=1
    )
    assert _energy_rate(power)[0] == pytest.approx(409.692, rel=1e-6)


def test_a_blank_energy_counter_is_no_reading(prom):
    """DCGM's blank value (no energy counter on the GPU) is never read as 9.2e18 mJ."""
    client, _ = prom
    src = PrometheusSource(
        client, metric="dcgm-energy", selector='Hostname="old-node"', scrape_interval_s=1
    )
    with pytest.raises(SensorUnavailableError, match=r"blank value.*dcgm-power"):
        src.read_energy_j()


def test_dcgm_power_integrated(prom):
    client, exp = prom
    src = PrometheusSource(
        client, metric="dcgm-power", selector='pod="vllm-0"', scrape_interval_s=1
    )
    rate_w, _ = _energy_rate(src)
    assert rate_w == pytest.approx(sum(exp.power_w.values()), rel=1e-6)  # constant power
    assert src.method == "measured-power-polling"


def test_kepler_container_counter(prom):
    client, _ = prom
    src = PrometheusSource(
        client,
        metric="kepler",
        selector='container_namespace="llm",pod_name="vllm-0"',
        scrape_interval_s=1,
    )
    rate_w, _ = _energy_rate(src)
    assert rate_w == pytest.approx(250.0 + 40.0, rel=0.02)
    dyn = PrometheusSource(
        client, metric="kepler", selector='pod_name="vllm-0",mode="dynamic"', scrape_interval_s=1
    )
    assert _energy_rate(dyn)[0] == pytest.approx(250.0, rel=0.02)
    assert "Kepler" in src.describe()["caveats"]


def test_errors_name_what_is_wrong(prom):
    client, _ = prom
    with pytest.raises(InputError, match="selector"):
        PrometheusSource(client, selector="gpu=0")
    with pytest.raises(InputError, match="metric"):
        PrometheusSource(client, metric="dcgm")
    with pytest.raises(InputError, match="scrape_interval_s"):
        PrometheusSource(client, scrape_interval_s=0)
    nothing = PrometheusSource(client, selector='Hostname="no-such-node"')
    with pytest.raises(SensorUnavailableError, match="no series matches"):
        nothing.read_energy_j()
    down = PrometheusSource(httpx.Client(base_url="http://127.0.0.1:9", timeout=1))
    with pytest.raises(SensorError, match="unreachable"):
        down.read_energy_j()


def test_proxy_attributes_prometheus_energy_to_requests(prom):
    """The whole chain: proxy in measured mode, energy from Prometheus scrapes (1 s), split
    over concurrent requests; events + idle == the energy between the first and last scrape."""
    from infercarbon.service.fake_upstream import FakeOpenAI, LoopbackServer
    from infercarbon.service.proxy import ProxyRuntime

    client, exp = prom
    src = PrometheusSource(
        client, metric="dcgm-energy", selector='Hostname="node-a"', scrape_interval_s=1
    )
    events: list[dict] = []
    up = LoopbackServer(FakeOpenAI()).start()
    rt = ProxyRuntime(
        up.url,
        events.extend,
        labels={"service": "s", "region": "DE", "device": "node-a"},
        sensor=src,
        poll_s=0.5,
        record_s=0.2,
    ).start()
    px = LoopbackServer(rt.app).start()
    try:

        def call(i: int) -> None:
            httpx.post(
                px.url + "/v1/chat/completions",
                timeout=10,
                json={
                    "model": "m",
                    "messages": [{"role": "user", "content": "hi"}],
                    "max_tokens": 10 * (i + 1),
                },
                headers={"x-fake-delay-s": "1.5"},
            )

        threads = [threading.Thread(target=call, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        deadline = time.monotonic() + 20
        while len(events) < 4 and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        px.stop()
        rt.stop()
        up.stop()
    assert len(events) == 4
    acc = rt.accountant.stats
    readings = rt.readings
    assert readings is not None
    first_t, latest_t = readings.first_t(), readings.latest_t()
    assert first_t is not None and latest_t is not None
    _, c_j = readings.window(first_t, latest_t)
    assert sum(e["energy_j"] for e in events) + acc["unattributed_idle_j"] == pytest.approx(
        c_j[-1] - c_j[0], rel=1e-9
    )
    # 4 requests of >= 1.5 s at ~600 W: the busy time's energy, >= 1.5 s of it, is on them
    # (the split by tokens among overlapping requests: tests/instrument/test_proxied.py)
    assert sum(e["energy_j"] for e in events) > 0.9 * 1.5 * sum(exp.power_w.values())
    assert all(e["energy_j"] > 0 for e in events)
    assert all("prometheus:measured-counter" in e["attribution_method"] for e in events)


def test_detect_builds_the_prometheus_source_when_asked(prom):
    from infercarbon.telemetry import detect

    client, _ = prom
    src, report = detect(
        "prometheus",
        prometheus_client=client,
        prometheus_selector='Hostname="node-a"',
        scrape_interval_s=1,
    )
    assert src.name == "prometheus" and src.read_energy_j() >= 0
    assert {a.name: a.available for a in report}["prometheus"] is True
    with pytest.raises(InputError, match="prometheus_client"):
        detect("prometheus")
    with pytest.raises(SensorUnavailableError, match="no series"):
        detect("prometheus", prometheus_client=client, prometheus_selector='gpu="9"')
    _, auto = detect("auto-cpu")
    assert {a.name: a.available for a in auto}["prometheus"] is False
