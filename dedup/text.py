"""Normalization and tokenization.

A batch of documents is joined into one str, and numba kernels read it where CPython keeps it:
stage 1 writes its normalized UTF-8 with per-byte flags, normalizing by per-character tables
(NormTables) instead of calling NFKC and casefold (only documents whose characters NFKC treats in
context, combining marks and the like, are normalized by Python); stage 2 finds the token spans 64
bytes at a time; stage 3 hashes the tokens. No Python object is created per token or character.

Normalization, as a reader would see it: NFKC folds compatibility forms (full-width letters,
ligatures, non-breaking spaces); casefold folds case; apostrophes (' ’ ‘ ʼ) and invisible format
characters (soft hyphen, zero-width joiners) are deleted inside words so "Russia’s" == "Russia's" ==
"russias"; every other punctuation mark, symbol, dash, quote or space separates words. Letters,
digits and combining marks make words (so scripts with combining marks are not cut apart).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numba import njit

from .hashing import (
    P64_2,
    P64_3,
    P64_4,
    P64_5,
    U64,
    _read_le,
    _sel,
    _xxh64_avalanche,
    popcount,
    rotl64,
    trailing_zeros,
    xxh3_9to16,
    xxh3_64,
    xxh3_short,
    xxh3_upto8,
    xxh64_round,
)
from .strbuf import char_offsets, code_point, str_kind
from .workspace import Workspace

SEP, WORD, DELETE, BREAK, CR = 0, 1, 2, 3, 4

APOSTROPHES = "'’‘ʼ`´′"
# The same line breaks as str.splitlines, so the segmenter (on the original text) and the tokenizer
# (on the normalized text) count lines identically.
LINE_BREAKS = "\n\v\f\x1c\x1d\x1e\x85\u2028\u2029"

# Code point ranges that hold assigned characters beyond the BMP (planes 1-3 and 14); everything
# else outside the BMP is unassigned or private use, which separates words.
_ASSIGNED_RANGES = ((0, 0x10000), (0x10000, 0x323B0), (0xE0000, 0xE0200))


def char_classes() -> np.ndarray:
    """Class of every code point: SEP, WORD, DELETE, BREAK or CR. Built once per process (35-60 ms)."""
    return _category_tables()[0]


@lru_cache(maxsize=1)
def _category_tables() -> tuple[np.ndarray, np.ndarray]:
    """(classes, the code points of category M): one pass over the categories serves both (only
    marks have a nonzero combining class, which norm_tables needs)."""
    cls = np.zeros(0x110000, dtype=np.uint8)
    marks = []
    category = unicodedata.category
    for lo, hi in _ASSIGNED_RANGES:
        # Every category is two ASCII letters: one string of them, read as an (n, 2) array (a list
        # of per-character tests took twice as long, at every start of the command).
        cats = "".join(map(category, map(chr, range(lo, hi)))).encode("ascii")
        codes = np.frombuffer(cats, dtype=np.uint8).reshape(-1, 2)
        first = codes[:, 0]
        mark = first == ord("M")
        word = (first == ord("L")) | (first == ord("N")) | mark
        fmt = (first == ord("C")) & (codes[:, 1] == ord("f"))
        block = cls[lo:hi]
        block[word] = WORD
        block[fmt] = DELETE
        marks.append(lo + np.flatnonzero(mark))
    for ch in APOSTROPHES:
        cls[ord(ch)] = DELETE
    for ch in LINE_BREAKS:
        cls[ord(ch)] = BREAK
    cls[ord("\r")] = CR
    return cls, np.concatenate(marks)


def normalize(text: str) -> str:
    """The C-speed part of normalization; the rest (classes) happens in the tokenizer kernel."""
    return unicodedata.normalize("NFKC", text).casefold()


CONTEXT = 0xFFFF  # NormTables.slot of a character normalized in context (0: kept as it is)
# A character that is a boundary for every normalization (a starter that composes with nothing, and
# no character composes with it), so joining blocks of code points with it normalizes each alone.
_BOUNDARY = "\U0010ffff"


@dataclass(frozen=True, slots=True)
class NormTables:
    """Normalization as a per-character lookup, for the tokenizer kernel.

    NFKC is not per character in general: it reorders combining marks and composes a character
    with the ones after it. But when a character's full decomposition starts with a starter that
    can be the second half of no composition, no normalization crosses the boundary before it; so
    in a text made only of such characters, NFKC(text) is the NFKC of each character joined, and
    casefold is per character anyway. `slot` says for each code point: 0, normalized as it is;
    j in [1, CONTEXT), replaced by `cps[start[j - 1]:start[j]]` (NFKC and/or casefold change it);
    CONTEXT, the rest (a combining mark, a Hangul vowel, ...), whose documents Python normalizes
    and the kernel then takes as they are. One lookup per character, no search (6,182 code points
    are replaced in Unicode 14)."""

    slot: np.ndarray  # uint16 per code point
    start: np.ndarray  # int64
    cps: np.ndarray  # int32 replacement code points


@lru_cache(maxsize=1)
def norm_tables() -> NormTables:
    """Built once per process that meets non-ASCII text (~0.1 s), from this Python's own Unicode
    data: each block of code points is normalized whole, joined by a boundary character."""
    ccc = np.zeros(0x110000, dtype=np.uint8)
    marks = _category_tables()[1]
    ccc[marks] = [unicodedata.combining(chr(c)) for c in marks.tolist()]
    seconds: set[str] = set()
    firsts: list[tuple[int, str]] = []  # characters whose decomposition starts with another one
    mapped: dict[int, str] = {}
    for lo, hi in _ASSIGNED_RANGES:
        for at in range(lo, hi, 0x1000):
            chars = list(map(chr, range(at, min(at + 0x1000, hi))))
            joined = _BOUNDARY.join(chars)
            canonical = unicodedata.normalize("NFD", joined)
            if canonical != joined:  # every character after the first of a decomposition may compose
                for part in canonical.split(_BOUNDARY):
                    if len(part) > 1:
                        seconds.update(part[1:])
            compat = unicodedata.normalize("NFKD", joined)
            if compat != joined:
                changed = [(c, p) for c, p in zip(chars, compat.split(_BOUNDARY), strict=True) if p != c]
                firsts += [(ord(c), p[0]) for c, p in changed]
            folded = unicodedata.normalize("NFKC", joined).casefold()
            if folded != joined:
                mapped.update(
                    (ord(c), m) for c, m in zip(chars, folded.split(_BOUNDARY), strict=True) if m != c
                )
    context = ccc != 0
    context[[ord(c) for c in seconds]] = True
    if firsts:  # what decides is the first character of the decomposition
        cp, first = np.array([(c, ord(f)) for c, f in firsts], dtype=np.int64).T
        context[cp] = context[first]
    context[:0x80] = False  # ASCII composes with nothing before it
    keys = sorted(c for c in mapped if c >= 0x80 and not context[c])  # the kernel lowercases A-Z itself
    if len(keys) >= CONTEXT - 1:
        raise RuntimeError(f"{len(keys)} replaced characters do not fit the uint16 slot table")
    slot = np.zeros(0x110000, dtype=np.uint16)
    slot[keys] = np.arange(1, len(keys) + 1)
    slot[context] = CONTEXT
    repl = [[ord(ch) for ch in mapped[c]] for c in keys]
    start = np.zeros(len(keys) + 1, dtype=np.int64)
    np.cumsum([len(r) for r in repl], out=start[1:])
    cps = np.array([c for r in repl for c in r], dtype=np.int32)
    for a in (slot, start, cps):
        a.setflags(write=False)
    return NormTables(slot, start, cps)


# What _put_ascii computes, as tables: bit 0 word byte, bit 1 line break (unless "\n" after "\r").
_ASCII_FLAGS = np.zeros(128, dtype=np.uint8)
_ASCII_FLAGS[[*range(48, 58), *range(65, 91), *range(97, 123), 39, 96]] |= 1
_ASCII_FLAGS[[10, 11, 12, 13, 28, 29, 30]] |= 2
_ASCII_LOWER = np.array([c | 32 if 65 <= c <= 90 else c for c in range(128)], dtype=np.uint8)


@njit(inline="always", cache=True)
def _put_ascii(b, prev, buf, word, brk, o):
    """Byte b (ASCII) at buf[o], A-Z lowercased, with its flags: [0-9A-Za-z] and the ASCII
    apostrophes ' ` are word bytes (deleted later, inside the token); "\\r\\n" is one line break."""
    at = U64(o)  # unsigned: numba then adds no negative-index test, which kept loops from vectorizing
    buf[at] = b | (np.uint8(np.uint8(b - 65) < 26) << np.uint8(5))
    word[at] = (np.uint8(b - 48) < 10) | (np.uint8((b | 32) - 97) < 26) | (b == 39) | (b == 96)
    brk[at] = ((b == 10) & (prev != 13)) | (b == 11) | (b == 12) | (b == 13) | (np.uint8(b - 28) < 3)


