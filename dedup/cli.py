"""The `dedup` command line (typer). A thin driver: read -> scan -> report, errors as one line.

Exit codes: 0 success, 1 duplicates found with --fail-on-duplicates, 2 usage or input error (one
line on stderr, no report written), 70 internal error (one line; set DEDUP_DEBUG=1 for the
traceback), 130 interrupted, 141 the output pipe was closed by its reader.
"""

from __future__ import annotations

import os
import signal
import sys
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import nullcontext, suppress
from pathlib import Path
from typing import Annotated

import typer

try:  # typer < 0.22 depends on click; later versions vendor it
    from click import ClickException, UsageError
except ImportError:  # pragma: no cover - depends on the installed typer
    from typer._click.exceptions import ClickException, UsageError

from . import __version__, interrupt
from .config import BOILERPLATE_DF, LEVELS, ScanConfig
from .heap import keep_freed_memory
from .io import MAX_DOC_BYTES
from .model import DedupError
from .output import PipeClosed, pipe_closed_is_quiet, write_output
from .output import stderr_line as _err

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Find copied text within and across documents: near-duplicate documents, repeated paragraphs, "
    "shared passages; and filter new documents against a persistent index.",
)

EXIT_DUPLICATES = 1
EXIT_INPUT = 2
EXIT_INTERNAL = 70
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell reports for a tool killed by a closed pipe

# Set by main(): this process ends as soon as the command returns (see _end_process), so a scan
# leaves the garbage collector off instead of paying for one last pass over everything it made.
_PROCESS_ENDS_WITH_COMMAND = False
# What a scan made, kept here when the process ends with the command: freed as `scan` returned, a
# 200k-document scan's documents, clusters and report took 0.13-0.18 s after its output was
# written, time the process then spent only on ending (os._exit releases it all at once).
_LEFT_FOR_EXIT: list[object] = []


def _kernels_fast_to_load() -> None:
    """numba set up for a command that runs kernels, in the console script only (a library must
    not change an embedding program's numba), before any thread starts: cached kernels load without refreshing numba's registries
    (jit.load_cached_kernels_without_refresh), so numba's array routines (numba.np.arraymath, 0.05
    s) are not imported before the first kernel: no cached kernel of signing needs them. Where
    cached kernels cannot load this way, the routines are imported at once, without scipy.linalg."""
    if not _PROCESS_ENDS_WITH_COMMAND:
        return
    from .jit import load_cached_kernels_without_refresh

    if not load_cached_kernels_without_refresh():
        _numba_without_scipy_blas()


def _numba_without_scipy_blas() -> None:
    """Load numba's array routines without scipy.linalg. When they load (in the first batch a
    scan signs, before its workers fork), numba imports scipy.linalg only to learn whether np.dot
    may call BLAS, and dedup's kernels call no np.dot: that import was half of the serial time
    before the fork (first range 0.25 -> 0.17 s at 200k documents, one core idle meanwhile).
    Clustering still imports scipy.linalg (scipy.sparse needs it), on a thread while the workers
    sign. Only for the console script (a library must not change an embedding program's numba),
    and only in `scan`, where workers fork: other commands would pay for importing numba before
    their arguments are even read (`dedup --version` 0.11 -> 0.24 s)."""
    if "scipy.linalg" in sys.modules or "numba.np.arraymath" in sys.modules:
        return
    sys.modules["scipy.linalg"] = None  # type: ignore[assignment]  # makes its import fail
    try:
        import numba.np.arraymath  # noqa: F401
    finally:
        del sys.modules["scipy.linalg"]


def _show_version(value: bool) -> None:
    if value:
        typer.echo(__version__)
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", help="Print the version and exit.", is_eager=True, callback=_show_version),
    ] = False,
) -> None:
    """Find copied text within and across documents."""


