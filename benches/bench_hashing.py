"""Text -> MinHash signature throughput: dedup against datasketch, rensa and gaoya, in one run.

Every row runs in a fresh subprocess (single thread) on the same deterministic corpus, so its peak
RSS is its own and a slow peer cannot warm caches for a fast one. Times are medians of several
repeats; ratios are against peers measured in this same run, because the machine is shared and
absolute numbers drift.

    python benches/bench_hashing.py [--docs 20000] [--repeats 5] [--out benches/results/hashing.md]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NGRAM = 5
# Rows: name -> (k, fraction of the corpus it runs on). datasketch's update() is ~200x slower than
# the rest, so it runs on a slice and its rate is per document like every other row.
ROWS: dict[str, tuple[int, float]] = {
    "dedup classic k=128": (128, 1.0),
    "dedup oph k=128": (128, 1.0),
    "dedup classic k=256": (256, 1.0),
    "dedup oph k=256": (256, 1.0),
    "dedup tokenize+hash only": (128, 1.0),
    "datasketch update() k=128": (128, 0.02),
    "datasketch bulk k=128": (128, 0.2),
    "rensa RMinHash k=128": (128, 1.0),
    "rensa RMinHash k=256": (256, 1.0),
    "gaoya bulk_hash_docs k=128": (128, 1.0),
    "gaoya bulk_hash_docs k=256": (256, 1.0),
}
PEERS = ("rensa", "gaoya")
_WORD = re.compile(r"\w+")


def corpus(n_docs: int) -> list[str]:
    """The generated corpus (Zipf vocabulary, planted near-duplicates) plus the seed articles."""
    from dedup.synth import make_corpus

    seeds = [p.read_text(encoding="utf-8") for p in sorted((ROOT / "seeds").iterdir())]
    return make_corpus(n_docs, seed=0).texts + seeds


def python_shingles(text: str) -> list[str]:
    """How a peer that takes strings gets shingles from raw text: the fast pure-Python way."""
    toks = _WORD.findall(text.lower())
    width = min(NGRAM, len(toks)) or 1
    return [" ".join(toks[i : i + width]) for i in range(max(len(toks) - width + 1, 0))]


def make_runner(name: str, k: int) -> Callable[[list[str]], object]:
    if name.startswith("dedup tokenize"):
        import dedup
        from dedup.text import tokenize_batch

        def run(texts):  # the same batching as dedup.signatures, minus shingles and MinHash
            for i in range(0, len(texts), dedup._BATCH):
                tokenize_batch(texts[i : i + dedup._BATCH], hashes_only=True)

        return run
    if name.startswith("dedup"):
        import dedup

        method = "oph" if "oph" in name else "classic"
        return lambda texts: dedup.signatures(texts, num_perm=k, ngram=NGRAM, method=method)
    if name.startswith("datasketch update"):
        from datasketch import MinHash

        def run(texts):
            for t in texts:
                m = MinHash(num_perm=k, seed=1)
                for s in python_shingles(t):
                    m.update(s.encode("utf-8"))

        return run
    if name.startswith("datasketch bulk"):
        from datasketch import MinHash

        return lambda texts: MinHash.bulk(
            [[s.encode("utf-8") for s in python_shingles(t)] for t in texts], num_perm=k
        )
    if name.startswith("rensa"):
        from rensa import RMinHash

        def run(texts):
            for t in texts:
                m = RMinHash(num_perm=k, seed=1)
                m.update(python_shingles(t))
                m.digest()

        return run
    if name.startswith("gaoya"):
        from gaoya.minhash import m as gm

        rows = 8
        index = gm.MinHash32StringIntIndexVec(0.8, k // rows, rows, k, "word", True, (NGRAM, NGRAM))
        return index.bulk_hash_docs
    raise ValueError(name)


def measure_row(name: str, n_docs: int, repeats: int) -> dict:
    """Run one row in this process: median seconds over repeats, on its share of the corpus."""
    k, fraction = ROWS[name]
    texts = corpus(n_docs)
    texts = texts[: max(50, int(len(texts) * fraction))]
    try:
        run = make_runner(name, k)
    except ImportError as exc:
        return {"name": name, "skipped": f"not installed ({exc.name})"}
    run(texts[:200])  # warm-up: JIT compile / load caches, excluded from timing
    times = []
    for _ in range(repeats if fraction >= 0.2 else 1):
        t0 = time.perf_counter()
        run(texts)
        times.append(time.perf_counter() - t0)
    secs = statistics.median(times)
    n_bytes = sum(len(t.encode("utf-8")) for t in texts)
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "name": name,
        "docs": len(texts),
        "seconds": secs,
        "docs_per_s": len(texts) / secs,
        "mb_per_s": n_bytes / secs / 1e6,
        "peak_rss_mb": peak_kb / 1024,
    }


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, single thread per row"


def write_results(text: str, out: Path) -> None:
    """Every benchmark ends the same way: its markdown table into benches/results/, and on stdout."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print(text)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--docs", type=int, default=20000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out", type=Path, default=ROOT / "benches" / "results" / "hashing.md")
    ap.add_argument("--row", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.row:
        print(json.dumps(measure_row(args.row, args.docs, args.repeats)))
        return
    env = {**os.environ, "RAYON_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    results = []
    for name in ROWS:
        done = subprocess.run(
            [
                sys.executable,
                __file__,
                "--row",
                name,
                "--docs",
                str(args.docs),
                "--repeats",
                str(args.repeats),
            ],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        if done.returncode != 0:
            results.append({"name": name, "skipped": f"failed: {done.stderr.strip().splitlines()[-1:]}"})
        else:
            results.append(json.loads(done.stdout.strip().splitlines()[-1]))
        print(f"  {name}: {results[-1].get('docs_per_s', results[-1].get('skipped'))}", file=sys.stderr)
    measured = {r["name"]: r for r in results if "docs_per_s" in r}
    base = measured.get("datasketch update() k=128", {}).get("docs_per_s")
    lines = [
        f"# Hashing: text -> MinHash signature ({args.docs} generated docs of ~450 words + 5 seeds, word {NGRAM}-grams)",
        "",
        f"Machine: {machine()}. Median of {args.repeats} runs; ratios against peers in the same run.",
        "Peers get shingles from raw text the fast pure-Python way (regex words, lowercase, join); "
        "gaoya tokenizes in Rust.",
        "",
        "| row | docs | docs/s | MB/s | x datasketch update() | x fastest peer (same k) | peak RSS MB |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        if "skipped" in r:
            lines.append(f"| {r['name']} | | skipped: {r['skipped']} | | | | |")
            continue
        k = ROWS[r["name"]][0]
        peer_rates = [v["docs_per_s"] for n, v in measured.items() if n.split()[0] in PEERS and f"k={k}" in n]
        vs_base = f"{r['docs_per_s'] / base:.0f}" if base else "n/a"
        vs_peer = f"{r['docs_per_s'] / max(peer_rates):.2f}" if peer_rates else "n/a"
        lines.append(
            f"| {r['name']} | {r['docs']} | {r['docs_per_s']:,.0f} | {r['mb_per_s']:.1f} | {vs_base} | {vs_peer} "
            f"| {r['peak_rss_mb']:.0f} |"
        )
    write_results("\n".join(lines) + "\n", args.out)


if __name__ == "__main__":
    main()
