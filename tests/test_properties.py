"""Property tests: invariants that must hold for any input, not just the inputs someone thought of.

The numba kernels re-implement in bytes what the plain-Python reference does in characters, and
the scan relies on several stages agreeing on line numbers and token ranges; hypothesis searches
the unicode corners (surrogates, combining marks, exotic line breaks) where they could drift apart.
"""

from __future__ import annotations

import functools
import random
import unicodedata
from collections import defaultdict
from fractions import Fraction
from unittest import mock

import numpy as np
import pytest
import xxhash
from hypothesis import given, settings
from hypothesis import strategies as st

import dedup
from dedup import ScanConfig, estimate_jaccard, signatures
from dedup.arrays import sorted_unique
from dedup.model import Document
from dedup.scan import Cluster, scan_documents
from dedup.segment import paragraphs, paragraphs_batch
from dedup.shingle import shingle_hash64, shingle_sets
from dedup.text import LINE_BREAKS, tokenize_batch
from dedup.verify import jaccard

# Characters where normalization, classification or line counting is easy to get wrong.
TRICKY = (
    "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029\x1f\t \u00a0\u3000"  # line breaks and spaces
    "'’‘ʼ`´′\u00ad\u200b\u200c\u200d\u2060\ufeff"  # apostrophes and format characters (deleted)
    '-—.,;:!?"()[]/\\…«»'  # punctuation
    "\u0301\u0308\u0327\u20dd\u093f"  # combining marks
    "ﬁﬃＡｂ１²½ⅫİßẞΣσςǅ"  # NFKC and casefold changes
    "\u1100\u1161\u11a8가ｶﾞ"  # Hangul jamo / half-width kana that compose under NFKC
    "😀👍🏽\U0001d400\U0001d7ce\U00020000\U000e0041\U000e0100\U00040000\U0010fffd\ufffd\x00"  # beyond the BMP
)
CHARS = st.one_of(
    st.characters(codec=None),
    st.characters(codec=None, min_codepoint=0xD800, max_codepoint=0xDFFF),  # lone surrogates
    st.sampled_from(TRICKY),
    st.sampled_from("abcdeé"),
)
TEXT = st.text(CHARS, max_size=120)
WORDS = ["alpha", "beta", "gamma", "delta", "eps", "zeta", "eta", "theta", "iota", "kappa", "lam", "mu"]
WORDY = st.lists(st.sampled_from(WORDS), max_size=40).map(" ".join)
ANY_TEXT = st.one_of(TEXT, WORDY)
BREAKS = set(LINE_BREAKS) | {"\r"}


def token_strings(texts: list[str]) -> list[list[str]]:
    """What the numba tokenizer emits per document, decoded back to str."""
    tk = tokenize_batch(texts)
    compact = tk.compact.tobytes()
    out = []
    for d in range(len(texts)):
        a, b = int(tk.doc_start[d]), int(tk.doc_start[d + 1])
        out.append([compact[tk.cstart[i] : tk.cend[i]].decode("utf-8", "surrogatepass") for i in range(a, b)])
    return out


# --- tokenizer and segmenter --------------------------------------------------------------------------


@settings(max_examples=400, deadline=None)
@given(st.lists(TEXT, min_size=1, max_size=4))
def test_numba_tokenizer_matches_the_reference(texts: list[str]) -> None:
    tk = tokenize_batch(texts)
    compact = tk.compact.tobytes()
    for d, text in enumerate(texts):
        expected = dedup.tokens(text)
        a, b = int(tk.doc_start[d]), int(tk.doc_start[d + 1])
        assert b - a == len(expected)
        for i, tok in zip(range(a, b), expected, strict=True):
            raw = compact[tk.cstart[i] : tk.cend[i]]
            assert raw.decode("utf-8", "surrogatepass") == tok
            assert int(tk.hash[i]) == xxhash.xxh3_64_intdigest(raw)
        if expected:
            # Exact-duplicate keys hash this slice: the normalized tokens joined by single spaces.
            joined = compact[tk.cstart[a] : tk.cend[b - 1]]
            assert joined == " ".join(expected).encode("utf-8", "surrogatepass")


