"""Regenerate the LLM estimator's bundled training table and calibration.

Reads ML.ENERGY Leaderboard v2 (``../shared/data/inference_energy/mlenergy_v2_configs.csv``,
Apache-2.0), keeps the ``llm_text_generation`` rows (multimodal and diffusion rows are
out of scope), joins the parameter counts below (from each model's Hugging Face model
card / config), and writes

* ``src/infercarbon/estimators/data/mlenergy_v2_llm_rows.csv`` (compact training table)
* ``src/infercarbon/estimators/data/llm_calibration.json`` (fit + evaluation)

Usage: ``python tools/calibrate_llm.py [--source PATH]``
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

from infercarbon.estimators.calibration import (
    TASK_INPUT_TOKENS,
    build_calibration_document,
    load_training_rows,
)

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE = ROOT.parent / "shared" / "data" / "inference_energy" / "mlenergy_v2_configs.csv"
OUT_DIR = ROOT / "src" / "infercarbon" / "estimators" / "data"

# model -> (total params [B], active params [B]); Hugging Face model cards / configs.
PARAMS_B: dict[str, tuple[float, float]] = {
    "google/gemma-2-2b-it": (2.61, 2.61),
    "google/gemma-2-9b-it": (9.24, 9.24),
    "google/gemma-2-27b-it": (27.2, 27.2),
    "meta-llama/Meta-Llama-3.1-8B-Instruct": (8.03, 8.03),
    "meta-llama/Meta-Llama-3.1-70B-Instruct": (70.6, 70.6),
    "meta-llama/Meta-Llama-3.1-405B-Instruct": (405.9, 405.9),
    "mistralai/Mistral-7B-Instruct-v0.3": (7.25, 7.25),
    "mistralai/Mixtral-8x7B-Instruct-v0.1": (46.7, 12.9),
    "mistralai/Mixtral-8x22B-Instruct-v0.1": (140.6, 39.1),
    "mistralai/Mistral-Large-Instruct-2407": (122.6, 122.6),
    "mistralai/Mistral-Nemo-Instruct-2407": (12.2, 12.2),
    "codellama/CodeLlama-7b-hf": (6.74, 6.74),
    "codellama/CodeLlama-13b-hf": (13.0, 13.0),
    "codellama/CodeLlama-34b-hf": (33.7, 33.7),
    "codellama/CodeLlama-70b-hf": (69.0, 69.0),
    "google/codegemma-1.1-2b": (2.51, 2.51),
    "google/codegemma-7b": (8.54, 8.54),
    "bigcode/starcoder2-3b": (3.03, 3.03),
    "bigcode/starcoder2-7b": (7.17, 7.17),
    "bigcode/starcoder2-15b": (15.96, 15.96),
    "microsoft/Phi-3-mini-4k-instruct": (3.82, 3.82),
    "microsoft/Phi-3-small-8k-instruct": (7.39, 7.39),
    "microsoft/Phi-3-medium-4k-instruct": (14.0, 14.0),
}

FIELDS = [
    "model",
    "task",
    "gpu",
    "num_gpus",
    "batch_size",
    "output_tokens",
    "input_tokens",
    "total_params_b",
    "active_params_b",
    "energy_j",
    "tpot_s",
    "precision",
]


def build_rows(source: Path) -> list[dict[str, str]]:
    out = []
    with source.open(newline="", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            if r["category"] != "llm_text_generation":
                continue
            total, active = PARAMS_B[r["Model"]]  # KeyError = a model the table lacks
            out.append(
                {
                    "model": r["Model"],
                    "task": r["task"],
                    "gpu": r["GPU"],
                    "num_gpus": str(int(r["TP"]) * int(r["PP"])),
                    "batch_size": r["Max BS (reqs)"],
                    "output_tokens": f"{float(r['Avg Output Tokens']):.2f}",
                    "input_tokens": f"{TASK_INPUT_TOKENS[r['task']]:g}",
                    "total_params_b": f"{total:g}",
                    "active_params_b": f"{active:g}",
                    "energy_j": f"{float(r['Energy/req (J)']):.4f}",
                    "tpot_s": f"{float(r['Avg TPOT (s)']):.6f}",
                    "precision": "bf16",
                }
            )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    args = ap.parse_args()
    rows = build_rows(args.source)
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    table = OUT_DIR / "mlenergy_v2_llm_rows.csv"
    with table.open("w", newline="", encoding="utf-8") as fh:
        fh.write(
            "# ML.ENERGY Leaderboard v2 (Chung et al.), llm_text_generation rows; Apache-2.0.\n"
            "# energy_j = measured GPU energy per request (GPU only, steady state); tpot_s = avg\n"
            "# time per output token; batch_size = configured max batch; num_gpus = TP x PP;\n"
            "# input_tokens = ASSUMED per task (not published); params from HF model cards.\n"
            "# Regenerate: python tools/calibrate_llm.py\n"
        )
        w = csv.DictWriter(fh, fieldnames=FIELDS, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    doc = build_calibration_document(load_training_rows(table))
    (OUT_DIR / "llm_calibration.json").write_text(
        json.dumps(doc, indent=2) + "\n", encoding="utf-8"
    )
    print(json.dumps(doc["parameters"], indent=2))
    print(json.dumps(doc["evaluation"], indent=2))


if __name__ == "__main__":
    main()
