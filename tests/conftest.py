"""Shared fixtures: the seed corpus and an in-process CLI runner that returns (code, stdout, stderr)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from hypothesis import settings

from dedup.cli import run

# In CI the property tests draw the same examples every run (a red build must be reproducible);
# locally each run explores new ones. No deadline in either: an example's time is not behaviour,
# and the first call of a kernel (loading it from numba's disk cache, ~0.4 s) tripped the default
# 200 ms deadline as a "flaky" failure on a busy machine.
settings.register_profile("dev", deadline=None)
settings.register_profile("ci", derandomize=True, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")

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


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium, headless, through Playwright: skipped when it is absent, except in CI
    (.ci/run installs it), where a missing browser fails every test that needs it."""
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed (.ci/run installs Debian's chromium)")
        pytest.skip("chromium not installed")
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()