# Words of every length class of XXH3's short paths (1-3, 4-8, 9-16 bytes, longer), some with
# capitals or an apostrophe inside, which the hashes-only tokenizer takes on different paths.
SIZED_WORD = st.one_of(
    st.integers(1, 20).map(lambda n: "abcdefghijKLMNOPQRSTUVWXYZ"[:n]),
    st.sampled_from(["it's", "Russia’s", "''", "`", "ÉCOLE", "naïve", "x'y'z'w'v'u'", "O'Neill"]),
)
SIZED_TEXT = st.lists(st.tuples(SIZED_WORD, st.sampled_from([" ", "\n", ", ", "\r\n"])), max_size=60).map(
    lambda parts: "".join(w + sep for w, sep in parts)
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(TEXT, SIZED_TEXT), min_size=1, max_size=6))
def test_hashes_only_tokenizer_matches_the_full_one(texts: list[str]) -> None:
    """Signing uses the hashes-only tokenizer (separate kernel passes); it must emit the same
    tokens, hashes, line numbers and document bounds as the full tokenizer."""
    full = tokenize_batch(texts)
    fast = tokenize_batch(texts, hashes_only=True)
    assert np.array_equal(fast.doc_start, full.doc_start)
    assert np.array_equal(fast.hash, full.hash)
    assert np.array_equal(fast.line, full.line)


@settings(max_examples=400, deadline=None)
@given(TEXT)
def test_token_line_numbers_match_splitlines(text: str) -> None:
    tk = tokenize_batch([text])
    lines = text.splitlines()
    toks = token_strings([text])[0]
    by_line: dict[int, list[str]] = defaultdict(list)
    for tok, line in zip(toks, tk.line.tolist(), strict=True):
        by_line[line].append(tok)
    assert all(0 <= line < len(lines) for line in by_line)
    for number, line in enumerate(lines):
        assert by_line.get(number, []) == dedup.tokens(line)
    # Every line holding tokens is a paragraph unit, so no token is lost to the paragraph level.
    par_lines, _, _ = paragraphs(text)
    assert set(by_line) <= set(par_lines.tolist())


@settings(max_examples=400, deadline=None)
@given(TEXT)
def test_paragraph_spans_are_exact(text: str) -> None:
    lines = text.splitlines()
    par_lines, starts, ends = paragraphs(text)
    assert list(par_lines) == sorted(set(par_lines.tolist()))
    for number, start, end in zip(par_lines.tolist(), starts.tolist(), ends.tolist(), strict=True):
        span = text[start:end]
        assert span == span.strip() != ""
        assert not BREAKS & set(span)
        assert span == lines[number].strip()
    assert set(par_lines.tolist()) == {i for i, line in enumerate(lines) if line.strip()}


# --- signatures and similarity ------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(st.lists(ANY_TEXT, min_size=1, max_size=8), st.sampled_from(["classic", "oph"]), st.randoms())
def test_signatures_are_deterministic_per_text(texts: list[str], method: str, rnd: random.Random) -> None:
    whole = signatures(texts, method=method)
    assert whole.shape == (len(texts), 128) and whole.dtype == np.uint32
    assert np.array_equal(whole, signatures(texts, method=method))
    order = list(range(len(texts)))
    rnd.shuffle(order)
    assert np.array_equal(signatures([texts[i] for i in order], method=method), whole[order])
    singles = np.vstack([signatures([t], method=method) for t in texts])
    assert np.array_equal(singles, whole)
    with mock.patch.object(dedup, "_BATCH", 3):  # rows must not depend on where batches are cut
        assert np.array_equal(signatures(texts, method=method), whole)
    for t, row in zip(texts, whole, strict=True):
        if not dedup.tokens(t):
            assert np.all(row == 0xFFFFFFFF)


@settings(max_examples=100, deadline=None)
@given(ANY_TEXT, ANY_TEXT, st.sampled_from(["classic", "oph"]), st.integers(1, 6))
def test_minhash_estimate_is_a_similarity(a: str, b: str, method: str, ngram: int) -> None:
    sa, sb = signatures([a, b], method=method, ngram=ngram)
    est = estimate_jaccard(sa, sb)
    assert 0.0 <= est <= 1.0
    assert est == estimate_jaccard(sb, sa)
    if not dedup.tokens(a):  # an empty set is similar to nothing, itself included (as exact Jaccard says)
        assert estimate_jaccard(sa, sa) == 0.0
        return
    assert estimate_jaccard(sa, sa) == 1.0
    assert estimate_jaccard(sa, signatures([a], method=method, ngram=ngram)[0]) == 1.0
    if dedup.tokens(a) == dedup.tokens(b):
        assert est == 1.0


