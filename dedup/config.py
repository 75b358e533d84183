"""One typed, frozen configuration shared by every stage (text-dedup's lesson).

The report's `params` is this object serialized, so anything that shapes a result lives here and
two runs with equal configs are comparable.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from .model import DedupError

Level = Literal["document", "paragraph", "passage"]
Method = Literal["classic", "oph"]
LEVELS: tuple[str, ...] = ("document", "paragraph", "passage")
UNIT_LEVELS: tuple[str, ...] = ("document", "paragraph")  # signed with MinHash; passages are aligned
# Shortest unit or passage, in words, when --min-words is not given. Passages need more: five-word
# runs ("the Islamic State group in") recur by chance, a five-word paragraph repeated does not.
UNIT_MIN_WORDS = 5
PASSAGE_MIN_WORDS = 8
# An n-gram in more documents than this is boilerplate unless --boilerplate-df says otherwise; a
# fraction never counts fewer than BOILERPLATE_FLOOR documents (boilerplate means "very many").
BOILERPLATE_DF = 0.05
BOILERPLATE_FLOOR = 10
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
    min_words: int | None = None  # None: UNIT_MIN_WORDS for units, PASSAGE_MIN_WORDS for passages
    levels: tuple[str, ...] = LEVELS
    batch_size: int = 256
    boilerplate_df: float = BOILERPLATE_DF  # below 1: a fraction of the documents; else a count
    max_gap: int = 10  # words a passage alignment bridges (a changed word, a dropped clause)
    bands: int = field(default=0)
    rows: int = field(default=0)

    def __post_init__(self) -> None:
        if not 0.0 < self.threshold <= 1.0:
            raise DedupError(f"--threshold must be in (0, 1], got {self.threshold}")
        if not 1 <= self.ngram <= MAX_NGRAM:
            raise DedupError(f"--ngram must be in 1..{MAX_NGRAM}, got {self.ngram}")
        if not 1 <= self.num_perm <= 4096:
            raise DedupError(f"--num-perm must be in 1..4096, got {self.num_perm}")
        if self.min_words is not None and self.min_words < 1:
            raise DedupError(f"--min-words must be at least 1, got {self.min_words}")
        if not self.boilerplate_df > 0:
            raise DedupError(f"--boilerplate-df must be positive, got {self.boilerplate_df}")
        if not 0 <= self.max_gap <= 1000:
            raise DedupError(f"--max-gap must be in 0..1000, got {self.max_gap}")
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

    @property
    def unit_levels(self) -> tuple[str, ...]:
        return tuple(lv for lv in self.levels if lv in UNIT_LEVELS)

    @property
    def unit_min_words(self) -> int:
        return self.min_words if self.min_words is not None else UNIT_MIN_WORDS

    @property
    def passage_min_words(self) -> int:
        return self.min_words if self.min_words is not None else PASSAGE_MIN_WORDS

    def max_df(self, n_documents: int) -> int:
        """Documents an n-gram may occur in and still seed a passage."""
        if self.boilerplate_df >= 1:
            return int(self.boilerplate_df)
        return max(int(self.boilerplate_df * n_documents), BOILERPLATE_FLOOR)

    def candidate_recall(self) -> tuple[float, float]:
        """(similarity, probability): how likely a pair at the recall target becomes a candidate."""
        from .lsh import candidate_probability, recall_target

        target = recall_target(self.threshold)
        return target, float(candidate_probability(target, self.bands, self.rows))

    def params(self) -> dict[str, Any]:
        """Every setting that shaped the result, for the report."""
        out = asdict(self)
        out["levels"] = list(self.levels)
        out["min_words"] = {
            lv: self.passage_min_words if lv == "passage" else self.unit_min_words for lv in self.levels
        }
        del out["batch_size"]  # shapes speed and memory, never the result
        out["normalization"] = NORMALIZATION
        out["shingle_hash"] = SHINGLE_HASH
        return out
