"""What two cores give on this machine: the same signing work in one process, then in two at once.

The end-to-end target (1.7x on two cores) assumes the machine delivers close to 2x for work that
shares nothing. On a shared virtual machine it may not (two vCPUs share caches, memory bandwidth
and the host's turbo budget), and then no scan can reach the target. Each round signs the same
batches of generated documents in a fresh worker, once alone and once in two workers started
together, alternating; the ratio is twice the single time over the slower of the pair.

    python benches/bench_cores.py [--rounds 10] [--batches 40]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_hashing import machine, write_results  # noqa: E402


def sign_batches(n: int) -> float:
    """Seconds to sign n batches of 2,000 generated documents (kernels loaded first, untimed)."""
    from dedup.config import ScanConfig
    from dedup.scan import sign_batch
    from dedup.synth import make_corpus

    texts = make_corpus(2000, dup_fraction=0.05, seed=3).texts
    config = ScanConfig(levels=("document", "paragraph"))
    sign_batch(texts[:100], 0, config)
    start = time.perf_counter()
    for _ in range(n):
        sign_batch(texts, 0, config)
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--batches", type=int, default=40)  # ~2 s a round: shorter ones were noisier
    ap.add_argument("--out", type=Path, default=ROOT / "benches" / "results" / "cores.md")
    args = ap.parse_args()
    ctx = mp.get_context("fork")
    ratios = []
    rows = ["| round | one process s | two at once s | x throughput |", "| ---: | ---: | ---: | ---: |"]
    for r in range(args.rounds):
        with ctx.Pool(1) as pool:
            one = pool.apply(sign_batches, (args.batches,))
        with ctx.Pool(2) as pool:
            two = pool.map(sign_batches, [args.batches, args.batches])
        ratios.append(2 * one / max(two))
        rows.append(f"| {r + 1} | {one:.2f} | {two[0]:.2f} / {two[1]:.2f} | {ratios[-1]:.2f} |")
    text = "\n".join(
        [
            "# What two cores give",
            "",
            f"Machine: {machine()}. Signing {args.batches} batches of 2,000 generated documents (document and",
            "paragraph levels) in one process, then in two processes at once, alternating.",
            "",
            *rows,
            "",
            f"Median x{statistics.median(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f}) over {args.rounds} rounds.",
            "",
        ]
    )
    write_results(text, args.out)


if __name__ == "__main__":
    main()
