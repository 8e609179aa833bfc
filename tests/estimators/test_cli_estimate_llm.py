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
