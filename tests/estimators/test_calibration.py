import json
from importlib import resources

import numpy as np
import pytest

from infercarbon.estimators.calibration import (
    PARAM_NAMES,
    build_calibration_document,
    error_metrics,
    fit,
    load_training_rows,
    predict,
)
from infercarbon.estimators.ecologits_formula import ecologits_gpu_count, ecologits_gpu_energy_j
from infercarbon.estimators.llm import load_calibration


def _bundled() -> dict:
    text = (
        resources.files("infercarbon.estimators")
        .joinpath("data", "llm_calibration.json")
        .read_text()
    )
    return json.loads(text)


def test_calibration_reproduces_from_bundled_rows() -> None:
    rows = load_training_rows()
    doc = build_calibration_document(rows)
    bundled = _bundled()
    for k in PARAM_NAMES:
        assert doc["parameters"][k] == pytest.approx(bundled["parameters"][k], rel=1e-4), k
    assert doc["evaluation"] == bundled["evaluation"]
    assert doc["uncertainty"] == bundled["uncertainty"]


def test_fit_is_deterministic_and_interpretable() -> None:
    rows = load_training_rows()
    a, b = fit(rows), fit(rows)
    assert [getattr(a, k) for k in PARAM_NAMES] == [getattr(b, k) for k in PARAM_NAMES]
    assert 0 < a.static_power_frac < 1
    assert a.compute_inefficiency >= 1  # cannot beat the dense peak
    assert 0 < a.step_overhead_s < 0.2
    assert 0 < a.seq_overhead_s < 0.01


def test_evaluation_meets_target_and_beats_ecologits() -> None:
    ev = load_calibration().evaluation
    for key in ("leave_one_model_out", "leave_one_gpu_out"):
        assert ev[key]["mdape_pct"] <= 20.0
        assert ev[key]["n"] == 314
    assert ev["leave_one_model_out"]["mdape_pct"] < ev["ecologits_batch64"]["mdape_pct"]
    assert ev["leave_one_model_out"]["mdape_pct"] < ev["ecologits_true_batch"]["mdape_pct"]


def test_bundled_fit_in_sample_error_matches_document() -> None:
    rows = load_training_rows()
    e, _ = predict(rows, load_calibration())
    got, doc = error_metrics(e, rows.energy_j), load_calibration().evaluation["in_sample"]
    # the bundled parameters are rounded to 6 significant figures
    assert got["mdape_pct"] == pytest.approx(doc["mdape_pct"], abs=0.05)
    assert got["within_25_pct"] == pytest.approx(doc["within_25_pct"], abs=0.5)


def test_error_metrics_by_hand() -> None:
    m = error_metrics(np.array([110.0, 50.0, 100.0, 130.0]), np.array([100.0, 100.0, 100.0, 100.0]))
    assert m == {"mdape_pct": 20.0, "within_25_pct": 50.0, "n": 4}


def test_ecologits_formula_by_hand() -> None:
    # 8 B active, 400 tokens, B = 64, one GPU: 400 x (1.17e-6 e^(-0.0112*64) 8 + 4.05e-5) Wh
    wh = 400 * (1.17e-6 * np.exp(-1.12e-2 * 64) * 8 + 4.05e-5)
    assert float(ecologits_gpu_energy_j(8.0, 8.0, 400.0)) == pytest.approx(wh * 3600)
    # 70 B at 16 bits: 1.2*70*2 = 168 GB -> 3 x 80 GB -> rounded up to 4 GPUs
    assert float(ecologits_gpu_count(70.0)) == 4.0
    assert float(ecologits_gpu_count(8.0)) == 1.0
