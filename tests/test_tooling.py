"""The checks the configuration claims are the checks that run: pre-commit runs tools/check's
commands, the docs site lists every page, the slow marker and the coverage floor exist."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _check_commands() -> list[str]:
    """Each `echo "== step"; command` of tools/check, with the indented command lines under it
    joined by ` && ` (the ruff step runs `ruff check`, then `ruff format --check`)."""
    steps: list[str] = []
    for line in (ROOT / "tools" / "check").read_text("utf-8").splitlines():
        if line.startswith('echo "=='):
            steps.append(line.split(";", 1)[1].strip())
        elif steps and line.startswith(" ") and line.strip():
            steps[-1] += " && " + line.strip()
    return steps


def _unwrapped(entry: str) -> str:
    """A hook's command without its `bash -c "..."` wrapper."""
    prefix = 'bash -c "'
    return entry[len(prefix) : -1] if entry.startswith(prefix) else entry


def test_pre_commit_runs_the_same_checks_as_tools_check() -> None:
    yaml = pytest.importorskip("yaml")
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text("utf-8"))
    assert [r["repo"] for r in config["repos"]] == ["local"]  # nothing fetched
    entries = {h["id"]: _unwrapped(h["entry"]) for h in config["repos"][0]["hooks"]}
    commands = _check_commands()
    assert commands[:5] == [
        entries["ruff"],
        entries["format"],
        entries["mypy"],
        entries["import-layers"],
        entries["docs"],
    ]
    assert commands[5].startswith("python -m pytest")
    assert entries["pytest"].startswith("python -m pytest")
    assert "--cov" in commands[5]


def test_the_docs_site_lists_every_page() -> None:
    yaml = pytest.importorskip("yaml")
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text("utf-8"))
    assert config["strict"] is True
    assert config["theme"]["font"] is False  # no remote fonts: the site builds offline

    def pages(nav: object) -> list[str]:
        if isinstance(nav, str):
            return [nav]
        if isinstance(nav, list):
            return [p for item in nav for p in pages(item)]
        if isinstance(nav, dict):
            return [p for v in nav.values() for p in pages(v)]
        return []

    listed = set(pages(config["nav"]))
    docs = ROOT / "docs"
    on_disk = {str(p.relative_to(docs)) for p in docs.rglob("*.md")}
    assert on_disk == listed, (on_disk - listed, listed - on_disk)
    for name in (
        "quickstart.md",
        "tutorials/fastapi.md",
        "tutorials/dashboard.md",
        "tutorials/quarterly_report.md",
        "tutorials/marginal_factors.md",
        "reference/api.md",
        "architecture.md",
        "data_sources.md",
    ):
        assert name in listed


def test_docs_do_not_point_outside_the_repository() -> None:
    for path in [ROOT / "README.md", *(ROOT / "docs").rglob("*.md")]:
        assert "../shared" not in path.read_text("utf-8"), path


def test_slow_marker_and_coverage_floor() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    pytest_cfg = config["tool"]["pytest"]["ini_options"]
    assert any(m.startswith("slow:") for m in pytest_cfg["markers"])
    assert "src/infercarbon" in pytest_cfg["testpaths"]  # the doctests run
    assert "--doctest-modules" in pytest_cfg["addopts"]
    assert config["tool"]["coverage"]["report"]["fail_under"] >= 70
    extras = config["project"]["optional-dependencies"]
    assert "pytest-cov>=5" in extras["test"]
    assert any("docs" in d for d in extras["test"])


def test_mypy_checks_the_tests_and_benchmarks() -> None:
    """`mypy` (tools/check, pre-commit) reads its files from pyproject: the package strictly,
    the tests and benchmarks with their bodies checked."""
    mypy = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["tool"]["mypy"]
    assert mypy["strict"] is True
    assert {"src/infercarbon", "tests", "benchmarks"} <= set(mypy["files"])
    assert mypy["explicit_package_bases"] is True  # the conftest.py files do not clash
    (relaxed,) = [o for o in mypy["overrides"] if "tests.*" in o["module"]]
    assert relaxed["check_untyped_defs"] is True
    assert "benchmarks.*" in relaxed["module"]


def test_complexity_limit_is_on_and_its_exceptions_are_few() -> None:
    """C901/PLR0912 at 15, and no file of the package is exempt."""
    lint = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["tool"]["ruff"]["lint"]
    assert {"C901", "PLR0912"} <= set(lint["select"])
    assert lint["mccabe"]["max-complexity"] <= 15
    assert lint["pylint"]["max-branches"] <= 15
    exempt_src = {
        path
        for path, codes in lint["per-file-ignores"].items()
        if path.startswith("src/") and {"C901", "PLR0912"} & set(codes)
    }
    assert exempt_src == set()
