"""Where parsing and signing run: in this process, or in a pool of worker processes.

Signing is the stage whose cost grows with the corpus, and its kernels are CPU-bound, so worker
processes take batches. Threads were measured too (the kernels release the GIL): no faster at 200k
documents (10.0-11.2 s against 10.6-11.1 s), and with the same ~30% CPU overhead over one
process, so pickling texts and results is not what that overhead is.

A large plain JSONL file (the usual large input) is parsed by the workers themselves: this
process cuts it into ranges of whole lines (numbering them, so places read the same as a serial
read's), each worker parses a range and signs it, and the result comes back through a file in
/dev/shm: the units' arrays and the records, but not their texts, which stay in the JSONL file
until a later stage reads one back (stored.StoredTexts; the passage level, which reads every
text, gets them all back). One worker parses and signs the same ranges in this process, and
leaves the texts in the file the same way. Parsed here, at 200k documents, reading was 2.4-4.3 s
of one core while the workers waited for texts. Any other input (text files, .gz, stdin, a small file) is parsed here, and a
`Signer` takes its texts as they are read, so the workers sign early batches while this process
still parses later ones. With the fork start method the workers inherit every text offered
before the pool started and receive only a batch's range for those; later batches travel to them
pickled. Results come back in input order, so the report is the same for any number of workers.
"""

from __future__ import annotations

import contextlib
import mmap
import multiprocessing as mp
import os
import pickle
import shutil
import signal
import stat
import sys
import tempfile
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor

import numpy as np

from .cluster import import_in_background
from .config import ScanConfig
from .io import JsonlChunk, JsonlOptions, jsonl_ranges, read_jsonl_range
from .model import Document, StoredText
from .scan import UnitBatch, sign_batch
from .stored import SourceFile, StoredTexts, TextSpans

# Texts the forked workers read by range (set only around a pool's start, in the parent).
_TEXTS: list[str] | None = None
# Fewer batches than this per worker and a pool costs more than it saves.
_MIN_BATCHES_PER_WORKER = 4
# Batches per pool task. Each task costs this process a few hand-overs of the GIL (to the pool's
# threads that queue and pickle it) while the reader holds it, about 5 ms apiece: with one batch a
# task, the workers sat idle for most of the reading.
_TASK_BATCHES = 4
_SWITCH_INTERVAL = 0.0005  # seconds, while a pool is fed (see Signer._maybe_start_pool)
# A plain JSONL file at least this large is parsed by the workers, a range of lines per task.
_PARALLEL_JSONL_BYTES = 8 << 20
_FIRST_RANGE_BYTES = 1 << 18  # parsed and signed here: the kernels load once, before the fork
_RANGE_BYTES = 4 << 20  # ~2,000 documents of ~450 words: 8 batches per task

_SHM = "/dev/shm"  # a RAM-backed folder for results on their way back, where there is one
_SHM_FREE = 1 << 30  # ... and it has this much room
_ALIGN = 64  # bytes: every array spooled back starts on a cache line

Signed = dict[str, UnitBatch]
ParsedRange = tuple[JsonlChunk, list[tuple[int, int, Signed]]]
Spooled = tuple[str, int, list[int]] | tuple[None, ParsedRange, None]


def _spool(result: ParsedRange, folder: str) -> Spooled:
    """Write a worker's result to a file for the parent to map, instead of sending it down the
    pool's pipe: a range's texts and arrays are several megabytes, and through a 64 KiB pipe the
    parent's thread that received and unpickled them used 1.25 s of CPU at 200k documents, a core
    the workers needed. Arrays go out of band (pickle protocol 5), each aligned to a cache line
    from the start of the file, so the parent wraps them where they lie. A full disk sends the
    result down the pipe after all."""
    buffers: list[pickle.PickleBuffer] = []
    head = pickle.dumps(result, protocol=5, buffer_callback=buffers.append)
    raws = [b.raw() for b in buffers]
    path = None
    try:
        fd, path = tempfile.mkstemp(dir=folder)
        with os.fdopen(fd, "wb") as fh:
            fh.write(head)
            fh.write(bytes(-len(head) % _ALIGN))
            for raw in raws:
                fh.write(raw)
                fh.write(bytes(-raw.nbytes % _ALIGN))
    except OSError:
        if path is not None:
            with contextlib.suppress(OSError):
                os.unlink(path)
        return None, result, None
    return path, len(head), [raw.nbytes for raw in raws]


