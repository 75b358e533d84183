"""Before and after: the same end-to-end `dedup scan` from two git revisions, run in alternation.

On a shared machine a scan's time drifts by tens of percent over minutes, so two revisions timed
an hour apart (or in two bench runs) cannot be compared; run alternately, they see the same
machine. Each revision is checked out into a temporary worktree and run from there with this
venv's Python (its numba cache is built by a first, untimed run).

    python benches/compare_revisions.py BEFORE [AFTER=working tree] [--docs 200000] [--repeats 3]
        [--cyrillic] [--levels document,paragraph]

--cyrillic scans the same generated corpus with its Latin letters replaced by Cyrillic ones (the
planted duplicates kept, every word non-ASCII). Both revisions' reports of the corpus, on each
number of workers, are also compared byte for byte, and the result printed under the table.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_real_text import in_cyrillic  # noqa: E402
from bench_scale import corpus_file  # noqa: E402


def cyrillic_file(plain: Path) -> Path:
    """The corpus file with its texts in Cyrillic letters, written next to it once."""
    import orjson

    out = plain.with_name(plain.stem + "-cyrillic.jsonl")
    if not out.exists():
        tmp = out.with_suffix(".tmp")
        with plain.open("rb") as src, tmp.open("wb") as dst:
            for line in src:
                record = orjson.loads(line)
                record["text"] = in_cyrillic(record["text"])
                dst.write(orjson.dumps(record) + b"\n")
        tmp.rename(out)
    return out


def scan_seconds(
    src: Path, corpus: Path, workers: int, out: str = "/dev/null", levels: str = "document,paragraph"
) -> float:
    cmd = [sys.executable, "-m", "dedup", "scan", str(corpus), "--id-field", "id", "-f", "json"]
    cmd += ["-o", out, "-q", "--workers", str(workers), "--level", levels]
    t0 = time.perf_counter()
    subprocess.run(cmd, cwd=src, check=True, env={**os.environ, "PYTHONPATH": str(src)})
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("before")
    ap.add_argument("after", nargs="?", help="a revision (default: the working tree)")
    ap.add_argument("--docs", type=int, default=200_000)
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--data", type=Path, default=Path("/tmp/dedup-bench-data"))
    ap.add_argument("--cyrillic", action="store_true", help="the corpus in Cyrillic letters")
    ap.add_argument("--levels", default="document,paragraph", help="the scan's --level")
    args = ap.parse_args()
    args.data.mkdir(parents=True, exist_ok=True)
    letters = cyrillic_file if args.cyrillic else (lambda path: path)
    corpus = letters(corpus_file(args.docs, args.data))
    with tempfile.TemporaryDirectory() as tmp:
        sources = {}
        for label, rev in (("before", args.before), ("after", args.after)):
            if rev is None:
                sources[label] = ROOT
                continue
            tree = Path(tmp) / label
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "add", "-q", "--detach", str(tree), rev], check=True
            )
            sources[label] = tree
        try:
            workers = [int(w) for w in args.workers.split(",")]
            for src in sources.values():  # compile or load the kernels before timing
                scan_seconds(src, letters(corpus_file(1000, args.data)), 1)
            times: dict[tuple[str, int], list[float]] = {}
            for _ in range(args.repeats):
                for w in workers:
                    for label, src in sources.items():
                        times.setdefault((label, w), []).append(scan_seconds(src, corpus, w, levels=args.levels))
            print(f"| revision | workers | median s ({args.repeats} runs, {args.docs:,} docs) | runs |")
            print("| --- | ---: | ---: | --- |")
            for (label, w), ts in times.items():
                rev = args.before if label == "before" else (args.after or "working tree")
                print(f"| {rev} | {w} | {statistics.median(ts):.2f} | {', '.join(f'{t:.2f}' for t in ts)} |")
            print()
            for w in workers:
                reports = [Path(tmp) / f"{label}-{w}.json" for label in sources]
                for src, report in zip(sources.values(), reports, strict=True):
                    scan_seconds(src, corpus, w, str(report), levels=args.levels)
                same = reports[0].read_bytes() == reports[1].read_bytes()
                print(f"reports of {corpus.name} on {w} workers: {'byte-identical' if same else 'DIFFERENT'}")
        finally:
            for src in sources.values():
                if src != ROOT:
                    subprocess.run(
                        ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(src)], check=False
                    )


if __name__ == "__main__":
    main()