@app.command()
def scan(
    paths: Annotated[
        list[str],
        typer.Argument(
            help="Files, folders (recursive: .txt .md .jsonl .json, optionally .gz), or - for stdin."
        ),
    ],
    level: Annotated[str, typer.Option(help=f"Comma-separated levels: {', '.join(LEVELS)}.")] = ",".join(
        LEVELS
    ),
    fmt: Annotated[str, typer.Option("--format", "-f", help="table, json, jsonl, csv or html.")] = "table",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the report here instead of stdout.")
    ] = None,
    threshold: Annotated[
        float, typer.Option(help="Jaccard similarity at or above which units are duplicates.")
    ] = 0.8,
    ngram: Annotated[int, typer.Option(help="Words per shingle.")] = 5,
    num_perm: Annotated[int, typer.Option(help="MinHash permutations (signature length).")] = 128,
    seed: Annotated[int, typer.Option(help="Seed of the MinHash permutations.")] = 1,
    method: Annotated[
        str, typer.Option(help="classic (k permutations, datasketch-compatible) or oph.")
    ] = "classic",
    min_words: Annotated[
        int | None,
        typer.Option(
            help="Shortest unit or passage reported, in words "
            "(default: 5 for documents and paragraphs, 8 for passages)."
        ),
    ] = None,
    boilerplate_df: Annotated[
        float,
        typer.Option(
            help="Passages: an n-gram in more documents than this is boilerplate (seeds no match); "
            "below 1 a fraction of the documents, never fewer than 10."
        ),
    ] = BOILERPLATE_DF,
    max_gap: Annotated[
        int, typer.Option(help="Passages: unmatched words an alignment bridges (edits, dropped clauses).")
    ] = 10,
    text_field: Annotated[str, typer.Option(help="JSON field holding the text.")] = "text",
    id_field: Annotated[
        str | None, typer.Option(help="JSON field holding the id (default: FILE:LINE).")
    ] = None,
    skip_bad: Annotated[
        bool, typer.Option("--skip-bad", help="Warn about and skip bad inputs instead of stopping.")
    ] = False,
    batch_size: Annotated[int, typer.Option(help="Documents per hashing batch (memory vs. speed).")] = 256,
    max_doc_bytes: Annotated[
        int,
        typer.Option(
            help="Largest document (or .json file, or decompressed .gz) read; larger is an error or a skip."
        ),
    ] = MAX_DOC_BYTES,
    workers: Annotated[int, typer.Option(help="Processes for hashing; 0 = one per available CPU.")] = 0,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress bar and no warnings on stderr (errors still).")
    ] = False,
    no_color: Annotated[
        bool, typer.Option("--no-color", help="Plain table output, even on a terminal.")
    ] = False,
    csv_raw: Annotated[
        bool,
        typer.Option(
            "--csv-raw", help="CSV: write cells as they are (no ' before a leading = + - @ tab or CR)."
        ),
    ] = False,
    fail_on_duplicates: Annotated[
        bool,
        typer.Option("--fail-on-duplicates", help="Exit with status 1 when any duplicate is found (for CI)."),
    ] = False,
) -> None:
    """Scan documents for near-duplicate documents, repeated paragraphs and shared passages.

    Exit status: 0 done, 1 duplicates found (only with --fail-on-duplicates), 2 usage or input error.
    """
    _kernels_fast_to_load()
    from .io import read_documents
    from .report import FORMATS, DocumentTotals, build_report, document_totals, render_chunks
    from .scan import scan_documents

    if fmt not in FORMATS:
        raise DedupError(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    levels = tuple(x.strip() for x in level.split(",") if x.strip())
    config = ScanConfig(
        threshold=threshold,
        ngram=ngram,
        num_perm=num_perm,
        seed=seed,
        method=method,  # type: ignore[arg-type]
        min_words=min_words,
        levels=levels,
        boilerplate_df=boilerplate_df,
        max_gap=max_gap,
        batch_size=batch_size,
    )
    if output is not None and not (output.parent if str(output.parent) else Path(".")).is_dir():
        raise DedupError(f"--output {output}: no such directory: {output.parent}")
    warn = (lambda _m: None) if quiet else _err
    target, recall = config.candidate_recall()
    if recall < 0.99:
        warn(
            f"warning: with --num-perm {num_perm}, a pair at similarity {target:.2f} becomes a candidate "
            f"with probability {recall:.3f} (< 0.99); raise --num-perm for full recall"
        )
    from .engine import Signer, available_cpus, remap
    from .gcpause import collection_paused

    if workers < 0:
        raise DedupError(f"--workers must be 0 (one per CPU) or more, got {workers}")
    workers = workers or available_cpus()
    # No cyclic garbage collection until the report is written (see gcpause: it walked every
    # document eight times at 200k documents, holding the GIL the workers' results wait on).
    with collection_paused(resume=not _PROCESS_ENDS_WITH_COMMAND):
        # Documents are signed while the rest is still being read (on the workers, once there are
        # enough batches), so reading a large input overlaps with hashing it.
        with Signer(config, workers) as signer:
            read = read_documents(
                paths,
                text_field=text_field,
                id_field=id_field,
                skip_bad=skip_bad,
                max_doc_bytes=max_doc_bytes,
                on_text=signer.offer if config.unit_levels else None,
                jsonl_chunks=signer.jsonl_chunks if config.unit_levels else None,
                describe=document_totals,
            )
            for s in read.skipped:
                warn(f"warning: skipped {s.source}: {s.reason}")
            signed = remap(signer.finish(), signer.texts, read.documents) if config.unit_levels else None
            interrupt.check()  # the pool's shutdown runs finalizers, which swallow a Ctrl-C
            with (
                ThreadPoolExecutor(1) if workers > 1 else nullcontext() as pool,
                _progress(len(read.documents), enabled=not quiet and sys.stderr.isatty()) as advance,
            ):
                # The report's per-document part: made chunk by chunk while reading a JSONL file,
                # else beside the clustering on several cores.
                totals: Future[DocumentTotals] | DocumentTotals | None = (
                    DocumentTotals.joined(read.described)
                    if read.described is not None
                    else pool.submit(document_totals, read.documents)
                    if pool is not None
                    else None
                )
                result = scan_documents(
                    read.documents, config, progress=advance, workers=workers, signed=signed
                )
        inputs = {"text_field": text_field, "id_field": id_field, "skip_bad": skip_bad}
        report = build_report(
            read.documents,
            read.skipped,
            result,
            config,
            __version__,
            inputs,
            totals=totals.result() if isinstance(totals, Future) else totals,
        )
        width = None
        if output is None and sys.stdout.isatty():
            import shutil

            width = shutil.get_terminal_size().columns
        color = output is None and sys.stdout.isatty() and not no_color and not os.environ.get("NO_COLOR")
        with pipe_closed_is_quiet():
            write_output(
                render_chunks(
                    report, fmt, width=width, color=color, documents=read.documents, csv_raw=csv_raw
                ),
                output,
            )
    if _PROCESS_ENDS_WITH_COMMAND:
        _LEFT_FOR_EXIT.append((signer, read, result, report))
    if fail_on_duplicates and any(not c.boilerplate for c in result.clusters):
        raise typer.Exit(EXIT_DUPLICATES)


class _progress:
    """A rich progress bar on stderr while documents are hashed (a terminal only), then a spinner
    for the stages after; a no-op otherwise. Used as a context manager yielding `advance(n)`."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.total, self.enabled = total, enabled
        self.bar = None

    def __enter__(self):
        if not self.enabled:
            return None
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        self.bar = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        self.bar.start()
        task = self.bar.add_task("hashing documents", total=self.total)

        def advance(n: int) -> None:
            self.bar.advance(task, n)
            if self.bar.tasks[task].completed >= self.total:
                self.bar.update(task, description="finding and verifying copies")

        return advance

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()


@app.command()
def compare(
    a: Annotated[
        str, typer.Argument(help="The first document: a file (or - for stdin) holding one document.")
    ],
    b: Annotated[str, typer.Argument(help="The second document, likewise.")],
    fmt: Annotated[str, typer.Option("--format", "-f", help="table or json.")] = "table",
    ngram: Annotated[int, typer.Option(help="Words per seed n-gram.")] = 5,
    min_words: Annotated[int, typer.Option(help="Shortest passage reported, in words.")] = 8,
    max_gap: Annotated[int, typer.Option(help="Unmatched words an alignment bridges.")] = 10,
    text_field: Annotated[str, typer.Option(help="JSON field holding the text.")] = "text",
) -> None:
    """Show the passages two documents share, side by side, with their character offsets."""
    _kernels_fast_to_load()
    from .io import read_documents
    from .passage import compare_documents
    from .report import render_compare

    if fmt not in ("table", "json"):
        raise DedupError(f"--format must be table or json, got {fmt!r}")
    docs = []
    for arg in (a, b):
        found = read_documents([arg], text_field=text_field).documents
        if len(found) != 1:
            raise DedupError(f"{arg}: holds {len(found)} documents; compare takes one document per input")
        docs.append(found[0])
    config = ScanConfig(ngram=ngram, min_words=min_words, max_gap=max_gap, levels=("passage",))
    passages = compare_documents(docs[0], docs[1], config)
    width = None
    if sys.stdout.isatty():
        import shutil

        width = shutil.get_terminal_size().columns
    write_output(render_compare(docs[0], docs[1], passages, fmt, width), None)


from .cli_index import filter_command, index_app  # noqa: E402 - the commands register on `app`

app.add_typer(index_app, name="index")
app.command("filter")(filter_command)


def run(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code; every error becomes one line on stderr."""
    try:
        result = app(args=argv, prog_name="dedup", standalone_mode=False)
        if result == 130:  # click turned a Ctrl-C into this exit code without a word
            _err("interrupted")
        return result if isinstance(result, int) else 0
    except typer.Exit as exc:  # --help, --version
        return exc.exit_code
    except ClickException as exc:  # usage errors: one line, like every other error
        message = " ".join(exc.format_message().split())
        if message:  # empty when the help text was already shown (no arguments at all)
            hint = " (see dedup --help)" if isinstance(exc, UsageError) else ""
            _err(f"error: {message}{hint}")
        return EXIT_INPUT
    except typer.Abort:
        _err("interrupted")
        return 130
    except PipeClosed:
        return EXIT_BROKEN_PIPE
    except DedupError as exc:
        _err(f"error: {exc}")
        return EXIT_INPUT
    except KeyboardInterrupt:
        _err("interrupted")
        return 130
    except Exception as exc:
        if _interrupted(exc):  # Ctrl-C inside a compiled kernel surfaces as a SystemError
            _err("interrupted")
            return 130
        if os.environ.get("DEDUP_DEBUG"):
            raise
        _err(f"internal error: {type(exc).__name__}: {' '.join(str(exc).split())}")
        return EXIT_INTERNAL


def _interrupted(exc: BaseException) -> bool:
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, KeyboardInterrupt):
            return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False


