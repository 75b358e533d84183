"""Texts left in their JSONL file after signing, read back one at a time when a later stage asks.

Worker processes that parse and sign a range of a large JSONL file send back, instead of its texts,
where each record's line lies (`TextSpans`); the parent's `Document`s then point into a
`StoredTexts`. Reading a text back parses the same bytes with the same functions as the worker
did, so it is the same text. The bytes are checked against a digest taken when they were first
parsed: a file that changed during the scan is an error naming the line, never a report built
from two versions of it.
"""

from __future__ import annotations

import os
import threading
import weakref
from itertools import repeat
from typing import NamedTuple

import numpy as np

from .io import JsonlOptions, line_digest, line_text
from .model import DedupError, StoredText, is_blank


class TextSpans(NamedTuple):
    """Per document of a parsed range: its line's place in the file and what the report needs
    without reading it (arrays: they travel out of band from the workers)."""

    start: np.ndarray  # int64 byte offset of the line
    size: np.ndarray  # int64 bytes of the line, its newline included
    line: np.ndarray  # int64 line number
    digest: np.ndarray  # uint64 XXH3-64 of the line's bytes
    chars: np.ndarray  # int64 length of the text in code points
    blank: np.ndarray  # bool: the text is empty or only white space

    @classmethod
    def of(cls, spans: list[tuple[int, int, int, int]], texts: list[str]) -> TextSpans:
        """From parse_jsonl's (start, size, line, digest) per document and the parsed texts."""
        table = np.array(spans, dtype=np.uint64).reshape(len(spans), 4)
        return cls(
            start=table[:, 0].astype(np.int64),
            size=table[:, 1].astype(np.int64),
            line=table[:, 2].astype(np.int64),
            digest=table[:, 3].copy(),
            chars=np.fromiter(map(len, texts), dtype=np.int64, count=len(texts)),
            blank=np.fromiter(map(is_blank, texts), dtype=bool, count=len(texts)),
        )


class SourceFile:
    """One JSONL file whose texts were left in it: opened at the first read back, closed when the
    last document pointing into it is gone (one descriptor per file, shared by threads: pread
    does not move a file position)."""

    __slots__ = ("__weakref__", "_fd", "_lock", "path")

    def __init__(self, path: str) -> None:
        self.path = path
        self._fd: int | None = None
        self._lock = threading.Lock()

    def read(self, start: int, size: int) -> bytes:
        fd = self._fd
        if fd is None:
            with self._lock:
                if self._fd is None:
                    self._fd = os.open(self.path, os.O_RDONLY)
                    weakref.finalize(self, os.close, self._fd)
                fd = self._fd
        return os.pread(fd, size, start)


class StoredTexts:
    """The texts of one parsed range of a JSONL file (model.TextStore)."""

    __slots__ = ("_blank", "_chars", "file", "options", "spans")

    def __init__(self, file: SourceFile, options: JsonlOptions, spans: TextSpans) -> None:
        self.file, self.options, self.spans = file, options, spans
        # Lists: the report asks every document for both, and int(array[i]) takes ~170 ns against
        # ~30 ns from a list (0.07 s of the GIL at 200k documents, beside the clustering threads).
        self._chars: list[int] = spans.chars.tolist()
        self._blank: list[bool] = spans.blank.tolist()

    def refs(self) -> list[StoredText]:
        """A Document's text for each of the range's records, in order."""
        return list(zip(repeat(self), range(self.spans.start.size)))

    def read(self, at: int) -> str:
        spans, path = self.spans, self.file.path
        line = int(spans.line[at])
        where = f"{path}:{line}"
        size = int(spans.size[at])
        try:
            raw = self.file.read(int(spans.start[at]), size)
        except OSError as err:
            raise DedupError(f"{where}: cannot read it back: {err.strerror or err}") from None
        if len(raw) != size or line_digest(raw) != spans.digest[at]:
            raise DedupError(f"{where}: the file changed while it was being scanned; scan it again")
        text = line_text(where, raw, line, self.options)
        assert text is not None, "a stored text's line is blank"
        return text

    def chars(self, at: int) -> int:
        return self._chars[at]

    def blank(self, at: int) -> bool:
        return self._blank[at]
