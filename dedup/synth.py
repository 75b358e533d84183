"""Generated corpora with planted near-duplicates, for quality tests and benchmarks.

Real corpora cannot say which pairs are truly similar without a quadratic brute force, and they
cannot be shipped with the repository; a seeded generator can, at any size, and knows what it
planted. Everything is drawn from `np.random.default_rng(seed)`, so equal arguments give equal
texts on every machine and a failing test can be replayed exactly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise

import numpy as np

from .model import Document

_CONSONANTS = "bcdfghjklmnprstvz"
_VOWELS = "aeiou"
_VOCAB_SEED = 0x5EED
_END_MARKS = np.array([".", ".", ".", ".", "?", "!"])
_MID_MARKS = np.array([",", ",", ",", ";", ":"])
_WORD = re.compile(r"[a-z]+")


@lru_cache(maxsize=4)
def vocabulary(size: int = 20_000) -> tuple[np.ndarray, np.ndarray]:
    """(words, cdf): lowercase words ranked by Zipf frequency, and the cumulative probabilities.

    Words are strings of consonant-vowel syllables, so every word is one token for the tokenizer and
    no two syllable sequences spell the same word. The vocabulary ignores the corpus seed on purpose:
    corpora built with different seeds share words, as real documents do.
    """
    rng = np.random.default_rng(_VOCAB_SEED)
    syl = [c + v for c in _CONSONANTS for v in _VOWELS]
    short = syl + [a + b for a in syl for b in syl]
    n_long = max(0, size - len(short))
    picks = rng.choice(len(syl) ** 3, size=n_long, replace=False)
    long = [syl[p // len(syl) ** 2] + syl[(p // len(syl)) % len(syl)] + syl[p % len(syl)] for p in picks]
    words = np.array((short + long)[:size], dtype=object)
    weights = 1.0 / (np.arange(size) + 2.7)  # Zipf-Mandelbrot with exponent 1
    cdf = np.cumsum(weights / weights.sum())
    cdf[-1] = 1.0
    return words, cdf


def sample_words(n: int, rng: np.random.Generator, vocab_size: int = 20_000) -> list[str]:
    """n words drawn from the Zipf vocabulary (inverse-CDF sampling: one searchsorted, no Python loop)."""
    words, cdf = vocabulary(vocab_size)
    return words[np.searchsorted(cdf, rng.random(n), side="right")].tolist()


def render(words: list[str], rng: np.random.Generator) -> str:
    """Lay words out as prose: sentences with capitals and punctuation, paragraphs of about 40-80 words.

    Only case and punctuation attached to words change, so the normalized tokens are exactly `words`
    whatever the layout: two renderings of the same words are exact duplicates after normalization.
    """
    n = len(words)
    out = list(words)
    sent_len = rng.integers(6, 19, size=n // 6 + 2)
    ends = np.cumsum(sent_len)
    ends = ends[ends < n]
    starts = np.concatenate([[0], ends])
    for i in starts.tolist():
        out[i] = out[i].upper() if rng.random() < 0.03 else out[i].capitalize()
    for i, mark in zip((ends - 1).tolist(), rng.choice(_END_MARKS, ends.size).tolist(), strict=True):
        out[i] += mark
    if n:
        out[n - 1] += "."
    mids = np.flatnonzero(rng.random(n) < 0.06)
    for i, mark in zip(mids.tolist(), rng.choice(_MID_MARKS, mids.size).tolist(), strict=True):
        if out[i][-1].isalpha():  # no comma after a full stop
            out[i] += mark
    cuts, goal = [0], int(rng.integers(40, 81))
    for e in ends.tolist():  # paragraphs end where a sentence ends, once long enough
        if e - cuts[-1] >= goal and n - e >= 20:
            cuts.append(e)
            goal = int(rng.integers(40, 81))
    cuts.append(n)
    return "\n\n".join(" ".join(out[a:b]) for a, b in pairwise(cuts) if b > a)


def words_of(text: str) -> list[str]:
    """The words of a generated text (equals `dedup.tokens` on it, without the slow reference path)."""
    return _WORD.findall(text.lower())


def edit_words(text: str, n_edits: int, rng: np.random.Generator, vocab_size: int = 20_000) -> str:
    """A near-duplicate of text: n_edits random word substitutions, insertions or deletions.

    Edits work on space-separated words inside lines, so the line (paragraph) layout survives and a
    copied paragraph stays one paragraph. Each edit breaks up to `ngram` shingles, which is how
    callers aim at a Jaccard level.
    """
    lines = [line.split(" ") if line.strip() else [] for line in text.split("\n")]
    for _ in range(n_edits):
        sizes = np.array([len(ws) for ws in lines], dtype=np.int64)
        if not sizes.sum():
            break
        li = int(np.searchsorted(np.cumsum(sizes), rng.integers(sizes.sum()), side="right"))
        ws = lines[li]
        k = int(rng.integers(len(ws)))
        op = int(rng.integers(3))
        new = sample_words(1, rng, vocab_size)[0]
        if op == 1:
            ws.insert(k, new)
        elif op == 2 and len(ws) > 1:
            del ws[k]
        else:
            ws[k] = new
    return "\n".join(" ".join(ws) for ws in lines)


def edits_for(jaccard: float, n_words: int, ngram: int = 5) -> int:
    """Edits that bring a copy of an n_words text to about this Jaccard of ngram shingles.

    k edits at random places each break the ngram shingles covering them; overlapping damage
    leaves a fraction x = exp(-ngram*k/S) of the S shingles intact, and the copy gains about as many
    new ones as were lost, so J = x / (2 - x); solved for k.
    """
    shingles = max(1, n_words - ngram + 1)
    kept = 2.0 * jaccard / (1.0 + jaccard)
    return max(0, round(-shingles / ngram * float(np.log(kept))))


@dataclass(frozen=True, slots=True)
class Corpus:
    """Generated texts and the (source, copy) pairs planted among them."""

    texts: list[str]
    ids: list[str]
    planted: list[tuple[int, int]]  # (i, j), i < j: text j was derived from text i

    def documents(self) -> list[Document]:
        """The texts as scan input; `source` names the generator so a report never looks like real files."""
        return [
            Document(id=i, text=t, source=f"synth:{i}") for i, t in zip(self.ids, self.texts, strict=True)
        ]


def make_corpus(
    n_docs: int,
    *,
    dup_fraction: float = 0.05,
    words: int = 450,
    seed: int = 0,
    exact_fraction: float = 0.15,
    min_jaccard: float = 0.5,
    ngram: int = 5,
    vocab_size: int = 20_000,
) -> Corpus:
    """n_docs documents of about `words` words; a dup_fraction of them are edited copies of earlier ones.

    A copy aims at a Jaccard drawn uniformly from [min_jaccard, 1) so every threshold has pairs just
    above and just below it; an exact_fraction of copies are re-rendered with the same words, which
    differ only in case, punctuation and paragraph breaks. Copies may be copied again, so clusters
    larger than pairs arise. Independent documents share almost no 5-grams with a 20k vocabulary.
    """
    rng = np.random.default_rng(seed)
    n_dup = min(max(n_docs - 1, 0), round(dup_fraction * n_docs))
    is_copy = np.zeros(n_docs, dtype=bool)
    if n_dup:
        is_copy[rng.choice(np.arange(1, n_docs), size=n_dup, replace=False)] = True
    texts: list[str] = []
    planted: list[tuple[int, int]] = []
    lo, hi = int(0.8 * words), int(1.2 * words)
    for j in range(n_docs):
        if not is_copy[j]:
            texts.append(render(sample_words(int(rng.integers(lo, hi + 1)), rng, vocab_size), rng))
            continue
        i = int(rng.integers(j))
        source = words_of(texts[i])
        if rng.random() < exact_fraction:
            texts.append(render(source, rng))
        else:
            target = float(rng.uniform(min_jaccard, 1.0))
            n_edits = max(1, edits_for(target, len(source), ngram))
            texts.append(edit_words(texts[i], n_edits, rng, vocab_size))
        planted.append((i, j))
    return Corpus(texts=texts, ids=[f"doc{i:06d}" for i in range(n_docs)], planted=planted)


@dataclass(frozen=True, slots=True)
class PlantedPassage:
    """One copy of a planted passage: document, [start, end) characters, whether it was edited, and
    for each of its words the index of the passage word it is (-1 for a word an edit brought in)."""

    passage: int
    doc: int
    start: int
    end: int
    edited: bool
    origin: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class PassageCorpus:
    """Unrelated generated documents with passages planted into some of them."""

    texts: list[str]
    ids: list[str]
    planted: list[PlantedPassage]

    def documents(self) -> list[Document]:
        return [
            Document(id=i, text=t, source=f"synth:{i}") for i, t in zip(self.ids, self.texts, strict=True)
        ]


def make_passage_corpus(
    n_docs: int,
    n_passages: int,
    *,
    words: int = 300,
    span: tuple[int, int] = (15, 40),
    copies: tuple[int, int] = (2, 4),
    edits_per_word: float = 0.1,
    seed: int = 0,
    vocab_size: int = 20_000,
) -> PassageCorpus:
    """n_docs unrelated documents; each passage (span words) is planted into 2-4 random documents:
    the first copy verbatim, the others with floor(edits_per_word * length) random word edits
    (substitution, insertion or deletion). Offsets of every copy are exact character offsets."""
    rng = np.random.default_rng(seed)
    inserts: list[list[tuple[int, list[str], bool, list[int]]]] = [[] for _ in range(n_docs)]
    for p in range(n_passages):
        source = sample_words(int(rng.integers(span[0], span[1] + 1)), rng, vocab_size)
        k = min(n_docs, int(rng.integers(copies[0], copies[1] + 1)))
        for c, d in enumerate(rng.choice(n_docs, size=k, replace=False).tolist()):
            ws = list(source)
            origin = list(range(len(source)))
            if c:
                for _ in range(int(edits_per_word * len(source))):
                    at = int(rng.integers(1, len(ws) - 1))  # edits inside, not at the very ends
                    op = int(rng.integers(3))
                    if op == 0:
                        ws[at] = sample_words(1, rng, vocab_size)[0]
                        origin[at] = -1
                    elif op == 1:
                        ws.insert(at, sample_words(1, rng, vocab_size)[0])
                        origin.insert(at, -1)
                    else:
                        del ws[at]
                        del origin[at]
            inserts[d].append((p, ws, c > 0, origin))
    texts: list[str] = []
    planted: list[PlantedPassage] = []
    for d in range(n_docs):
        base = sample_words(int(rng.integers(int(0.8 * words), int(1.2 * words) + 1)), rng, vocab_size)
        points = np.sort(rng.integers(0, len(base) + 1, size=len(inserts[d]))).tolist()
        out: list[str] = []
        ranges: list[tuple[int, int, int, bool, list[int]]] = []
        prev = 0
        for at, (p, ws, edited, origin) in zip(points, inserts[d], strict=True):
            out += base[prev:at]
            ranges.append((p, len(out), len(out) + len(ws), edited, origin))
            out += ws
            prev = at
        out += base[prev:]
        text = render(out, rng)
        spans = [m.span() for m in _WORD.finditer(text.lower())]
        for p, a, b, edited, origin in ranges:
            planted.append(PlantedPassage(p, d, spans[a][0], spans[b - 1][1], edited, tuple(origin)))
        texts.append(text)
    return PassageCorpus(texts=texts, ids=[f"doc{i:06d}" for i in range(n_docs)], planted=planted)