def main() -> None:
    global _PROCESS_ENDS_WITH_COMMAND
    _PROCESS_ENDS_WITH_COMMAND = True
    keep_freed_memory()  # the process is ours: freed arrays stay mapped for reuse (see heap)
    with suppress(ValueError):  # not the main thread (an embedding program): not ours to handle
        interrupt.install()
    code: int | None = None
    # One loop, so a Ctrl-C landing anywhere here (even between two statements of this function:
    # Python checks for signals between bytecodes) is caught and the loop resumes where it was.
    while True:
        try:
            if code is None:
                try:
                    code = run()
                    if code != 130 and interrupt.pending():  # swallowed by a finalizer, never raised
                        code = 130
                        _err("interrupted")
                except KeyboardInterrupt:  # landed between run's own handlers and here
                    code = 130
                    _err("interrupted")
            # The command is over: its output is written, or its error said. A Ctrl-C from here on
            # (while the interpreter joins threads, runs atexit hooks and tears down) is ignored, so
            # the status is the command's, not a traceback or a silent death by SIGINT.
            with suppress(ValueError):  # not the main thread (an embedding program): not ours to handle
                signal.signal(signal.SIGINT, signal.SIG_IGN)
            break
        except KeyboardInterrupt:
            if code is None:
                code = 130
                _err("interrupted")
    _end_process(code)


def _end_process(code: int) -> None:
    """Exit once the output is flushed, without tearing down the interpreter: after a 200k-document
    scan, freeing every object one by one took 0.4-0.5 s, longer than writing the report. Every
    file, store and pool was already closed by the command's own `with` blocks. An output that
    cannot be flushed is still an error, as it is at a normal exit."""
    for name, stream in (("stdout", sys.stdout), ("stderr", sys.stderr)):
        try:
            stream.flush()
        except BrokenPipeError:
            code = code or EXIT_BROKEN_PIPE
        except (OSError, ValueError) as exc:  # ValueError: the stream was closed
            if name == "stdout":
                with suppress(OSError, ValueError):
                    _err(f"error: writing to standard output: {getattr(exc, 'strerror', None) or exc}")
                code = code or EXIT_INPUT
    os._exit(code)