@njit(inline="always", cache=True)
def _put(cp, prev, cls, buf, word, brk, o):
    """Normalized character cp at buf[o:] as UTF-8 (surrogates too, as surrogatepass writes them)
    with its flags; deleted characters are left out. Returns the new end."""
    if cp < 0x80:
        _put_ascii(np.uint8(cp), prev, buf, word, brk, o)
        return o + 1
    k = cls[cp]
    if k == DELETE:
        return o
    w = np.uint8(k == WORD)
    if cp < 0x800:
        buf[o] = np.uint8(0xC0 | (cp >> 6))
        buf[o + 1] = np.uint8(0x80 | (cp & 0x3F))
        ln = 2
    elif cp < 0x10000:
        buf[o] = np.uint8(0xE0 | (cp >> 12))
        buf[o + 1] = np.uint8(0x80 | ((cp >> 6) & 0x3F))
        buf[o + 2] = np.uint8(0x80 | (cp & 0x3F))
        ln = 3
    else:
        buf[o] = np.uint8(0xF0 | (cp >> 18))
        buf[o + 1] = np.uint8(0x80 | ((cp >> 12) & 0x3F))
        buf[o + 2] = np.uint8(0x80 | ((cp >> 6) & 0x3F))
        buf[o + 3] = np.uint8(0x80 | (cp & 0x3F))
        ln = 4
    for j in range(ln):
        word[o + j] = w
        brk[o + j] = 0
    brk[o] = np.uint8(k == BREAK)
    return o + ln


