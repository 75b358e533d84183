"""The records that flow between stages.

One `Document` type for every source (datatrove's lesson): readers produce it, every later stage
reads it, and nothing downstream needs to know whether it came from a folder, JSONL or stdin.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np


class TextStore(Protocol):
    """Texts left in their file (stored.StoredTexts), each read back exactly as first parsed."""

    def read(self, at: int) -> str: ...

    def chars(self, at: int) -> int: ...

    def blank(self, at: int) -> bool: ...


def is_blank(text: str) -> bool:
    """Empty or only white space: a document with no visible character."""
    return not text or text.isspace()


StoredText = tuple[TextStore, int]  # a store and the text's place in it (a tuple: made in bulk, in C)


class Document:
    """One input document; treat it as immutable.

    `id` is what the report calls it; `source` says where it came from (path, or path:line) so an
    error or a cluster can always be traced back to the input.

    The text is held, or left in its file and read back the first time it is asked for (a large
    JSONL file parsed by worker processes): at 200k documents, sending every text back from the
    workers cost the parent about a second of a core and 320 MB of peak memory, and the stages
    after signing read back 9% of them (18,857). `chars` and `blank` are known without reading it.
    A plain class with slots (not a frozen dataclass: frozen __init__ goes through
    object.__setattr__ per field, which cost a second per million documents).
    """

    __slots__ = ("_stored", "_text", "id", "meta", "source")

    def __init__(self, id: str, text: str | StoredText, source: str, meta: dict[str, Any] | None = None) -> None:
        self.id = id
        self.source = source
        self.meta = {} if meta is None else meta
        if isinstance(text, str):
            self._text: str | None = text
            self._stored: StoredText | None = None
        else:
            self._text, self._stored = None, text

    @property
    def text(self) -> str:
        text = self._text
        if text is None:
            assert self._stored is not None
            store, at = self._stored
            text = self._text = store.read(at)
        return text

    @property
    def chars(self) -> int:
        """len(text), without reading a stored text."""
        if self._text is not None:
            return len(self._text)
        store, at = self._stored  # type: ignore[misc]
        return store.chars(at)

    @property
    def blank(self) -> bool:
        """Whether the text is empty or only white space, without reading a stored text."""
        text = self._text
        if text is not None:
            return is_blank(text)
        store, at = self._stored  # type: ignore[misc]
        return store.blank(at)

    @property
    def origin(self) -> str | StoredText:
        """What the document was made from: its text, or where it is stored. Identity with what a
        reader offered for signing tells which offered texts became which documents."""
        return self._stored if self._stored is not None else self.text

    def renamed(self, new_id: str) -> Document:
        """The same document under another id (a stored text stays unread)."""
        return Document(new_id, self.origin, self.source, self.meta)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Document):
            return NotImplemented
        return (self.id, self.source, self.text) == (other.id, other.source, other.text)

    __hash__ = None  # type: ignore[assignment]  # mutable in principle, like the dataclass it was

    def __repr__(self) -> str:
        text = self._text if self._text is not None else f"<{self.chars} chars stored>"
        return f"Document(id={self.id!r}, text={text!r}, source={self.source!r})"


@dataclass(frozen=True, slots=True)
class Skipped:
    """An input that could not be read and was skipped under `--skip-bad`.

    Kept (not just warned about) so the report accounts for every input.
    """

    source: str
    reason: str


class DedupError(Exception):
    """An error the user caused and can fix (bad path, malformed record, bad option).

    The CLI prints `str(err)` as one line and exits with status 2; it never shows a traceback for it.
    """


class InputError(DedupError):
    """A bad input record. `where` is `path` or `path:line`, so the message names the place."""

    def __init__(self, where: str, problem: str) -> None:
        super().__init__(f"{where}: {problem}")
        self.where = where
        self.problem = problem


@dataclass(frozen=True, slots=True)
class Cluster:
    """Units (or passages) found to be copies of each other at one level."""

    level: str
    doc: np.ndarray  # int64 document index per member, sorted by (doc, start)
    start: np.ndarray
    end: np.ndarray
    similarity: float  # lowest verified Jaccard among the pairs that joined the cluster
    exact: bool  # every member has the same normalized text
    edges: np.ndarray  # (m, 2) member-index pairs that joined the cluster: exact copies or verified LSH pairs
    edge_similarity: np.ndarray  # exact Jaccard of each edge (for passages: aligned-word identity)
    boilerplate: bool = False  # passage level: text in very many documents, reported once, not reuse