def _unspool(message: Spooled) -> ParsedRange:
    """A result written by _spool, its arrays views of the file mapped copy-on-write (the file's
    name is removed at once; its memory goes when the last array does).

    Reading the file into a buffer instead zero-filled and copied ~300 MB of fresh memory at 200k
    documents, all in this process while both workers still signed, at a few microseconds a page
    to fault in (see heap). Mapped, the pages are the ones the worker wrote: nothing is copied or
    zeroed, and one fault maps many pages. Private, so a write to an array (none is expected)
    copies its page instead of reaching the file."""
    path, head_size, sizes = message
    if path is None:
        return head_size  # type: ignore[return-value]  # sent inline
    try:
        with open(path, "rb") as fh:
            try:
                data: mmap.mmap | bytearray = mmap.mmap(
                    fh.fileno(), 0, flags=mmap.MAP_PRIVATE, prot=mmap.PROT_READ | mmap.PROT_WRITE
                )
            except (OSError, ValueError):  # a temp folder that cannot be mapped: read it
                data = bytearray(os.fstat(fh.fileno()).st_size)
                fh.readinto(data)
    finally:
        os.unlink(path)
    view = memoryview(data)
    buffers, at = [], head_size + (-head_size % _ALIGN)
    for n in sizes:
        buffers.append(view[at : at + n])
        at += n + (-n % _ALIGN)
    return pickle.loads(view[:head_size], buffers=buffers)


def available_cpus() -> int:
    """CPUs this process may run on (the affinity mask, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _sign_task(task: tuple[list[tuple[int, int]], list[list[str]] | None, ScanConfig]) -> list[Signed]:
    """Sign the batches of one pool task: each batch's texts travel with it, or were inherited."""
    ranges, texts, config = task
    if texts is None:
        assert _TEXTS is not None, "worker started without texts"
        texts = [_TEXTS[a:b] for a, b in ranges]
    return [sign_batch(batch, a, config) for (a, _), batch in zip(ranges, texts, strict=True)]


RangeTask = tuple[str, str, int, int, int, JsonlOptions, ScanConfig, bool]


def _parse_sign_spooled(task: RangeTask, folder: str) -> Spooled:
    return _spool(_parse_sign_task(task), folder)


def _parse_sign_task(task: RangeTask) -> ParsedRange:
    """Parse one range of lines of a JSONL file and sign its texts in batches: (the parsed records,
    [(0, texts, units)], the batches' units joined, documents numbered within the range). Unless
    told to keep them, the texts stay behind: the records come back with where each one lies."""
    path, name, start, stop, lineno, opts, config, keep_texts = task
    spans: list[tuple[int, int, int, int]] | None = None if keep_texts else []
    chunk = read_jsonl_range(path, name, start, stop, lineno, opts, spans)
    if chunk.error is not None:  # the file is rejected whole: its texts are never signed
        return chunk, []
    size, texts = config.batch_size, chunk.texts
    batches = [texts[a : a + size] for a in range(0, len(texts), size)]
    signed = [sign_batch(batch, k * size, config) for k, batch in enumerate(batches)]
    if spans is not None:
        chunk = chunk._replace(texts=[], spans=TextSpans.of(spans, texts))
    if not signed:
        return chunk, []
    # One batch for the range: the parent then holds a few large parts, not many small ones (see
    # scan._PART_DOCS), without copying them itself.
    return chunk, [(0, len(texts), {level: UnitBatch.joined([b[level] for b in signed]) for level in signed[0]})]