@njit(inline="always", cache=True)
def _fill_kind(data, kind, char_off, given, cls, slot, start, cps, buf, word, brk, offsets, context, cap):
    """_fill for one str kind (a constant after inlining, so each loop reads one width)."""
    width = 2 if kind == 1 else (3 if kind == 2 else 4)  # most UTF-8 bytes one character can take
    total = char_off[char_off.size - 1]
    o = 0
    found = 0
    for d in range(char_off.size - 1):
        offsets[d] = o
        i = char_off[d]
        end = char_off[d + 1]
        prev = np.uint8(0)  # a document's first byte has no predecessor
        while i < end:
            # A run of ASCII (most of any Latin-script text), found first and then copied in a loop
            # LLVM vectorizes: testing each character inside one loop kept it scalar, ~4 ns each.
            j = i
            while j < end and code_point(data, kind, j) < 0x80:
                j += 1
            base = o - i
            if j - i >= 32:
                for q in range(i, j):
                    b = np.uint8(code_point(data, kind, q))
                    _put_ascii(b, prev, buf, word, brk, base + q)
                    prev = b
            else:  # a short run (between accented letters, say): by table, not ~40 instructions each
                for q in range(i, j):
                    b = np.uint8(code_point(data, kind, q))
                    at = U64(base + q)
                    f = _ASCII_FLAGS[b]
                    buf[at] = _ASCII_LOWER[b]
                    word[at] = f & np.uint8(1)
                    brk[at] = (f >> np.uint8(1)) & np.uint8((b != 10) | (prev != 13))
                    prev = b
            o += j - i
            # Then a run of other characters (all of a word in most other scripts).
            while j < end:
                cp = code_point(data, kind, j)
                if cp < 0x80:
                    break
                j += 1
                k = 0 if given[d] else np.int64(slot[cp])
                if k == 0 and cp < 0x800 and cls[cp] == WORD:  # a letter of most alphabets: 2 bytes
                    at = U64(o)
                    buf[at] = np.uint8(0xC0 | (cp >> 6))
                    buf[at + U64(1)] = np.uint8(0x80 | (cp & 0x3F))
                    word[at] = 1
                    word[at + U64(1)] = 1
                    brk[at] = 0
                    brk[at + U64(1)] = 0
                    o += 2
                    continue
                if k == CONTEXT:  # normalized by Python instead, and the batch filled again
                    context[d] = 1
                    found += 1
                    j = end
                    break
                if k == 0:  # the character itself, as a replacement of one
                    r0, r1 = np.int64(-1), np.int64(0)
                else:
                    r0, r1 = start[k - 1], start[k]
                    if o + 4 * (r1 - r0) + width * (total - j) > cap:
                        return -1, found  # the replacements grew the text past the buffer
                for q in range(r0, r1):  # replacements hold no "\r": no "\r\n" to track inside them
                    o = _put(cp if q < 0 else np.int64(cps[q]), np.uint8(0), cls, buf, word, brk, o)
            prev = np.uint8(0)  # "\r", any character, "\n" is two breaks, deleted characters too
            i = j
    offsets[char_off.size - 1] = o
    return o, found


