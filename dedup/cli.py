"""The `dedup` command line (typer). A thin driver: read -> scan -> report, errors as one line.

Exit codes: 0 success, 2 usage or input error (one line on stderr, no report written),
70 internal error (one line; set DEDUP_DEBUG=1 for the traceback).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

try:  # typer < 0.22 depends on click; later versions vendor it
    from click import ClickException, UsageError
except ImportError:  # pragma: no cover - depends on the installed typer
    from typer._click.exceptions import ClickException, UsageError

from . import __version__
from .config import BOILERPLATE_DF, LEVELS, ScanConfig
from .model import DedupError
from .output import write_output

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Find copied text within and across documents: repeated paragraphs, near-duplicate documents.",
)

EXIT_INPUT = 2
EXIT_INTERNAL = 70


def _err(message: str) -> None:
    sys.stderr.write(f"dedup: {message}\n")
    sys.stderr.flush()


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
    workers: Annotated[int, typer.Option(help="Processes for hashing; 0 = one per available CPU.")] = 0,
) -> None:
    """Scan documents for near-duplicate documents, repeated paragraphs and shared passages."""
    from .io import read_documents
    from .report import FORMATS, build_report, render
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
    target, recall = config.candidate_recall()
    if recall < 0.99:
        _err(
            f"warning: with --num-perm {num_perm}, a pair at similarity {target:.2f} becomes a candidate "
            f"with probability {recall:.3f} (< 0.99); raise --num-perm for full recall"
        )
    read = read_documents(paths, text_field=text_field, id_field=id_field, skip_bad=skip_bad)
    for s in read.skipped:
        _err(f"warning: skipped {s.source}: {s.reason}")
    from .engine import available_cpus

    if workers < 0:
        raise DedupError(f"--workers must be 0 (one per CPU) or more, got {workers}")
    result = scan_documents(read.documents, config, workers=workers or available_cpus())
    inputs = {"text_field": text_field, "id_field": id_field, "skip_bad": skip_bad}
    report = build_report(read.documents, read.skipped, result, config, __version__, inputs)
    width = None
    if output is None and sys.stdout.isatty():
        import shutil

        width = shutil.get_terminal_size().columns
    write_output(render(report, fmt, width=width, documents=read.documents), output)


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
    except DedupError as exc:
        _err(f"error: {exc}")
        return EXIT_INPUT
    except KeyboardInterrupt:
        _err("interrupted")
        return 130
    except Exception as exc:
        if os.environ.get("DEDUP_DEBUG"):
            raise
        _err(f"internal error: {type(exc).__name__}: {' '.join(str(exc).split())}")
        return EXIT_INTERNAL


def main() -> None:
    sys.exit(run())
