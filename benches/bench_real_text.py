"""Text -> signature on real news text, beside the generated corpus, in one run.

The hashing bench's generated corpus is plain ASCII with words of at most 8 letters. Real text is
not: the seed articles have curly quotes, dashes and longer words, which take the tokenizer's
slower paths (non-ASCII normalization, the 9-16 byte hash, apostrophes inside words). Here ~450-word
documents are windows of the seeds' own words (deterministic), the same windows with accented
letters and in Cyrillic letters (every word non-ASCII), and the same rows run on them and on the
generated corpus, interleaved in rounds, one thread per row (RAYON_NUM_THREADS=1).

    python benches/bench_real_text.py [--docs 4000] [--rounds 7]
"""

from __future__ import annotations

import os

os.environ["RAYON_NUM_THREADS"] = "1"  # before gaoya starts its pool: one thread, like every row
os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import argparse
import random
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_hashing import PEERS, corpus, machine, make_runner, write_results  # noqa: E402
from bench_hashing import ROWS as HASHING_ROWS  # noqa: E402

# The hashing bench's rows (and their shares of each round) but datasketch bulk, which adds nothing here.
ROWS = {name: row for name, row in HASHING_ROWS.items() if not name.startswith("datasketch bulk")}


def seed_windows(n_docs: int, words: int = 450, seed: int = 1) -> list[str]:
    """n_docs documents of `words` consecutive words of the seed articles (their real spelling)."""
    text = " ".join(p.read_text(encoding="utf-8") for p in sorted((ROOT / "seeds").iterdir()))
    toks = re.findall(r"\S+", text)
    rnd = random.Random(seed)
    return [" ".join(toks[s : s + words]) for s in (rnd.randrange(len(toks) - words) for _ in range(n_docs))]


_LATIN = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
_CYRILLIC = "абцдефгхийклмнопярстувшжызАБЦДЕФГХИЙКЛМНОПЯРСТУВШЖЫЗ"


_TO_CYRILLIC = str.maketrans(_LATIN, _CYRILLIC)


def in_cyrillic(text: str) -> str:
    """The text with Latin letters replaced one for one by Cyrillic ones."""
    return text.translate(_TO_CYRILLIC)


def cyrillic(texts: list[str]) -> list[str]:
    return [in_cyrillic(t) for t in texts]


def accented(texts: list[str]) -> list[str]:
    """The texts with every e written é and every c written ç: a Latin script with diacritics."""
    return [t.replace("e", "é").replace("c", "ç") for t in texts]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--docs", type=int, default=4000)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--out", type=Path, default=ROOT / "benches" / "results" / "real_text.md")
    args = ap.parse_args()
    windows = seed_windows(args.docs)
    corpora = {
        "generated": corpus(args.docs)[: args.docs],
        "seed windows": windows,
        "accented": accented(windows),
        "Cyrillic": cyrillic(windows),
    }
    runners = {}
    for name, (k, _) in ROWS.items():
        try:
            runners[name] = make_runner(name, k)
        except ImportError:
            print(f"skipped {name}: not installed", file=sys.stderr)
    share = {name: max(5, int(args.docs * ROWS[name][1])) for name in runners}
    rates: dict[tuple[str, str], list[float]] = {}
    for texts in corpora.values():
        for run in runners.values():
            run(texts[:20])  # load kernels, warm caches
    for _ in range(args.rounds):
        for label, texts in corpora.items():
            for name, run in runners.items():
                docs = texts[: share[name]]
                t0 = time.perf_counter()
                run(docs)
                rates.setdefault((label, name), []).append(len(docs) / (time.perf_counter() - t0))
    med = {key: statistics.median(v) for key, v in rates.items()}

    def fastest_peer(label: str, k: int) -> float | None:
        peers = [med[(label, n)] for n in runners if n.startswith(PEERS) and ROWS[n][0] == k]
        return max(peers) if peers else None

    update = "datasketch update() k=128"
    lines = [
        f"# Real text against generated text ({args.docs} documents of ~450 words each, word 5-grams)",
        "",
        f"Machine: {machine()}. docs/s: median of {args.rounds} interleaved rounds"
        f" (datasketch update() on the first {share.get(update, 0)} documents of each round).",
        "Seed windows: 450 consecutive words of the seed articles at seeded random offsets.",
        "x fastest peer: over the fastest of rensa and gaoya at the same k, on the same corpus.",
        "",
        "Accented: the seed windows with every e written é and every c written ç (about one letter in"
        " six, the ASCII runs between them short).",
        "Cyrillic: the seed windows with each Latin letter replaced by a Cyrillic one (two bytes a letter"
        " in UTF-8, capitals casefolded by table): the same text in another script.",
        "",
        "| row | "
        + " | ".join(f"{label} docs/s" for label in corpora)
        + " | "
        + " | ".join(f"x fastest peer, {label}" for label in corpora)
        + " | x datasketch update(), seed windows |",
        "| --- |" + " ---: |" * (2 * len(corpora) + 1),
    ]
    for name in runners:
        k = ROWS[name][0]
        cells = [f"{med[(label, name)]:,.0f}" for label in corpora]
        for label in corpora:
            peer = fastest_peer(label, k)
            cells.append(f"{med[(label, name)] / peer:.2f}" if peer else "")
        base = med.get(("seed windows", update))
        cells.append(f"{med[('seed windows', name)] / base:,.0f}" if base else "")
        lines.append(f"| {name} | {' | '.join(cells)} |")
    write_results("\n".join(lines) + "\n", args.out)


if __name__ == "__main__":
    main()