def _worker_started() -> None:
    """Ctrl-C at a terminal interrupts the whole process group: a worker left to handle it printed
    a traceback of its own under the parent's one-line "interrupted". The parent alone handles it,
    cancelling the tasks not started; a running one finishes within a range's time."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _spool_folder() -> str:
    """A new folder for spooled results: in RAM when /dev/shm has room, else the temp folder."""
    try:
        ram = shutil.disk_usage(_SHM).free >= _SHM_FREE
    except OSError:
        ram = False
    return tempfile.mkdtemp(prefix="dedup-", dir=_SHM if ram else None)


class Signer:
    """Signs texts in batches as they are offered, on `workers` processes once there are enough.

    The first batch is signed here, before any fork, so the kernels are compiled or loaded once and
    the workers inherit them. Batches then wait until there are enough of them to be worth a pool
    (small inputs never start one); from then on each full batch goes to the pool as it fills up.
    `finish` lets the workers go once every batch is back. Use as a context manager: leaving it
    shuts down a pool still running (after an error, or a caller that stopped early).
    """

    def __init__(self, config: ScanConfig, workers: int) -> None:
        self.config = config
        self.workers = workers if "fork" in mp.get_all_start_methods() else 1
        self.texts: list[str | StoredText] = []  # offered: a text, or where a worker left it
        # Texts of a JSONL file parsed by the workers stay in the file (stored.StoredTexts), except
        # for the passage level, which reads every document again, several times.
        self.keep_texts = "passage" in config.levels
        self._cut = 0  # texts before this are in a batch
        # (start, stop, state): signed here, (task, index in it) on the pool, or None: waiting
        self._batches: list[tuple[int, int, Signed | tuple[Future[list[Signed]], int] | None]] = []
        self._unsent: list[int] = []  # indices of batches cut since the last task was sent
        self._pool: ProcessPoolExecutor | None = None
        self._hold = False  # cutting batches of texts already in memory: start no pool yet
        self._switch: float | None = None  # the interpreter's GIL switch interval, while changed
        self.started_pool = False
        self._imported = False  # see _forked
        self._spool: str | None = None  # folder of results on their way back (see _spool)

    def __enter__(self) -> Signer:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self._stop_pool(cancel=True)
        finally:  # also when a second Ctrl-C interrupts the shutdown: the spool is in RAM
            if self._spool is not None:
                shutil.rmtree(self._spool, ignore_errors=True)
                self._spool = None

    def offer(self, text: str) -> None:
        self.texts.append(text)
        if len(self.texts) - self._cut >= self.config.batch_size:
            self._cut_batch(len(self.texts))

    def _cut_batch(self, stop: int) -> None:
        start, self._cut = self._cut, stop
        if not self._batches:
            self._batches.append((start, stop, sign_batch(self.texts[start:stop], start, self.config)))
        elif self._pool is not None:
            self._batches.append((start, stop, None))
            self._unsent.append(len(self._batches) - 1)
            if len(self._unsent) >= _TASK_BATCHES:
                self._send(inherited=False)
        else:
            self._batches.append((start, stop, None))
            if not self._hold:
                self._maybe_start_pool(len(self._batches) - 1 >= _MIN_BATCHES_PER_WORKER * self.workers)

    def extend(self, texts: Sequence[str]) -> None:
        """Offer texts already in memory: all of them are cut into batches before the pool starts,
        so the workers inherit them all and no batch travels pickled."""
        self._hold = True
        try:
            for text in texts:
                self.offer(text)
        finally:
            self._hold = False

    def _maybe_start_pool(self, enough: bool, workers: int | None = None) -> None:
        """Fork the workers once `enough` waiting batches justify them (fewer workers when there
        are fewer than _MIN_BATCHES_PER_WORKER batches for each, unless `workers` says how many);
        they inherit every text so far, so the waiting batches go by range."""
        global _TEXTS
        waiting = len(self._batches) - 1
        if workers is None:
            workers = min(self.workers, waiting // _MIN_BATCHES_PER_WORKER)
        if self._pool is not None or not enough or workers <= 1:
            return
        _TEXTS = self.texts
        try:
            self._pool = ProcessPoolExecutor(workers, mp_context=mp.get_context("fork"), initializer=_worker_started)
            self.started_pool = True
            # The pool's threads here pickle tasks and unpickle results (a megabyte a batch), and
            # need the GIL for it while the reader holds it in a busy loop: at the default 5 ms
            # switch interval the workers blocked on full result pipes for most of the reading.
            self._switch = sys.getswitchinterval()
            sys.setswitchinterval(_SWITCH_INTERVAL)
            waiting = [k for k, (_, _, done) in enumerate(self._batches) if done is None]
            for at in range(0, len(waiting), _TASK_BATCHES):
                self._unsent = waiting[at : at + _TASK_BATCHES]
                self._send(inherited=True)
            # Submitting starts the workers (forks) before it returns, so the texts are inherited.
        finally:
            _TEXTS = None

    def _forked(self) -> None:
        """After a submit, which forks the pool's workers the first time: what clustering imports
        is imported now, on a thread, while this process mostly waits for the workers (before the
        fork it delayed them; on a thread before it, a fork could copy a held import lock)."""
        if not self._imported:
            self._imported = True
            import_in_background()

    def _send(self, inherited: bool) -> None:
        """Submit the unsent batches as one pool task."""
        assert self._pool is not None
        ranges = [self._batches[k][:2] for k in self._unsent]
        # Each batch's own texts: the batches of one task need not be contiguous (a JSONL file that
        # the workers parsed may lie between them), and a span from first to last sent it all.
        texts = None if inherited else [self.texts[a:b] for a, b in ranges]
        future = self._pool.submit(_sign_task, (ranges, texts, self.config))
        self._forked()
        for i, k in enumerate(self._unsent):
            self._batches[k] = (*ranges[i], (future, i))
        self._unsent = []

    def jsonl_chunks(self, path: str, name: str, opts: JsonlOptions) -> Iterator[JsonlChunk] | None:
        """io.read_documents' hook: the workers parse a large plain JSONL file themselves, a range
        of lines per task, and sign each range where they parsed it, so this process neither parses
        every line nor sends texts to a worker (reading alone was a serial fifth of a 200k-document
        scan on two workers). With one worker the same ranges are parsed and signed here, so its
        texts stay in the file too: holding them all made a 200k-document scan's peak 1,190 ->
        830 MB and its time 6.27 -> 5.47 s (medians of 7, alternating, reports byte-identical; the
        texts' fresh pages were most of that). None leaves the file to the serial reader: a small
        file, or not a regular file (a pipe has no ranges)."""
        try:
            st = os.stat(path)
        except OSError:
            return None  # the reader reports it
        if not stat.S_ISREG(st.st_mode) or st.st_size < _PARALLEL_JSONL_BYTES:
            return None
        return self._parse_in_pool(path, name, opts)

    def _parse_in_pool(self, path: str, name: str, opts: JsonlOptions) -> Iterator[JsonlChunk]:
        """The parsed ranges of a JSONL file in order; closing it early cancels the tasks not run."""
        if len(self.texts) > self._cut:  # texts offered before this file: a batch of their own
            self._cut_batch(len(self.texts))
        pending: deque[Future[Spooled]] = deque()
        file = SourceFile(path)
        try:
            for start, stop, lineno in jsonl_ranges(path, _FIRST_RANGE_BYTES, _RANGE_BYTES):
                task = (path, name, start, stop, lineno, opts, self.config, self.keep_texts)
                if self._pool is None:
                    yield self._add_range(file, opts, *_parse_sign_task(task))
                    self._maybe_start_pool(True, self.workers)
                    continue
                if self._spool is None:
                    self._spool = _spool_folder()
                pending.append(self._pool.submit(_parse_sign_spooled, task, self._spool))
                self._forked()
                while pending and pending[0].done():
                    yield self._add_range(file, opts, *_unspool(pending.popleft().result()))
            while pending:
                yield self._add_range(file, opts, *_unspool(pending.popleft().result()))
        finally:
            for future in pending:
                future.cancel()

    def _add_range(
        self, file: SourceFile, opts: JsonlOptions, chunk: JsonlChunk, signed: list[tuple[int, int, Signed]]
    ) -> JsonlChunk:
        """Count a parsed range's texts as offered, and its signed batches as done; texts left in
        the file become references to where they are stored."""
        if chunk.spans is not None:
            chunk = chunk._replace(texts=StoredTexts(file, opts, chunk.spans).refs(), spans=None)
        if chunk.error is None:
            base = len(self.texts)
            self.texts.extend(chunk.texts)
            self._cut = len(self.texts)
            for first, n, units in signed:
                start = base + first
                self._batches.append((start, start + n, {lv: u.shifted(base) for lv, u in units.items()}))
        return chunk

    def finish(self) -> Iterator[tuple[int, Signed]]:
        """(texts in the batch, its units per level) for every batch, in order."""
        if len(self.texts) > self._cut:
            self._cut_batch(len(self.texts))
        self._maybe_start_pool(True)
        if self._unsent:
            self._send(inherited=False)
        for start, stop, done in self._batches:
            if done is None:  # too few batches for a pool
                done = sign_batch(self.texts[start:stop], start, self.config)
            elif isinstance(done, tuple):
                future, i = done
                done = future.result()[i]
            yield stop - start, done
        self._stop_pool(cancel=False)

    def _stop_pool(self, cancel: bool) -> None:
        """Let the workers go as soon as every batch is back, before the caller clusters: their
        memory is then freed just as clustering needs memory. On a VM that reports freed pages to
        its host, a page freed a second or more before its next first touch faults on the host too
        (~9 us a 4 KiB page here), and clustering at 200k documents, whose arrays are all new to
        this process, spent 0.92-1.22 s in the kernel with the workers alive, 0.47-0.55 s without
        (two workers, 3 runs each). `cancel` drops the tasks not started (leaving early)."""
        try:
            if self._pool is not None:
                self._pool.shutdown(wait=True, cancel_futures=cancel)
                self._pool = None
        finally:  # the pool's threads here no longer need the GIL handed over
            if self._switch is not None:
                sys.setswitchinterval(self._switch)
                self._switch = None


def remap(
    batches: Iterator[tuple[int, Signed]], offered: Sequence[str | StoredText], kept: Sequence[Document]
) -> Iterator[tuple[int, Signed]]:
    """Signed batches of the offered texts, renumbered to the documents the reader kept.

    The reader offers texts as it parses them but may still drop some (a duplicate id, a file
    rejected as a whole under --skip-bad); the kept documents are the offered ones in order, minus
    those. A kept document is matched to its offered text by identity (two texts that are the same
    object are equal, so a mismatch between them cannot change any signature).
    """
    if len(offered) == len(kept):
        yield from batches
        return
    new_index = np.full(len(offered), -1, dtype=np.int64)
    j = 0
    for i, text in enumerate(offered):
        if j < len(kept) and kept[j].origin is text:
            new_index[i] = j
            j += 1
    if j != len(kept):
        raise AssertionError("the reader kept a document it never offered for signing")
    for n_docs, signed in batches:
        yield n_docs, {level: units.renumbered(new_index) for level, units in signed.items()}


def signed_batches(
    documents: list[Document], config: ScanConfig, workers: int
) -> Iterator[tuple[int, Signed]]:
    """(documents in the batch, its units per level) for every batch of documents held in memory."""
    with Signer(config, workers) as signer:
        signer.extend([d.text for d in documents])
        yield from signer.finish()