HASHES = st.lists(st.integers(0, 2**64 - 1) | st.integers(0, 20), max_size=60).map(
    lambda xs: np.array(xs, dtype=np.uint64)
)


@settings(max_examples=200, deadline=None)
@given(HASHES, HASHES)
def test_exact_jaccard_is_a_similarity(a: np.ndarray, b: np.ndarray) -> None:
    j = jaccard(a, b)
    assert 0.0 <= j <= 1.0
    assert j == jaccard(b, a)
    sa, sb = set(a.tolist()), set(b.tolist())
    assert j == (len(sa & sb) / len(sa | sb) if sa | sb else 0.0)
    if a.size:
        assert jaccard(a, a) == 1.0
        assert jaccard(a, a[::-1].copy()) == 1.0


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.integers(-(2**63), 2**63 - 1), max_size=60) | st.lists(st.integers(0, 9), max_size=60),
    st.sampled_from([np.int64, np.uint64, np.int32]),
    st.booleans(),
)
def test_sorted_unique_is_numpys_unique(values: list[int], dtype: type, two_d: bool) -> None:
    """The pipeline's replacement for np.unique gives its values, dtype and order, empty and
    one-element arrays and 2-D arrays (flattened) included."""
    info = np.iinfo(dtype)
    a = np.array([v for v in values if info.min <= v <= info.max], dtype=dtype)
    if two_d and a.size % 2 == 0:
        a = a.reshape(-1, 2)
    got, want = sorted_unique(a), np.unique(a)
    assert got.dtype == want.dtype and got.tolist() == want.tolist()
    if a.size:
        assert not np.shares_memory(got, a)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(0, 5), max_size=300),
    st.lists(st.tuples(st.integers(0, 300), st.integers(0, 40)), max_size=40),
    st.integers(1, 6),
)
def test_shingle_sets_are_each_units_distinct_shingles_sorted(
    token_ids: list[int], spans: list[tuple[int, int]], n: int
) -> None:
    """Units of any length (empty, shorter than n, many repeats from a six-token vocabulary),
    overlapping and in any order: each set is its unit's distinct reference shingle hashes, sorted."""
    vocab = [f"w{i}" for i in range(6)]
    tok_hash = np.array([xxhash.xxh3_64_intdigest(vocab[t].encode()) for t in token_ids], dtype=np.uint64)
    size = len(token_ids)
    unit_a = np.array([min(a, size) for a, _ in spans], dtype=np.int64)
    unit_b = np.array([min(a + m, size) for a, m in spans], dtype=np.int64)
    offsets, values = shingle_sets(tok_hash, unit_a, unit_b, n)
    assert offsets.size == len(spans) + 1
    for u, (a, b) in enumerate(zip(unit_a.tolist(), unit_b.tolist(), strict=True)):
        words = [vocab[t] for t in token_ids[a:b]]
        grams = [words] if 0 < len(words) < n else [words[i : i + n] for i in range(len(words) - n + 1)]
        expected = sorted({shingle_hash64(g) for g in grams})
        assert values[offsets[u] : offsets[u + 1]].tolist() == expected
    # Into a caller's array (verification's chunks share one): room for one value per token is
    # enough, the same sets come out at its start, and too little room is refused, never overrun.
    room = int((unit_b - unit_a).sum())
    out = np.full(room + 3, 7, dtype=np.uint64)
    offsets_in, values_in = shingle_sets(tok_hash, unit_a, unit_b, n, out=out[:room])
    assert offsets_in.tolist() == offsets.tolist() and values_in.tolist() == values.tolist()
    assert out[room:].tolist() == [7, 7, 7]
    if values.size:
        assert np.shares_memory(values_in, out)
        with pytest.raises(ValueError, match="no room"):
            shingle_sets(tok_hash, unit_a, unit_b, n, out=out[: values.size - 1])


# --- the whole scan ------------------------------------------------------------------------------------


