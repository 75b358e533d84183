"""Shared fixtures: the seed corpus and an in-process CLI runner that returns (code, stdout, stderr)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

from dedup.cli import run

# In CI the property tests draw the same examples every run (a red build must be reproducible);
# locally each run explores new ones.
settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"


@pytest.fixture(scope="session")
def seeds_dir() -> Path:
    return SEEDS


@pytest.fixture
def cli(capsys, monkeypatch):
    """Run `dedup ARGS...` in-process (the same `run` the console script calls)."""

    def invoke(*args: str, cwd: Path | None = None) -> tuple[int, str, str]:
        if cwd is not None:
            monkeypatch.chdir(cwd)
        code = run(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    return invoke
