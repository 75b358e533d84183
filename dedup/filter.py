"""`dedup filter`: stream JSONL through an index, pass on what is new, say what the rest duplicates.

Records are never re-serialized: a passed record is its input line byte for byte, and an annotated
one is that line with one field spliced in before its closing brace, so key order, unknown
fields, number formats and escapes are untouched. Lines are read straight from the file
descriptor and processed in batches of whatever has arrived (up to --batch-size): a slow producer
gets an answer per line, a fast one the batch throughput. Every input line ends up in exactly one
of the output and the rejects file (or, for a duplicate in drop mode without --rejects, is dropped
on purpose); the output is flushed after every batch, so what was written is final.
"""

from __future__ import annotations

import os
import select
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

import orjson
import xxhash

from .index import ORIGIN_LINE_BITS, Index
from .io import _BOM, MAX_DOC_BYTES, document_of, parse_line
from .model import DedupError, InputError

_READ = 1 << 16
_FINGERPRINT_BITS = 63 - ORIGIN_LINE_BITS


@dataclass(slots=True)
class FilterStats:
    lines: int = 0
    new: int = 0
    duplicates: int = 0
    rejected: int = 0  # bad lines sent to the rejects file
    added: int = 0


def batches(fd: int, size: int, cap: int = MAX_DOC_BYTES) -> Iterator[list[bytes | int]]:
    """Lines (with their line ends) in batches: up to `size`, or fewer when no more input is
    waiting (so a line is never held back behind input that has not been produced yet). A line
    longer than `cap` is read through without being kept and comes as its length instead."""
    pending: list[bytes] = []
    pending_len = 0
    over = False  # the line being read is over the cap: its bytes are counted, not kept
    lines: list[bytes | int] = []
    while True:
        chunk = os.read(fd, _READ)
        if not chunk:
            if pending_len:
                lines.append(pending_len if over else b"".join(pending))
            for i in range(0, len(lines), size):
                yield lines[i : i + size]
            return
        parts = chunk.split(b"\n")
        for part in parts[:-1]:  # each ends a line
            total = pending_len + len(part) + 1
            if over or total > cap:
                lines.append(total)
            else:
                lines.append(b"".join(pending) + part + b"\n" if pending else part + b"\n")
            pending, pending_len, over = [], 0, False
        tail = parts[-1]
        pending_len += len(tail)
        if over or pending_len > cap:
            over, pending = True, []
        elif tail:
            pending.append(tail)
        while len(lines) >= size:
            yield lines[:size]
            lines = lines[size:]
        if lines and not _ready(fd):
            yield lines
            lines = []


def _ready(fd: int) -> bool:
    try:
        return bool(select.select([fd], [], [], 0)[0])
    except (OSError, ValueError):  # not selectable (a regular file is always ready)
        return True


def splice(line: bytes, name: str, value: Any) -> bytes:
    """The JSON object on `line` with "name": value added before its closing brace."""
    body = line.rstrip()
    end = line[len(body) :]
    head = body[:-1].rstrip()
    sep = b"" if head.endswith(b"{") else b","
    return head + sep + orjson.dumps(name) + b":" + orjson.dumps(value) + b"}" + (end or b"\n")


def _record(line: bytes, where: str, text_field: str, id_field: str, default_id: str) -> tuple[str, str]:
    """(id, text) of one JSONL line, parsed as `dedup scan` parses it (InputError when bad); a record
    without the id field gets `default_id`."""
    record = parse_line(where, line)
    if not line.rstrip().endswith(b"}"):  # a record must be an object to splice a field into
        raise InputError(where, f"record is not a JSON object (got {type(record).__name__})")
    has_id = isinstance(record, dict) and id_field in record
    doc = document_of(record, where, default_id, text_field, id_field if has_id else None)
    if not doc.id.isascii():
        try:
            doc.id.encode("utf-8")
        except UnicodeEncodeError:
            raise InputError(
                where, f"id field {id_field!r} is not valid Unicode (a lone surrogate)"
            ) from None
    return doc.id, doc.text


