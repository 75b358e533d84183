"""Hash primitives compiled with numba, shared by the tokenizer, shingler, MinHash and LSH kernels.

Token hashes are XXH64 computed inside the tokenizer kernel: calling the `xxhash` package per token
would put a Python call on every token. The kernel is tested bit-for-bit against
`xxhash.xxh64_intdigest`, so the hash is xxhash's, only the call site differs.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numba.core import types
from numba.cpython.unsafe.numbers import trailing_zeros
from numba.extending import intrinsic

__all__ = ["fmix32", "fmix64", "popcount", "rotl64", "trailing_zeros", "xxh64"]

U64 = np.uint64
P64_1 = U64(0x9E3779B185EBCA87)
P64_2 = U64(0xC2B2AE3D27D4EB4F)
P64_3 = U64(0x165667B19E3779F9)
P64_4 = U64(0x85EBCA77C2B2AE63)
P64_5 = U64(0x27D4EB2F165667C5)
# Odd multiplier of the shingle polynomial (the 64-bit golden ratio), so the map is invertible.
POLY = U64(0x9E3779B97F4A7C15)
MASK32 = U64(0xFFFFFFFF)


@njit(inline="always", cache=True)
def rotl64(x, r):
    return (x << U64(r)) | (x >> U64(64 - r))


@njit(inline="always", cache=True)
def _read_le(buf, i, nbytes):
    """Little-endian unsigned integer from nbytes bytes at any (unaligned) offset.

    The index is unsigned on purpose: numba wraps negative signed indices with a compare and
    select per access, which stops LLVM from merging the byte loads into one word load (4x slower
    in the tokenizer, measured).
    """
    v = U64(0)
    base = U64(i)
    for k in range(nbytes):
        v |= U64(buf[base + U64(k)]) << U64(8 * k)
    return v


@njit(inline="always", cache=True)
def _round(acc, lane):
    acc = acc + lane * P64_2
    acc = rotl64(acc, 31)
    return acc * P64_1


@njit(inline="always", cache=True)
def _merge(acc, val):
    acc = acc ^ _round(U64(0), val)
    return acc * P64_1 + P64_4


@njit(cache=True)
def xxh64(buf, start, end, seed):
    """XXH64 of buf[start:end] (a uint8 array), identical to xxhash.xxh64_intdigest."""
    n = end - start
    i = start
    if n >= 32:
        v1 = seed + P64_1 + P64_2
        v2 = seed + P64_2
        v3 = seed
        v4 = seed - P64_1
        limit = end - 32
        while i <= limit:
            v1 = _round(v1, _read_le(buf, i, 8))
            v2 = _round(v2, _read_le(buf, i + 8, 8))
            v3 = _round(v3, _read_le(buf, i + 16, 8))
            v4 = _round(v4, _read_le(buf, i + 24, 8))
            i += 32
        h = rotl64(v1, 1) + rotl64(v2, 7) + rotl64(v3, 12) + rotl64(v4, 18)
        h = _merge(h, v1)
        h = _merge(h, v2)
        h = _merge(h, v3)
        h = _merge(h, v4)
    else:
        h = seed + P64_5
    h = h + U64(n)
    while i + 8 <= end:
        h = h ^ _round(U64(0), _read_le(buf, i, 8))
        h = rotl64(h, 27) * P64_1 + P64_4
        i += 8
    if i + 4 <= end:
        h = h ^ (_read_le(buf, i, 4) * P64_1)
        h = rotl64(h, 23) * P64_2 + P64_3
        i += 4
    while i < end:
        h = h ^ (U64(buf[i]) * P64_5)
        h = rotl64(h, 11) * P64_1
        i += 1
    h = h ^ (h >> U64(33))
    h = h * P64_2
    h = h ^ (h >> U64(29))
    h = h * P64_3
    return h ^ (h >> U64(32))


@njit(inline="always", cache=True)
def fmix64(h):
    """MurmurHash3's 64-bit finalizer: an avalanching bijection."""
    h = h ^ (h >> U64(33))
    h = h * U64(0xFF51AFD7ED558CCD)
    h = h ^ (h >> U64(33))
    h = h * U64(0xC4CEB9FE1A85EC53)
    return h ^ (h >> U64(33))


@njit(inline="always", cache=True)
def fmix32(h):
    """MurmurHash3's 32-bit finalizer on a uint32 (datasketch's affine32 pre-mix).

    numba widens uint32 products to 64 bits, so each product is truncated back explicitly.
    """
    h = h ^ (h >> np.uint32(16))
    h = np.uint32(h * np.uint32(0x85EBCA6B))
    h = h ^ (h >> np.uint32(13))
    h = np.uint32(h * np.uint32(0xC2B2AE35))
    return np.uint32(h ^ (h >> np.uint32(16)))


@intrinsic
def popcount(typingctx, x):
    """LLVM's ctpop (one POPCNT instruction); numba ships cttz/ctlz but not this one."""
    if not isinstance(x, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        return builder.ctpop(args[0])

    return x(x), codegen


@njit(inline="always", cache=True)
def _sel(cond, a, b):
    """a if cond else b, as a select rather than a branch (the condition is data, not control)."""
    return a if cond else b


@njit(inline="always", cache=True)
def xxh64_short(w0, w1, n):
    """XXH64 (seed 0) of n <= 16 bytes given as two little-endian words, with no data-dependent
    branch: every step runs and a select keeps it or not. Tokens are mostly 2-10 bytes and their
    lengths vary unpredictably, so XXH64's length branches mispredicted about once per token.
    Bytes of w0/w1 beyond n must be zero."""
    n64 = U64(n)
    h = P64_5 + n64
    h = _sel(n >= 8, rotl64(h ^ _round(U64(0), w0), 27) * P64_1 + P64_4, h)
    h = _sel(n >= 16, rotl64(h ^ _round(U64(0), w1), 27) * P64_1 + P64_4, h)
    rest = _sel(n >= 8, w1, w0)  # the bytes after the 8-byte lanes
    four = (n & 7) >= 4
    h = _sel(four, rotl64(h ^ ((rest & MASK32) * P64_1), 23) * P64_2 + P64_3, h)
    rest = _sel(four, rest >> U64(32), rest)
    tail = n & 3
    for j in range(3):
        h = _sel(tail > j, rotl64(h ^ ((rest & U64(0xFF)) * P64_5), 11) * P64_1, h)
        rest = rest >> U64(8)
    h = h ^ (h >> U64(33))
    h = h * P64_2
    h = h ^ (h >> U64(29))
    h = h * P64_3
    return h ^ (h >> U64(32))
