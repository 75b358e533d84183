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


_BLOCK = 2048  # tokens: 16 KiB of shingle hashes


@njit(cache=True, nogil=True)
def batch_shingles(tok_hash, n, h):
    """H[i] = hash of the n-gram starting at token i, for every token of a batch at once.

    A shingle does not depend on the unit it is in, so document and paragraph units are slices of
    one array. The loops run over all tokens with no inner dependency, so LLVM vectorizes them.
    Entries whose n-gram would cross the end of the batch are partial; no unit ever reads them.
    """
    size = tok_hash.size
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
def shingle_sets(tok_hash, unit_a, unit_b, n):
    """Sorted, de-duplicated 64-bit shingle sets of many units, as CSR (offsets, values).

    These are what verification computes exact Jaccard on.
    """
    h = np.empty(tok_hash.size, np.uint64)
    batch_shingles(tok_hash, n, h)
    n_units = unit_a.size
    offsets = np.zeros(n_units + 1, np.int64)
    total = 0
    for u in range(n_units):
        total += shingle_span(unit_a[u], unit_b[u], n)[1]
    values = np.empty(total, np.uint64)
    pos = 0
    for u in range(n_units):
        first, cnt = shingle_span(unit_a[u], unit_b[u], n)
        if first < 0:
            values[pos] = short_shingle(tok_hash, unit_a[u], unit_b[u])
            pos += 1
        elif cnt > 0:
            seg = np.sort(h[first : first + cnt])
            k = 0
            for i in range(cnt):
                if i == 0 or seg[i] != seg[i - 1]:
                    values[pos + k] = seg[i]
                    k += 1
            pos += k
        offsets[u + 1] = pos
    return offsets, values[:pos]
