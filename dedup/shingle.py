"""Word n-gram shingle hashes.

A shingle's hash is a polynomial over its tokens' XXH3-64 hashes (odd multiplier, mod 2^64), finished
with fmix64. Combining token hashes costs n multiply-adds per shingle instead of re-hashing n
tokens' bytes, and the Python reference below makes the same value from a shingle string, so
datasketch can be fed dedup's hash as `hashfunc` and produce bitwise-identical sketches.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xxhash
from numba import njit

from .hashing import MASK32, POLY, U64, fmix64

_M64 = (1 << 64) - 1
_MAX64 = np.uint64(_M64)


_BLOCK = 2048  # tokens: 16 KiB of shingle hashes


@njit(cache=True, nogil=True)
def batch_shingles(tok_hash, n, h):
    """H[i] = hash of the n-gram starting at token i, for every token of a batch at once.

    A shingle does not depend on the unit it is in, so document and paragraph units are slices of
    one array. The loops run over all tokens with no inner dependency, so LLVM vectorizes them.
    Entries whose n-gram would cross the end of the batch are partial; no unit ever reads them.
    """
    size = tok_hash.size
    if n == 5:  # the default: one pass, no block to store and reload between the n passes
        _shingles5(tok_hash, h)
        return
    # In blocks that stay in L1 across the n + 2 passes (the passes over a whole batch ran from
    # L2: 1.0 -> 0.8 us per 450-token document). Slices indexed from 0 keep the indices provably
    # non-negative, so the loops vectorize (see minhash._classic).
    for start in range(0, size, _BLOCK):
        stop = min(start + _BLOCK, size)
        hb = h[start:stop]
        tb = tok_hash[start:]
        m = stop - start
        hb[:] = 0
        for j in range(n):
            for i in range(min(m, size - start - j)):
                hb[i] = hb[i] * POLY + tb[i + j]
        for i in range(m):
            hb[i] = fmix64(hb[i])


@njit(cache=True, nogil=True)
def _shingles5(tok_hash, h):
    """batch_shingles for n = 5, in one pass: each shingle's four multiply-adds and fmix64 with no
    loop-carried dependency, which LLVM vectorizes across shingles (0.85-0.99 -> 0.62-0.69 us per
    450-token document: the blocked passes stored and reloaded the block four times)."""
    size = tok_hash.size
    t = tok_hash[:]
    for i in range(size - 4):
        x = t[i] * POLY + t[i + 1]
        x = x * POLY + t[i + 2]
        x = x * POLY + t[i + 3]
        x = x * POLY + t[i + 4]
        h[i] = fmix64(x)
    for i in range(max(0, size - 4), size):  # partial, as batch_shingles leaves them
        x = U64(0)
        for j in range(i, size):
            x = x * POLY + t[j]
        h[i] = fmix64(x)


@njit(inline="always", cache=True)
def short_shingle(tok_hash, a, b):
    """The one shingle of a unit shorter than n tokens: all of its tokens."""
    h = U64(0)
    for i in range(a, b):
        h = h * POLY + tok_hash[i]
    return fmix64(h)


@njit(inline="always", cache=True)
def shingle_span(a, b, n):
    """(first, count) of the unit [a, b)'s shingles in batch_shingles' array; count 0 if empty,
    and first = -1 when the unit is shorter than n (use short_shingle)."""
    m = b - a
    if m <= 0:
        return 0, 0
    if m < n:
        return -1, 1
    return a, m - n + 1


def shingle_hash64(tokens: Sequence[str]) -> int:
    """The 64-bit hash of one shingle given its normalized tokens (reference, pure Python)."""
    h = 0
    for tok in tokens:
        h = (h * int(POLY) + xxhash.xxh3_64_intdigest(tok.encode("utf-8", "surrogatepass"))) & _M64
    h ^= h >> 33
    h = (h * 0xFF51AFD7ED558CCD) & _M64
    h ^= h >> 33
    h = (h * 0xC4CEB9FE1A85EC53) & _M64
    return h ^ (h >> 33)


def shingle_hash32(shingle: str | bytes) -> int:
    """datasketch `hashfunc`: a shingle string of space-joined normalized tokens -> its 32-bit hash.

    `MinHash(num_perm, seed, scheme="affine32", hashfunc=shingle_hash32)` updated with the strings
    from `shingle_strings(text)` equals `dedup.signatures([text])` bit for bit.
    """
    if isinstance(shingle, bytes):
        shingle = shingle.decode("utf-8", "surrogatepass")
    return shingle_hash64(shingle.split(" ")) & int(MASK32)


def shingle_strings(tokens: Sequence[str], n: int) -> list[str]:
    """Shingles of a token list as strings, for peers that take strings (datasketch, rensa)."""
    if not tokens:
        return []
    width = min(n, len(tokens))
    return [" ".join(tokens[i : i + width]) for i in range(len(tokens) - width + 1)]


@njit(cache=True, nogil=True)
def _shingle_counts(unit_a, unit_b, n):
    out = np.empty(unit_a.size, np.int64)
    for u in range(unit_a.size):
        out[u] = shingle_span(unit_a[u], unit_b[u], n)[1]
    return out


@njit(cache=True, nogil=True)
def _fill_rows(tok_hash, unit_a, unit_b, n, row_start, row_width, rows):
    """Each unit's shingle hashes at the start of its row of `rows`, the rest of the row the
    largest value (it sorts last; a real hash equal to it is the same value, so it cannot move)."""
    h = np.empty(tok_hash.size, np.uint64)
    batch_shingles(tok_hash, n, h)
    for u in range(unit_a.size):
        at = row_start[u]
        first, cnt = shingle_span(unit_a[u], unit_b[u], n)
        if first < 0:
            rows[at] = short_shingle(tok_hash, unit_a[u], unit_b[u])
        elif cnt > 0:
            rows[at : at + cnt] = h[first : first + cnt]
        rows[at + cnt : at + row_width[u]] = _MAX64


@njit(cache=True, nogil=True)
def _distinct_of_rows(rows, row_start, counts, values):
    """CSR (offsets, values) of each unit's sorted row, repeats dropped, the values written into
    `values` (room for counts.sum() of them)."""
    offsets = np.zeros(counts.size + 1, np.int64)
    pos = 0
    for u in range(counts.size):
        at = row_start[u]
        for i in range(counts[u]):
            v = rows[at + i]
            if i == 0 or v != rows[at + i - 1]:
                values[pos] = v
                pos += 1
        offsets[u + 1] = pos
    return offsets, values[:pos]


def shingle_sets(
    tok_hash: np.ndarray, unit_a: np.ndarray, unit_b: np.ndarray, n: int, out: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Sorted, de-duplicated 64-bit shingle sets of many units, as CSR (offsets, values).

    The values are written at the start of `out` when given (room for one value per token of the
    units is always enough: a unit has at most as many shingles as tokens), so callers that shingle
    many chunks on threads can place them in one array instead of copying them together after.

    These are what verification computes exact Jaccard on. The sort is numpy's (vectorized with
    AVX-512 where there is one), six to eight times faster than numba's np.sort: each unit's
    hashes are written into a row of a 2-D block of rows of the next power-of-two width, one block
    per width, and each block is sorted along its rows in place (padding costs under 2x the
    values). A 450-shingle document took 25-29 us to sort in numba, 3.5-6 us here.
    """
    counts = _shingle_counts(unit_a, unit_b, n)
    width = np.left_shift(1, np.ceil(np.log2(np.maximum(counts, 1))).astype(np.int64))
    order = np.argsort(width, kind="stable")  # units grouped by width, in input order within one
    ordered_width = width[order]
    row_start = np.empty(counts.size, np.int64)
    row_start[order] = np.cumsum(ordered_width) - ordered_width
    rows = np.empty(int(ordered_width.sum()), np.uint64)
    _fill_rows(tok_hash, unit_a, unit_b, n, row_start, width, rows)
    widths, first = np.unique(ordered_width, return_index=True)
    bounds = [*first.tolist(), counts.size]
    for w, lo, hi in zip(widths.tolist(), bounds[:-1], bounds[1:], strict=True):
        if w > 1:
            at = int(row_start[order[lo]])
            rows[at : at + (hi - lo) * w].reshape(hi - lo, w).sort(axis=1)
    if out is None:
        out = np.empty(int(counts.sum()), np.uint64)
    elif out.size < counts.sum():
        raise ValueError("shingle_sets: out has no room for every shingle")
    return _distinct_of_rows(rows, row_start, counts, out)