@st.composite
def corpora(draw: st.DrawFn) -> list[str]:
    """A few documents derived from a few base texts, so exact and near copies are common."""
    bases = draw(st.lists(st.lists(st.sampled_from(WORDS), max_size=30), min_size=1, max_size=4))
    rnd = draw(st.randoms(use_true_random=False))
    docs = []
    for _ in range(draw(st.integers(0, 9))):
        words = list(rnd.choice(bases))
        for _ in range(rnd.choice([0, 0, 1, 2, 5])):
            if words:
                k = rnd.randrange(len(words))
                words[k : k + rnd.choice([0, 1])] = [rnd.choice(WORDS)] * rnd.choice([0, 1])
        text = ""
        for w in words:
            text += (w.upper() if rnd.random() < 0.1 else w) + rnd.choice(
                [" ", " ", " ", ", ", ". ", "\n", "\n\n"]
            )
        docs.append(rnd.choice(["", "  ", "\n"]) + text)
    return docs


def scan(texts: list[str], config: ScanConfig) -> list[Cluster]:
    docs = [Document(id=f"d{i}", text=t, source="prop") for i, t in enumerate(texts)]
    return scan_documents(docs, config).clusters


def described(clusters: list[Cluster], ids: list[str]) -> set[tuple[object, ...]]:
    """A cluster independent of document order: its members by id, its similarity and exactness."""
    return {
        (
            c.level,
            frozenset(zip([ids[d] for d in c.doc.tolist()], c.start.tolist(), c.end.tolist(), strict=True)),
            round(c.similarity, 12),
            c.exact,
        )
        for c in clusters
    }


CONFIGS = st.builds(
    ScanConfig,
    threshold=st.sampled_from([0.3, 0.5, 0.8, 1.0]),
    ngram=st.integers(1, 5),
    min_words=st.integers(1, 5),
    method=st.sampled_from(["classic", "oph"]),
    levels=st.sampled_from([("document",), ("paragraph",), ("document", "paragraph")]),
)


@settings(max_examples=60, deadline=None)
@given(corpora(), CONFIGS, st.randoms())
def test_scan_is_deterministic_and_ignores_document_order(
    texts: list[str], config: ScanConfig, rnd: random.Random
) -> None:
    first = scan(texts, config)
    again = scan(texts, config)
    assert len(first) == len(again)
    for a, b in zip(first, again, strict=True):
        assert a.level == b.level and a.similarity == b.similarity and a.exact == b.exact
        for name in ("doc", "start", "end", "edges", "edge_similarity"):
            assert np.array_equal(getattr(a, name), getattr(b, name)), name
    ids = [f"d{i}" for i in range(len(texts))]
    order = list(range(len(texts)))
    rnd.shuffle(order)
    shuffled = scan([texts[i] for i in order], config)
    assert described(shuffled, [ids[i] for i in order]) == described(first, ids)


def units(texts: list[str], level: str) -> list[tuple[tuple[int, int], str]]:
    """((doc, start), text) of each unit, found with str methods rather than dedup.segment."""
    out = []
    for d, text in enumerate(texts):
        if level == "document":
            out.append(((d, len(text) - len(text.lstrip()) if text.strip() else 0), text))
            continue
        pos = 0
        for line in text.splitlines(keepends=True):
            if line.strip():
                out.append(((d, pos + line.index(line.strip())), line))
            pos += len(line)
    return out


@settings(max_examples=80, deadline=None)
@given(corpora(), CONFIGS.filter(lambda c: len(c.levels) == 1))
def test_scan_edges_are_verified_and_identical_sets_always_cluster(
    texts: list[str], config: ScanConfig
) -> None:
    """Verification is exact, so every edge is a true pair; and units with identical shingle sets
    have identical signatures, hence identical band keys: LSH cannot miss them at any threshold."""
    level = config.levels[0]
    sets: dict[tuple[int, int], frozenset[str]] = {}
    for key, text in units(texts, level):
        toks = dedup.tokens(text)
        if len(toks) >= config.min_words:
            sets[key] = frozenset(dedup.shingle_strings(toks, config.ngram))
    label: dict[tuple[int, int], int] = {}
    for ci, c in enumerate(scan(texts, config)):
        members = list(zip(c.doc.tolist(), c.start.tolist(), strict=True))
        for k in members:
            assert k in sets and k not in label
            label[k] = ci
        for (a, b), sim in zip(c.edges.tolist(), c.edge_similarity.tolist(), strict=True):
            sa, sb = sets[members[a]], sets[members[b]]
            exact = Fraction(len(sa & sb), len(sa | sb))
            assert exact >= Fraction(str(config.threshold))
            assert abs(sim - float(exact)) <= 1e-9
    keys = list(sets)
    for x, kx in enumerate(keys):
        for ky in keys[x + 1 :]:
            if sets[kx] == sets[ky]:
                assert kx in label and label[kx] == label.get(ky), (kx, ky)


