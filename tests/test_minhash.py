"""MinHash: bitwise interoperability with datasketch, and the accuracy of both methods."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xxhash
from datasketch import MinHash, MinHashLSH

import dedup
from dedup.shingle import shingle_hash64
from dedup.text import tokenize_batch

SEEDS = sorted((Path(__file__).resolve().parent.parent / "seeds").iterdir())
TEXTS = [p.read_text(encoding="utf-8") for p in SEEDS] + [
    "one two three",
    "Ünïcode ﬁne ＦＵＬＬ width’s test here",
]
# Every remainder of the kernel's passes of eight values (the values past the last whole pass go
# one at a time), and units shorter than a shingle: the first k words of a seed for k = 1..40, and more.
_WORDS = TEXTS[0].split()
PREFIXES = [" ".join(_WORDS[:k]) for k in [*range(1, 41), 100, 117, 250]]


def test_token_hash_is_xxh3_of_normalized_token():
    tk = tokenize_batch(TEXTS)
    compact = tk.compact.tobytes()
    for i in range(tk.hash.size):
        token = compact[tk.cstart[i] : tk.cend[i]]
        assert int(tk.hash[i]) == xxhash.xxh3_64_intdigest(token)


@pytest.mark.parametrize("num_perm", [1, 7, 13, 128, 256])
@pytest.mark.parametrize("seed", [1, 7])
@pytest.mark.parametrize("ngram", [5, 3])
def test_classic_equals_datasketch_affine32_bitwise(num_perm, seed, ngram):
    texts = TEXTS + PREFIXES
    ours = dedup.signatures(texts, num_perm=num_perm, ngram=ngram, seed=seed)
    for row, text in zip(ours, texts, strict=True):
        m = MinHash(num_perm=num_perm, seed=seed, scheme="affine32", hashfunc=dedup.shingle_hash32)
        for shingle in dedup.shingle_strings(dedup.tokens(text), ngram):
            m.update(shingle)
        assert m.hashvalues.dtype == np.uint32
        np.testing.assert_array_equal(row, m.hashvalues)


def test_shingle_hash32_accepts_bytes_and_matches_64bit_hash():
    shingle = "work with them as allies"
    assert dedup.shingle_hash32(shingle.encode()) == dedup.shingle_hash32(shingle)
    assert dedup.shingle_hash32(shingle) == shingle_hash64(shingle.split(" ")) & 0xFFFFFFFF


def test_lean_minhash_works_in_datasketch_lsh():
    texts = [TEXTS[1], TEXTS[1] + " And one more closing sentence here.", TEXTS[0]]
    sigs = dedup.signatures(texts)
    lsh = MinHashLSH(threshold=0.8, num_perm=128)
    for i, sig in enumerate(sigs):
        lsh.insert(f"d{i}", dedup.to_lean_minhash(sig))
    assert sorted(lsh.query(dedup.to_lean_minhash(sigs[0]))) == ["d0", "d1"]
    lean = dedup.to_lean_minhash(sigs[0])
    assert lean.scheme == "affine32" and lean.jaccard(dedup.to_lean_minhash(sigs[1])) > 0.8


def _pairs_with_jaccard(
    rng: np.random.Generator, n_pairs: int, size: int
) -> tuple[list[str], list[str], np.ndarray]:
    """Pairs of texts over distinct random words: exact Jaccard is known from the construction.

    With ngram=1 every word is one shingle, so sharing `s` of `size` words gives J = s / (2*size - s).
    """
    a_texts, b_texts, truth = [], [], []
    for p in range(n_pairs):
        shared = int(rng.integers(0, size + 1))
        words = [f"w{p}x{i}" for i in range(2 * size - shared)]
        a = words[:size]
        b = words[:shared] + words[size:]
        a_texts.append(" ".join(a))
        b_texts.append(" ".join(b))
        truth.append(shared / (2 * size - shared))
    return a_texts, b_texts, np.array(truth)


@pytest.mark.parametrize("size", [400, 20])
def test_oph_accuracy_close_to_classic(size):
    """OPH's densified estimate is as accurate as classic k-permutation MinHash (fixed seed).

    Long units: RMSE within 10% of classic's. Short units (fewer shingles than bins, where
    densification does the work): within 20%. Both near the theoretical sqrt(J(1-J)/k).
    """
    rng = np.random.default_rng(1234)
    # 2000 pairs: the RMSE ratio of 400 pairs still wobbles by ~5%, too much against a 20% bound.
    a, b, truth = _pairs_with_jaccard(rng, 2000, size)
    k = 128
    rmse = {}
    for method in ("classic", "oph"):
        sa = dedup.signatures(a, num_perm=k, ngram=1, method=method)
        sb = dedup.signatures(b, num_perm=k, ngram=1, method=method)
        est = (sa == sb).mean(axis=1)
        assert np.all((est >= 0) & (est <= 1))
        rmse[method] = float(np.sqrt(np.mean((est - truth) ** 2)))
    theory = float(np.sqrt(np.mean(truth * (1 - truth) / k)))
    assert rmse["classic"] < 1.3 * theory
    assert rmse["oph"] <= (1.1 if size >= 200 else 1.2) * rmse["classic"]


def test_oph_densification_fills_every_bin():
    sig = dedup.signatures(["alpha beta gamma delta epsilon zeta"], num_perm=256, ngram=1, method="oph")
    # Six shingles, 256 bins: every bin borrowed one of at most six values.
    assert np.unique(sig).size <= 6
    assert not np.any(sig == np.uint32(0xFFFFFFFF))


def test_signatures_validate_arguments():
    with pytest.raises(dedup.DedupError):
        dedup.signatures(["x"], method="nope")
    with pytest.raises(dedup.DedupError):
        dedup.signatures(["x"], num_perm=0)
    assert dedup.signatures([], num_perm=64).shape == (0, 64)


def _fmix64(h: int) -> int:
    m = (1 << 64) - 1
    h ^= h >> 33
    h = (h * 0xFF51AFD7ED558CCD) & m
    h ^= h >> 33
    h = (h * 0xC4CEB9FE1A85EC53) & m
    return h ^ (h >> 33)


def _oph_reference(shingles: list[int], k: int, seed: int) -> list[int]:
    """One-permutation hashing with optimal densification, as minhash.py documents it, in plain
    Python: pins the kernel's output (persistent indexes store these signatures)."""
    m = (1 << 64) - 1
    if not shingles:
        return [0xFFFFFFFF] * k
    s64 = _fmix64((seed + 0x9E3779B97F4A7C15) & m)
    bins: list[int | None] = [None] * k
    for x in shingles:
        v = _fmix64(x ^ s64)
        b = ((v >> 32) * k) >> 32
        bins[b] = v & 0xFFFFFFFF if bins[b] is None else min(bins[b], v & 0xFFFFFFFF)
    row = []
    for j in range(k):
        attempt = 1
        src = j
        while bins[src] is None:
            r = _fmix64(s64 ^ ((j * 0xD6E8FEB86659FD93) & m) ^ ((attempt * 0xA0761D6478BD642F) & m))
            src = ((r >> 32) * k) >> 32
            attempt += 1
        row.append(bins[src])
    return row


