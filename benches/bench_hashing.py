"""Text -> MinHash signature throughput: dedup against datasketch, rensa and gaoya, in one run.

Speed: all rows run in one single-threaded process, interleaved in rounds; each round gives every
row the same chunk of the deterministic corpus (a slice of it for datasketch, which is ~300x
slower), in a rotating order. A row's rate is its median over the rounds, and each ratio is the
median of the per-round ratios: the machine is shared, and its slow spells, which last seconds,
then fall on both sides of a ratio instead of on whichever rows happened to run during them (a
row per process in sequence gave ratios that moved by 2x between runs).

Memory: every row also runs once in a fresh subprocess over the whole corpus, so its peak RSS is
its own.

    python benches/bench_hashing.py [--docs 20000] [--rounds 22] [--chunk 4000] [--out ...]
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
        from dedup.workspace import thread_workspace

        def run(texts):  # the same batching and workspace as dedup.signatures, minus shingles and MinHash
            ws = thread_workspace()
            for i in range(0, len(texts), dedup._BATCH):
                tokenize_batch(texts[i : i + dedup._BATCH], ws, hashes_only=True)

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


def measure_paired(n_docs: int, rounds: int, chunk: int) -> dict:
    """All rows in this process, interleaved: per round, every row on the same chunk of documents
    (its fraction of it), rows in a rotating order. Rates and ratios are medians over rounds."""
    texts = corpus(n_docs)
    runners, skipped = {}, {}
    for name, (k, _) in ROWS.items():
        try:
            runners[name] = make_runner(name, k)
        except ImportError as exc:
            skipped[name] = f"not installed ({exc.name})"
    for run in runners.values():
        run(texts[:200])  # warm-up: JIT compile / load caches, excluded from timing
    names = list(runners)
    per_doc: dict[str, list[float]] = {n: [] for n in names}  # seconds per document, per round
    n_bytes: dict[str, list[int]] = {n: [] for n in names}
    for r in range(rounds):
        at = (r * chunk) % max(len(texts) - chunk, 1)
        part = texts[at : at + chunk]
        for i in range(len(names)):
            name = names[(i + r) % len(names)]
            docs = part[: max(5, int(len(part) * ROWS[name][1]))]
            runners[name](docs[:20])  # caches warm for this row, not for the one before it
            t0 = time.perf_counter()
            runners[name](docs)
            per_doc[name].append((time.perf_counter() - t0) / len(docs))
            n_bytes[name].append(sum(len(t.encode("utf-8")) for t in docs) // len(docs))

    def ratio(num: str | None, den: str) -> float | None:
        if num is None or num not in per_doc:
            return None
        return statistics.median(a / b for a, b in zip(per_doc[num], per_doc[den], strict=True))

    base = "datasketch update() k=128"
    tok = "dedup tokenize+hash only"
    rows = {}
    for name in names:
        k = ROWS[name][0]
        peers = [p for p in names if p.split()[0] in PEERS and f"k={k}" in p]
        fastest = min(peers, key=lambda p: statistics.median(per_doc[p])) if peers else None
        spd = statistics.median(per_doc[name])
        rows[name] = {
            "round_docs": max(5, int(chunk * ROWS[name][1])),
            "docs_per_s": 1 / spd,
            "mb_per_s": statistics.median(n_bytes[name]) / spd / 1e6,
            "x_datasketch_update": ratio(base, name),
            "x_fastest_peer": ratio(fastest, name),
            "minhash_on_top": (ratio(name, tok) - 1)
            if name.startswith("dedup") and name != tok and tok in per_doc
            else None,
        }
    return {"rows": rows, "skipped": skipped}


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
    ap.add_argument("--repeats", type=int, default=1, help="timed runs of a --row (memory) run")
    ap.add_argument("--rounds", type=int, default=22, help="interleaved rounds of the speed run")
    ap.add_argument("--chunk", type=int, default=4000, help="documents per row per round")
    ap.add_argument("--paired", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, default=ROOT / "benches" / "results" / "hashing.md")
    ap.add_argument("--row", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.row:
        print(json.dumps(measure_row(args.row, args.docs, args.repeats)))
        return
    if args.paired:
        print(json.dumps(measure_paired(args.docs, args.paired, args.chunk)))
        return
    env = {**os.environ, "RAYON_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, __file__, "--docs", str(args.docs), "--repeats", "1"]
    paired = subprocess.run(
        [*cmd, "--paired", str(args.rounds), "--chunk", str(args.chunk)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    speed = json.loads(paired.stdout.strip().splitlines()[-1])
    results = []
    for name in ROWS:
        done = subprocess.run([*cmd, "--row", name], capture_output=True, text=True, env=env, check=False)
        if done.returncode != 0:
            results.append({"name": name, "skipped": f"failed: {done.stderr.strip().splitlines()[-1:]}"})
        elif name not in speed["rows"]:
            results.append({"name": name, "skipped": speed["skipped"].get(name, "not measured")})
        else:
            row = json.loads(done.stdout.strip().splitlines()[-1])
            results.append({**row, **speed["rows"][name]})
        print(f"  {name}: {results[-1].get('docs_per_s', results[-1].get('skipped'))}", file=sys.stderr)
    lines = [
        f"# Hashing: text -> MinHash signature ({args.docs} generated docs of ~450 words + 5 seeds, word {NGRAM}-grams)",
        "",
        f"Machine: {machine()}. Speed: {args.rounds} interleaved rounds in one process, a chunk of "
        f"{args.chunk} documents per round for every row (datasketch rows on their slice of it); docs/s is "
        "the median over rounds and every ratio the median of per-round ratios (see the script's "
        "docstring). Peak RSS: each row alone in a fresh process over all documents.",
        "MinHash on top: the time of a dedup row over that of tokenize+hash only, minus one: what shingling "
        "and MinHash add to tokenizing and hashing the text.",
        "Peers get shingles from raw text the fast pure-Python way (regex words, lowercase, join); "
        "gaoya tokenizes in Rust.",
        "",
        "| row | docs/round | docs/s | MB/s | x datasketch update() | x fastest peer (same k) | MinHash on top | peak RSS MB |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        if "skipped" in r:
            lines.append(f"| {r['name']} | | skipped: {r['skipped']} | | | | | |")
            continue
        fmt = lambda x, spec: "" if x is None else format(x, spec)  # noqa: E731
        lines.append(
            f"| {r['name']} | {r['round_docs']} | {r['docs_per_s']:,.0f} | {r['mb_per_s']:.1f} "
            f"| {fmt(r['x_datasketch_update'], ',.0f')} | {fmt(r['x_fastest_peer'], '.2f')} "
            f"| {fmt(r['minhash_on_top'], '+.0%')} | {r['peak_rss_mb']:.0f} |"
        )
    write_results("\n".join(lines) + "\n", args.out)


if __name__ == "__main__":
    main()
