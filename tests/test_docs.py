"""The README's generated sections (CLI reference, S-curves) must match the code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_readme_generated_sections_are_current():
    done = subprocess.run(
        [sys.executable, str(ROOT / "docs" / "generate.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def test_readme_screenshots_exist():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in ("docs/report-seeds-overview.png", "docs/report-seeds-document.png"):
        assert f"]({name})" in readme and (ROOT / name).stat().st_size > 10_000
