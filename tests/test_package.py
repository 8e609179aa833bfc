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
        "heavy = [m for m in ('numpy', 'pyarrow', 'duckdb', 'typer', 'rich', 'httpx') "
        "if m in sys.modules]; print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "", f"import infercarbon pulled in: {out.stdout.strip()}"


def test_unknown_attribute_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="does_not_exist"):
        infercarbon.does_not_exist  # noqa: B018
