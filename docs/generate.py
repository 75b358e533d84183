"""Regenerate the README's generated sections: the CLI reference (from typer) and the LSH S-curves.

    python docs/generate.py          # rewrite README.md in place
    python docs/generate.py --check  # exit 1 if README.md is out of date (the test suite runs this)

Sections live between `<!-- generated:NAME -->` and `<!-- /generated:NAME -->` markers.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"


def cli_reference() -> str:
    """typer's own Markdown docs of the `dedup` app, headings pushed down two levels."""
    done = subprocess.run(
        [sys.executable, "-m", "typer", "dedup.cli", "utils", "docs", "--name", "dedup"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    text = re.sub(r"^(#+) ", lambda m: "#" * (len(m.group(1)) + 2) + " ", done.stdout, flags=re.M)
    return text.strip() + "\n"


def s_curves() -> str:
    """The bands x rows dedup picks for common settings, and P(candidate) along the similarity axis."""
    from dedup.lsh import candidate_probability, optimal_bands, recall_target

    sims = [0.3, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 1.0]
    lines = [
        "| threshold | num_perm | bands x rows | " + " | ".join(f"P at {s:.2f}" for s in sims) + " |",
        "| ---: | ---: | ---: | " + " | ".join("---:" for _ in sims) + " |",
    ]
    for t, k in [(0.5, 128), (0.7, 128), (0.8, 64), (0.8, 128), (0.8, 256), (0.9, 128), (0.95, 128)]:
        b, r = optimal_bands(t, k)
        probs = " | ".join(f"{float(candidate_probability(s, b, r)):.3f}" for s in sims)
        lines.append(f"| {t} | {k} | {b} x {r} | {probs} |")
    b, r = optimal_bands(0.8, 128)
    plot = [
        "",
        "The default (threshold 0.8, 128 permutations: "
        f"{b} bands x {r} rows), P(candidate) against Jaccard similarity:",
        "",
        "```",
    ]
    for p in (1.0, 0.8, 0.6, 0.4, 0.2, 0.0):
        row = "".join(
            "#" if float(candidate_probability(x / 50, b, r)) >= p - 0.1 else " " for x in range(51)
        )
        plot.append(f"{p:4.1f} |{row}")
    plot.append("     +" + "-" * 51)
    plot.append("      0.0       0.2       0.4       0.6       0.8       1.0")
    plot.append("```")
    target = recall_target(0.8)
    note = [
        "",
        f"At the recall target ({target:.2f} for threshold 0.8) a pair becomes a candidate with probability "
        f"{float(candidate_probability(target, b, r)):.3f}; every candidate is then verified exactly, so the",
        "left tail costs only verification time, never a wrong answer.",
    ]
    return "\n".join(lines + plot + note) + "\n"


SECTIONS = {"cli": cli_reference, "s-curve": s_curves}


def render(readme: str) -> str:
    for name, make in SECTIONS.items():
        pattern = re.compile(rf"(<!-- generated:{name} -->\n).*?(<!-- /generated:{name} -->)", re.S)
        if not pattern.search(readme):
            raise SystemExit(f"README.md has no generated:{name} section")
        body = make()
        readme = pattern.sub(lambda m, body=body: m.group(1) + body + m.group(2), readme)
    return readme


def main() -> None:
    current = README.read_text(encoding="utf-8")
    fresh = render(current)
    if "--check" in sys.argv:
        if fresh != current:
            raise SystemExit("README.md is out of date: run `python docs/generate.py`")
        return
    README.write_text(fresh, encoding="utf-8")


if __name__ == "__main__":
    main()
