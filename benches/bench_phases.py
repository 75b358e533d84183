"""Where a scan's time goes, phase by phase, on one worker and on one per CPU.

The scale bench gives one number per scan; this one splits the same scan (`dedup scan FILE --level
document,paragraph` on a generated 200k-document JSONL file) into its phases, so a change to the
two-core speed-up can be aimed at the phase that loses it. Each run is a fresh process that runs
the CLI in-process with a clock around the stage functions (nothing in dedup is changed); worker
counts alternate, and each cell is the median over the runs. Per phase: wall seconds, and the CPU
and minor page faults of the scanning process itself (its workers' CPU is reported as a total).

    python benches/bench_phases.py [--docs 200000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_hashing import machine, write_results  # noqa: E402
from bench_scale import corpus_file  # noqa: E402

# One scan in this process, with a mark (wall, process CPU, faults) at each phase boundary.
_DRIVER = r"""
import json, resource, sys, time
T0 = time.perf_counter()
marks = {}
def mark(name):
    r = resource.getrusage(resource.RUSAGE_SELF)
    marks.setdefault(name, (time.perf_counter() - T0, r.ru_utime + r.ru_stime, r.ru_minflt))
mark("start")
from dedup.__main__ import _no_blas_threads
_no_blas_threads()  # as the console script does, before numpy loads
from dedup.numpy_dispatch import avoid_slow_avx512_sort
avoid_slow_avx512_sort()  # ... and its numpy sorts at AVX2 on Zen 4
from dedup.jit import load_cached_kernels_without_refresh
load_cached_kernels_without_refresh()  # ... and its scan command (cli._kernels_fast_to_load)
import dedup.cli as cli, dedup.engine as engine, dedup.report as report, dedup.scan as scan
from dedup.heap import keep_freed_memory
def after(mod, name, label):
    f = getattr(mod, name)
    def wrapped(*a, **k):
        out = f(*a, **k)
        mark(label)
        return out
    setattr(mod, name, wrapped)
finish = engine.Signer.finish
def finished(self):
    yield from finish(self)
    mark("signed")
engine.Signer.finish = finished
start_pool = engine.Signer._maybe_start_pool
def started(self, *a, **k):
    out = start_pool(self, *a, **k)
    if self._pool is not None:
        mark("forked")
    return out
engine.Signer._maybe_start_pool = started
after(scan, "scan_documents", "clustered")
after(report, "build_report", "reported")
after(cli, "write_output", "written")
keep_freed_memory()  # as the console script does
mark("imported")
path, workers = sys.argv[1:]
code = cli.run(["scan", path, "--id-field", "id", "-f", "json", "-o", "/dev/null", "--workers", workers,
                "--level", "document,paragraph", "--quiet"])
kids = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"code": code, "marks": marks, "workers_cpu": kids.ru_utime + kids.ru_stime}))
"""

# (label, from mark, to mark); "start" is the driver's first line (the CPU and faults of the
# interpreter's own start-up before it are left out).
PHASES = [
    ("start-up: imports", "start", "imported"),
    ("first range, kernels loaded (until the fork)", "imported", "forked"),
    ("reading and signing", "forked", "signed"),
    ("clustering (both levels)", "signed", "clustered"),
    ("report built", "clustered", "reported"),
    ("rendered and written", "reported", "written"),
    ("whole scan", "start", "written"),
]


def run_once(path: Path, workers: int) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", _DRIVER, str(path), str(workers)], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"scan failed: {done.stderr.strip()}")
    out = json.loads(done.stdout.strip().splitlines()[-1])
    if out["code"] != 0:
        raise SystemExit(f"scan exited {out['code']}")
    marks = out["marks"]
    marks.setdefault("forked", marks["imported"])  # one worker: no pool, the phase is empty
    phases = {}
    for label, a, b in PHASES:
        (t0, c0, f0), (t1, c1, f1) = marks[a], marks[b]
        phases[label] = (t1 - t0, c1 - c0, f1 - f0)
    return {"phases": phases, "workers_cpu": out["workers_cpu"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--docs", type=int, default=200_000)
    ap.add_argument("--workers", default=f"1,{os.cpu_count() or 1}")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--data", type=Path, default=Path("/tmp/dedup-bench-data"))
    ap.add_argument("--out", type=Path, default=ROOT / "benches" / "results" / "phases.md")
    args = ap.parse_args()
    args.data.mkdir(parents=True, exist_ok=True)
    path = corpus_file(args.docs, args.data)
    counts = sorted({int(w) for w in args.workers.split(",")})
    run_once(corpus_file(1000, args.data), 1)  # the numba cache is warm before any timed run
    runs: dict[int, list[dict]] = {w: [] for w in counts}
    for _ in range(args.repeats):
        for w in counts:
            runs[w].append(run_once(path, w))
            total = runs[w][-1]["phases"]["whole scan"][0]
            print(f"  {w} workers: {total:.2f} s", file=sys.stderr)

    def median(w: int, label: str, i: int) -> float:
        return statistics.median(r["phases"][label][i] for r in runs[w])

    head = " | ".join(f"{w} worker{'s' if w > 1 else ''}: s, CPU s, faults" for w in counts)
    lines = [
        "# A scan's phases",
        "",
        f"Machine: {machine()}. `dedup scan` of {args.docs:,} generated documents (JSONL, ~450 words,",
        "5% planted near-duplicates) at the document and paragraph levels, run in-process with a clock",
        f"at each phase boundary; medians of {args.repeats} runs, worker counts alternating. CPU and",
        "faults are the scanning process's own (its workers' CPU is the last row). On one worker there",
        "is no fork: the kernels load in the first batch of reading and signing.",
        "",
        f"| phase | {head} | x wall |",
        "| --- | " + " | ".join("---:" for _ in counts) + " | ---: |",
    ]
    for label, _, _ in PHASES:
        cells = [
            f"{median(w, label, 0):.2f}, {median(w, label, 1):.2f}, {median(w, label, 2) / 1000:,.0f}k"
            for w in counts
        ]
        lo, hi = median(counts[0], label, 0), median(counts[-1], label, 0)
        ratio = f"{lo / hi:.2f}" if min(lo, hi) > 0.005 else ""
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {ratio} |")
    workers_cpu = " | ".join(f"{statistics.median(r['workers_cpu'] for r in runs[w]):.2f}" for w in counts)
    lines.append(f"| workers' CPU s | {workers_cpu} | |")
    write_results("\n".join(lines) + "\n", args.out)


if __name__ == "__main__":
    main()
