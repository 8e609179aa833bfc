"""The public surface: a pinned, sorted __all__ and a fast import without numpy."""

from __future__ import annotations

import subprocess
import sys

import pytest

import infercarbon


def test_all_is_sorted_and_pinned() -> None:
    assert infercarbon.__all__ == sorted(infercarbon.__all__)
    for name in infercarbon.__all__:
        assert getattr(infercarbon, name) is not None


def test_import_is_light() -> None:
    code = (
        "import sys, infercarbon; "
        "heavy = [m for m in ('numpy', 'pyarrow', 'duckdb', 'typer', 'rich', 'httpx', 'pydantic') "
        "if m in sys.modules]; print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"import infercarbon pulled in: {out.stdout.strip()}"


def test_the_meter_does_not_import_the_ledger() -> None:
    """Metering in an application needs no ledger: ``infercarbon.Meter`` leaves DuckDB and
    the ledger package unimported until a run is recorded (``Meter.run``)."""
    code = (
        "import sys; from infercarbon import Meter; "
        "print(','.join(m for m in ('duckdb', 'infercarbon.ledger', 'pydantic') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"from infercarbon import Meter pulled in: {out.stdout}"


def test_pydantic_is_imported_only_where_a_file_is_validated() -> None:
    """The declarative validation (instruments files, benchmark submissions) imports
    pydantic where it runs: neither the CLI's start nor the instruments module pulls it in."""
    code = (
        "import sys; import infercarbon.cli.main, infercarbon.grid.instruments; "
        "print('pydantic' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_unknown_attribute_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="does_not_exist"):
        infercarbon.does_not_exist  # noqa: B018


def test_one_version_source() -> None:
    """pyproject's version is dynamic, read from ``__version__``; the metadata agrees."""
    import tomllib
    from importlib.metadata import version
    from pathlib import Path

    pyproject = tomllib.loads(
        (Path(__file__).resolve().parents[1] / "pyproject.toml").read_text("utf-8")
    )
    assert "version" not in pyproject["project"]
    assert pyproject["project"]["dynamic"] == ["version"]
    assert pyproject["tool"]["hatch"]["version"]["path"] == "src/infercarbon/_version.py"
    assert version("infercarbon") == infercarbon.__version__


def test_license_and_changelog_ship() -> None:
    import tomllib
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    project = tomllib.loads((root / "pyproject.toml").read_text("utf-8"))["project"]
    assert project["license"] == "Apache-2.0"
    assert project["license-files"] == ["LICENSE"]
    assert "Apache License" in (root / "LICENSE").read_text("utf-8")
    assert "## [Unreleased]" in (root / "CHANGELOG.md").read_text("utf-8")
    for name in ("Homepage", "Documentation", "Source", "Issues", "Changelog"):
        assert project["urls"][name].startswith("https://")
