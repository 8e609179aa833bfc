"""Marginal emissions: empirical regression, merit-order dispatch, back-test and ledger.

Modules: :mod:`.regression` (Siler-Evans/Hawkes binned ΔE-on-ΔL regression and its
fuel-share variant), :mod:`.merit_order` (supply stack and vectorised marginal-unit search),
:mod:`.inventory` (ERCOT and German unit inventories), :mod:`.assumptions` (documented
heat rates, VOM, ramp rates, fuel and carbon prices), :mod:`.backtest` (bias/MAPE and
calibration), :mod:`.ledger` (region-interval marginal ledger), :mod:`.table` (strict CSV
reader for operator tables), :mod:`.compare` (average vs marginal by hour and season),
:mod:`.stack_fit` (the observed-stack estimator: the merit order read from the period's own
emissions and mix, the default of ``grid marginal``), :mod:`.mix_calibration` (the bundled
merit order calibrated each month to the observed coal output), :mod:`.simulate` (dispatch
years with a known marginal unit) and :mod:`.harness` (every estimator scored against that
truth).
"""
