"""Grid signals as ledger rows: the pure mapping, the change filter and the update specs."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
import pytest

from infercarbon.errors import InputError, ParseError
from infercarbon.grid.signal import IntensitySeries, SignalProvenance
from infercarbon.grid.update_sources import UpdateRequest, fetch_update, read_intensity_csv
from infercarbon.grid.updates import (
    INTENSITY_COLUMNS,
    INTENSITY_SCHEMA,
    UpdateKind,
    UpdateSpec,
    intensity_table,
    only_changed,
)
from infercarbon.ledger import open_store
from infercarbon.ledger.schema import INTENSITY
from infercarbon.ledger.validation import validate_rows

NOW = datetime(2024, 1, 2, tzinfo=UTC)


def series(values=(100.0, 300.0, 250.0), *, low=None, high=None, **extra) -> IntensitySeries:
    n = len(values)
    return IntensitySeries.from_arrays(
        region="X",
        kind="marginal",
        basis="direct",
        resolution_s=3600,
        start_utc=np.datetime64("2024-01-01T20", "s") + np.arange(n) * np.timedelta64(3600, "s"),
        intensity_g_per_kwh=np.array(values),
        low_g_per_kwh=low,
        high_g_per_kwh=high,
        provenance=SignalProvenance(source="test", version="1", method="fixture"),
        extra={k: np.asarray(v) for k, v in extra.items()},
    )


def test_columns_match_the_ledger_schema() -> None:
    assert INTENSITY.names == INTENSITY_COLUMNS
    assert INTENSITY_SCHEMA.equals(INTENSITY.arrow_schema)


def test_table_validates_and_carries_provenance() -> None:
    s = series(
        low=[90.0, 280.0, 200.0],
        high=[120.0, 320.0, 260.0],
        marginal_unit=np.array(["gas_cc", "gas_ct", "coal"], dtype=object),
    )
    t = intensity_table(
        s, retrieved_utc=datetime(2024, 1, 1, 21, 30, tzinfo=UTC), confidence_level=0.9
    )
    validate_rows(INTENSITY, t)  # the ledger accepts it as it is
    row = t.to_pylist()[2]
    # the third hour (22:00) starts after the retrieval: a forecast
    assert (row["status"], row["marginal_unit"], row["confidence_level"], row["method"]) == (
        "forecast",
        "coal",
        0.9,
        "fixture",
    )
    assert t.column("status").to_pylist()[:2] == ["final", "final"]
    assert t.column("low_g_per_kwh").to_pylist() == [90.0, 280.0, 200.0]


def test_no_range_is_stored_as_null_not_zero_width() -> None:
    t = intensity_table(series(), retrieved_utc=NOW, confidence_level=0.9)
    assert t.column("low_g_per_kwh").null_count == 3
    assert t.column("confidence_level").null_count == 3  # no range, no coverage


def test_status_from_the_source_flags_and_override() -> None:
    s = series(is_estimated=[False, True, False], is_forecast=[False, False, True])
    assert intensity_table(s, retrieved_utc=NOW).column("status").to_pylist() == [
        "final",
        "provisional",
        "forecast",
    ]
    assert (
        intensity_table(s, retrieved_utc=NOW, status="final").column("status").to_pylist()
        == ["final"] * 3
    )
    with pytest.raises(InputError, match="status"):
        intensity_table(s, retrieved_utc=NOW, status="maybe")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="confidence_level"):
        intensity_table(s, retrieved_utc=NOW, confidence_level=95.0)


def test_only_changed_compares_with_the_latest_retrieval() -> None:
    first = intensity_table(
        series(is_estimated=[False, False, True]),
        retrieved_utc=datetime(2024, 1, 1, 23, tzinfo=UTC),
    )
    same = intensity_table(series(is_estimated=[False, False, True]), retrieved_utc=NOW)
    assert only_changed(same, first).num_rows == 0
    # the estimated hour is settled later: same value, better status -> stored
    settled = intensity_table(series(), retrieved_utc=NOW)
    assert only_changed(settled, first).column("status").to_pylist() == ["final"]
    # a revision back to an earlier value still differs from the latest one
    revised = intensity_table(series((100.0, 310.0, 250.0)), retrieved_utc=NOW)
    back = intensity_table(series(), retrieved_utc=datetime(2024, 1, 3, tzinfo=UTC))
    stored = pa.concat_tables([first, revised])
    assert only_changed(back, stored).column("value_g_per_kwh").to_pylist() == [300.0]
    assert only_changed(back, first.slice(0, 0)).num_rows == 3


def test_ledger_keeps_a_newer_retrieval_of_the_same_interval() -> None:
    store = open_store(":memory:")
    try:
        early = intensity_table(
            series(is_estimated=[False, False, True]),
            retrieved_utc=datetime(2024, 1, 1, 23, tzinfo=UTC),
        )
        assert store.append_intensity(early).inserted == 3
        assert store.append_intensity(early).duplicates == 3  # the same snapshot: no-op
        later = only_changed(
            intensity_table(series(), retrieved_utc=NOW), store.intensity(region="X")
        )
        assert store.append_intensity(later).inserted == 1
        got = store.intensity(region="X").sort_by("retrieved_utc").column("status").to_pylist()
        assert got[-1] == "final" and got.count("provisional") == 1
    finally:
        store.close()


@pytest.mark.parametrize(
    ("text", "kind"), [("ukci:GB", "location"), ("watttime:CAISO_NORTH:marginal", "marginal")]
)
def test_spec_parse(text: str, kind: str) -> None:
    assert UpdateSpec.parse(text).kind == kind


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("ukci", "SOURCE:REGION"),
        ("nope:DE", "unknown source"),
        ("ukci:GB:weekly", "unknown kind"),
        ("electricitymaps:DE:forecast", "no forecast"),
        ("ukci:GB:marginal", "average intensity only"),
        ("entsoe:DE_LU:forecast", "no"),
    ],
)
def test_spec_errors(text: str, match: str) -> None:
    with pytest.raises(InputError, match=match):
        UpdateSpec.parse(text)


def test_operator_csv_file(tmp_path) -> None:
    p = tmp_path / "mef.csv"
    p.write_text(
        "time,mef_g_per_kwh,ci_low,ci_high,method,marginal\n"
        "2024-01-01T00:00Z,500,450,560,merit-order,gas_cc\n"
        "2024-01-01T01:00Z,650,600,700,merit-order,gas_ct\n",
        encoding="utf-8",
    )
    s = read_intensity_csv(p, region="ERCOT", kind="marginal", basis="direct")
    assert (s.kind, s.resolution_s, s.provenance.method) == ("marginal", 3600, "merit-order")
    assert s.provenance.version.startswith("sha256:")
    t = fetch_update(
        UpdateRequest(UpdateSpec("operator-csv", "ERCOT", "marginal"), csv=p, basis="direct"),
        now_utc=NOW,
    )
    assert t.column("marginal_unit").to_pylist() == ["gas_cc", "gas_ct"]
    assert t.column("high_g_per_kwh").to_pylist() == [560.0, 700.0]


def test_operator_csv_needs_zoned_times_and_a_basis(tmp_path) -> None:
    p = tmp_path / "i.csv"
    p.write_text(
        "time_utc,intensity_g_per_kwh\n2024-01-01 00:00,1\n2024-01-01 01:00,2\n", encoding="utf-8"
    )
    with pytest.raises(ParseError, match="Z or a UTC offset"):
        read_intensity_csv(p, region="R", kind="location", basis="direct")
    with pytest.raises(InputError, match="--basis"):
        UpdateRequest(UpdateSpec("operator-csv", "R"), csv=p)


def test_bundled_marginal_matches_the_service_signal() -> None:
    from infercarbon.grid import catalogue

    t = fetch_update(
        UpdateRequest(
            UpdateSpec("operator-csv", "ERCOT", "marginal"), start="2021-07-01", end="2021-07-02"
        ),
        now_utc=NOW,
    )
    s = catalogue.hourly_marginal("ERCOT", "lifecycle").slice(
        np.datetime64("2021-07-01"), np.datetime64("2021-07-02")
    )
    assert t.num_rows == 24
    np.testing.assert_array_equal(t.column("value_g_per_kwh").to_numpy(), s.intensity_g_per_kwh)
    assert set(t.column("confidence_level").to_pylist()) == {0.95}
    assert t.column("marginal_unit").null_count == 0
    assert "regression dE/dL" in t.column("method")[0].as_py()


def test_bundled_needs_a_bundled_region() -> None:
    with pytest.raises(InputError, match="--csv"):
        fetch_update(UpdateRequest(UpdateSpec("operator-csv", "DE")), now_utc=NOW)


# ------------------------------------------------------------------ factor sets
def test_bundled_intervals_use_and_record_the_factor_set() -> None:
    from infercarbon.grid import catalogue

    def get(kind: UpdateKind, factor_set: str) -> pa.Table:
        return fetch_update(
            UpdateRequest(
                UpdateSpec("operator-csv", "ERCOT", kind),
                start="2021-07-01",
                end="2021-07-02",
                factor_set=factor_set,
            ),
            now_utc=NOW,
        )

    day = (np.datetime64("2021-07-01"), np.datetime64("2021-07-02"))
    kinds: tuple[tuple[UpdateKind, Callable[..., IntensitySeries]], ...] = (
        ("location", catalogue.hourly_location),
        ("marginal", catalogue.hourly_marginal),
    )
    for kind, series in kinds:
        base, other = get(kind, "infercarbon"), get(kind, "ipcc-ar5")
        want = series("ERCOT", "lifecycle", "ipcc-ar5").slice(*day)
        np.testing.assert_allclose(
            other.column("value_g_per_kwh").to_numpy(), want.intensity_g_per_kwh, rtol=1e-12
        )
        assert not np.allclose(
            other.column("value_g_per_kwh").to_numpy(), base.column("value_g_per_kwh").to_numpy()
        )
        for t, name in ((base, "infercarbon"), (other, "ipcc-ar5")):
            assert set(t.column("version").to_pylist()) == {t.column("version")[0].as_py()}
            assert t.column("version")[0].as_py().endswith(f"factors {name}"), kind
            assert f"factor set {name}" in t.column("method")[0].as_py(), kind


def test_a_factor_set_applies_only_where_intensity_comes_from_a_fuel_mix(tmp_path) -> None:
    p = tmp_path / "i.csv"
    p.write_text("time_utc,intensity_g_per_kwh\n2024-01-01T00:00Z,100\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"--factors.*fuel mix"):
        UpdateRequest(
            UpdateSpec("operator-csv", "R"), csv=p, basis="lifecycle", factor_set="ipcc-ar5"
        )
    with pytest.raises(InputError, match=r"--factors.*fuel mix"):
        UpdateRequest(UpdateSpec("electricitymaps", "DE"), factor_set="unece-2021")
    with pytest.raises(InputError, match=r"--factors.*lifecycle"):
        UpdateRequest(UpdateSpec("operator-csv", "ERCOT"), basis="direct", factor_set="ipcc-ar5")
    with pytest.raises(InputError, match=r"--factors.*unknown factor set"):
        UpdateRequest(UpdateSpec("operator-csv", "ERCOT"), factor_set="ar6")


def test_grid_update_cli_writes_the_factor_set_into_the_ledger(tmp_path, capsys) -> None:
    from infercarbon.cli.main import main

    ledger = tmp_path / "l.duckdb"
    args = [
        "grid",
        "update",
        "--ledger",
        str(ledger),
        "--source",
        "operator-csv",
        "--region",
        "ERCOT",
        "--from",
        "2021-07-01",
        "--to",
        "2021-07-02",
        "--no-reprice",
    ]
    assert main([*args, "--factors", "unece-2021"]) == 0
    with open_store(str(ledger)) as store:
        t = store.intensity(region="ERCOT")
    assert t.num_rows == 24
    assert all("factor set unece-2021" in m for m in t.column("method").to_pylist())
    assert all(v.endswith("factors unece-2021") for v in t.column("version").to_pylist())
    capsys.readouterr()
    assert main([*args, "--factors", "unece-2021", "--basis", "direct"]) == 2
    assert "--factors" in capsys.readouterr().err
