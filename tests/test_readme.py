"""Every shell example of the README runs as written.

The fenced ``bash``/``sh``/``console`` blocks are run in order, in one temporary directory (so
the ledger the demo block records is the one the later blocks read), each ``infercarbon ...``
command through a shell (redirections and ``$(...)`` as a user's shell runs them) against this
checkout.  A block preceded by ``<!-- readme-test: skip (REASON) -->`` is not run (it installs
packages or serves until Ctrl-C); every other line of a block must be an ``infercarbon``
command, so nothing is skipped silently.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

import infercarbon

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
SKIP = re.compile(r"<!--\s*readme-test:\s*skip\s*\((?P<why>[^)]+)\)\s*-->")
FENCE = re.compile(r"^```(?P<lang>[a-z]*)\s*$")


@dataclass(frozen=True)
class Command:
    line: int
    text: str
    skip: str | None


def readme_commands(text: str) -> list[Command]:
    """The README's shell commands (continuations joined, comments dropped), in order."""
    out: list[Command] = []
    lines = text.splitlines()
    i, skip = 0, None
    while i < len(lines):
        m_skip = SKIP.search(lines[i])
        if m_skip:
            skip = m_skip.group("why")
            i += 1
            continue
        m = FENCE.match(lines[i])
        if not m:
            if lines[i].strip():
                skip = None  # a skip marker applies to the block right after it only
            i += 1
            continue
        lang, start = m.group("lang"), i
        i += 1
        body: list[tuple[int, str]] = []
        while not lines[i].startswith("```"):
            body.append((i + 1, lines[i]))
            i += 1
        i += 1
        if lang in ("bash", "sh", "console"):
            pending, first = "", 0
            for no, raw in body:
                line = raw.removeprefix("$ ") if lang == "console" else raw
                if not pending and (not line.strip() or line.lstrip().startswith("#")):
                    continue
                first = first or no
                if line.rstrip().endswith("\\"):
                    pending += line.rstrip()[:-1] + " "
                    continue
                out.append(Command(first, " ".join((pending + line).split()), skip))
                pending, first = "", 0
            assert not pending, f"README line {start + 1}: a block ends in a continuation"
        skip = None
    return out


COMMANDS = readme_commands(README.read_text("utf-8"))


def test_the_readme_has_shell_examples_and_no_links_outside_the_repository() -> None:
    text = README.read_text("utf-8")
    assert "../" not in text
    run = [c for c in COMMANDS if c.skip is None]
    assert len(run) >= 15
    for c in run:
        assert c.text.startswith("infercarbon "), (
            f"README line {c.line}: {c.text!r} is not an infercarbon command; mark its block "
            "<!-- readme-test: skip (why) --> if it must not run"
        )
    assert all(c.skip for c in COMMANDS if "pip install" in c.text or " serve " in c.text + " ")


@pytest.mark.slow
def test_every_readme_shell_example_runs(tmp_path: Path) -> None:
    if shutil.which("bash") is None:
        pytest.skip("needs bash")
    src = Path(infercarbon.__file__).resolve().parent.parent
    bindir = tmp_path / "bin"
    bindir.mkdir()
    shim = bindir / "infercarbon"  # this checkout's CLI, whatever is installed
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m infercarbon.cli.main "$@"\n')
    shim.chmod(0o755)
    work = tmp_path / "work"
    (work / "docs").mkdir(parents=True)
    shutil.copytree(ROOT / "docs" / "examples", work / "docs" / "examples")
    env = {
        **os.environ,
        "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONPATH": os.pathsep.join([str(src), os.environ.get("PYTHONPATH", "")]),
        "COLUMNS": "80",
    }
    env.pop("INFERCARBON_LEDGER", None)
    env.pop("INFERCARBON_KEY", None)
    failures = []
    for c in COMMANDS:
        if c.skip is not None:
            continue
        r = subprocess.run(
            ["bash", "-c", "set -o pipefail; " + c.text],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if r.returncode != 0:
            failures.append(
                f"README line {c.line}: {c.text}\n  exit {r.returncode}: {r.stderr.strip()[-500:]}"
            )
    assert not failures, "\n".join(failures)
    assert (work / "report.html").stat().st_size > 1000
    assert (work / "footprints.csv").read_text("utf-8").count("\n") == 4


@pytest.mark.parametrize(
    "command", [c for c in COMMANDS if c.skip is not None], ids=lambda c: f"line{c.line}"
)
def test_readme_examples_not_run_here(command: Command) -> None:
    """The README's examples that install packages or serve until Ctrl-C, listed with why."""
    pytest.skip(f"README line {command.line}: {command.text!r}: {command.skip}")
