"""One typed, frozen configuration shared by every stage (text-dedup's lesson).

The report's `params` is this object serialized, so anything that shapes a result lives here and
two runs with equal configs are comparable.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from .model import DedupError

Level = Literal["document", "paragraph"]
Method = Literal["classic", "oph"]
LEVELS: tuple[str, ...] = ("document", "paragraph")
MAX_NGRAM = 64
METHODS: tuple[str, ...] = ("classic", "oph")

# Versioned names for the text -> shingle-hash mapping, stored in reports (and later indexes) so a
# change of normalization or hashing is visible instead of silently mixing incompatible hashes.
NORMALIZATION = "nfkc-casefold-punct-v1"
SHINGLE_HASH = "xxh3-token-poly64-v1"


@dataclass(frozen=True, slots=True)
class ScanConfig:
    """Settings of a scan. Validated once here so the stages can trust them."""

    threshold: float = 0.8
    ngram: int = 5
    num_perm: int = 128
    seed: int = 1
    method: Method = "classic"
    min_words: int = 5
    levels: tuple[str, ...] = ("document", "paragraph")
    batch_size: int = 256
    bands: int = field(default=0)
    rows: int = field(default=0)

    def __post_init__(self) -> None:
        if not 0.0 < self.threshold <= 1.0:
            raise DedupError(f"--threshold must be in (0, 1], got {self.threshold}")
        if not 1 <= self.ngram <= MAX_NGRAM:
            raise DedupError(f"--ngram must be in 1..{MAX_NGRAM}, got {self.ngram}")
        if not 1 <= self.num_perm <= 4096:
            raise DedupError(f"--num-perm must be in 1..4096, got {self.num_perm}")
        if self.min_words < 1:
            raise DedupError(f"--min-words must be at least 1, got {self.min_words}")
        if self.method not in METHODS:
            raise DedupError(f"--method must be one of {', '.join(METHODS)}, got {self.method!r}")
        if not 0 <= self.seed < 2**32:
            raise DedupError(f"--seed must be in 0..2**32-1, got {self.seed}")
        if not self.levels:
            raise DedupError("--level needs at least one of " + ", ".join(LEVELS))
        for level in self.levels:
            if level not in LEVELS:
                raise DedupError(f"--level must be among {', '.join(LEVELS)}, got {level!r}")
        # Canonical order, no repeats: "paragraph,document" and "document,document,paragraph" are the
        # same request and must give the same report.
        object.__setattr__(self, "levels", tuple(lv for lv in LEVELS if lv in self.levels))
        if self.batch_size < 1:
            raise DedupError(f"batch size must be positive, got {self.batch_size}")
        if (self.bands == 0) != (self.rows == 0):
            raise DedupError("bands and rows are set together or not at all")
        if self.bands and self.bands * self.rows > self.num_perm:
            raise DedupError(f"bands*rows ({self.bands}*{self.rows}) exceeds num_perm ({self.num_perm})")
        if not self.bands:
            from .lsh import optimal_bands

            b, r = optimal_bands(self.threshold, self.num_perm)
            object.__setattr__(self, "bands", b)
            object.__setattr__(self, "rows", r)

    def candidate_recall(self) -> tuple[float, float]:
        """(similarity, probability): how likely a pair at the recall target becomes a candidate."""
        from .lsh import candidate_probability, recall_target

        target = recall_target(self.threshold)
        return target, float(candidate_probability(target, self.bands, self.rows))

    def params(self) -> dict[str, Any]:
        """Every setting that shaped the result, for the report."""
        out = asdict(self)
        out["levels"] = list(self.levels)
        del out["batch_size"]  # shapes speed and memory, never the result
        out["normalization"] = NORMALIZATION
        out["shingle_hash"] = SHINGLE_HASH
        return out
