import csv
import io
import json

import pytest

from infercarbon.cli.estimate_vision import run_vision_csv
from infercarbon.cli.main import main
from infercarbon.errors import ParseError
from infercarbon.estimators.vision import VISION_DEVICES, vision_energy_j

ARGS = ["estimate", "vision", "--device", "T4", "--flops", "8.7e9", "--weight-bytes", "6e6",
        "--activation-bytes", "12e6"]  # fmt: skip


def test_energy_document(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*ARGS, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    want = float(vision_energy_j(8.7e9, 6e6, 12e6, VISION_DEVICES["T4"]))
    assert doc["energy_j"] == pytest.approx(want)
    assert doc["energy_low_j"] < doc["energy_j"] < doc["energy_high_j"]
    assert doc["device"] == "L4"
    assert doc["device_time_s"] == pytest.approx(want / VISION_DEVICES["T4"].active_power_w)


def test_region_gives_the_footprint_contract(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*ARGS, "--region", "FR", "--pue", "1.3", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    op = next(li for li in doc["line_items"] if li["name"] == "operational_location")
    e = doc["vision_energy"]["energy_j"]
    assert op["emissions_g"] == pytest.approx(e * 1.3 / 3.6e6 * doc["intensity_g_per_kwh"]
                                              ["location"])  # fmt: skip
    assert op["low_g"] < op["emissions_g"] < op["high_g"]
    assert op["scope"] == "scope2_location"
    idle = next(li for li in doc["line_items"] if li["name"] == "idle_location")
    assert idle["label"].startswith("excluded")  # no idle power for an edge device


def test_csv_batch_with_flag_columns(capsys: pytest.CaptureFixture[str]) -> None:
    text = ("device,flops,weight-bytes,activation-bytes,batch,region\n"
            "T0,1e7,2e5,1e5,1,DE\nL4,8.7e9,6e6,12e6,8,\n")  # fmt: skip
    rows = list(csv.DictReader(io.StringIO(run_vision_csv(text))))
    assert rows[0]["device_name"].startswith("ESP32")
    assert float(rows[0]["total_location_g"]) > 0
    assert rows[1]["region_id"] == ""
    # batching amortises the weights: the per-inference energy falls
    single = float(vision_energy_j(8.7e9, 6e6, 12e6, VISION_DEVICES["T4"], 1.0))
    assert float(rows[1]["energy_j"]) < single


@pytest.mark.parametrize(
    ("body", "column"),
    [
        ("T1,abc,1,1,1\n", "flops"),
        ("T1,-5,1,1,1\n", "flops"),
        ("T1,1,1,1,0.5\n", "batch"),
    ],
)
def test_bad_cells_name_the_column(body: str, column: str) -> None:
    with pytest.raises(ParseError) as info:
        run_vision_csv("device,flops,weight-bytes,activation-bytes,batch\n" + body, path="v.csv")
    assert info.value.row == 2
    assert info.value.column == column


def test_missing_flag_is_named(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["estimate", "vision", "--device", "T1", "--flops", "1e9"]) == 2
    assert "--weight-bytes" in capsys.readouterr().err
