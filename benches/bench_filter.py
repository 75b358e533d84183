"""The pre-ingest filter: build rate, size on disk, query latency and batch query rate.

dedup builds an index of --docs generated documents (~450 words, 5% planted near-duplicates per
chunk) through `Index.check_and_add` in batches of 1,000 into SQLite (the filter's own path:
signatures from raw text included), then answers single-document queries (p50/p99 latency) and
batches of 1,000 (docs/s). On a --subset of the same documents, dedup on SQLite and on Redis is
compared with datasketch `MinHashLSH` in memory and with its Redis storage, on the same redis-server.
datasketch gets ready-made signatures (bitwise what its own MinHash computes, see bench_hashing for
what hashing costs it), so its rows measure its index alone; dedup's rows include hashing.

    python benches/bench_filter.py [--docs 1000000] [--subset 50000] [--out benches/results/filter.md]
"""

from __future__ import annotations

import argparse
import contextlib
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_hashing import machine, write_results  # noqa: E402

CHUNK = 10_000
BATCH = 1_000
N_SINGLE = 2_000
N_BATCHED = 20_000


def chunks(n_docs: int):
    """(ids, texts) in chunks of generated documents; near-duplicates are planted within a chunk."""
    from dedup.synth import make_corpus

    for k in range(0, n_docs, CHUNK):
        c = make_corpus(min(CHUNK, n_docs - k), dup_fraction=0.05, seed=1000 + k // CHUNK)
        yield [f"c{k // CHUNK}-{i}" for i in c.ids], c.texts


def queries(n: int, seed: int = 99) -> list[str]:
    """Texts to look up: half near-copies of documents that were indexed, half unseen documents."""
    from dedup.synth import edit_words, make_corpus

    rng = np.random.default_rng(seed)
    first = make_corpus(CHUNK, dup_fraction=0.05, seed=1000).texts
    seen = [edit_words(first[int(i)], 3, rng) for i in rng.integers(0, CHUNK, n // 2)]
    fresh = make_corpus(n - n // 2, dup_fraction=0.0, seed=seed).texts
    out = seen + fresh
    rng.shuffle(out)
    return out


def latency(fn, texts: list[str]) -> dict:
    times = []
    for t in texts:
        t0 = time.perf_counter()
        fn(t)
        times.append(time.perf_counter() - t0)
    ms = np.array(times) * 1000
    return {
        "p50_ms": float(np.percentile(ms, 50)),
        "p99_ms": float(np.percentile(ms, 99)),
        "qps": len(ms) / ms.sum() * 1000,
    }


def batched(fn, texts: list[str]) -> float:
    t0 = time.perf_counter()
    for k in range(0, len(texts), BATCH):
        fn(texts[k : k + BATCH])
    return len(texts) / (time.perf_counter() - t0)


def dedup_rows(location: str, n_docs: int, label: str, qs: list[str]) -> dict:
    from dedup import Index

    idx = Index.create(location)
    build = 0.0
    for ids, texts in chunks(n_docs):
        for k in range(0, len(ids), BATCH):
            docs = list(zip(ids[k : k + BATCH], texts[k : k + BATCH], strict=True))
            t0 = time.perf_counter()
            idx.check_and_add(docs)
            build += time.perf_counter() - t0
    size = idx.stats()["size_bytes"]
    single = latency(idx.query, qs[:N_SINGLE])
    rate = batched(idx.query_batch, qs[:N_BATCHED])
    row = {"row": label, "docs": n_docs, "build_docs_s": n_docs / build, "size_mb": size / 1e6, **single}
    row["batch_docs_s"] = rate
    row["indexed"] = len(idx)
    idx.close()
    return row


def datasketch_rows(n_docs: int, label: str, qs: list[str], storage: dict | None) -> dict:
    from datasketch import LeanMinHash, MinHashLSH

    import dedup

    lsh = MinHashLSH(threshold=0.8, num_perm=128, **({"storage_config": storage} if storage else {}))
    build = 0.0
    for ids, texts in chunks(n_docs):
        sigs = dedup.signatures(texts)
        hashes = [LeanMinHash(seed=1, hashvalues=s, scheme="affine32") for s in sigs]
        t0 = time.perf_counter()
        with lsh.insertion_session() as session:
            for i, m in zip(ids, hashes, strict=True):
                session.insert(i, m)
        build += time.perf_counter() - t0
    q_sigs = dedup.signatures(qs[:N_SINGLE])
    q_hashes = [LeanMinHash(seed=1, hashvalues=s, scheme="affine32") for s in q_sigs]
    lookup = iter(q_hashes)
    single = latency(lambda _t: lsh.query(next(lookup)), qs[:N_SINGLE])

    def batch(texts):
        for s in dedup.signatures(texts):
            lsh.query(LeanMinHash(seed=1, hashvalues=s, scheme="affine32"))

    rate = batched(batch, qs[:N_BATCHED])
    return {
        "row": label,
        "docs": n_docs,
        "build_docs_s": n_docs / build,
        "size_mb": float("nan"),
        **single,
        "batch_docs_s": rate,
        "indexed": n_docs,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--docs", type=int, default=1_000_000)
    ap.add_argument("--subset", type=int, default=50_000)
    ap.add_argument("--out", type=Path, default=ROOT / "benches" / "results" / "filter.md")
    args = ap.parse_args()
    qs = queries(N_BATCHED)
    rows = []
    from dedup.store_redis import throwaway_server

    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        work = Path(tmp)
        try:
            url = stack.enter_context(throwaway_server(str(work)))
        except FileNotFoundError:
            url = None
            print("  redis-server not installed: no Redis rows", file=sys.stderr)
        rows.append(dedup_rows(str(work / "full.dedup"), args.docs, "dedup, SQLite", qs))
        print(f"  {rows[-1]}", file=sys.stderr)
        rows.append(dedup_rows(str(work / "sub.dedup"), args.subset, "dedup, SQLite", qs))
        print(f"  {rows[-1]}", file=sys.stderr)
        if url is not None:
            rows.append(dedup_rows(f"{url}?prefix=bench", args.subset, "dedup, Redis", qs))
            print(f"  {rows[-1]}", file=sys.stderr)
        rows.append(datasketch_rows(args.subset, "datasketch MinHashLSH, in memory", qs, None))
        print(f"  {rows[-1]}", file=sys.stderr)
        if url is not None:
            port = int(url.rsplit(":", 1)[1].split("/")[0])
            storage = {"type": "redis", "redis": {"host": "127.0.0.1", "port": port}, "basename": b"ds"}
            rows.append(datasketch_rows(args.subset, "datasketch MinHashLSH, Redis storage", qs, storage))
            print(f"  {rows[-1]}", file=sys.stderr)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    lines = [
        "# Pre-ingest filter: build, size, query latency and batch rate",
        "",
        f"Machine: {machine().replace(', single thread per row', '')}; the index signs a batch on 2 threads. ~450-word documents (5% planted near-duplicates per",
        f"chunk of {CHUNK:,}); threshold 0.8, 128 permutations. Build: `Index.check_and_add` in batches of",
        f"{BATCH:,} (hashing from raw text included, only new documents stored). Queries: {N_SINGLE:,}",
        f"single-document queries (half near-copies of indexed documents, half unseen) and {N_BATCHED:,}",
        f"in batches of {BATCH:,}. datasketch gets ready-made signatures (its rows exclude hashing) and",
        f"runs on the {args.subset:,}-document subset only: at ~300 docs/s for its own hashing the full set",
        "would take an hour. Size for Redis is what `MEMORY USAGE` reports for the index's keys.",
        f"Peak RSS of the benchmark process: {peak:,.0f} MB.",
        "",
        "| row | documents | build docs/s | size MB | single query p50 ms | p99 ms | single queries/s | batched docs/s |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        size = "" if np.isnan(r["size_mb"]) else f"{r['size_mb']:,.0f}"
        lines.append(
            f"| {r['row']} | {r['docs']:,} | {r['build_docs_s']:,.0f} | {size} | {r['p50_ms']:.2f} | "
            f"{r['p99_ms']:.2f} | {r['qps']:,.0f} | {r['batch_docs_s']:,.0f} |"
        )
    write_results("\n".join(lines) + "\n", args.out)


if __name__ == "__main__":
    main()
