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


def test_readme_options_table_lists_every_scan_option():
    """The hand-written options table under "Usage" names every `dedup scan` option (the generated
    CLI reference has them all too, but the table is what people read first)."""
    import re

    import typer.main

    from dedup.cli import app

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    usage = readme.split("## Usage", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in usage.splitlines() if line.startswith("| `")]
    listed = {opt for row in rows for opt in re.findall(r"`(--?[a-z][a-z-]*)`", row.split(" | ")[0])}
    scan = typer.main.get_command(app).commands["scan"]
    options = {o for p in scan.params if not p.hidden for o in p.opts if o.startswith("--")}
    assert options - {"--help"} <= listed, sorted(options - listed)
    fmt_row = next(r for r in rows if "`--format`" in r)
    assert all(f"`{f}`" in fmt_row for f in ("table", "json", "jsonl", "csv", "html"))
