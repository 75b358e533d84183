"""Turn paths (files, folders, stdin) into `Document`s, or say exactly which input is bad and why.

Every file is read as bytes and decoded here, so a bad byte can be reported by line and offset
instead of surfacing later as a vague codec error. Folder walks are sorted so that ids, and hence
reports, are the same on every machine. A bad input either stops the run (the default: a report
built from part of the input would silently be wrong) or, under `skip_bad`, is recorded in
`skipped` so the report still accounts for it. Nothing is printed here; the CLI owns the terminal.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import shutil
import stat
import sys
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import repeat
from typing import Any, BinaryIO, NamedTuple

import numpy as np
import orjson
import xxhash

from .model import DedupError, Document, InputError, Skipped

_BOM = b"\xef\xbb\xbf"
_SNIFF = 1 << 16  # bytes of stdin looked at to guess its format
MAX_DOC_BYTES = 50_000_000  # default --max-doc-bytes: one document, or one .json file
_GZIP_MAGIC = b"\x1f\x8b"
_FORMATS = {".txt": "text", ".md": "text", ".jsonl": "jsonl", ".json": "json"}
_JSON_TYPES = {dict: "object", list: "array", str: "string", bool: "boolean", int: "number", float: "number"}


@dataclass(frozen=True, slots=True)
class ReadResult:
    """What was read, plus what was not, so nothing vanishes from the report unaccounted for."""

    documents: list[Document]
    skipped: list[Skipped]
    # describe(group) of each group of documents in turn, together every document in order; None
    # when some document was kept one by one (see read_documents' `describe`)
    described: list[Any] | None = None


class JsonlOptions(NamedTuple):
    """What parsing a JSONL record depends on (a tuple: it travels to worker processes)."""

    text_field: str
    id_field: str | None
    skip_bad: bool
    max_bytes: int


class JsonlChunk(NamedTuple):
    """The records of a run of lines of one JSONL file, parsed apart from the reader's state (and
    perhaps in another process, hence plain tuples and lists): documents as parallel lists,
    (where, reason) of each line skipped under skip_bad, and (where, problem) of the error that
    stopped the parse, if one did."""

    ids: list[str]
    texts: list[str]
    sources: list[str]
    skipped: list[tuple[str, str]]
    error: tuple[str, str] | None
    # stored.TextSpans of the records when their texts were left in the file (texts is then empty
    # in the worker, and the parent fills it with where each text is stored)
    spans: Any = None


ChunkSource = Callable[[str, str, JsonlOptions], "Iterator[JsonlChunk] | None"]


def parse_jsonl(
    path: str,
    name: str,
    lines: Iterable[bytes | int],
    opts: JsonlOptions,
    *,
    first_line: int = 1,
    offset: int = 0,
    on_text: Callable[[str], None] | None = None,
    spans: list[tuple[int, int, int, int]] | None = None,
) -> JsonlChunk:
    """Parse JSONL lines numbered from `first_line`, the first at byte `offset` of the file.

    Stops at the first error that condemns the rest: a NUL byte (the file is binary), a read
    error, or a bad record without skip_bad. `on_text` sees each text as it is parsed. `spans`
    gets (byte offset, size, line number, line_digest) of each document's line, so its text can
    be read back from the file later (stored.StoredTexts).
    """
    ids: list[str] = []
    texts: list[str] = []
    sources: list[str] = []
    skipped: list[tuple[str, str]] = []
    skip_bad, max_bytes = opts.skip_bad, opts.max_bytes
    try:
        # Split on b"\n" only (file iteration): U+2028 etc. may occur inside JSON strings.
        for lineno, raw in enumerate(lines, first_line):
            if isinstance(raw, int):  # a line over the cap, consumed without being kept
                offset += raw
                where = f"{path}:{lineno}"
                if not skip_bad:
                    return JsonlChunk(ids, texts, sources, skipped, (where, _too_big(raw, max_bytes)))
                skipped.append((where, _too_big(raw, max_bytes)))
                continue
            nul = raw.find(b"\0")
            if nul >= 0:
                return JsonlChunk(ids, texts, sources, skipped, (path, f"binary file (NUL byte at offset {offset + nul})"))
            offset += len(raw)
            where = f"{path}:{lineno}"
            try:
                doc = line_document(where, raw, lineno, f"{name}:{lineno}", opts)
            except InputError as err:
                if not skip_bad:
                    return JsonlChunk(ids, texts, sources, skipped, (err.where, err.problem))
                skipped.append((err.where, err.problem))
                continue
            if doc is None:
                continue
            ids.append(doc.id)
            texts.append(doc.text)
            sources.append(where)
            if spans is not None:
                spans.append((offset - len(raw), len(raw), lineno, line_digest(raw)))
            if on_text is not None:
                on_text(doc.text)
    except (OSError, EOFError, zlib.error) as err:  # a read or decompression error mid-file
        problem = _os_problem(err) if isinstance(err, OSError) and err.strerror else _one_line(err)
        return JsonlChunk(ids, texts, sources, skipped, (path, f"cannot read: {problem}"))
    return JsonlChunk(ids, texts, sources, skipped, None)


def jsonl_ranges(path: str, first: int, size: int) -> Iterator[tuple[int, int, int]]:
    """(start, stop, line number of start) of consecutive runs of whole lines of a file, the first
    about `first` bytes, the others about `size`: a line is never split, and line numbers come from
    counting newlines, so a range parsed anywhere reports the same places as a serial read."""
    try:
        fh = open(path, "rb")  # noqa: SIM115 - closed below
    except OSError as err:
        raise InputError(path, _os_problem(err)) from None
    with fh:
        start = pos = 0  # the range being grown begins at start; blocks were read up to pos
        lineno = 1  # the line number at start
        pending = 0  # newlines in [start, pos)
        want = first
        try:
            while block := fh.read(_RANGE_BLOCK):
                # numpy counts newlines at memory speed; bytes.count took 0.35 s over 420 MB.
                pending += int(np.count_nonzero(np.frombuffer(block, dtype=np.uint8) == 10))
                cut = block.rfind(b"\n") if pos + len(block) - start >= want else -1
                if cut >= 0:  # the range is long enough: it ends with the block's last newline,
                    stop = pos + cut + 1  # so every newline read so far is in it
                    yield start, stop, lineno
                    lineno += pending
                    pending = 0
                    start, want = stop, size
                pos += len(block)
        except OSError as err:
            raise InputError(path, f"cannot read: {_os_problem(err)}") from None
        if pos > start:
            yield start, pos, lineno


def read_documents(
    paths: Sequence[str],
    *,
    text_field: str = "text",
    id_field: str | None = None,
    skip_bad: bool = False,
    stdin: BinaryIO | None = None,
    max_doc_bytes: int = MAX_DOC_BYTES,
    on_text: Callable[[str], None] | None = None,
    jsonl_chunks: ChunkSource | None = None,
    describe: Callable[[list[Document]], Any] | None = None,
) -> ReadResult:
    """Read every input in order, keeping ids unique across all of them.

    Ids must be unique because the report refers to documents only by id; a clash would make two
    documents indistinguishable. `stdin` is injectable so tests need not touch the real one. No
    document (a text file, a JSONL line, a .json file, the decompressed content of a .gz) may be
    larger than `max_doc_bytes`: a larger one is never held in memory, and is an error, or a skip
    with `skip_bad`.

    `on_text` sees each document's text as soon as it is parsed, so hashing can start while the
    rest is read; a document offered there may still be dropped (a duplicate id, or a file
    rejected whole), and the documents returned are the offered ones in order, minus those.
    `jsonl_chunks` may take over parsing a plain JSONL file (engine.Signer parses and signs its
    line ranges in worker processes); it returns None for a file it leaves to this reader, and its
    texts count as offered.

    `describe` is applied to the documents of each chunk of a JSONL file as the chunk arrives (a
    range of lines that `jsonl_chunks` had parsed, or the whole file), so what a later stage wants
    of every document (the report's per-document part) is made while the workers still sign; made
    after reading, it held the GIL for 0.09 s at 200k documents just as clustering's threads
    started. The results come back as `described` if they cover every document kept, in order,
    else None (a document kept any other way).
    """
    if max_doc_bytes < 1:
        raise DedupError(f"--max-doc-bytes must be positive, got {max_doc_bytes}")
    reader = _Reader(text_field, id_field, skip_bad, max_doc_bytes, on_text, jsonl_chunks, describe)
    for index, arg in enumerate(paths):
        reader.arg_index = index
        if arg == "-":
            if stdin is None and sys.stdin is None:
                reader.fail(InputError("-", "standard input is closed"))
                continue
            reader.read_stdin(stdin if stdin is not None else sys.stdin.buffer)
        elif os.path.isdir(arg):
            for rel, path, problem in _walk(arg):
                if problem is not None:
                    reader.fail(InputError(path, problem))
                else:
                    fmt, gz = _format(rel)
                    reader.read_file(path, rel, fmt or "text", gz)
        else:
            fmt, gz = _format(arg)
            # Named explicitly, so the user wants it read even with an unknown extension.
            reader.read_file(arg, os.path.basename(arg), fmt or "text", gz)
    described = reader.described if reader.describe is not None and reader.described_all else None
    return ReadResult(documents=reader.documents, skipped=reader.skipped, described=described)


class _Reader:
    """Accumulates documents and skips, so one policy (raise or record) applies everywhere."""

    def __init__(
        self,
        text_field: str,
        id_field: str | None,
        skip_bad: bool,
        max_bytes: int,
        on_text: Callable[[str], None] | None = None,
        jsonl_chunks: ChunkSource | None = None,
        describe: Callable[[list[Document]], Any] | None = None,
    ) -> None:
        self.on_text = on_text
        self.jsonl_chunks = jsonl_chunks
        self.describe = describe
        self.described: list[Any] = []
        self.described_all = True  # no document was kept without a description
        self.options = JsonlOptions(text_field, id_field, skip_bad, max_bytes)
        self.text_field = text_field
        self.id_field = id_field
        self.skip_bad = skip_bad
        self.documents: list[Document] = []
        self.skipped: list[Skipped] = []
        self._seen: dict[str, tuple[str, int]] = {}  # id -> (source, index of the argument it came from)
        self.arg_index = 0
        self.max_bytes = max_bytes

    def fail(self, err: InputError) -> None:
        if not self.skip_bad:
            raise err
        self.skipped.append(Skipped(source=err.where, reason=err.problem))

    def add(self, doc: Document, *, derived: bool = True, offered: bool = False) -> None:
        """Keep ids unique. An id derived from a path (not from --id-field) that clashes with one
        from another argument (two folders holding the same file names, say) falls back to the
        document's source path, which tells the two apart; any other clash is an input error."""
        if not offered and self.on_text is not None:
            self.on_text(doc.text)
        first = self._seen.get(doc.id)
        if first is not None and derived and first[1] != self.arg_index and doc.source not in self._seen:
            doc = doc.renamed(doc.source)
            first = None
        if first is not None:
            raise InputError(doc.source, f"duplicate document id {doc.id!r} (first seen at {first[0]})")
        self._seen[doc.id] = (doc.source, self.arg_index)
        self.documents.append(doc)
        self.described_all = False

    def _add_offered(self, chunk: JsonlChunk) -> None:
        """add() for each of a parsed chunk's records (already offered for signing), a duplicate id
        failing that record alone; when none of its ids can clash, all of them at once (add() per
        document was a fifth of this process's time while workers parse a 200k-document file)."""
        ids = chunk.ids
        if self._all_new(ids):
            self._seen.update(self._seen_entries(chunk))
            docs = list(map(Document, ids, chunk.texts, chunk.sources))
            self.documents.extend(docs)
            if self.describe is not None:
                self.described.append(self.describe(docs))
            return
        derived = self.id_field is None
        for doc_id, text, source in zip(ids, chunk.texts, chunk.sources, strict=True):
            try:
                self.add(Document(id=doc_id, text=text, source=source), derived=derived, offered=True)
            except InputError as err:
                self.fail(err)

    def _all_new(self, ids: list[str], staged: dict[str, tuple[str, int]] | None = None) -> bool:
        """No id of these is seen (or staged), and none repeats: they can all be kept at once."""
        return (
            self._seen.keys().isdisjoint(ids)
            and (staged is None or staged.keys().isdisjoint(ids))
            and len(set(ids)) == len(ids)
        )

    def _seen_entries(self, chunk: JsonlChunk) -> Iterator[tuple[str, tuple[str, int]]]:
        return zip(chunk.ids, zip(chunk.sources, repeat(self.arg_index)), strict=True)

    def read_file(self, path: str, name: str, fmt: str, gz: bool) -> None:
        """Read one file; any error raised here (not per record) condemns the whole file."""
        if fmt == "jsonl" and not gz and self.jsonl_chunks is not None:
            chunks = self.jsonl_chunks(path, name, self.options)
            if chunks is not None:  # parsed elsewhere (worker processes), in ranges of lines
                try:
                    self._commit_jsonl(chunks)
                except InputError as err:
                    self.fail(err)
                return
        if fmt == "jsonl":
            try:
                fh = gzip.open(path, "rb") if gz else open(path, "rb")  # noqa: SIM115 - closed below
            except OSError as err:
                self.fail(InputError(path, _os_problem(err)))
                return
            try:
                with fh:
                    self._read_jsonl(path, name, _bounded_lines(fh, self.max_bytes))
            except InputError as err:
                self.fail(err)
            return
        try:
            data = _load(path, self.max_bytes, whole_json=fmt == "json")
            if gz:
                data = _gunzip(path, data, self.max_bytes)
            self._read_bytes(path, name, fmt, data)
        except InputError as err:
            self.fail(err)

    def read_stdin(self, stream: BinaryIO) -> None:
        """Guess the format from the content, since a pipe has no file name to go by. The stream is
        first spooled to a temporary file (memory stays bounded for any size of input), then read
        like a file of the guessed format."""
        import tempfile

        try:
            with tempfile.TemporaryFile() as spool:
                try:
                    shutil.copyfileobj(stream, spool, 1 << 20)
                except OSError as err:
                    raise InputError("-", _os_problem(err)) from None
                spool.seek(0)
                gz = spool.read(2) == _GZIP_MAGIC
                spool.seek(0)
                source = gzip.GzipFile(fileobj=spool, mode="rb") if gz else spool
                try:
                    head = source.read(_SNIFF)
                except (OSError, EOFError, zlib.error) as err:
                    raise InputError("-", f"cannot decompress gzip: {_one_line(err)}") from None
                fmt = _guess_format(head, complete=len(head) < _SNIFF)
                if fmt == "jsonl":
                    spool.seek(0)
                    lines = gzip.GzipFile(fileobj=spool, mode="rb") if gz else spool
                    self._read_jsonl("-", "-", _bounded_lines(lines, self.max_bytes))
                    return
                whole_json = fmt == "json-maybe"
                if len(head) > self.max_bytes:
                    raise InputError(
                        "-", _too_big(self.max_bytes, self.max_bytes, more=True) + _JSON_HINT * whole_json
                    )
                try:
                    data = head + _read_capped("-", source, self.max_bytes - len(head), whole_json=whole_json)
                except (OSError, EOFError, zlib.error) as err:
                    raise InputError("-", f"cannot decompress gzip: {_one_line(err)}") from None
                if whole_json:
                    fmt = "json" if _is_json_array(data) else "text"
                self._read_bytes("-", "-", fmt, data)
        except InputError as err:
            self.fail(err)

    def _read_bytes(self, path: str, name: str, fmt: str, data: bytes) -> None:
        nul = data.find(b"\0")
        if nul >= 0:
            raise InputError(path, f"binary file (NUL byte at offset {nul})")
        if fmt == "jsonl":
            self._read_jsonl(path, name, _bounded_lines(io.BytesIO(data), self.max_bytes))
        elif fmt == "json":
            self._read_json(path, name, data)
        else:
            self.add(Document(id=name, text=_decode_text(path, data), source=path))

    def _read_jsonl(self, path: str, name: str, lines: Iterable[bytes | int]) -> None:
        """Stream the lines of a JSONL file: memory holds the documents, never the whole file
        (reading 540 MB at once, then splitting it, touched three times the memory and spent most
        of its time faulting fresh pages in)."""
        self._commit_jsonl(iter([parse_jsonl(path, name, lines, self.options, on_text=self.on_text)]))

    def _commit_jsonl(self, chunks: Iterator[JsonlChunk]) -> None:
        """Keep a JSONL file's documents, chunk by chunk in order, once all of it has been read, so
        a file-level fault (a NUL byte, a broken gzip stream) still rejects the whole file; the
        first chunk that stopped on an error raises it, exactly where a serial read would have."""
        parts: list[tuple[JsonlChunk, list[Document] | None, Any]] = []
        # While no id of the file can clash, each chunk's documents are made as it arrives, while
        # the workers still parse: made at the end, they were 0.15-0.25 s of this process alone
        # after the last worker finished (200k documents). They and their staged ids are kept
        # only once the whole file is read. From the first chunk with a possible clash on, chunks
        # wait for the end and go through _add_offered in order, seeing the staged ids.
        staged: dict[str, tuple[str, int]] = {}
        fast = True
        try:
            for chunk in chunks:
                if chunk.error is not None:
                    raise InputError(*chunk.error)
                fast = fast and self._all_new(chunk.ids, staged)
                if fast:
                    staged.update(self._seen_entries(chunk))
                docs = list(map(Document, chunk.ids, chunk.texts, chunk.sources)) if fast else None
                described = self.describe(docs) if docs is not None and self.describe is not None else None
                parts.append((chunk, docs, described))
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()  # a generator over pool tasks cancels those not yet run
        self._seen.update(staged)
        for chunk, _, _ in parts:
            self.skipped.extend(Skipped(source=where, reason=reason) for where, reason in chunk.skipped)
        for chunk, docs, described in parts:
            if docs is not None:
                self.documents.extend(docs)
                self.described.append(described)
            else:
                self._add_offered(chunk)

    def _read_json(self, path: str, name: str, data: bytes) -> None:
        value = _parse_json(path, _decode_text(path, data), multiline=True)
        if isinstance(value, dict):
            # A single object is one document, like a text file, so it takes the file's own id.
            self.add(self._document(value, path, name), derived=self.id_field is None)
        elif isinstance(value, list):
            for k, record in enumerate(value, 1):
                where = f"{path}:{k}"
                try:
                    self.add(self._document(record, where, f"{name}:{k}"), derived=self.id_field is None)
                except InputError as err:
                    self.fail(err)
        else:
            raise InputError(path, f"expected a JSON object or array of objects (got {_json_type(value)})")

    def _document(self, record: Any, where: str, default_id: str) -> Document:
        return document_of(record, where, default_id, self.text_field, self.id_field)


def document_of(record: Any, where: str, default_id: str, text_field: str, id_field: str | None) -> Document:
    """The Document of one JSON record; InputError (located at `where`) when it is not one."""
    text = _text_of(record, where, text_field)
    doc_id = default_id if id_field is None else _record_id(record, id_field, where)
    return Document(id=doc_id, text=text, source=where)


def _text_of(record: Any, where: str, text_field: str) -> str:
    if not isinstance(record, dict):
        raise InputError(where, f"record is not a JSON object (got {_json_type(record)})")
    if text_field not in record:
        raise InputError(where, f"missing text field {text_field!r}")
    text = record[text_field]
    if not isinstance(text, str):
        raise InputError(where, f"text field {text_field!r} is not a string (got {_json_type(text)})")
    return text


def _line_body(raw: bytes, lineno: int) -> bytes | None:
    """A JSONL line as read (its newline included) without the file's BOM; None if it is blank."""
    line = raw[len(_BOM) :] if lineno == 1 and raw.startswith(_BOM) else raw
    return line if line.strip() else None


def line_document(where: str, raw: bytes, lineno: int, default_id: str, opts: JsonlOptions) -> Document | None:
    """The Document of one JSONL line as read (its newline included), or None for a blank line."""
    line = _line_body(raw, lineno)
    if line is None:
        return None
    return document_of(parse_line(where, line), where, default_id, opts.text_field, opts.id_field)


def line_text(where: str, raw: bytes, lineno: int, opts: JsonlOptions) -> str | None:
    """line_document's text alone (a stored text read back: its id is known, and making the whole
    Document with it again took a third of the ~7 us a read back costs)."""
    line = _line_body(raw, lineno)
    if line is None:
        return None
    return _text_of(parse_line(where, line), where, opts.text_field)


def line_digest(raw: bytes) -> int:
    """What a stored text's line is checked against when it is read back (XXH3-64 of its bytes)."""
    return xxhash.xxh3_64_intdigest(raw)


def parse_line(where: str, line: bytes) -> Any:
    """One JSONL record: orjson straight from the bytes; on failure find out whether the line is
    bad UTF-8 (reported with its offset) or bad JSON (the stdlib also gets a try: it accepts
    escaped lone surrogates, which orjson refuses)."""
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError:
        pass
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as err:
        raise InputError(where, f"invalid UTF-8 at byte offset {err.start}") from None
    return _parse_json(where, text, multiline=False)


def _guess_format(head: bytes, *, complete: bool) -> str:
    """JSONL when the first line is a JSON object, JSON when the input may be an array ("json-maybe":
    the caller parses it whole to be sure), else text. `head` is the start of the input (all of it
    when `complete`). Looking at the first byte alone would read prose that starts with "{" as
    broken JSONL.
    """
    body = (head[len(_BOM) :] if head.startswith(_BOM) else head).lstrip()
    if body[:1] == b"{":
        first, newline, _ = body.partition(b"\n")
        if newline or complete:
            try:
                if isinstance(json.loads(first), dict):
                    return "jsonl"
            except ValueError:
                pass
        else:
            return "jsonl"  # a first line longer than the sniffed head: let the JSONL reader judge it
    elif body[:1] == b"[":
        return "json-maybe"
    return "text"


def _is_json_array(data: bytes) -> bool:
    body = (data[len(_BOM) :] if data.startswith(_BOM) else data).lstrip()
    try:
        return isinstance(json.loads(body), list)
    except ValueError:
        return False


def _record_id(record: dict[str, Any], id_field: str, where: str) -> str:
    if id_field not in record:
        raise InputError(where, f"missing id field {id_field!r}")
    raw = record[id_field]
    if isinstance(raw, str):
        return raw
    # bool is an int subclass, but `true` as an id is surely a mistake.
    if isinstance(raw, int) and not isinstance(raw, bool):
        try:
            return str(raw)
        except ValueError:  # more digits than int->str allows
            pass
    raise InputError(where, f"id field {id_field!r} must be a string or integer (got {_json_type(raw)})")


def _walk(root: str) -> list[tuple[str, str, str | None]]:
    """List (relative POSIX path, openable path, problem) for a folder, sorted by relative path.

    Symlinked directories are not entered, which is what makes a symlink loop harmless; an
    unlistable directory becomes an entry with a problem so the caller's policy decides.
    """
    found: list[tuple[str, str, str | None]] = []
    stack = [("", root)]
    while stack:
        rel_dir, dir_path = stack.pop()
        try:
            with os.scandir(dir_path) as it:
                entries = list(it)
        except OSError as err:
            found.append((rel_dir, dir_path, _os_problem(err)))
            continue
        for entry in entries:
            if entry.name.startswith("."):
                continue
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            path = os.path.join(dir_path, entry.name)
            if _is_dir(entry, follow_symlinks=False):
                stack.append((rel, path))
            elif not _is_dir(entry, follow_symlinks=True) and _format(entry.name)[0] is not None:
                found.append((rel, path, _not_regular(path)))
    found.sort(key=lambda item: item[0])
    return found


def _not_regular(path: str) -> str | None:
    """Why a file found in a folder cannot be read as one, if it cannot: a FIFO would block the scan
    forever and a device has no end. Named explicitly on the command line such files are read
    (`dedup scan <(zcat x.gz)` passes a pipe), but a folder walk must not stumble into one."""
    try:
        mode = os.stat(path).st_mode
    except OSError as err:
        return _os_problem(err)
    return None if stat.S_ISREG(mode) else "not a regular file (a FIFO, socket or device)"


def _is_dir(entry: os.DirEntry[str], *, follow_symlinks: bool) -> bool:
    try:
        return entry.is_dir(follow_symlinks=follow_symlinks)
    except OSError:
        return False  # treated as a file; opening it will report the real error


def _format(name: str) -> tuple[str | None, bool]:
    """(format or None if unrecognised, gzipped?). Case-insensitive, so `NOTES.TXT` is not missed."""
    lower = name.lower()
    gz = lower.endswith(".gz")
    if gz:
        lower = lower[: -len(".gz")]
    return _FORMATS.get(os.path.splitext(lower)[1]), gz


def _too_big(size: int, cap: int, *, more: bool = False) -> str:
    return f"document is {'more than ' if more else ''}{size:,} bytes, over --max-doc-bytes ({cap:,})"


def _load(path: str, cap: int, *, whole_json: bool = False) -> bytes:
    """The file's bytes, refusing (before reading) a file larger than cap."""
    try:
        with open(path, "rb") as fh:
            st = os.fstat(fh.fileno())
            if stat.S_ISREG(st.st_mode) and st.st_size > cap:
                raise InputError(path, _too_big(st.st_size, cap) + _JSON_HINT * whole_json)
            return _read_capped(path, fh, cap, whole_json=whole_json)
    except OSError as err:
        raise InputError(path, _os_problem(err)) from None


_JSON_HINT = "; a .json file is parsed whole: use JSONL for larger inputs"


def _read_capped(where: str, fh: BinaryIO, cap: int, *, whole_json: bool = False) -> bytes:
    """At most cap bytes of a stream; an error if there are more (a pipe has no size to check)."""
    data = fh.read(cap + 1)
    if len(data) > cap:
        raise InputError(where, _too_big(cap, cap, more=True) + _JSON_HINT * whole_json)
    return data


def _gunzip(path: str, data: bytes, cap: int) -> bytes:
    """Decompress gzip (every member) without ever holding more than cap bytes of output: a gzip
    bomb (a few MB that expand to gigabytes) stops at the cap."""
    if data and data[:2] != _GZIP_MAGIC:
        raise InputError(path, "cannot decompress gzip: Not a gzipped file (no gzip header)")
    out: list[bytes] = []
    size = 0
    try:
        while data:
            d = zlib.decompressobj(wbits=31)
            while True:
                chunk = d.decompress(data, cap + 1 - size)
                size += len(chunk)
                out.append(chunk)
                if size > cap:
                    raise InputError(path, _too_big(cap, cap, more=True) + " once decompressed")
                if d.eof or not d.unconsumed_tail:
                    break
                data = d.unconsumed_tail
            if not d.eof:
                raise InputError(path, "cannot decompress gzip: truncated stream")
            data = d.unused_data.lstrip(b"\0")  # members may follow (and zero padding)
    except zlib.error as err:
        raise InputError(path, f"cannot decompress gzip: {_one_line(err)}") from None
    return b"".join(out)


_LINE_CHUNK = 1 << 20
_RANGE_BLOCK = 1 << 18  # bytes read at a time while cutting a file into ranges of lines


def read_jsonl_range(
    path: str,
    name: str,
    start: int,
    stop: int,
    lineno: int,
    opts: JsonlOptions,
    spans: list[tuple[int, int, int, int]] | None = None,
) -> JsonlChunk:
    """Parse the lines in bytes [start, stop) of a JSONL file (a range from jsonl_ranges), the way
    a serial read of the whole file would have parsed them (`spans`: as for parse_jsonl)."""
    try:
        with open(path, "rb") as fh:
            fh.seek(start)
            lines = _bounded_lines(fh, opts.max_bytes, stop - start)
            return parse_jsonl(path, name, lines, opts, first_line=lineno, offset=start, spans=spans)
    except OSError as err:
        return JsonlChunk([], [], [], [], (path, _os_problem(err)))


def _bounded_lines(fh: BinaryIO, cap: int, limit: int | None = None) -> Iterator[bytes | int]:
    """The lines of a stream (split on b"\n" only), none longer than cap: a longer line is read
    through in chunks without being kept and is yielded as its length instead. With `limit`, lines
    stop once that many bytes were consumed (a range ends with a whole line)."""
    consumed = 0
    while limit is None or consumed < limit:
        line = fh.readline(cap + 1)
        if not line:
            return
        consumed += len(line)
        if len(line) > cap and not line.endswith(b"\n"):
            total = len(line)
            while True:
                more = fh.readline(_LINE_CHUNK)
                total += len(more)
                if not more or more.endswith(b"\n"):
                    break
            consumed += total - len(line)
            yield total
            continue
        yield line


def _decode_text(where: str, data: bytes) -> str:
    """Strict UTF-8: guessing an encoding would hash mojibake and miss real duplicates."""
    start = len(_BOM) if data.startswith(_BOM) else 0
    try:
        return str(memoryview(data)[start:], "utf-8")
    except UnicodeDecodeError as err:
        offset = start + err.start
        line = data.count(b"\n", 0, offset) + 1
        raise InputError(where, f"invalid UTF-8 at line {line}, byte offset {offset}") from None


def _parse_json(where: str, text: str, *, multiline: bool) -> Any:
    """orjson for speed; the stdlib as fallback because it accepts escaped lone surrogates."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        pass
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        at = f"line {err.lineno} column {err.colno}" if multiline else f"column {err.colno}"
        reason = f"{err.msg} at {at}"
    except (ValueError, RecursionError) as err:
        reason = _one_line(err)
    raise InputError(where, f"invalid JSON: {reason}")


def _json_type(value: Any) -> str:
    return "null" if value is None else _JSON_TYPES.get(type(value), type(value).__name__)


def _os_problem(err: OSError) -> str:
    if isinstance(err, FileNotFoundError):
        return "no such file or directory"
    return _one_line(err.strerror or err)


def _one_line(message: object) -> str:
    return " ".join(str(message).split())
