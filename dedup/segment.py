"""Units of a document with [start, end) character offsets into the original text.

Two levels: the whole document, and paragraphs. A paragraph ends at a line break (a blank line is
just two of them); whitespace around it is not part of its span. Lines are numbered exactly as
str.splitlines numbers them, which is also how the tokenizer counts them on the normalized text,
so a paragraph's tokens are found by line number without re-tokenizing.
"""

from __future__ import annotations

import numpy as np


def document_span(text: str) -> tuple[int, int]:
    """The document without its surrounding whitespace."""
    start = len(text) - len(text.lstrip())
    end = len(text.rstrip())
    return (start, end) if end > start else (0, 0)


def paragraphs(text: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(line, start, end) of every non-blank line."""
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