@njit(cache=True, nogil=True)
def _fill(s, char_off, given, cls, slot, start, cps, buf, word, brk, offsets, context, cap):
    """Stage 1 of the tokenizer for text that is not all ASCII: the normalized UTF-8 of each
    document of the joined batch s (documents [char_off[d], char_off[d+1]) in characters) into buf,
    with per-byte flags (word byte; line break starts here) and byte offsets per document.

    Normalization is the per-character lookup of NormTables, except in documents `given` already
    normalized (taken as they are). A document holding a CONTEXT character is flagged in `context`
    and left incomplete, for the caller to normalize and fill again. Returns (bytes written, or -1
    when cap was too small; number of documents flagged)."""
    data = s._data
    kind = s._kind
    if kind == 1:
        return _fill_kind(
            data, 1, char_off, given, cls, slot, start, cps, buf, word, brk, offsets, context, cap
        )
    if kind == 2:
        return _fill_kind(
            data, 2, char_off, given, cls, slot, start, cps, buf, word, brk, offsets, context, cap
        )
    return _fill_kind(data, 4, char_off, given, cls, slot, start, cps, buf, word, brk, offsets, context, cap)


@njit(cache=True, nogil=True)
def _fill_ascii(s, char_off, buf, word, brk):
    """Stage 1 of the tokenizer for an all-ASCII batch: bytes and flags in one loop LLVM
    vectorizes (its bytes are the characters, so offsets are char_off)."""
    data = s._data
    n = len(s)
    prev = np.uint8(0)
    for i in range(n):  # "\r\n" is one break: a "\n" after "\r" is none
        b = np.uint8(code_point(data, 1, i))
        _put_ascii(b, prev, buf, word, brk, i)
        prev = b
    # A document's first byte has no predecessor (the "\r" before it ended the previous document).
    # Fixing those few bytes afterwards keeps the loop above one vectorized pass over the batch.
    for d in range(char_off.size - 1):
        i = char_off[d]
        if i < char_off[d + 1] and buf[i] == 10:
            brk[i] = 1


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

    hash: np.ndarray  # uint64 XXH3-64 of each token's normalized bytes
    line: np.ndarray  # int32 line number of the token within its document
    cstart: np.ndarray  # int64 byte offset of the token in `compact`
    cend: np.ndarray  # int64
    doc_start: np.ndarray  # int64 (n_docs + 1) first token of each document
    compact: np.ndarray  # uint8


def tokenize_batch(texts: list[str], ws: Workspace | None = None, *, hashes_only: bool = False) -> Tokens:
    """Tokenize and hash a batch of documents: three kernel stages over one concatenated buffer.

    With a workspace the result lives in its memory and is valid until the workspace's next use
    (copy what must outlive it); without one, the result owns fresh arrays. With `hashes_only`
    (all that signing needs) the offsets and compact text are not produced (left empty); token
    hashes and line numbers always are.
    """
    ws = ws if ws is not None else Workspace()
    buf, word, brk, offsets, n = _fill_batch(texts, ws)
    size = buf.size
    # 64 byte flags -> one 64-bit mask, in C: stage 2 then handles 64 bytes per step.
    word_bits = np.packbits(word, bitorder="little").view(np.uint64)
    brk_bits = np.packbits(brk, bitorder="little").view(np.uint64)
    cap = n // 2 + len(texts) + 1
    starts, ends = ws.array("starts", cap, np.int64), ws.array("ends", cap, np.int64)
    lines = ws.array("lines", cap, np.int32)
    doc_start = ws.array("doc_start", len(texts) + 1, np.int64)
    k = _token_spans(word_bits, brk_bits, offsets, starts, ends, lines, doc_start)
    h, line = ws.array("tok_hash", k, np.uint64), ws.array("tok_line", k, np.int32)
    out_start = ws.array("tok_doc_start", len(texts) + 1, np.int64)
    compact = ws.array("compact", size + len(texts) + 16, np.uint8)  # scratch only, for hashes_only
    if hashes_only:
        o = _hash_tokens_only(
            buf.view(np.uint64),
            starts[:k],
            ends[:k],
            lines[:k],
            doc_start,
            h,
            line,
            out_start,
            ws.array("tok_w0", k, np.uint64),
            ws.array("tok_w1", k, np.uint64),
            ws.array("tok_len", k, np.int64),
            ws.array("tok_long", k + 1, np.int64),
            ws.array("tok_special", k + 1, np.int64),
            compact,
        )
        empty = np.empty(0, dtype=np.int64)
        return Tokens(h[:o], line[:o], empty, empty, out_start, compact[:0])
    cs, ce = ws.array("tok_cs", k, np.int64), ws.array("tok_ce", k, np.int64)
    o, c = _hash_tokens(buf, starts[:k], ends[:k], lines[:k], doc_start, h, line, cs, ce, compact, out_start)
    return Tokens(h[:o], line[:o], cs[:o], ce[:o], out_start, compact[:c])


