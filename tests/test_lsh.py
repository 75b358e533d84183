"""Band selection and candidate generation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup.lsh import MAX_BUCKET_PAIRS, candidate_pairs, candidate_probability, hash_argsort, optimal_bands


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


@given(st.lists(st.integers(0, 2**64 - 1), max_size=300), st.integers(0, 3))
@settings(max_examples=60, deadline=None)
def test_hash_argsort_is_a_stable_sort(values, dup_every):
    keys = np.array(values + values[: len(values) // (dup_every + 1)], dtype=np.uint64)  # with repeats
    order, ordered = hash_argsort(keys)
    assert np.array_equal(order, np.argsort(keys, kind="stable"))
    assert np.array_equal(ordered, np.sort(keys))


def test_hash_argsort_crowded_bucket_is_still_a_stable_sort():
    """Keys crafted to share their top 16 bits (the adversarial case) take the mergesort path."""
    rng = np.random.default_rng(2)
    keys = rng.integers(0, 1 << 48, 5000, dtype=np.uint64) | (np.uint64(0xABCD) << np.uint64(48))
    keys[::7] = keys[3]  # and repeats
    order, ordered = hash_argsort(keys)
    assert np.array_equal(order, np.argsort(keys, kind="stable"))
    assert np.array_equal(ordered, np.sort(keys))
