"""Normalization and tokenization.

Python does only what CPython does in C over a whole document (NFKC, casefold, encode); one numba
kernel then walks the UTF-8 bytes of a whole batch once, classifies each code point through a
lookup table, and emits token hashes. No Python object is created per token.

Normalization, as a reader would see it: NFKC folds compatibility forms (full-width letters,
ligatures, non-breaking spaces); casefold folds case; apostrophes (' ’ ‘ ʼ) and invisible format
characters (soft hyphen, zero-width joiners) are deleted inside words so "Russia’s" == "Russia's" ==
"russias"; every other punctuation mark, symbol, dash, quote or space separates words. Letters,
digits and combining marks make words (so scripts with combining marks are not cut apart).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numba import njit

from .hashing import U64, xxh64

SEP, WORD, DELETE, BREAK, CR = 0, 1, 2, 3, 4

APOSTROPHES = "'’‘ʼ`´′"
# The same line breaks as str.splitlines, so the segmenter (on the original text) and the tokenizer
# (on the normalized text) count lines identically.
LINE_BREAKS = "\n\v\f\x1c\x1d\x1e\x85\u2028\u2029"

# Code point ranges that hold assigned characters beyond the BMP (planes 1-3 and 14); everything
# else outside the BMP is unassigned or private use, which separates words.
_ASSIGNED_RANGES = ((0, 0x10000), (0x10000, 0x323B0), (0xE0000, 0xE0200))


@lru_cache(maxsize=1)
def char_classes() -> np.ndarray:
    """Class of every code point: SEP, WORD, DELETE, BREAK or CR. Built once (~40 ms)."""
    cls = np.zeros(0x110000, dtype=np.uint8)
    category = unicodedata.category
    for lo, hi in _ASSIGNED_RANGES:
        cats = [category(chr(cp)) for cp in range(lo, hi)]
        first = np.frombuffer("".join(c[0] for c in cats).encode("ascii"), dtype=np.uint8)
        word = (first == ord("L")) | (first == ord("N")) | (first == ord("M"))
        fmt = np.array([c == "Cf" for c in cats], dtype=bool)
        block = cls[lo:hi]
        block[word] = WORD
        block[fmt] = DELETE
    for ch in APOSTROPHES:
        cls[ord(ch)] = DELETE
    for ch in LINE_BREAKS:
        cls[ord(ch)] = BREAK
    cls[ord("\r")] = CR
    return cls


def normalize(text: str) -> str:
    """The C-speed part of normalization; the rest (classes) happens in the tokenizer kernel."""
    return unicodedata.normalize("NFKC", text).casefold()


def encode(text: str) -> bytes:
    """UTF-8 bytes of normalized text; lone surrogates (legal in JSON strings) pass through as separators."""
    return normalize(text).encode("utf-8", "surrogatepass")


def tokens(text: str) -> list[str]:
    """Reference tokenizer in plain Python: slow, for tests and for datasketch interoperability."""
    cls = char_classes()
    out: list[str] = []
    cur: list[str] = []
    for ch in normalize(text):
        k = cls[ord(ch)]
        if k == WORD:
            cur.append(ch)
        elif k != DELETE and cur:
            out.append("".join(cur))
            cur = []
    if cur:
        out.append("".join(cur))
    return out


@dataclass(frozen=True, slots=True)
class Tokens:
    """Tokens of a batch of documents, flat arrays indexed by token.

    `compact` is the normalized text of each document with tokens joined by one space; a unit's
    normalized form (for exact-duplicate keys) is the slice compact[cstart[first]:cend[last]].
    """

    hash: np.ndarray  # uint64 XXH64 of each token's normalized bytes
    line: np.ndarray  # int32 line number of the token within its document
    cstart: np.ndarray  # int64 byte offset of the token in `compact`
    cend: np.ndarray  # int64
    doc_start: np.ndarray  # int64 (n_docs + 1) first token of each document
    compact: np.ndarray  # uint8


def tokenize_batch(texts: list[str]) -> Tokens:
    """Tokenize and hash a batch of documents in one kernel call."""
    encoded = [encode(t) for t in texts]
    lengths = np.fromiter((len(b) for b in encoded), dtype=np.int64, count=len(encoded))
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    buf = np.frombuffer(b"".join(encoded), dtype=np.uint8)
    h, line, cs, ce, doc_start, compact, n_tok, n_bytes = _tokenize(buf, offsets, char_classes())
    return Tokens(h[:n_tok], line[:n_tok], cs[:n_tok], ce[:n_tok], doc_start, compact[:n_bytes])


@njit(cache=True, nogil=True)
def _tokenize(buf, offsets, cls):
    n_docs = offsets.size - 1
    cap = buf.size // 2 + n_docs + 1
    tok_hash = np.empty(cap, np.uint64)
    tok_line = np.empty(cap, np.int32)
    tok_cs = np.empty(cap, np.int64)
    tok_ce = np.empty(cap, np.int64)
    compact = np.empty(buf.size + n_docs + 1, np.uint8)
    doc_start = np.empty(n_docs + 1, np.int64)
    seed = U64(0)
    t = 0
    c = 0
    for d in range(n_docs):
        doc_start[d] = t
        i = offsets[d]
        end = offsets[d + 1]
        line = 0
        in_tok = False
        tok_c0 = 0
        while i <= end:  # i == end is a virtual separator that closes the last token
            b0 = buf[i] if i < end else np.uint8(32)
            if b0 < 0x80:
                cp = np.int64(b0)
                ln = 1
            elif b0 < 0xE0:
                cp = (np.int64(b0 & 0x1F) << 6) | np.int64(buf[i + 1] & 0x3F)
                ln = 2
            elif b0 < 0xF0:
                cp = (
                    (np.int64(b0 & 0x0F) << 12)
                    | (np.int64(buf[i + 1] & 0x3F) << 6)
                    | np.int64(buf[i + 2] & 0x3F)
                )
                ln = 3
            else:
                cp = (
                    (np.int64(b0 & 0x07) << 18)
                    | (np.int64(buf[i + 1] & 0x3F) << 12)
                    | (np.int64(buf[i + 2] & 0x3F) << 6)
                    | np.int64(buf[i + 3] & 0x3F)
                )
                ln = 4
            k = cls[cp]
            if k == 1:  # WORD
                if not in_tok:
                    if t > doc_start[d]:
                        compact[c] = 32
                        c += 1
                    tok_c0 = c
                    in_tok = True
                for j in range(ln):
                    compact[c + j] = buf[i + j]
                c += ln
            elif k != 2:  # a separator, line break or CR ends the token; DELETE does not
                if in_tok:
                    tok_hash[t] = xxh64(compact, tok_c0, c, seed)
                    tok_line[t] = line
                    tok_cs[t] = tok_c0
                    tok_ce[t] = c
                    t += 1
                    in_tok = False
                if k == 3:
                    line += 1
                elif k == 4:
                    line += 1
                    if i + 1 < end and buf[i + 1] == 10:
                        i += 1
            i += ln
    doc_start[n_docs] = t
    return tok_hash, tok_line, tok_cs, tok_ce, doc_start, compact, t, c
