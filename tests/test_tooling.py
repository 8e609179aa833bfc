"""The checks the configuration claims are the checks that run: pre-commit runs tools/check's
commands, the docs site lists every page, the slow marker and the coverage floor exist."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _check_commands() -> list[str]:
    lines = (ROOT / "tools" / "check").read_text("utf-8").splitlines()
    return [line.split(";", 1)[1].strip() for line in lines if line.startswith('echo "==')]


def test_pre_commit_runs_the_same_checks_as_tools_check() -> None:
    yaml = pytest.importorskip("yaml")
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text("utf-8"))
    assert [r["repo"] for r in config["repos"]] == ["local"]  # nothing fetched
    entries = {h["id"]: h["entry"] for h in config["repos"][0]["hooks"]}
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
