"""Hash primitives compiled with numba, shared by the tokenizer, shingler, MinHash and LSH kernels.

Token hashes are XXH3-64 computed inside the tokenizer kernel: calling the `xxhash` package per
token would put a Python call on every token. The kernel is tested bit for bit against
`xxhash.xxh3_64_intdigest`, so the hash is xxhash's, only the call site differs.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit
from numba.core import types
from numba.cpython.unsafe.numbers import trailing_zeros
from numba.extending import intrinsic

from . import jit  # noqa: F401 - numba's code generation settings, before any kernel compiles

__all__ = [
    "fmix32",
    "fmix64",
    "popcount",
    "rotl64",
    "trailing_zeros",
    "xxh3_9to16",
    "xxh3_64",
    "xxh3_short",
    "xxh3_upto8",
]

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


def _llvm_unary(op: str):
    """An integer -> integer numba intrinsic calling one llvmlite IRBuilder method (one instruction)."""

    @intrinsic
    def unary(typingctx, x):
        if not isinstance(x, types.Integer):
            return None

        def codegen(context, builder, signature, args):
            return getattr(builder, op)(args[0])

        return x(x), codegen

    return unary


popcount = _llvm_unary("ctpop")  # numba ships cttz/ctlz but not popcount
bswap64 = _llvm_unary("bswap")


@njit(inline="always", cache=True)
def _sel(cond, a, b):
    """a if cond else b, as a select rather than a branch (the condition is data, not control)."""
    return a if cond else b


# --- XXH3-64 (seed 0, default secret) -------------------------------------------------------------
# Token hashes are XXH3-64: on the short inputs words are, XXH3 needs 2-5 multiplies in independent
# chains where XXH64 needs ~16 in one serial chain, and the token hash was the largest single cost
# of tokenizing (measured: a 3-multiply hash in its place took tokenizing from 94k to 129k docs/s).
# Tested bit for bit against xxhash.xxh3_64_intdigest for every length class.

# The 192-byte default secret of the reference implementation (kSecret): a constant of the algorithm.
XXH3_SECRET = np.frombuffer(
    bytes.fromhex(
        "b8fe6c3923a44bbe7c01812cf721ad1cded46de9839097db7240a4a4b7b3671f"
        "cb79e64eccc0e578825ad07dccff7221b8084674f743248ee03590e6813a264c"
        "3c2852bb91c300cb88d0658b1b532ea371644897a20df94e3819ef46a9deacd8"
        "a8fa763fe39c343ff9dcbbc7c70b4f1d8a51e04bcdb45931c89f7ec9d9787364"
        "eac5ac8334d3ebc3c581a0fffa1363eb170ddd51b7f0da49d316552629d4689e"
        "2b16be587d47a1fc8ff8b8d17ad031ce45cb3a8f95160428afd7fbcabb4b407e"
    ),
    dtype=np.uint8,
)
P32_1 = U64(0x9E3779B1)
P32_2 = U64(0x85EBCA77)
P32_3 = U64(0xC2B2AE3D)
PRIME_MX1 = U64(0x165667919E3779F9)
PRIME_MX2 = U64(0x9FB21C651E98DF25)


def _secret_word(offset: int) -> np.uint64:
    return U64(int.from_bytes(XXH3_SECRET[offset : offset + 8].tobytes(), "little"))


def _secret_half(offset: int) -> np.uint64:
    return U64(int.from_bytes(XXH3_SECRET[offset : offset + 4].tobytes(), "little"))


# The secret-derived constants of the short paths (seed 0), precomputed once.
_BITFLIP_1TO3 = U64(int(_secret_half(0)) ^ int(_secret_half(4)))
_BITFLIP_4TO8 = U64(int(_secret_word(8)) ^ int(_secret_word(16)))
_BITFLIP_9TO16_A = U64(int(_secret_word(24)) ^ int(_secret_word(32)))
_BITFLIP_9TO16_B = U64(int(_secret_word(40)) ^ int(_secret_word(48)))
_BITFLIP_0 = U64(int(_secret_word(56)) ^ int(_secret_word(64)))


@intrinsic
def mul128_fold64(typingctx, a, b):
    """Low 64 bits XOR high 64 bits of the 128-bit product a * b: LLVM's i128 multiply, one
    64x64->128 instruction (numba has no 128-bit integers; four 32-bit products cost ~3x more)."""
    if not (isinstance(a, types.Integer) and isinstance(b, types.Integer)):
        return None

    def codegen(context, builder, signature, args):
        wide = ir.IntType(128)
        product = builder.mul(builder.zext(args[0], wide), builder.zext(args[1], wide))
        low = builder.trunc(product, ir.IntType(64))
        high = builder.trunc(builder.lshr(product, ir.Constant(wide, 64)), ir.IntType(64))
        return builder.xor(low, high)

    return types.uint64(types.uint64, types.uint64), codegen


@njit(inline="always", cache=True)
def xxh64_round(acc, value):
    """XXH64's round: folds a 64-bit value into a running hash (multiply, rotate, multiply). A
    chain of rounds keys a sequence of token or shingle hashes without the weakness of a
    polynomial mod 2^64 (crafted Thue-Morse sequences collide under any polynomial)."""
    return rotl64(acc + value * P64_2, 31) * P64_1


@njit(inline="always", cache=True)
def _xxh64_avalanche(h):
    h = h ^ (h >> U64(33))
    h = h * P64_2
    h = h ^ (h >> U64(29))
    h = h * P64_3
    return h ^ (h >> U64(32))


@njit(inline="always", cache=True)
def _xxh3_avalanche(h):
    h = h ^ (h >> U64(37))
    h = h * PRIME_MX1
    return h ^ (h >> U64(32))


@njit(inline="always", cache=True)
def _rrmxmx(h, n):
    h = h ^ (rotl64(h, 49) ^ rotl64(h, 24))
    h = h * PRIME_MX2
    h = h ^ ((h >> U64(35)) + U64(n))
    h = h * PRIME_MX2
    return h ^ (h >> U64(28))


@njit(inline="always", cache=True)
def xxh3_upto8(w0, n):
    """XXH3-64 of 1 <= n <= 8 bytes given as a little-endian word (bytes past n zero): both length
    classes computed and one kept by a select, 64-bit multiplies only, so a loop over many tokens
    vectorizes (the 9-16 byte class needs a 128-bit product, which has no vector form)."""
    n64 = U64(n)
    # 1..3 bytes
    c1 = w0 & U64(0xFF)
    c2 = (w0 >> U64(8 * (n >> 1))) & U64(0xFF)
    c3 = (w0 >> U64(8 * max(n - 1, 0))) & U64(0xFF)
    combined = (c1 << U64(16)) | (c2 << U64(24)) | c3 | (n64 << U64(8))
    r13 = _xxh64_avalanche(combined ^ _BITFLIP_1TO3)
    # 4..8 bytes: the first and the last four
    last4 = (w0 >> U64(8 * min(max(n - 4, 0), 4))) & MASK32
    r48 = _rrmxmx((last4 + ((w0 & MASK32) << U64(32))) ^ _BITFLIP_4TO8, n)
    return _sel(n <= 3, r13, r48)


@njit(inline="always", cache=True)
def xxh3_9to16(w0, w1, n):
    """XXH3-64 of 9 <= n <= 16 bytes given as two little-endian words (bytes past n zero)."""
    shift = U64(8 * min(max(n - 8, 1), 7))
    last8 = _sel(n >= 16, w1, (w0 >> shift) | (w1 << (U64(64) - shift)))
    lo = w0 ^ _BITFLIP_9TO16_A
    hi = last8 ^ _BITFLIP_9TO16_B
    return _xxh3_avalanche(U64(n) + bswap64(lo) + hi + mul128_fold64(lo, hi))


@njit(inline="always", cache=True)
def xxh3_short(w0, w1, n):
    """XXH3-64 of 1 <= n <= 16 bytes given as two little-endian words (bytes past n zero), with no
    data-dependent branch: all three length classes are computed and a select keeps one."""
    return _sel(n <= 8, xxh3_upto8(w0, n), xxh3_9to16(w0, w1, n))


@njit(cache=True)  # slow path only: not inlined, to keep compile time down
def _mix16(buf, i, s):
    secret = XXH3_SECRET
    return mul128_fold64(
        _read_le(buf, i, 8) ^ _read_le(secret, s, 8), _read_le(buf, i + 8, 8) ^ _read_le(secret, s + 8, 8)
    )


@njit(cache=True)
def xxh3_64(buf, start, end):
    """XXH3-64 (seed 0) of buf[start:end], any length; identical to xxhash.xxh3_64_intdigest."""
    n = end - start
    secret = XXH3_SECRET
    if n <= 16:
        if n == 0:
            return _xxh64_avalanche(_BITFLIP_0)
        w0 = _read_le(buf, start, min(n, 8))
        w1 = _read_le(buf, start + 8, max(n - 8, 0))
        return xxh3_short(w0, w1, n)
    if n <= 128:
        acc = U64(n) * P64_1
        if n > 32:
            if n > 64:
                if n > 96:
                    acc += _mix16(buf, start + 48, 96)
                    acc += _mix16(buf, end - 64, 112)
                acc += _mix16(buf, start + 32, 64)
                acc += _mix16(buf, end - 48, 80)
            acc += _mix16(buf, start + 16, 32)
            acc += _mix16(buf, end - 32, 48)
        acc += _mix16(buf, start, 0)
        acc += _mix16(buf, end - 16, 16)
        return _xxh3_avalanche(acc)
    if n <= 240:
        acc = U64(n) * P64_1
        for i in range(8):
            acc += _mix16(buf, start + 16 * i, 16 * i)
        acc_end = _mix16(buf, end - 16, 136 - 17)
        acc = _xxh3_avalanche(acc)
        for i in range(8, n // 16):
            acc_end += _mix16(buf, start + 16 * i, 16 * (i - 8) + 3)
        return _xxh3_avalanche(acc + acc_end)
    # long input: 64-byte stripes into 8 accumulators, scrambled after every 1 KiB block
    acc = np.empty(8, np.uint64)
    acc[0] = P32_3
    acc[1] = P64_1
    acc[2] = P64_2
    acc[3] = P64_3
    acc[4] = P64_4
    acc[5] = P32_2
    acc[6] = P64_5
    acc[7] = P32_1
    stripes_per_block = (192 - 64) // 8
    block_len = 64 * stripes_per_block
    n_blocks = (n - 1) // block_len
    for blk in range(n_blocks):
        for st in range(stripes_per_block):
            _accumulate_512(acc, buf, start + blk * block_len + st * 64, st * 8)
        for i in range(8):
            a = acc[i]
            a ^= a >> U64(47)
            a ^= _read_le(secret, 192 - 64 + 8 * i, 8)
            acc[i] = a * P32_1
    last_stripes = ((n - 1) - block_len * n_blocks) // 64
    for st in range(last_stripes):
        _accumulate_512(acc, buf, start + n_blocks * block_len + st * 64, st * 8)
    _accumulate_512(acc, buf, end - 64, 192 - 64 - 7)
    result = U64(n) * P64_1
    for i in range(4):
        result += mul128_fold64(
            acc[2 * i] ^ _read_le(secret, 11 + 16 * i, 8),
            acc[2 * i + 1] ^ _read_le(secret, 11 + 16 * i + 8, 8),
        )
    return _xxh3_avalanche(result)


@njit(cache=True)  # slow path only: not inlined, to keep compile time down
def _accumulate_512(acc, buf, i, s):
    secret = XXH3_SECRET
    for lane in range(8):
        value = _read_le(buf, i + 8 * lane, 8)
        key = value ^ _read_le(secret, s + 8 * lane, 8)
        acc[lane ^ 1] += value
        acc[lane] += (key & MASK32) * (key >> U64(32))
