"""`infercarbon sensors` and `infercarbon measure` end to end (this machine: no RAPL, no GPU)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from infercarbon.cli.main import main

pytestmark = pytest.mark.filterwarnings("ignore::infercarbon.errors.FallbackWarning")

# the busy loop burns 1 CPU-second (process_time), so it holds on a loaded 2-core CI runner
BUSY = "import time\nt = time.process_time()\nwhile time.process_time() - t < 1.0: pass"
SLEEP = "import time; time.sleep(1.0)"


def run(capfd: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out = capfd.readouterr()
    return code, out.out, out.err


def test_sensors_json_explains_every_source(
    capfd: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, err = run(capfd, "sensors", "--json", "--sysfs-root", str(tmp_path))
    assert code == 0, err
    d = json.loads(out)
    names = [s["name"] for s in d["sources"]]
    assert names == ["nvml", "rapl", "amd-hwmon", "cpu-model", "prometheus", "constant"]
    if d["chosen"] == "cpu-model":
        for s in d["sources"]:
            if s["name"] != "cpu-model":
                assert not s["available"] and s["reason"]
        assert d["description"]["idle_power_w"]["value"] > 0


def test_sensors_human_output(capfd: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = run(capfd, "sensors", "--sysfs-root", str(tmp_path))
    assert code == 0, err
    assert "chosen:" in out and "rapl" in out and "powercap" in out


def test_sensors_unavailable_choice_is_an_error(
    capfd: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = run(capfd, "sensors", "--sensor", "rapl", "--sysfs-root", str(tmp_path))
    assert code == 2 and "error:" in err and "powercap" in err


def _measure(capfd: pytest.CaptureFixture[str], code_text: str, tmp: Path) -> dict:
    code, out, err = run(
        capfd,
        "measure",
        "--json",
        "--region",
        "DEU",
        "--sysfs-root",
        str(tmp),
        "--",
        sys.executable,
        "-c",
        code_text,
    )
    assert code == 0, err
    return json.loads(out)


def test_busy_loop_reads_clearly_more_than_sleep(
    capfd: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    busy = _measure(capfd, BUSY, tmp_path)
    sleep = _measure(capfd, SLEEP, tmp_path)
    assert busy["sensor"] == sleep["sensor"] == "cpu-model"
    assert busy["duration_s"] >= 0.95 and sleep["duration_s"] >= 0.95
    assert busy["busy_cpu_s"] > 0.8 and sleep["busy_cpu_s"] < 0.3
    assert busy["energy_j"] > 3 * sleep["energy_j"]
    assert busy["energy_j"] - sleep["energy_j"] > 0.5
    # emissions = energy x intensity (g/kWh) / 3.6e6 J/kWh
    assert busy["emissions_g"] == pytest.approx(
        busy["energy_j"] * busy["intensity_g_per_kwh"]["value"] / 3.6e6
    )
    assert busy["energy_low_j"] <= busy["energy_j"] <= busy["energy_high_j"]
    assert busy["method"] == "modelled" and busy["machine_idle_j"] > 0


def test_measure_constant_tier_without_region_says_so(capfd: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(
        capfd,
        "measure",
        "--sensor",
        "constant",
        "--tier",
        "T1",
        "--",
        sys.executable,
        "-c",
        "import time; time.sleep(0.2)",
    )
    assert code == 0, err
    assert "emissions: not computed: no region given" in out
    assert "constant / constant" in out and "illustrative" in out


def test_measure_passes_exit_code_and_rejects_bad_input(
    capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = run(capfd, "measure", "--", sys.executable, "-c", "raise SystemExit(3)")
    assert code == 3 and "exit code 3" in out
    code, _, err = run(capfd, "measure", "--", "/nonexistent/cmd")
    assert code == 2 and "CMD" in err
    code, _, err = run(capfd, "measure", "--region", "Atlantis", "--", "true")
    assert code == 2 and "region" in err
    monkeypatch.setenv("INFERCARBON_REGION", "FRA")
    code, out, err = run(capfd, "measure", "--json", "--", "true")
    assert code == 0, err
    d = json.loads(out)
    assert (d["region"], d["region_from"]) == ("FRA", "INFERCARBON_REGION")
