"""Units of a document with [start, end) character offsets into the original text.

Two levels: the whole document, and paragraphs. A paragraph ends at a line break (a blank line is
just two of them); whitespace around it is not part of its span. Lines are numbered exactly as
str.splitlines numbers them, which is also how the tokenizer counts them on the normalized text,
so a paragraph's tokens are found by line number without re-tokenizing.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from . import jit  # noqa: F401 - numba code generation settings, before any kernel compiles
from .strbuf import char_offsets, code_point


def document_span(text: str) -> tuple[int, int]:
    """The document without its surrounding whitespace."""
    start = len(text) - len(text.lstrip())
    end = len(text.rstrip())
    return (start, end) if end > start else (0, 0)


def paragraphs(text: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(line, start, end) of every non-blank line: the plain-Python reference that the batch
    kernel (`paragraphs_batch`, used by the pipeline) is tested against."""
    lines_out: list[int] = []
    starts: list[int] = []
    ends: list[int] = []
    pos = 0
    for number, line in enumerate(text.splitlines(keepends=True)):
        body = line.rstrip()  # drops the line break and trailing whitespace
        if body:
            lead = len(body) - len(body.lstrip())
            if lead < len(body):
                lines_out.append(number)
                starts.append(pos + lead)
                ends.append(pos + len(body))
        pos += len(line)
    return (
        np.asarray(lines_out, dtype=np.int64),
        np.asarray(starts, dtype=np.int64),
        np.asarray(ends, dtype=np.int64),
    )


# The same sets as str.splitlines (line breaks) and str.isspace (whitespace), as lookup tables for
# the batch kernel below. No character at or above U+3001 is whitespace.
_SPACE_LIMIT = 0x3001
_IS_SPACE = np.array([chr(c).isspace() for c in range(_SPACE_LIMIT)], dtype=np.bool_)
_IS_BREAK = np.zeros(_SPACE_LIMIT, dtype=np.bool_)
_IS_BREAK[[0x0A, 0x0B, 0x0C, 0x0D, 0x1C, 0x1D, 0x1E, 0x85, 0x2028, 0x2029]] = True


def paragraphs_batch(texts: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(doc, line, start, end) of every paragraph of a batch, identical to `paragraphs` per text.

    The kernel reads the joined texts in place (strbuf), so positions are exact character offsets
    into the original text; splitting lines in Python cost 20 us per document, 38% of signing, and
    encoding each text to UTF-32 for the kernel cost more than the kernel.
    """
    return _paragraph_spans("".join(texts), char_offsets(texts), _IS_SPACE, _IS_BREAK)


@njit(cache=True, nogil=True)
def _paragraph_spans(s, offsets, is_space, is_break):
    kind = s._kind
    if kind == 1:
        return _spans_of_kind(s._data, 1, offsets, is_space, is_break)
    if kind == 2:
        return _spans_of_kind(s._data, 2, offsets, is_space, is_break)
    return _spans_of_kind(s._data, 4, offsets, is_space, is_break)


@njit(inline="always", cache=True)
def _spans_of_kind(data, kind, offsets, is_space, is_break):
    """_paragraph_spans for one str kind (a constant after inlining)."""
    n_docs = offsets.size - 1
    cap = offsets[n_docs] // 2 + n_docs + 1  # a paragraph needs a character and a break
    doc = np.empty(cap, np.int64)
    line = np.empty(cap, np.int64)
    start = np.empty(cap, np.int64)
    end = np.empty(cap, np.int64)
    limit = is_space.size
    k = 0
    for d in range(n_docs):
        base = offsets[d]
        stop = offsets[d + 1]
        i = base
        number = 0
        while i < stop:
            # one line: [i, j) up to its break
            j = i
            while j < stop:
                c = code_point(data, kind, j)
                if c < limit and is_break[c]:
                    break
                j += 1
            a = i
            while a < j:
                c = code_point(data, kind, a)
                if not (c < limit and is_space[c]):
                    break
                a += 1
            b = j
            while b > a:
                c = code_point(data, kind, b - 1)
                if not (c < limit and is_space[c]):
                    break
                b -= 1
            if b > a:
                doc[k] = d
                line[k] = number
                start[k] = a - base
                end[k] = b - base
                k += 1
            if j + 1 < stop and code_point(data, kind, j) == 13 and code_point(data, kind, j + 1) == 10:
                j += 1  # "\r\n" is one break
            number += 1
            i = j + 1
    return doc[:k], line[:k], start[:k], end[:k]
