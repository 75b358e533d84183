"""Word n-gram shingle hashes.

A shingle's hash is a polynomial over its tokens' XXH64 hashes (odd multiplier, mod 2^64), finished
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


@njit(cache=True, nogil=True)
def unit_shingles(tok_hash, a, b, n, out):
    """Write the shingle hashes of tokens [a, b) into out; return how many.

    A unit shorter than n tokens is one shingle of all its tokens, so short units still compare.
    """
    m = b - a
    if m <= 0:
        return 0
    width = n if m >= n else m
    count = m - width + 1
    for s in range(count):
        h = U64(0)
        for j in range(width):
            h = h * POLY + tok_hash[a + s + j]
        out[s] = fmix64(h)
    return count


def shingle_hash64(tokens: Sequence[str]) -> int:
    """The 64-bit hash of one shingle given its normalized tokens (reference, pure Python)."""
    h = 0
    for tok in tokens:
        h = (h * int(POLY) + xxhash.xxh64_intdigest(tok.encode("utf-8", "surrogatepass"))) & _M64
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
    n_units = unit_a.size
    offsets = np.zeros(n_units + 1, np.int64)
    total = 0
    for u in range(n_units):
        m = unit_b[u] - unit_a[u]
        total += max(m - n + 1, 1) if m > 0 else 0
    values = np.empty(total, np.uint64)
    pos = 0
    for u in range(n_units):
        cnt = unit_shingles(tok_hash, unit_a[u], unit_b[u], n, values[pos:])
        seg = np.sort(values[pos : pos + cnt])
        k = 0
        for i in range(cnt):
            if i == 0 or seg[i] != seg[i - 1]:
                values[pos + k] = seg[i]
                k += 1
        pos += k
        offsets[u + 1] = pos
    return offsets, values[:pos]
