"""``infercarbon benchmark snapshot|diff|submit|import|publish``: the living benchmark.

These sub-commands hang off the ``benchmark`` group of :mod:`infercarbon.cli.benchmark`.
The clock is read here (today's date for snapshots and pages, the acceptance time of
submissions) and passed into the core.
"""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from infercarbon import __version__
from infercarbon.cli._common import print_json
from infercarbon.cli.benchmark import benchmark_app
from infercarbon.errors import InputError
from infercarbon.timeutil import parse_utc

DEFAULT_STORE = Path("infercarbon-benchmark")


def _today() -> date:
    return datetime.now(UTC).date()


def _date(text: str | None) -> date:
    if text is None:
        return _today()
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InputError(f"{text!r} is not a date (YYYY-MM-DD)", field="date") from None


def _read(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}", field=what) from exc
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{path} is not UTF-8 text (save the CSV as UTF-8): {exc.reason}", field=what
        ) from exc


def _utc_opt(text: str | None, field: str) -> datetime | None:
    if text is None:
        return None
    return parse_utc(text, field=field, utc_only=True)


class DiffFmt(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


class OutFmt(StrEnum):
    text = "text"
    json = "json"


class Source(StrEnum):
    mlenergy = "mlenergy"
    mlperf_power = "mlperf-power"


class PueSource(StrEnum):
    measured = "measured"
    vendor_published = "vendor-published"


@benchmark_app.command("snapshot")
def snapshot_cmd(
    on: Annotated[
        str | None, typer.Option("--date", help="Snapshot date YYYY-MM-DD (default: today, UTC).")
    ] = None,
    directory: Annotated[
        Path | None, typer.Option("--dir", help="Where to write it (default: STORE/snapshots).")
    ] = None,
    store: Annotated[
        Path,
        typer.Option("--store", help="Submission store whose accepted rows the snapshot includes."),
    ] = DEFAULT_STORE,
    samples: Annotated[int, typer.Option("--samples", help="Monte Carlo samples per row.")] = 2_000,
    seed: Annotated[int, typer.Option("--seed", help="Monte Carlo seed.")] = 0,
) -> None:
    """Write a dated snapshot of the cohort (CSV + JSON manifest with sha256)."""
    from infercarbon.benchmark.snapshot import write_snapshot
    from infercarbon.benchmark.submissions import SubmissionStore

    st = SubmissionStore(store)
    if not st.exists():
        print(
            f"note: no submission store at {st.path}: the snapshot has no measured rows",
            file=sys.stderr,
        )
    d = _date(on)
    csv_path, man_path, manifest = write_snapshot(
        directory or store / "snapshots",
        d,
        store=st if st.exists() else None,
        samples=samples,
        seed_=seed,
        engine_version=__version__,
    )
    print(
        f"{csv_path}  rows={manifest['row_count']} "
        + " ".join(f"{k}={v}" for k, v in manifest["rows_by_label"].items())
        + f"  sha256={manifest['csv_sha256']}"
    )
    print(f"{man_path}")


@benchmark_app.command("diff")
def diff_cmd(
    a: Annotated[str, typer.Argument(help="Snapshot date (YYYY-MM-DD) or CSV path.")],
    b: Annotated[str, typer.Argument(help="Snapshot date (YYYY-MM-DD) or CSV path.")],
    directory: Annotated[
        Path | None,
        typer.Option("--dir", help="Look for dated snapshots here before the bundled ones."),
    ] = None,
    fmt: Annotated[DiffFmt, typer.Option("--format", help="table | csv | json")] = DiffFmt.table,
    rel_tol: Annotated[
        float,
        typer.Option(
            "--rel-tol", help="Ignore relative changes up to this (0: report every change)."
        ),
    ] = 0.0,
) -> None:
    """Rows added, removed and changed between two snapshots, with deltas."""
    from infercarbon.benchmark.snapshot import (
        bundled_snapshot_dir,
        diff_snapshots,
        load_snapshot,
        render_diff,
    )

    dirs = [*([directory] if directory else []), bundled_snapshot_dir()]
    d = diff_snapshots(load_snapshot(a, dirs), load_snapshot(b, dirs), rel_tol=rel_tol)
    sys.stdout.write(render_diff(d, fmt.value))


@benchmark_app.command("submit")
def submit_cmd(
    file: Annotated[Path, typer.Argument(help="Submission CSV (docs/benchmark_submissions.md).")],
    store: Annotated[
        Path, typer.Option("--store", help="Store directory of accepted rows.")
    ] = DEFAULT_STORE,
    fmt: Annotated[OutFmt, typer.Option("--format", help="text | json")] = OutFmt.text,
) -> None:
    """Validate a submission file; append its complete new rows; exit 1 if any is rejected."""
    from infercarbon.benchmark.submissions import SubmissionStore, submit

    report = submit(
        _read(file, "file"),
        SubmissionStore(store),
        now_utc=datetime.now(UTC),
        source_file=str(file),
    )
    if fmt is OutFmt.json:
        print_json(report.to_dict())
    else:
        for line in report.lines():
            print(line)
    if not report.ok:
        raise typer.Exit(1)


@benchmark_app.command("import")
def import_cmd(
    source: Annotated[Source, typer.Option("--from", help="mlenergy | mlperf-power")],
    file: Annotated[Path, typer.Argument(help="The result file to convert.")],
    out: Annotated[Path, typer.Option("--out", help="Submission CSV to write.")],
    region: Annotated[str | None, typer.Option("--region")] = None,
    window_start: Annotated[
        str | None, typer.Option("--window-start", help="UTC, e.g. 2026-11-02T08:00:00Z")
    ] = None,
    window_end: Annotated[str | None, typer.Option("--window-end")] = None,
    hourly_intensity: Annotated[
        Path | None,
        typer.Option("--hourly-intensity", help="CSV hour_start_utc,intensity_g_per_kwh[,source]"),
    ] = None,
    intensity_source: Annotated[str | None, typer.Option("--intensity-source")] = None,
    pue: Annotated[float | None, typer.Option("--pue")] = None,
    pue_source: Annotated[PueSource | None, typer.Option("--pue-source")] = None,
    embodied_method: Annotated[
        str | None, typer.Option("--embodied-method", help="or 'none'")
    ] = None,
    embodied_g: Annotated[float | None, typer.Option("--embodied-g")] = None,
    training_included: Annotated[
        bool | None, typer.Option("--training-included/--training-excluded")
    ] = None,
    training_g: Annotated[float | None, typer.Option("--training-g")] = None,
    submitter: Annotated[str | None, typer.Option("--submitter")] = None,
    licence: Annotated[str | None, typer.Option("--licence")] = None,
    n_inferences: Annotated[int | None, typer.Option("--n-inferences")] = None,
    workload_id: Annotated[str | None, typer.Option("--workload-id")] = None,
    tier: Annotated[str | None, typer.Option("--tier")] = None,
    method: Annotated[
        str | None,
        typer.Option("--method", help="ML.ENERGY only: the accepted method you re-measured with"),
    ] = None,
    method_version: Annotated[str | None, typer.Option("--method-version")] = None,
    fmt: Annotated[OutFmt, typer.Option("--format", help="text | json")] = OutFmt.text,
) -> None:
    """Convert an ML.ENERGY or MLPerf Power result file into submission rows.

    Disclosures the file lacks come from the options; rows still missing one are written but
    reported incomplete (exit 1), never filled with a guess.
    """
    from infercarbon.benchmark.importers import (
        ImportOptions,
        import_mlenergy,
        import_mlperf_power,
        parse_hourly_intensity,
    )
    from infercarbon.benchmark.submissions import write_submission_csv

    hi = (
        parse_hourly_intensity(
            _read(hourly_intensity, "hourly_intensity"), path=str(hourly_intensity)
        )
        if hourly_intensity is not None
        else None
    )
    opts = ImportOptions(
        region=region,
        window_start_utc=_utc_opt(window_start, "window_start"),
        window_end_utc=_utc_opt(window_end, "window_end"),
        hourly_intensity=hi,
        intensity_source=intensity_source,
        pue=pue,
        pue_source=pue_source.value if pue_source else None,
        embodied_method=embodied_method,
        embodied_g=embodied_g,
        training_included=training_included,
        training_g=training_g,
        submitter=submitter,
        licence=licence,
        n_inferences=n_inferences,
        workload_id=workload_id,
        tier=tier,
        energy_method=method,
        energy_method_version=method_version,
    )
    fn = import_mlenergy if source is Source.mlenergy else import_mlperf_power
    res = fn(_read(file, "file"), opts, now_utc=datetime.now(UTC), path=str(file))
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(write_submission_csv(res.rows), encoding="utf-8", newline="")
    except OSError as exc:
        raise InputError(f"cannot write {out}: {exc.strerror or exc}", field="out") from exc
    if fmt is OutFmt.json:
        print_json({**res.to_dict(), "out": str(out)})
    else:
        for line in res.lines():
            print(line)
        print(f"wrote {out}")
    if res.incomplete or res.skipped:
        raise typer.Exit(1)


@benchmark_app.command("publish")
def publish_cmd(
    out_dir: Annotated[
        Path, typer.Option("--out-dir", help="Where to write benchmark.csv and benchmark.md.")
    ] = Path("."),
    store: Annotated[
        Path, typer.Option("--store", help="Submission store to include.")
    ] = DEFAULT_STORE,
    on: Annotated[
        str | None, typer.Option("--date", help="Date printed on the page (default: today, UTC).")
    ] = None,
    samples: Annotated[int, typer.Option("--samples", help="Monte Carlo samples per row.")] = 2_000,
    seed: Annotated[int, typer.Option("--seed", help="Monte Carlo seed.")] = 0,
) -> None:
    """Write the open CSV and the Markdown page (cohort, tiers, grids, results, per-outcome,
    methodology, seed disagreements)."""
    from infercarbon.benchmark.page import publish
    from infercarbon.benchmark.submissions import SubmissionStore

    st = SubmissionStore(store)
    if not st.exists():
        print(f"note: no submission store at {st.path}: no measured rows", file=sys.stderr)
    p = publish(
        out_dir,
        on=_date(on),
        engine_version=__version__,
        store=st if st.exists() else None,
        samples=samples,
        seed_=seed,
    )
    print(f"{p.csv_path}  modelled={p.modelled_rows} measured={p.measured_rows}")
    print(f"{p.markdown_path}  seed disagreements={p.disagreements}")


def register(app: typer.Typer) -> None:
    """The commands attach to ``benchmark_app``, which ``cli.benchmark`` registers."""
    del app
