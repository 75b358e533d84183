"""Band selection and candidate generation."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup.lsh import MAX_BUCKET_PAIRS, candidate_pairs, candidate_probability, optimal_bands


@pytest.mark.parametrize("threshold", [0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.98, 1.0])
@pytest.mark.parametrize("num_perm", [64, 128, 256])
def test_bands_meet_recall_target(threshold, num_perm):
    b, r = optimal_bands(threshold, num_perm)
    assert b * r <= num_perm
    target = min(threshold + 0.05, (1 + threshold) / 2)
    assert candidate_probability(target, b, r) >= 0.99
    if threshold < 1.0:  # never the degenerate one-band layout that only catches identical sets
        assert candidate_probability((1 + threshold) / 2, b, r) >= 0.99


def test_default_layout_beats_datasketch_recall_at_085():
    b, r = optimal_bands(0.8, 128)
    assert (b, r) == (16, 8)
    assert candidate_probability(0.85, b, r) > 0.99
    # And it does not flood verification with dissimilar pairs.
    assert candidate_probability(0.5, b, r) < 0.1


def test_candidate_pairs_from_shared_keys():
    keys = np.array([[1, 10], [2, 10], [1, 11], [3, 12]], dtype=np.uint64).T  # band-major
    pairs = candidate_pairs(keys)
    assert pairs.tolist() == [[0, 1], [0, 2]]


def test_large_bucket_is_linked_without_quadratic_pairs():
    n = MAX_BUCKET_PAIRS * 4
    keys = np.zeros((1, n), dtype=np.uint64)
    pairs = candidate_pairs(keys)
    assert pairs.shape[0] < 2 * n
    # Still connected: every unit reaches unit 0 through the emitted pairs.
    from dedup.cluster import components

    (group,) = components(n, pairs[:, 0], pairs[:, 1])
    assert group.size == n


def _reference_pairs(keys: np.ndarray, max_bucket: int) -> set[tuple[int, int]]:
    """Candidates by the definition: per band, units with equal keys (in index order), all pairs or
    star + chain for a bucket over max_bucket."""
    out: set[tuple[int, int]] = set()
    for band in keys:
        groups: dict[int, list[int]] = {}
        for unit, key in enumerate(band.tolist()):
            groups.setdefault(key, []).append(unit)
        for members in groups.values():
            if len(members) <= max_bucket:
                out.update((a, b) for x, a in enumerate(members) for b in members[x + 1 :])
            else:
                out.update((members[0], b) for b in members[1:])
                out.update(itertools.pairwise(members[1:]))
    return out


@given(
    st.integers(2, 400),
    st.integers(1, 4),
    st.integers(1, 40),
    st.integers(0, 2**32),
    st.sampled_from([3, MAX_BUCKET_PAIRS]),
)
@settings(max_examples=80, deadline=None)
def test_candidate_pairs_match_the_definition(n, bands, distinct, seed, max_bucket):
    """Keys drawn from few values that differ only in their low bits: the packed sort truncates
    keys to their top bits, so these collide there and must be split by their full keys."""
    rng = np.random.default_rng(seed)
    high = rng.integers(0, 4, size=(bands, n), dtype=np.uint64) << np.uint64(60)
    low = rng.integers(0, distinct, size=(bands, n), dtype=np.uint64)
    keys = high | low
    pairs = candidate_pairs(keys, max_bucket=max_bucket)
    assert [tuple(p) for p in pairs.tolist()] == sorted(_reference_pairs(keys, max_bucket))


def test_candidate_pairs_on_uniform_keys_match_the_definition():
    rng = np.random.default_rng(5)
    keys = rng.integers(0, 2**64, size=(6, 20_000), dtype=np.uint64)
    keys[:, 1::97] = keys[:, 0:1]  # one hot bucket per band, plus random pairs
    keys[:, 3::1000] = keys[:, 5::1000][:, : keys[:, 3::1000].shape[1]]
    pairs = candidate_pairs(keys)
    assert [tuple(p) for p in pairs.tolist()] == sorted(_reference_pairs(keys, MAX_BUCKET_PAIRS))


def _reference_groups(keys: np.ndarray) -> list[list[int]]:
    """Rows with equal (word 0, word 1), by the definition: each group's rows in index order."""
    groups: dict[tuple[int, int], list[int]] = {}
    for row, (a, b) in enumerate(keys.tolist()):
        groups.setdefault((a, b), []).append(row)
    return sorted(groups.values())


@given(st.integers(1, 300), st.integers(1, 12), st.integers(0, 2**32), st.booleans())
@settings(max_examples=80, deadline=None)
def test_equal_rows_are_grouped_by_their_whole_key(n, distinct, seed, shared_top):
    """Rows drawn from few keys; with shared_top every first word has the same top bits (the packed
    sort keeps only those), so runs mix different keys and must be regrouped by the whole key,
    including keys equal in their first word alone."""
    from dedup.scan import _exact_duplicates

    rng = np.random.default_rng(seed)
    words = rng.integers(0, 2**64, size=(distinct, 2), dtype=np.uint64)
    if shared_top:
        words[:, 0] = (words[:, 0] & np.uint64(0xFF)) | np.uint64(0xABCD) << np.uint64(48)
        words[: distinct // 2, 0] = words[0, 0]  # same first word, different second words
    keys = words[rng.integers(0, distinct, size=n)]
    is_rep, dup, dup_rep, groups = _exact_duplicates(keys)
    assert dup.tolist() == sorted(dup.tolist())
    assert set(dup.tolist()).isdisjoint(np.flatnonzero(is_rep).tolist())
    assert dup.size + int(is_rep.sum()) == n  # every row is a group's first or a copy
    rep_of = np.arange(n)
    rep_of[dup] = dup_rep
    got: dict[int, list[int]] = {}
    for row, r in enumerate(rep_of.tolist()):
        got.setdefault(r, []).append(row)
    reference = _reference_groups(keys)
    assert sorted(got.values()) == reference
    assert all(is_rep[r] and rows[0] == r for r, rows in got.items())  # named by its smallest row
    assert groups == sum(len(rows) > 1 for rows in reference)


def test_a_unit_paired_with_itself_changes_no_cluster(monkeypatch):
    """LSH never pairs a unit with itself, but clustering must not depend on it: a self-pair is no
    evidence and is dropped (one of a unit in no cluster once took another unit's place in a
    cluster)."""
    import dedup.scan as scan
    from dedup.config import ScanConfig
    from dedup.synth import make_corpus

    docs = make_corpus(300, dup_fraction=0.2, seed=5).documents()
    config = ScanConfig(levels=("document", "paragraph"))
    plain = scan.scan_documents(docs, config).clusters
    original = scan.candidate_pairs_by_band

    def with_self_pairs(column, bands, n, *args, **kwargs):
        pairs = original(column, bands, n, *args, **kwargs)
        return np.concatenate([pairs, np.stack([np.arange(n), np.arange(n)], axis=1)])

    monkeypatch.setattr(scan, "candidate_pairs_by_band", with_self_pairs)
    looped = scan.scan_documents(docs, config).clusters
    assert len(looped) == len(plain) > 10
    for a, b in zip(plain, looped, strict=True):
        assert a.level == b.level and a.exact == b.exact
        for name in ("doc", "start", "end"):
            assert np.array_equal(getattr(a, name), getattr(b, name))
        keep = b.edges[:, 0] != b.edges[:, 1]
        assert np.array_equal(a.edges, b.edges[keep])
        loops = b.edges[~keep, 0].tolist()  # at most one per member, each its own
        assert len(set(loops)) == len(loops) <= b.doc.size
        assert loops == []