def _fill_batch(
    texts: list[str], ws: Workspace
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    """Stage 1: (buf, word, brk, offsets, n): the normalized UTF-8 of the batch, its flags and each
    document's byte offsets. The arrays are padded with zeros to whole 64-byte blocks plus one, so
    stage 2 reads masks anywhere and stage 3 reads 16 bytes at any token.

    The documents are joined into one str (one C call) and the kernel reads it in place: encoding
    each document, normalizing it and then copying the bytes cost real news text ~20 us of its
    ~45 us per 2.7 KB article, and the tables now do in the kernel what NFKC and casefold did."""
    s = "".join(texts)
    char_off = char_offsets(texts)
    if s.isascii():  # a flag CPython keeps: no scan
        n = len(s)
        size = (n // 64 + 2) * 64
        buf, word, brk = (ws.array(name, size, np.uint8) for name in ("bytes", "word", "brk"))
        _fill_ascii(s, char_off, buf, word, brk)
        buf[n:], word[n:], brk[n:] = 0, 0, 0
        return buf, word, brk, char_off, n
    nt, cls = norm_tables(), char_classes()
    given = np.zeros(len(texts), dtype=np.uint8)
    offsets = ws.array("doc_bytes", len(texts) + 1, np.int64)
    cap = _MAX_UTF8[str_kind(s)] * len(s)
    while True:
        size = (cap // 64 + 2) * 64
        buf, word, brk = (ws.array(name, size, np.uint8) for name in ("bytes", "word", "brk"))
        context = np.zeros(len(texts), dtype=np.uint8)
        n, found = _fill(
            s, char_off, given, cls, nt.slot, nt.start, nt.cps, buf, word, brk, offsets, context, cap
        )
        if n < 0:  # replacements that lengthen the text (ligatures, "…", "½"...) ran out of room
            cap *= 2
            continue
        if not found:
            break
        # Documents with characters NFKC treats in context (combining marks, ...): Python normalizes
        # them, and the kernel takes those as they are.
        texts = [normalize(t) if context[d] else t for d, t in enumerate(texts)]
        given |= context
        s = "".join(texts)
        char_off = char_offsets(texts)
        cap = max(cap, _MAX_UTF8[str_kind(s)] * len(s))
    size = (n // 64 + 2) * 64
    buf[n:size], word[n:size], brk[n:size] = 0, 0, 0
    return buf[:size], word[:size], brk[:size], offsets, n


_MAX_UTF8 = {1: 2, 2: 3, 4: 4}  # the most UTF-8 bytes a character of each str kind takes


@njit(inline="always", cache=True)
def _bits(masks, p):
    """The 64 flags starting at byte p, from masks packed 64 per word (little-endian bit order)."""
    q = p >> 6
    r = U64(p & 63)
    lo = masks[q] >> r
    hi = masks[q + 1] << (U64(64) - r) if r else U64(0)
    return lo | hi


@njit(cache=True, nogil=True)
def _token_spans(word_bits, brk_bits, offsets, starts, ends, lines, doc_start):
    """Token [start, end) byte spans and line numbers, 64 bytes per step. Stage 2 of the tokenizer.

    Walking the set bits of a block's start/end masks costs one mispredicted branch per 64 bytes
    instead of one or two per word, which is what bounded a byte-at-a-time state machine.
    """
    n_docs = offsets.size - 1
    k = 0
    e = 0
    for d in range(n_docs):
        doc_start[d] = k
        p = offsets[d]
        end = offsets[d + 1]
        carry = U64(0)
        line = 0
        while p < end:
            m = _bits(word_bits, p)
            b = _bits(brk_bits, p)
            if end - p < 64:  # bits past the document's end belong to the next one
                valid = (U64(1) << U64(end - p)) - U64(1)
                m &= valid
                b &= valid
            prev = (m << U64(1)) | carry
            carry = m >> U64(63)
            s = m & ~prev
            en = ~m & prev
            if end - p < 64:
                en &= valid
            while s:
                pos = trailing_zeros(s)
                starts[k] = p + np.int64(pos)
                lines[k] = line + np.int64(popcount(b & ((U64(1) << pos) - U64(1))))
                k += 1
                s &= s - U64(1)
            while en:
                ends[e] = p + np.int64(trailing_zeros(en))
                e += 1
                en &= en - U64(1)
            line += np.int64(popcount(b))
            p += 64
        if e < k:  # a word running to the document's end
            ends[e] = end
            e += 1
    doc_start[n_docs] = k
    return k


_ONES = U64(0x0101010101010101)
_APOSTROPHES = U64(0x2727272727272727)
_BACKTICKS = U64(0x6060606060606060)
_HIGHS = U64(0x8080808080808080)


@njit(inline="always", cache=True)
def _zero_bytes(v):
    """Nonzero exactly when some byte of v is zero (the SWAR test). Bytes of a word past the token
    are zero, but the XOR with a nonzero pattern before this test makes them nonzero."""
    return (v - _ONES) & ~v & _HIGHS


@njit(inline="always", cache=True)
def _special(w0, w1):
    """Whether a token's two words hold an ASCII apostrophe byte (it then needs the slow path, which
    deletes it): all tests OR-ed, no branch. Everything else in the buffer is already normalized,
    so non-ASCII bytes need nothing more."""
    return (
        _zero_bytes(w0 ^ _APOSTROPHES)
        | _zero_bytes(w1 ^ _APOSTROPHES)
        | _zero_bytes(w0 ^ _BACKTICKS)
        | _zero_bytes(w1 ^ _BACKTICKS)
    ) != U64(0)


@njit(inline="always", cache=True)
def _low_bytes(k):
    """Mask of the low k bytes of a word, 0 <= k <= 8, without shifting by 64."""
    return _sel(k >= 8, ~U64(0), (U64(1) << U64(8 * min(k, 7))) - U64(1))


@njit(cache=True)  # rare path: not inlined, to keep compile time down
def _copy_unquoted(buf, i, end, dst, c):
    """Copy the token buf[i:end] to dst[c:] without its ASCII apostrophes (' `), the only
    characters stage 1 leaves to delete; returns the new end in dst (c itself when nothing was
    left)."""
    for j in range(i, end):
        b = buf[j]
        dst[c] = b
        c += (b != 39) & (b != 96)
    return c


@njit(cache=True, nogil=True)
def _hash_tokens(buf, starts, ends, lines, doc_start, tok_hash, tok_line, cs, ce, compact, out_start):
    """Copy each token into the compact normalized text (one space between tokens) and hash it with
    XXH3-64. Stage 3 of the tokenizer when offsets and text are wanted (signing uses
    _hash_tokens_only).

    Stage 1 wrote the buffer normalized and lowercased, all but the ASCII apostrophes. A token of
    up to 16 bytes without one (nearly all of them) is two masked 8-byte words, copied and hashed
    without a loop or a data-dependent branch. Longer tokens, and tokens with an apostrophe, are
    copied byte by byte without their apostrophes; one left empty (it was only apostrophes) is
    dropped.
    """
    c = 0
    o = 0
    for d in range(doc_start.size - 1):
        out_start[d] = o
        for t in range(doc_start[d], doc_start[d + 1]):
            sep = c
            if o > out_start[d]:
                compact[c] = 32
                c += 1
            c0 = c
            s = starts[t]
            length = ends[t] - s
            w0 = _read_le(buf, s, 8) & _low_bytes(length)
            w1 = _read_le(buf, s + 8, 8) & _low_bytes(max(length - 8, 0))
            if length <= 16 and not _special(w0, w1):
                at = U64(c)  # unsigned index: LLVM merges the byte stores (see hashing._read_le)
                for j in range(8):
                    compact[at + U64(j)] = np.uint8((w0 >> U64(8 * j)) & U64(0xFF))
                    compact[at + U64(8 + j)] = np.uint8((w1 >> U64(8 * j)) & U64(0xFF))
                c += length
                h = xxh3_short(w0, w1, length)
            else:
                c = _copy_unquoted(buf, s, ends[t], compact, c)
                if c == c0:  # nothing but deleted characters: not a token
                    c = sep
                    continue
                h = xxh3_64(compact, c0, c)
            tok_hash[o] = h
            tok_line[o] = lines[t]
            cs[o] = c0
            ce[o] = c
            o += 1
    out_start[doc_start.size - 1] = o
    return o, c


@njit(cache=True)
def _has_apostrophe(buf, s, e):
    """Whether buf[s:e] holds an ASCII apostrophe (' or `), the one thing stage 1 leaves to delete."""
    n = 0
    for i in range(s, e):  # no early exit: a loop LLVM vectorizes
        n += (buf[i] == 39) | (buf[i] == 96)
    return n > 0


@njit(inline="always", cache=True)
def _word_at(words, p):
    """The 8 bytes at byte offset p (unsigned) of a buffer viewed as aligned little-endian words."""
    i = p >> U64(3)
    r = (p & U64(7)) * U64(8)
    return (words[i] >> r) | ((words[i + U64(1)] << (U64(63) - r)) << U64(1))


@njit(cache=True, nogil=True)
def _hash_tokens_only(
    words,
    starts,
    ends,
    lines,
    doc_start,
    tok_hash,
    tok_line,
    out_start,
    w0s,
    w1s,
    lens,
    long_ix,
    sp_ix,
    scratch,
):
    """Token hashes and line numbers only (what signing needs): stage 3 of the tokenizer in passes.

    Hashing token by token inside the loop that gathers them cost ~14 ns a token: every token ran
    all three XXH3 length classes, one of them a 128-bit product. Here one pass gathers each
    token's two masked words and notes the rare tokens that need more; a second hashes
    the tokens of up to 8 bytes (nearly all) in a branch-free loop LLVM vectorizes, 64-bit
    multiplies only; then the 9-16 byte tokens and the special ones (with an ASCII apostrophe, or
    longer than 16 bytes) are hashed one by one, and tokens left empty (only deleted characters) dropped.
    Bit for bit the hashes of _hash_tokens (tested).
    """
    k = starts.size
    n_long = 0
    n_sp = 0
    for t in range(k):
        s = U64(starts[t])
        length = ends[t] - starts[t]
        w0 = _word_at(words, s) & _low_bytes(length)
        w1 = _word_at(words, s + U64(8)) & _low_bytes(max(length - 8, 0))
        w0s[t] = w0
        w1s[t] = w1
        lens[t] = length
        is_special = _special(w0, w1) | (length > 16)
        long_ix[n_long] = t
        n_long += (length > 8) & ~is_special
        sp_ix[n_sp] = t
        n_sp += is_special
    for t in range(k):
        tok_hash[t] = xxh3_upto8(w0s[t], lens[t])
    for q in range(n_long):
        t = long_ix[q]
        tok_hash[t] = xxh3_9to16(w0s[t], w1s[t], lens[t])
    buf = words.view(np.uint8)
    dropped = 0
    for q in range(n_sp):
        t = sp_ix[q]
        s, e = starts[t], ends[t]
        if e - s > 16 and not _has_apostrophe(buf, s, e):  # as it is in the buffer
            tok_hash[t] = xxh3_64(buf, s, e)
            continue
        c = _copy_unquoted(buf, s, e, scratch, 0)
        if c == 0:  # nothing but deleted characters: not a token
            lens[t] = -1
            dropped += 1
        else:
            tok_hash[t] = xxh3_64(scratch, 0, c)
    n_docs = doc_start.size - 1
    if dropped == 0:
        tok_line[:k] = lines
        out_start[:] = doc_start
        return k
    o = 0
    for d in range(n_docs):
        out_start[d] = o
        for t in range(doc_start[d], doc_start[d + 1]):
            if lens[t] >= 0:
                tok_hash[o] = tok_hash[t]
                tok_line[o] = lines[t]
                o += 1
    out_start[n_docs] = o
    return o


@njit(cache=True, nogil=True)
def unit_keys(tk_hash, tok_a, tok_b):
    """(n, 2) uint64 identity keys of units [tok_a, tok_b): equal exactly when their token sequences
    are, hence their normalized texts (tokens joined by one space), up to a 2^-128 chance beyond
    the 64-bit token hashes every other stage relies on too.

    Two different XXH64-style chains over the token hashes (multiply, rotate), not polynomials:
    polynomial hashes mod 2^64 collide on crafted (Thue-Morse) sequences, and an exact key groups
    units without verification.
    """
    n = tok_a.size
    out = np.empty((n, 2), np.uint64)
    for u in range(n):
        a, b = tok_a[u], tok_b[u]
        acc0 = P64_5
        acc1 = P64_4
        for t in range(a, b):
            acc0 = xxh64_round(acc0, tk_hash[t])
            acc1 = rotl64(acc1 ^ (tk_hash[t] * P64_3), 27) * P64_4 + P64_5
        count = U64(max(b - a, 0))
        out[u, 0] = _xxh64_avalanche(acc0 ^ count)
        out[u, 1] = _xxh64_avalanche(acc1 + count * P64_2)
    return out


_ASCII_WORD_BYTE = np.zeros(256, dtype=bool)
_ASCII_WORD_BYTE[[*range(48, 58), *range(65, 91), *range(97, 123)]] = True
_ASCII_APOSTROPHE = np.zeros(256, dtype=bool)
_ASCII_APOSTROPHE[[39, 96]] = True


def token_char_spans_batch(texts: list[str]) -> list[tuple[np.ndarray, np.ndarray]]:
    """token_char_spans of many texts: ASCII texts in one kernel pass over their joined bytes (a
    regex per text cost ~250 us for a 450-word news article; whole-array numpy over the joined
    bytes, its flatnonzero and searchsorted over every letter, still ~240 us here), the others one
    by one."""
    out: list[tuple[np.ndarray, np.ndarray] | None] = [None] * len(texts)
    ascii_ix = [i for i, t in enumerate(texts) if t.isascii()]
    for i, t in enumerate(texts):
        if out[i] is None and not t.isascii():
            out[i] = token_char_spans(t)
    if ascii_ix:
        # One separator byte between texts, so no word runs across two of them.
        joined = np.frombuffer("\n".join(texts[i] for i in ascii_ix).encode("ascii"), dtype=np.uint8)
        lengths = np.array([len(texts[i]) for i in ascii_ix], dtype=np.int64)
        base = np.concatenate([[0], np.cumsum(lengths + 1)])
        starts = np.empty(joined.size // 2 + 1, dtype=np.int64)
        ends = np.empty(joined.size // 2 + 1, dtype=np.int64)
        k = _ascii_token_spans(joined, _ASCII_WORD_BYTE, _ASCII_APOSTROPHE, starts, ends)
        starts, ends = starts[:k], ends[:k]
        cut = np.searchsorted(starts, base)
        for j, i in enumerate(ascii_ix):
            out[i] = (starts[cut[j] : cut[j + 1]] - base[j], ends[cut[j] : cut[j + 1]] - base[j])
    return out  # type: ignore[return-value]


@njit(cache=True, nogil=True)
def _ascii_token_spans(data, word, apostrophe, starts, ends):
    """Tokens of ASCII bytes as [start, end) offsets: each maximal run of word bytes and
    apostrophes, from its first word byte to its last (a run of apostrophes alone is none), as
    _ASCII_WORD matches them. Returns the number of tokens written."""
    k = 0
    first = -1
    last = -1
    for i in range(data.size):
        c = data[i]
        if word[c]:
            if first < 0:
                first = i
            last = i
        elif not apostrophe[c]:
            if first >= 0:
                starts[k] = first
                ends[k] = last + 1
                k += 1
            first = -1
    if first >= 0:
        starts[k] = first
        ends[k] = last + 1
        k += 1
    return k


# An ASCII token: alphanumerics joined by apostrophes, without the apostrophes at its edges.
_ASCII_WORD = re.compile(r"['`]*([0-9A-Za-z](?:[0-9A-Za-z'`]*[0-9A-Za-z])?)['`]*")


def _general_spans(text: str) -> list[tuple[int, int]]:
    """Token spans of any text: the tokenizer's state machine run over each character's own
    normalized form, remembering which original character every normalized one came from. One
    character can hold several tokens ("½" is "1⁄2": two), and then each spans that character."""
    cls = char_classes()
    spans: list[tuple[int, int]] = []
    start = -1
    last_word = -1
    for i, ch in enumerate(text):
        folded = normalize(ch) if ord(ch) >= 0x80 else ch.lower()
        for c in folded:
            k = cls[ord(c)]
            if k == WORD:
                if start < 0:
                    start = i
                last_word = i
            elif k == DELETE:
                continue  # inside a word it joins; outside one it is nothing
            elif start >= 0:
                spans.append((start, last_word + 1))
                start = -1
    if start >= 0:
        spans.append((start, last_word + 1))
    return spans


def token_char_spans(text: str) -> tuple[np.ndarray, np.ndarray]:
    """[start, end) character offsets in the original text of each token the tokenizer emits for it.

    Only needed where a result is shown (passage members), so plain Python: a regex for ASCII text,
    and for other text each character classified by its own normalized form (a character whose NFKC
    form holds a letter is part of a word, as "™" -> "tm" is). Deleted characters at a token's
    edges (quote-like apostrophes) are left out of its span. If NFKC composes across characters in
    a way this cannot follow, the token count differs from the kernel's; callers check.
    """
    spans = [m.span(1) for m in _ASCII_WORD.finditer(text)] if text.isascii() else _general_spans(text)
    arr = np.asarray(spans, dtype=np.int64).reshape(-1, 2)
    return arr[:, 0].copy(), arr[:, 1].copy()