def run_filter(
    index: Index,
    fd: int,
    out: BinaryIO,
    rejects: BinaryIO | None,
    *,
    add: bool,
    mode: str,
    text_field: str = "text",
    id_field: str = "id",
    skip_bad: bool = False,
    batch_size: int = 1000,
    source: str = "-",
    warn=None,
    max_doc_bytes: int = MAX_DOC_BYTES,
) -> FilterStats:
    """Filter JSONL lines from `fd`; see the module docstring. Raises InputError on a bad line
    (after writing every line before it) unless skip_bad."""
    if max_doc_bytes < 1:
        raise DedupError(f"--max-doc-bytes must be positive, got {max_doc_bytes}")
    if skip_bad and rejects is None:  # a skipped line would be in neither output
        raise DedupError("--skip-bad needs --rejects FILE: bad lines go there, never nowhere")
    stats = FilterStats()
    fingerprint: int | None = None
    line_no = 0
    for lines in batches(fd, batch_size, max_doc_bytes):
        if fingerprint is None:  # the stream's identity: its first line (see Index.check_and_add)
            first = lines[0] if isinstance(lines[0], bytes) else str(lines[0]).encode()
            fingerprint = xxhash.xxh3_64_intdigest(first) >> (64 - _FINGERPRINT_BITS)
        docs: list[tuple[str, str]] = []
        origins: list[int] = []
        slots: list[tuple[bytes, int, int | None, str | None]] = []  # (line, number, doc index, error)
        stop: InputError | None = None
        for raw in lines:
            line_no += 1
            where = f"{source}:{line_no}"
            default_id = f"{source}@{fingerprint:06x}:{line_no}"  # unique to this stream and line
            if isinstance(raw, int):  # over the cap: never held, so it cannot be kept whole
                problem = f"line is {raw:,} bytes, over --max-doc-bytes ({max_doc_bytes:,})"
                if not skip_bad:
                    stop = InputError(where, problem)
                    break
                slots.append((b"", line_no, None, problem))
                continue
            if not raw.strip():
                slots.append((raw, line_no, None, None))  # blank lines are not records: passed as they are
                continue
            body = raw[len(_BOM) :] if line_no == 1 and raw.startswith(_BOM) else raw
            try:
                docs.append(_record(body, where, text_field, id_field, default_id))
            except InputError as bad:
                if not skip_bad:
                    stop = bad
                    break
                slots.append((raw, line_no, None, bad.problem))
                continue
            origins.append((fingerprint << ORIGIN_LINE_BITS) | min(line_no, (1 << ORIGIN_LINE_BITS) - 1))
            slots.append((raw, line_no, len(docs) - 1, None))
        results = index.check_and_add(docs, add=add, origins=origins) if docs else []
        for raw, number, k, error in slots:
            r = results[k] if k is not None else None
            if r is not None and r.conflict:
                error = f"id {r.id!r} is already in the index with a different text"
                if not skip_bad:
                    stop = InputError(f"{source}:{number}", error)
                    break
            stats.lines += 1
            if r is None and error is None:
                out.write(raw)
            elif error is not None:
                stats.rejected += 1
                if warn is not None:
                    warn(f"warning: skipped {source}:{number}: {error}")
                if rejects is not None:  # always, with skip_bad (checked above)
                    rejects.write(_rejected(raw, error, number))
            elif r is not None and r.is_new:
                stats.new += 1
                stats.added += r.added
                out.write(
                    splice(raw, "dedup", {"new": True, "duplicate_of": []}) if mode == "annotate" else raw
                )
            elif r is not None:
                stats.duplicates += 1
                dup = [[i, round(s, 6)] for i, s in r.duplicate_of]
                if mode == "annotate":
                    out.write(splice(raw, "dedup", {"new": False, "duplicate_of": dup}))
                elif rejects is not None:
                    rejects.write(splice(raw, "duplicate_of", dup))
        out.flush()
        if rejects is not None:
            rejects.flush()
        if stop is not None:
            raise stop
    return stats


def _rejected(raw: bytes, error: str, line: int) -> bytes:
    """A bad line, kept whole inside a JSON object that says what was wrong with it (an oversized
    line, never held in memory, is recorded without its text)."""
    if not raw:
        return orjson.dumps({"dedup_error": error, "line": line, "raw_omitted": True}) + b"\n"
    body = raw.rstrip(b"\r\n")
    try:
        kept: dict[str, Any] = {"raw": body.decode("utf-8")}
    except UnicodeDecodeError:
        import base64

        kept = {"raw_base64": base64.b64encode(body).decode("ascii")}
    return orjson.dumps({"dedup_error": error, "line": line, **kept}) + b"\n"


def check_mode(mode: str) -> None:
    if mode not in ("drop", "annotate"):
        raise DedupError(f"--mode must be drop or annotate, got {mode!r}")
