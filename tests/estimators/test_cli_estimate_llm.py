import csv
import io
import json
from pathlib import Path

import pytest

from infercarbon.cli.estimate_llm import run_llm_csv
from infercarbon.cli.main import main
from infercarbon.errors import FallbackWarning, ParseError

ARGS = [
    "estimate",
    "llm",
    "--params-b",
    "8",
    "--active-params-b",
    "8",
    "--gpu",
    "H100",
    "--gpus",
    "1",
    "--batch",
    "64",
    "--output-tokens",
    "400",
]


def test_json_contract(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*ARGS, "--input-tokens", "500", "--precision", "bf16", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    for key in (
        "gpu_energy_j",
        "gpu_energy_low_j",
        "gpu_energy_high_j",
        "energy_j_total",
        "line_items",
    ):
        assert key in doc
    assert doc["gpu_energy_low_j"] < doc["gpu_energy_j"] < doc["gpu_energy_high_j"]
    assert doc["energy_j_total"] > doc["gpu_energy_j"]
    for item in doc["line_items"].values():
        assert {"value", "unit", "source", "label"} <= set(item)
    assert doc["inputs"]["input_tokens_source"] == "user"


def test_json_without_input_tokens_records_assumption(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*ARGS, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["inputs"]["input_tokens_source"] == "assumed"
    assert doc["notes"]


def test_unknown_gpu_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(
            [
                "estimate",
                "llm",
                "--params-b",
                "8",
                "--gpu",
                "X9000",
                "--batch",
                "1",
                "--output-tokens",
                "5",
                "--json",
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert "X9000" in err
    assert "H100 SXM5 80GB" in err


HEADER = (
    "total_params_b,active_params_b,gpu,num_gpus,batch_size,output_tokens,input_tokens,precision\n"
)


def test_csv_batch_mode(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = tmp_path / "in.csv"
    p.write_text(
        HEADER + "8,8,H100,1,64,400,300,bf16\n141,39,NVIDIA A100-SXM4-40GB,8,256,380,,bf16\n"
        "70,70,B200,2,128,500,1000,fp8\n"
    )
    assert main(["estimate", "llm", "--csv", str(p), "--format", "csv"]) == 0
    cap = capsys.readouterr()
    rows = list(csv.DictReader(io.StringIO(cap.out)))
    assert len(rows) == 3
    assert rows[0]["gpu"] == "H100"
    assert float(rows[0]["gpu_energy_j"]) > 0
    assert rows[1]["input_tokens_assumed"] == "true"
    assert rows[0]["input_tokens_assumed"] == "false"
    for r in rows:
        assert (
            float(r["gpu_energy_low_j"]) < float(r["gpu_energy_j"]) < float(r["gpu_energy_high_j"])
        )
        assert float(r["energy_j_total"]) > float(r["gpu_energy_j"])
    assert "1 row(s) without input_tokens" in cap.err
    # same numbers as the single-request command
    assert main([*ARGS, "--input-tokens", "300", "--json"]) == 0
    single = json.loads(capsys.readouterr().out)
    assert float(rows[0]["gpu_energy_j"]) == pytest.approx(single["gpu_energy_j"], rel=1e-5)


def test_csv_json_format(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = tmp_path / "in.csv"
    p.write_text(HEADER + "8,8,L4,1,8,100,50,int4\n")
    assert main(["estimate", "llm", "--csv", str(p), "--format", "json"]) == 0
    recs = json.loads(capsys.readouterr().out)
    assert recs[0]["gpu"] == "L4"
    assert recs[0]["gpu_energy_j"] > 0


@pytest.mark.parametrize(
    ("body", "row", "column"),
    [
        ("8,8,H100,1,64,400,300,bf16\n8,8,H100,1,abc,400,300,bf16\n", 3, "batch_size"),
        ("8,8,H100,1,64,0,300,bf16\n", 2, "output_tokens"),
        ("8,9,H100,1,64,10,300,bf16\n", 2, "active_params_b"),
        ("8,8,H100,1,64,10,300,bf16\n8,8,Z100,1,64,10,300,bf16\n", 3, "gpu"),
        ("8,8,H100,1,64,10,300,int3\n", 2, "precision"),
        ("8,8,H100,1,64,10,-1,bf16\n", 2, "input_tokens"),
        ("8,8,H100,1,,10,3,bf16\n", 2, "batch_size"),
    ],
)
def test_bad_rows_name_row_and_column(body: str, row: int, column: str) -> None:
    with pytest.raises(ParseError) as info:
        run_llm_csv(HEADER + body, path="x.csv")
    assert info.value.row == row
    assert info.value.column == column


def test_missing_column_and_cli_exit_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(ParseError, match="missing required column"):
        run_llm_csv("total_params_b,gpu\n8,H100\n")
    p = tmp_path / "bad.csv"
    p.write_text(HEADER + "8,8,H100,1,64,x,300,bf16\n")
    assert main(["estimate", "llm", "--csv", str(p)]) == 2
    assert "row 2" in capsys.readouterr().err


def test_run_llm_csv_warns_when_inputs_assumed() -> None:
    with pytest.warns(FallbackWarning):
        out = run_llm_csv(
            "total_params_b,active_params_b,gpu,num_gpus,batch_size,output_tokens\n"
            "8,8,H100,1,64,400\n"
        )
    assert "true" in out


# ---------------------------------------------------------------- carbon (issue 17, part 2)


def test_region_gives_the_footprint_contract(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*ARGS, "--input-tokens", "300", "--region", "DE", "--pue", "1.2", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    items = {li["name"]: li for li in doc["line_items"]}
    op = items["operational_location"]
    assert op["low_g"] < op["emissions_g"] < op["high_g"]
    assert op["scope"] == "scope2_location"
    assert op["label"].startswith("modelled energy")
    # emissions = IT energy (GPU + host) x PUE x intensity
    llm = doc["llm_energy"]
    it_j = llm["gpu_energy_j"] + llm["line_items"]["host_energy_j"]["value"]
    assert doc["energy_j"] == pytest.approx(it_j)
    expected = it_j * 1.2 / 3.6e6 * doc["intensity_g_per_kwh"]["location"]
    assert op["emissions_g"] == pytest.approx(expected, rel=1e-9)
    assert doc["total_location_low_g"] < doc["total_location_g"] < doc["total_location_high_g"]
    pue = next(a for a in doc["assumptions"] if a["name"] == "pue")
    assert pue["value"] == 1.2


def test_region_time_and_utilisation(capsys: pytest.CaptureFixture[str]) -> None:
    argv = [*ARGS, "--input-tokens", "300", "--region", "ERCOT", "--time-utc",
            "2021-07-15T22:00Z", "--utilisation", "0.5", "--json"]  # fmt: skip
    assert main(argv) == 0
    doc = json.loads(capsys.readouterr().out)
    items = {li["name"]: li for li in doc["line_items"]}
    assert items["operational_marginal"]["emissions_g"] > 0  # the hour's marginal signal
    assert items["idle_location"]["emissions_g"] > 0  # idle share from the duty cycle
    assert "2021-07-15T22:00Z" in next(
        a["note"] for a in doc["assumptions"] if a["name"] == "intensity_location_g_per_kwh"
    )
    # the default PUE is the estimator's labelled illustrative figure
    pue = next(a for a in doc["assumptions"] if a["name"] == "pue")
    assert pue["label"] == "illustrative"


def test_bad_time_names_the_field(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*ARGS, "--region", "DE", "--time-utc", "yesterday"]) == 2
    assert "time_utc" in capsys.readouterr().err


def test_task_and_stack_options(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*ARGS, "--task", "sourcegraph-fim", "--stack", "vllm-2024", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["inputs"]["stack"] == "vllm-2024"
    assert doc["inputs"]["input_tokens"] == 3000
    assert doc["inputs"]["input_tokens_source"].startswith("task preset")
    assert main([*ARGS, "--stack", "vllm-1999"]) == 2
    err = capsys.readouterr().err
    assert "stack" in err
    assert "vllm-2025" in err
    assert main([*ARGS, "--task", "poetry"]) == 2
    assert "task" in capsys.readouterr().err


FLAG_HEADER = "params-b,active-params-b,gpu,gpus,batch,output-tokens,task,region,time-utc,pue\n"


def test_csv_columns_are_flag_names_with_carbon(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    p = tmp_path / "in.csv"
    p.write_text(
        FLAG_HEADER
        + "8,8,H100,1,64,400,gpqa,DE,,1.2\n"
        + "235,22,B200,8,32,600,,ERCOT,2021-07-15T22:00Z,\n"
        + "70,70,A100-SXM4-40GB,4,16,300,,,,\n"
    )
    assert main(["estimate", "llm", "--csv", str(p), "--pue", "1.1"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert rows[0]["input_tokens_used"] == "250"
    assert rows[0]["stack"] == "vllm-2025"
    assert rows[0]["region_id"] == "DEU"
    for r in rows[:2]:
        assert float(r["total_location_low_g"]) < float(r["total_location_g"])
        assert float(r["total_location_g"]) < float(r["total_location_high_g"])
    assert float(rows[1]["operational_marginal_g"]) > 0
    assert rows[2]["region_id"] == ""  # no region: energy only
    # each row equals the single-request command with the same flags
    assert main(["estimate", "llm", "--params-b", "8", "--gpu", "H100", "--batch", "64",
                 "--output-tokens", "400", "--task", "gpqa", "--region", "DE", "--pue", "1.2",
                 "--json"]) == 0  # fmt: skip
    single = json.loads(capsys.readouterr().out)
    assert float(rows[0]["total_location_g"]) == pytest.approx(single["total_location_g"], rel=1e-5)


@pytest.mark.filterwarnings("ignore::infercarbon.errors.FallbackWarning")
def test_csv_bad_carbon_cell_names_row_and_column(tmp_path: Path) -> None:
    body = FLAG_HEADER + "8,8,H100,1,64,400,,DE,,1.2\n8,8,H100,1,64,400,,DE,,0.5\n"
    with pytest.raises(ParseError) as info:
        run_llm_csv(body, path="x.csv")
    assert info.value.row == 3
    assert info.value.column == "pue"
    with pytest.raises(ParseError) as info:
        run_llm_csv(FLAG_HEADER + "8,8,H100,1,64,400,,Atlantis,,\n", path="x.csv")
    assert info.value.row == 2
    assert info.value.column == "region"
    with pytest.raises(ParseError) as info:
        run_llm_csv(FLAG_HEADER + "8,8,H100,1,64,400,haiku,,,\n", path="x.csv")
    assert info.value.column == "task"


def test_help_documents_csv_columns(capsys: pytest.CaptureFixture[str]) -> None:
    main(["estimate", "llm", "--help"])
    out = capsys.readouterr().out
    for flag in ("--region", "--time-utc", "--pue", "--stack", "--task", "output-tokens"):
        assert flag in out


@pytest.mark.filterwarnings("ignore::infercarbon.errors.FallbackWarning")
def test_csv_pue_range_uses_its_central_value_for_energy() -> None:
    from infercarbon.cli._carbon import CarbonOptions

    text = "params-b,gpu,batch,output-tokens\n8,H100,64,400\n"
    rows = list(
        csv.DictReader(
            io.StringIO(
                run_llm_csv(text, carbon=CarbonOptions({"pue": "1.1..1.3", "region": "DE"}))
            )
        )
    )
    r = rows[0]
    it = float(r["gpu_energy_j"]) + float(r["host_energy_j"])
    assert float(r["pue_overhead_j"]) == pytest.approx(0.2 * it, rel=1e-4)
    assert float(r["total_location_low_g"]) < float(r["total_location_g"])


def test_csv_reads_the_mlenergy_leaderboard_columns(capsys: pytest.CaptureFixture[str]) -> None:
    """The leaderboard's own file runs as it is: its measured running batch
    (avg_batch_size, not the max_num_seqs cap), GPUs, output length, precision and task."""
    path = Path(__file__).resolve().parents[1] / "data" / "estimators"
    src = path / "mlenergy_v3_h100_excerpt.csv"
    assert main(["estimate", "llm", "--csv", str(src), "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [r["task"] for r in rows] == ["gpqa", "sourcegraph-fim", "gpqa"]
    assert [r["input_tokens_used"] for r in rows] == ["250", "3000", "250"]
    assert rows[2]["weight_precision"] == "fp8" and rows[2]["num_gpus"] == "4"
    for r in rows:
        single = [
            "estimate", "llm", "--params-b", r["total_params_billions"],
            "--active-params-b", r["activated_params_billions"], "--gpu", r["gpu_model"],
            "--gpus", r["num_gpus"], "--batch", r["avg_batch_size"],
            "--output-tokens", r["avg_output_len"], "--precision", r["weight_precision"],
            "--input-tokens", r["input_tokens_used"], "--json",
        ]  # fmt: skip
        assert main(single) == 0
        doc = json.loads(capsys.readouterr().out)
        assert float(r["gpu_energy_j"]) == pytest.approx(doc["gpu_energy_j"], rel=1e-5)
        # the measured energy lies inside the band for these rows (in-sample rows)
        measured = float(r["energy_per_request_joules"])
        assert float(r["gpu_energy_low_j"]) <= measured <= float(r["gpu_energy_high_j"])