@pytest.mark.parametrize("num_perm", [7, 128, 256])
def test_oph_equals_its_reference(num_perm):
    """Short units (scalar loop) and long ones (a separate mixing pass) alike."""
    texts = TEXTS + PREFIXES + [""]
    ours = dedup.signatures(texts, num_perm=num_perm, ngram=5, method="oph", seed=3)
    for row, text in zip(ours, texts, strict=True):
        shingles = [shingle_hash64(s.split(" ")) for s in dedup.shingle_strings(dedup.tokens(text), 5)]
        assert row.tolist() == _oph_reference(shingles, num_perm, 3)


def test_document_signatures_from_paragraphs_are_the_direct_ones():
    """sign_batch signs documents from their paragraphs' signatures (a minimum over a union): for
    any layout of lines, shingle size, unit size and k, bit for bit the document's own signature."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from dedup.minhash import shingle_values, signatures_from_parts, unit_signatures
    from dedup.scan import _level_units
    from dedup.workspace import Workspace

    line = st.lists(st.sampled_from(["a", "bb", "c", "dd", "e", "ff", "g"]), max_size=25).map(" ".join)
    doc = st.lists(line, max_size=8).map("\n".join)

    @settings(max_examples=150, deadline=None)
    @given(st.lists(doc, min_size=1, max_size=12), st.integers(1, 6), st.integers(1, 7), st.sampled_from([8, 13, 128]))
    def check(texts, ngram, min_words, k):
        ws = Workspace()
        tk = tokenize_batch(texts, ws, hashes_only=True)
        shingled = shingle_values(tk.hash, ngram=ngram, method="classic", ws=ws)
        spans = {}
        for level in ("document", "paragraph"):
            _, _, a, b = _level_units(level, tk)
            keep = b - a >= min_words
            spans[level] = a[keep], b[keep]
        (da, db), (pa, pb) = spans["document"], spans["paragraph"]
        common = dict(ngram=ngram, num_perm=k, seed=5, shingled=shingled)
        want = unit_signatures(tk.hash, da, db, method="classic", ws=Workspace(), **common)
        parts = unit_signatures(tk.hash, pa, pb, method="classic", ws=Workspace(), **common)
        got = signatures_from_parts(tk.hash, da, db, pa, pb, parts, ws=ws, **common)
        assert np.array_equal(got, want)

    check()


def test_the_scan_signs_documents_as_the_public_api_does():
    """The scan's document units (signed from their paragraphs) get the band keys of
    dedup.signatures, whose rows are datasketch's (test above)."""
    from dedup.config import ScanConfig
    from dedup.lsh import band_keys
    from dedup.scan import sign_batch

    texts = TEXTS + PREFIXES + ["title\n\n" + TEXTS[1] + "\nend of it"]
    config = ScanConfig(levels=("document", "paragraph"), min_words=1)
    units = sign_batch(texts, 0, config)["document"]
    direct = dedup.signatures([texts[d] for d in units.doc.tolist()], num_perm=config.num_perm)
    assert units.doc.size == len(texts)
    assert np.array_equal(units.keys, band_keys(direct, config.bands, config.rows))
