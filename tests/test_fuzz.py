"""The atheris fuzz target (fuzz/fuzz_readers.py) runs for a bounded time on every test run."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_fuzz_readers_and_filter_for_a_bounded_time(tmp_path):
    pytest.importorskip("atheris")
    corpus = tmp_path / "corpus"
    shutil.copytree(ROOT / "fuzz" / "corpus", corpus)
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "fuzz" / "fuzz_readers.py"),
            "-max_total_time=25",
            "-timeout=120",  # a stuck input is reported, with the Python stack, instead of hanging
            "-max_len=2048",
            # In CI the same inputs every run, as for hypothesis (a red build must be reproducible).
            *(["-seed=1"] if os.environ.get("CI") else []),
            str(corpus),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    crashes = [p.read_bytes() for p in tmp_path.glob("crash-*")]
    assert done.returncode == 0 and not crashes, (crashes, done.stderr[-3000:])
    assert "Done" in done.stderr