@settings(max_examples=300, deadline=None)
@given(st.lists(ANY_TEXT, max_size=6))
def test_batch_segmenter_matches_the_reference(texts: list[str]) -> None:
    """The numba segmenter (UTF-32 code points) gives exactly what str.splitlines/strip give."""
    doc, line, start, end = paragraphs_batch(texts)
    expected = [
        (d, int(li), int(s), int(e))
        for d, t in enumerate(texts)
        for li, s, e in zip(*paragraphs(t), strict=True)
    ]
    got = list(zip(doc.tolist(), line.tolist(), start.tolist(), end.tolist(), strict=True))
    assert got == expected


@given(st.lists(ANY_TEXT, min_size=1, max_size=8))
def test_unit_keys_are_equal_exactly_when_normalized_texts_are(texts: list[str]) -> None:
    """Exact-duplicate keys group units without verification: equal keys must mean equal text."""
    from dedup.text import unit_keys

    tk = tokenize_batch(texts)
    keys = unit_keys(tk.hash, tk.doc_start[:-1], tk.doc_start[1:])
    normalized = [" ".join(toks) for toks in token_strings(texts)]
    for i in range(len(texts)):
        for j in range(len(texts)):
            assert (tuple(keys[i]) == tuple(keys[j])) == (normalized[i] == normalized[j])


@given(st.lists(ANY_TEXT, min_size=1, max_size=6))
def test_paragraph_units_from_token_lines_have_exact_offsets(texts: list[str]) -> None:
    """Paragraph units come from the tokenizer's line numbers; their offsets (worked out later, on
    the original text) must frame exactly the tokens the unit was signed with."""
    from dedup.scan import _level_units, unit_offsets
    from dedup.text import tokens

    tk = tokenize_batch(texts, hashes_only=True)
    doc, line, tok_a, tok_b = _level_units("paragraph", tk)
    per_doc = token_strings(texts)
    assert sum(int(b - a) for a, b in zip(tok_a, tok_b, strict=True)) == sum(map(len, per_doc))
    docs = [Document(id=str(i), text=t, source="t") for i, t in enumerate(texts)]
    start, end = unit_offsets("paragraph", docs, doc, line)
    for d, a, b, s, e in zip(
        doc.tolist(), tok_a.tolist(), tok_b.tolist(), start.tolist(), end.tolist(), strict=True
    ):
        first = int(tk.doc_start[d])
        assert tokens(texts[d][s:e]) == per_doc[d][a - first : b - first]


def test_norm_tables_replace_each_character_by_its_nfkc_casefold() -> None:
    """The kernel normalizes by per-character lookup: every code point not left to Python must
    have slot 0 exactly when NFKC then casefold leave it as it is (A-Z aside: the kernel lowercases
    them), and otherwise be replaced by exactly what they make of it."""
    from dedup.text import CONTEXT, norm_tables

    nt = norm_tables()
    assert (nt.slot[:0x80] == 0).all()
    used = np.unique(nt.slot[(nt.slot > 0) & (nt.slot < CONTEXT)])
    assert used.tolist() == list(range(1, nt.start.size))  # each replacement used once
    for c in range(0x80, 0x110000):
        j = int(nt.slot[c])
        if j == CONTEXT:
            continue
        want = unicodedata.normalize("NFKC", chr(c)).casefold()
        got = chr(c) if j == 0 else "".join(map(chr, nt.cps[nt.start[j - 1] : nt.start[j]]))
        assert got == want, hex(c)


# Starters that compose with what follows them (Latin, Hangul L and LV, kana, Indic vowels).
COMPOSING = [
    "a",
    "e",
    "A",
    "\u1100",
    "\uac00",
    "\u3046",
    "\u0b47",
    "\u09c7",
    "\u0dd9",
    "\u1025",
    "\u0915",
    "\u05d0",
]


