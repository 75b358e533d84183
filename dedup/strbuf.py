"""Zero-copy reads of a str's own buffer from numba kernels.

CPython keeps a str as 1, 2 or 4 bytes a character (PEP 393), and numba passes a str to a kernel
without copying it. Kernels that read text (the tokenizer, the paragraph segmenter) take a batch's
documents joined into one str, one C call, instead of encoding each document to bytes or code
points first: for a 2.7 KB news article that encoding, and joining and copying the results, cost
more than the kernel itself.

These use numba's own accessors of its unicode type (`_data`, `_kind`, `deref_uint*`), which are
internal: the tokenizer's tests read texts of every kind through them, so a numba release that
changes them fails those tests rather than giving wrong tokens.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numba.cpython.unicode import deref_uint8, deref_uint16, deref_uint32

from . import jit  # noqa: F401 - numba code generation settings, before any kernel compiles


@njit(inline="always", cache=True)
def code_point(data, kind, i):
    """Character i of a str's buffer `data` (s._data) of `kind` (s._kind) bytes a character.
    Kernels branch on the kind once and pass a constant, so each loop reads one width."""
    if kind == 1:
        return np.int64(deref_uint8(data, i))
    if kind == 2:
        return np.int64(deref_uint16(data, i))
    return np.int64(deref_uint32(data, i))


@njit(cache=True)
def str_kind(s):
    """Bytes a character in s's buffer: 1, 2 or 4."""
    return s._kind


def char_offsets(texts: list[str]) -> np.ndarray:
    """(len(texts) + 1) offsets of each text in "".join(texts), in characters."""
    offsets = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum(np.fromiter(map(len, texts), dtype=np.int64, count=len(texts)), out=offsets[1:])
    return offsets
