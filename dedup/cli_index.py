"""`dedup index create|add|stats` and `dedup filter`: the pre-ingest filter from the command line."""

from __future__ import annotations

import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Annotated

import typer

from .model import DedupError
from .output import stderr_line as _say

index_app = typer.Typer(no_args_is_help=True, help="Create, fill and inspect a persistent index.")


@index_app.command("create")
def create(
    location: Annotated[
        str, typer.Argument(help="A file path (SQLite) or redis://host:port/db?prefix=name.")
    ],
    threshold: Annotated[
        float, typer.Option(help="Estimated Jaccard at or above which a document is a duplicate.")
    ] = 0.8,
    num_perm: Annotated[int, typer.Option(help="MinHash permutations.")] = 128,
    ngram: Annotated[int, typer.Option(help="Words per shingle.")] = 5,
    method: Annotated[str, typer.Option(help="classic or oph.")] = "classic",
    seed: Annotated[int, typer.Option(help="Seed of the permutations.")] = 1,
) -> None:
    """Create an empty index; its parameters are stored with it."""
    from .index import Index

    with Index.create(
        location, threshold=threshold, num_perm=num_perm, ngram=ngram, method=method, seed=seed
    ) as idx:
        _say(f"created {idx.stats()['location']}")


@index_app.command("add")
def add(
    location: Annotated[str, typer.Argument(help="The index.")],
    paths: Annotated[list[str], typer.Argument(help="Inputs, as for `dedup scan`.")],
    text_field: Annotated[str, typer.Option(help="JSON field holding the text.")] = "text",
    id_field: Annotated[
        str | None, typer.Option(help="JSON field holding the id (default: FILE:LINE).")
    ] = None,
    skip_bad: Annotated[bool, typer.Option("--skip-bad", help="Warn about and skip bad inputs.")] = False,
    replace: Annotated[
        bool, typer.Option("--replace", help="Replace documents whose id is already indexed.")
    ] = False,
    batch_size: Annotated[int, typer.Option(help="Documents per transaction.")] = 1000,
) -> None:
    """Add every document of the inputs (near-duplicates included) to the index."""
    _kernels_fast_to_load()
    from .index import Index
    from .io import read_documents

    read = read_documents(paths, text_field=text_field, id_field=id_field, skip_bad=skip_bad)
    for s in read.skipped:
        _say(f"warning: skipped {s.source}: {s.reason}")
    with Index.open(location) as idx:
        docs = read.documents
        for i in range(0, len(docs), batch_size):
            idx.add_many([(d.id, d.text) for d in docs[i : i + batch_size]], replace=replace)
        _say(f"added {len(docs)} documents; the index holds {len(idx)}")


@index_app.command("stats")
def stats(
    location: Annotated[str, typer.Argument(help="The index.")],
    fmt: Annotated[str, typer.Option("--format", "-f", help="table or json.")] = "table",
) -> None:
    """Documents, segments, size and parameters of an index."""
    import orjson

    from .index import Index

    with Index.open(location) as idx:
        info = idx.stats()
    if fmt == "json":
        sys.stdout.write(orjson.dumps(info, option=orjson.OPT_INDENT_2).decode() + "\n")
        return
    if fmt != "table":
        raise DedupError(f"--format must be table or json, got {fmt!r}")
    params = info.pop("params")
    for key, value in [*info.items(), *params.items()]:
        sys.stdout.write(f"{key:>14}  {value}\n")


def filter_command(
    index: Annotated[str, typer.Option("--index", help="The index (path or redis:// URL).")],
    add: Annotated[bool, typer.Option("--add", help="Add the new documents to the index.")] = False,
    mode: Annotated[
        str,
        typer.Option(help="drop: only new records to stdout; annotate: every record, with a dedup field."),
    ] = "drop",
    rejects: Annotated[
        Path | None,
        typer.Option(
            help="Write duplicates (with duplicate_of) and, with --skip-bad, bad lines here; "
            "the file is replaced when the stream ends (untouched if the run fails)."
        ),
    ] = None,
    text_field: Annotated[str, typer.Option(help="JSON field holding the text.")] = "text",
    id_field: Annotated[
        str, typer.Option(help="JSON field holding the id (default: -:LINE when absent).")
    ] = "id",
    skip_bad: Annotated[
        bool,
        typer.Option("--skip-bad", help="Send bad lines to --rejects (required) instead of stopping."),
    ] = False,
    batch_size: Annotated[int, typer.Option(help="Most records per batch (one transaction each).")] = 1000,
    max_doc_bytes: Annotated[
        int, typer.Option(help="Longest line read; a longer one is a bad line (never held in memory).")
    ] = 50_000_000,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No summary line on stderr.")] = False,
) -> None:
    """Stream JSONL from stdin through the index: new records to stdout, duplicates dropped
    (or to --rejects with what they duplicate) or annotated."""
    from .filter import check_mode, run_filter
    from .index import Index
    from .output import pipe_closed_is_quiet, replacing

    check_mode(mode)
    if skip_bad and rejects is None:  # a bad line is not JSON: it can be neither passed nor annotated
        raise DedupError("--skip-bad needs --rejects FILE: bad lines go there, never nowhere")
    if batch_size < 1:
        raise DedupError(f"--batch-size must be positive, got {batch_size}")
    if sys.stdin is None:
        raise DedupError("standard input is closed")
    _kernels_fast_to_load()
    with Index.open(index) as idx, ExitStack() as stack:
        out = sys.stdout.buffer
        # The rejects file appears when the stream is done, whole (renamed from a temporary beside
        # it); a failed or interrupted run leaves an existing one untouched. stdout streams.
        rej = stack.enter_context(replacing(rejects, "--rejects")) if rejects is not None else None
        with pipe_closed_is_quiet():
            stats = run_filter(
                idx,
                sys.stdin.fileno(),
                out,
                rej,
                add=add,
                mode=mode,
                text_field=text_field,
                id_field=id_field,
                skip_bad=skip_bad,
                batch_size=batch_size,
                warn=_say,
                max_doc_bytes=max_doc_bytes,
            )
    if not quiet:
        _say(
            f"filter: {stats.lines} lines, {stats.new} new ({stats.added} added), "
            f"{stats.duplicates} duplicates, {stats.rejected} bad"
        )


def _kernels_fast_to_load() -> None:
    from .cli import _kernels_fast_to_load as set_up  # late: cli imports this module

    set_up()
