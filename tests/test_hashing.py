"""The numba hash primitives must be bit-identical to the reference library, for every length class."""

from __future__ import annotations

import random

import numpy as np
import pytest
import xxhash
from hypothesis import given, settings
from hypothesis import strategies as st
from numba import njit

from dedup.hashing import U64, bswap64, mul128_fold64, popcount, xxh3_64, xxh3_short

# Every XXH3-64 length class: 0, 1-3, 4-8, 9-16, 17-128, 129-240, long (one and several 1 KiB blocks).
LENGTHS = [*range(0, 260), 511, 512, 1023, 1024, 1025, 2047, 2048, 2049, 5000]


@njit(cache=False)
def _short(w0, w1, n):
    return xxh3_short(w0, w1, n)


@njit(cache=False)
def _prims(a, b):
    return mul128_fold64(a, b), popcount(a), bswap64(a)


@pytest.mark.parametrize("n", LENGTHS)
def test_xxh3_64_matches_xxhash(n):
    rng = random.Random(n)
    for _ in range(4):
        data = bytes(rng.randrange(256) for _ in range(n))
        buf = np.frombuffer(b"pre" + data + bytes(16), dtype=np.uint8)  # at an odd offset
        assert int(xxh3_64(buf, 3, 3 + n)) == xxhash.xxh3_64_intdigest(data)


@given(st.binary(min_size=1, max_size=16))
@settings(max_examples=300, deadline=None)
def test_branch_free_short_path_matches_xxhash(data):
    padded = data + bytes(16 - len(data))
    w0 = np.uint64(int.from_bytes(padded[:8], "little"))
    w1 = np.uint64(int.from_bytes(padded[8:], "little"))
    assert int(_short(w0, w1, len(data))) == xxhash.xxh3_64_intdigest(data)


@given(st.integers(0, 2**64 - 1), st.integers(0, 2**64 - 1))
@settings(max_examples=200, deadline=None)
def test_intrinsics(a, b):
    fold, ones, swapped = _prims(U64(a), U64(b))
    product = a * b
    assert int(fold) == (product & (2**64 - 1)) ^ (product >> 64)
    assert int(ones) == bin(a).count("1")
    assert int(swapped) == int.from_bytes(a.to_bytes(8, "little"), "big")


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 6, 8])
def test_batch_shingles_are_the_polynomial_of_each_window(n):
    """Every entry of batch_shingles (the one-pass n = 5 kernel and the blocked passes for other n)
    is fmix64 of the polynomial over its n tokens, or over the tokens left at the batch's end."""
    from dedup.shingle import POLY, batch_shingles

    m64 = (1 << 64) - 1

    def fmix(x: int) -> int:
        x ^= x >> 33
        x = (x * 0xFF51AFD7ED558CCD) & m64
        x ^= x >> 33
        x = (x * 0xC4CEB9FE1A85EC53) & m64
        return x ^ (x >> 33)

    rng = np.random.default_rng(n)
    for size in (0, 1, n - 1, n, n + 1, 37, 5000):
        tok = rng.integers(0, 2**63, size=max(size, 0), dtype=np.uint64) * np.uint64(2) + np.uint64(1)
        h = np.empty(tok.size, dtype=np.uint64)
        batch_shingles(tok, n, h)
        for i in range(tok.size):
            x = 0
            for t in tok[i : i + n].tolist():
                x = (x * int(POLY) + t) & m64
            assert int(h[i]) == fmix(x), (size, i)