def test_norm_tables_only_look_up_characters_no_normalization_crosses() -> None:
    """A non-CONTEXT character never composes with what precedes it, so NFKC of a text of them is
    NFKC of each character joined: checked against composing starters for the whole BMP, and
    every CONTEXT character it calls so must really be one that composes or reorders somewhere
    (a combining class, or the second half of a composition)."""
    from dedup.text import CONTEXT, norm_tables

    nt = norm_tables()
    nfkc = functools.partial(unicodedata.normalize, "NFKC")
    for c in range(0x80, 0x10000):
        if nt.slot[c] != CONTEXT:
            ch = chr(c)
            for p in COMPOSING:
                assert nfkc(p + ch) == nfkc(p) + nfkc(ch), (hex(ord(p)), hex(c))
    # and nothing is sent to Python that need not be: a CONTEXT character's decomposition starts
    # with a combining mark or with a character that ends some canonical decomposition.
    tails = {ch for c in range(0x110000) for ch in unicodedata.normalize("NFD", chr(c))[1:]}
    # The combining classes are read for marks only: no other character has one.
    from dedup.text import _category_tables

    marks = set(_category_tables()[1].tolist())
    assert all(c in marks for c in range(0x110000) if unicodedata.combining(chr(c)))
    for c in np.flatnonzero(nt.slot == CONTEXT).tolist():
        first = unicodedata.normalize("NFKD", chr(c))[0]
        assert unicodedata.combining(first) or first in tails, hex(c)


@pytest.mark.parametrize(
    "text",
    [
        "RUSSIA’S “Putin” said – at 5 p.m. … ©2015 £3\u00a0€",  # kept and mapped (NBSP, …) characters
        "ÉCOLE’s Straße ΣΑΣ ǅ Ⅻ ⓐⒶ İ",  # casefold, some of it changing the length
        "ﬁne Ｋelvin K ½ ™ ﬃ",  # NFKC makes these ASCII (capitals included)
        "Moscow\u0301 X\ud800Y e\u0308\u0301",  # combining marks (normalized by Python); a lone surrogate
        "na\u00efve caf\u00e9 \u00bd\u00bd\u00bd\u00bd\u00bd\u00bd\u00bd\u00bd\u00bd",  # one byte a character; ½ grows 2 -> 5 bytes
        "\ufdfa" * 40 + " \ufb03" * 40,  # 18 characters for one: the buffer is grown
        "x\r\u00ad\ny\r\nz 😀 RUSSIA’S \U0001d400BC",  # "\r", a deleted character, "\n": two breaks; 4 bytes a character
        "abcdefghijklmnop" * 3 + "’s " + "QRSTUVWXYZ’abcd\u2019" * 5,  # long runs of ASCII between
        "é"
        + "a" * 15
        + "\r\nb é"
        + "a" * 14
        + "\r\nc Été à Noël, ça\u00a0va",  # "\r\n" where a mixed stretch ends
        "ДОСТОПРИМЕЧАТЕЛЬНОСТЬ Москва МИД naïveté’s O'Neill'sExtraordinarilyLong Überraschungsmoment",  # long words, hashed in place or without apostrophes
    ],
)
def test_tokens_of_text_on_each_normalization_path_are_the_reference(text: str) -> None:
    """Each text with its upper- and lower-cased forms in one batch (so kinds and paths mix): the
    tokens, their hashes and their line numbers (by str.splitlines) on both tokenizer paths."""
    batch = [text, text.upper(), text.lower()]
    tk = tokenize_batch(batch)
    fast = tokenize_batch(batch, hashes_only=True)
    assert np.array_equal(fast.hash, tk.hash) and np.array_equal(fast.line, tk.line)
    compact = tk.compact.tobytes()
    for d, t in enumerate(batch):
        a, b = int(tk.doc_start[d]), int(tk.doc_start[d + 1])
        got = [compact[tk.cstart[i] : tk.cend[i]].decode("utf-8", "surrogatepass") for i in range(a, b)]
        assert got == dedup.tokens(t)
        assert [int(h) for h in tk.hash[a:b]] == [
            xxhash.xxh3_64_intdigest(tok.encode("utf-8", "surrogatepass")) for tok in got
        ]
        assert tk.line[a:b].tolist() == [n for n, ln in enumerate(t.splitlines()) for _ in dedup.tokens(ln)]
