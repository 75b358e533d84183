"""The records that flow between stages.

One `Document` type for every source (datatrove's lesson): readers produce it, every later stage
reads it, and nothing downstream needs to know whether it came from a folder, JSONL or stdin.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(slots=True)
class Document:
    """One input document; treat it as immutable.

    `id` is what the report calls it; `source` says where it came from (path, or path:line) so an
    error or a cluster can always be traced back to the input. Not a frozen dataclass: frozen
    __init__ goes through object.__setattr__ per field, which cost a second per million documents.
    """

    id: str
    text: str
    source: str
    meta: dict[str, Any] = field(default_factory=dict, compare=False)


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
