"""Build the versioned report from a scan, and render it as JSON, JSONL, CSV or a rich table.

The report is plain data (dicts in schema key order) built once; every format renders that same
object, so the formats can never disagree about what was found.
"""

from __future__ import annotations

import csv
import heapq
import io
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import orjson

from .arrays import sorted_unique
from .config import ScanConfig
from .model import Cluster, Document, Skipped
from .output import _SURROGATE, scrub_surrogates
from .scan import ScanResult

SCHEMA_VERSION = 1
FORMATS = ("table", "json", "jsonl", "csv", "html")


def _round(x: float) -> float:
    return round(float(x), 6)


def _duplicated_chars(clusters: list[Cluster]) -> int:
    """Characters covered by a cluster member other than its cluster's first: the removable text.

    Spans are unioned per document, so text inside both a document and a paragraph cluster counts once.
    """
    spans: dict[int, list[tuple[int, int]]] = {}
    for c in clusters:
        for d, s, e in zip(c.doc[1:].tolist(), c.start[1:].tolist(), c.end[1:].tolist(), strict=True):
            spans.setdefault(d, []).append((s, e))
    return sum(_union_length(intervals) for intervals in spans.values())


@dataclass(frozen=True, slots=True)
class DocumentTotals:
    """The report's per-document part: it reads only the documents, so a scan makes it before the
    report, chunk by chunk while a JSONL file is read (io.read_documents' `describe`), or else on
    several cores beside the clustering (0.1-0.3 s of Python at 200k documents, otherwise spent
    after clustering; beside it, it held the GIL just as the clustering threads started)."""

    entries: list[dict[str, Any]]  # {"id", "source", "chars"} per document, in input order
    total_chars: int
    empty: int  # documents with no visible character

    @classmethod
    def joined(cls, parts: list[DocumentTotals]) -> DocumentTotals:
        """The totals of consecutive groups of documents (io.read_documents' `described`)."""
        entries = [e for p in parts for e in p.entries]
        return cls(entries, sum(p.total_chars for p in parts), sum(p.empty for p in parts))


def document_totals(documents: list[Document]) -> DocumentTotals:
    # Document.chars and .blank do not read a text left in its file (model.Document).
    chars = [d.chars for d in documents]
    entries = [{"id": d.id, "source": d.source, "chars": n} for d, n in zip(documents, chars, strict=True)]
    empty = sum(d.blank for d in documents)
    return DocumentTotals(entries, sum(chars), empty)


def build_report(
    documents: list[Document],
    skipped: list[Skipped],
    result: ScanResult,
    config: ScanConfig,
    version: str,
    inputs: dict[str, Any] | None = None,
    totals: DocumentTotals | None = None,
) -> dict[str, Any]:
    """The report as data, keys in schema order (see README, "JSON report"). `totals` is
    document_totals(documents), when the caller made it already."""
    clusters = []
    # Plain lists from each cluster's arrays first: a numpy reduction or scalar per cluster or member
    # costs ~10x its list equivalent, and at 200k documents there are 13,000 clusters.
    for cid, c in enumerate(result.clusters):
        doc = c.doc.tolist()
        members = [
            {"doc": documents[d].id, "start": s, "end": e, "text": documents[d].text[s:e]}
            for d, s, e in zip(doc, c.start.tolist(), c.end.tolist(), strict=True)
        ]
        entry = {
            "id": cid,
            "level": c.level,
            "scope": "within" if min(doc) == max(doc) else "across",
            "similarity": _round(c.similarity),
            "members": members,
            "exact": c.exact,
            "pairs": [
                [i, j, _round(sim)]
                for (i, j), sim in zip(c.edges.tolist(), c.edge_similarity.tolist(), strict=True)
            ],
        }
        if c.level == "passage":
            entry["boilerplate"] = c.boilerplate
        clusters.append(entry)
    totals = totals if totals is not None else document_totals(documents)
    total_chars = totals.total_chars
    dup = _duplicated_chars(result.clusters)
    by_level = {lv: sum(1 for c in result.clusters if c.level == lv) for lv in config.levels}
    summary = {
        "documents": len(documents),
        "clusters": len(clusters),
        "duplicated_chars": dup,
        "duplicated_fraction": _round(dup / total_chars) if total_chars else 0.0,
        "total_chars": total_chars,
        "clusters_by_level": by_level,
        "within_clusters": sum(1 for c in clusters if c["scope"] == "within"),
        "across_clusters": sum(1 for c in clusters if c["scope"] == "across"),
        "empty_documents": totals.empty,
        "units": {lv: s.units for lv, s in result.stats.items()},
        "candidate_pairs": {lv: s.candidates for lv, s in result.stats.items()},
        "verified_pairs": {lv: s.verified for lv, s in result.stats.items()},
        "suppressed_paragraph_clusters": result.suppressed,
        "passages": asdict(result.passages) if result.passages is not None else None,
        "skipped": len(skipped),
        "skipped_inputs": [{"source": s.source, "reason": s.reason} for s in skipped],
    }
    return {
        "dedup_report": SCHEMA_VERSION,
        "params": {**config.params(), **(inputs or {}), "dedup_version": version},
        "documents": totals.entries,
        "clusters": clusters,
        "summary": summary,
        "reuse": _reuse(documents, result.clusters),
    }


# Partners named per document in `reuse[].with` (the first by input order; `with_count` has them
# all): a paragraph in all of 10,000 documents made every entry name the other 9,999, 100 million
# ids in a JSON report that took 80 s to build.
MAX_WITH = 100
# An exact cluster of at most this many documents enters the reuse view as its pairs of documents.
_PAIRED_GROUP = 64


def _reuse(documents: list[Document], clusters: list[Cluster]) -> list[dict[str, Any]]:
    """The syndication view: per document holding text shared with other documents (any level,
    boilerplate excluded), how much of it is shared and with whom. Absent documents share nothing.

    Shared means linked to a place in another document by the cluster's own evidence: an edge (a
    verified pair, a passage alignment), or, in an exact cluster, the same words. Cluster
    membership alone is not enough: components chain a~b~c where a and c share nothing, and a
    passage aligned only with another place of its own document (a self-repeat) is not reuse.

    An exact cluster links every member to all its documents, so it is kept as one shared set of
    documents (one per distinct set), never as its pairs, which are quadratic in its size.

    Members, edges, spans and (document, partner) pairs are whole arrays over all clusters: walked
    cluster by cluster and edge by edge in Python this took 116 ms at 200k documents (13,000
    clusters, 17,000 entries; medians of 7), against 73 ms now, most of it making the entries.
    """
    kept = [c for c in clusters if not c.boilerplate]
    if not kept:
        return []
    sizes = np.array([c.doc.size for c in kept], dtype=np.int64)
    base = np.concatenate([[0], np.cumsum(sizes)])
    doc = np.concatenate([c.doc for c in kept]).astype(np.int64)
    start = np.concatenate([c.start for c in kept]).astype(np.int64)
    end = np.concatenate([c.end for c in kept]).astype(np.int64)
    across = np.minimum.reduceat(doc, base[:-1]) != np.maximum.reduceat(doc, base[:-1])
    is_exact = np.array([c.exact for c in kept], dtype=bool)
    exact, linked = is_exact & across, ~is_exact & across
    shared = np.repeat(exact, sizes)  # members sharing text: all of an exact cluster's ...
    pick = np.flatnonzero(linked)
    if pick.size:
        edges = np.concatenate([kept[k].edges.reshape(-1, 2) + base[k] for k in pick.tolist()])
        edges = edges[doc[edges[:, 0]] != doc[edges[:, 1]]]
        shared[edges.ravel()] = True  # ... and those with an edge to another document
        pairs = np.stack([doc[edges.ravel()], doc[edges[:, ::-1].ravel()]], axis=1)
    else:
        pairs = np.empty((0, 2), dtype=np.int64)
    # Each exact cluster's set of documents: a small one as all its (document, partner) pairs; a
    # large one (a footer in 10,000 documents) stays a set, its pairs being quadratic in its size.
    small: list[tuple[int, ...]] = []
    large: dict[tuple[int, ...], None] = {}
    for k in np.flatnonzero(exact).tolist():
        docs = tuple(sorted(set(kept[k].doc.tolist())))
        if len(docs) <= _PAIRED_GROUP:
            small.append(docs)
        else:
            large.setdefault(docs, None)
    if small:
        members = np.fromiter((d for g in small for d in g), dtype=np.int64)
        lengths = np.array([len(g) for g in small], dtype=np.int64)
        size_of = np.repeat(lengths, lengths)  # per member: its group's size, and its first member
        first_of = np.repeat(np.cumsum(lengths) - lengths, lengths)
        # member m pairs with each member of its group: first_of[m] + 0 .. size_of[m] - 1
        at = np.arange(int(size_of.sum())) - np.repeat(np.cumsum(size_of) - size_of, size_of)
        both = np.stack([np.repeat(members, size_of), members[at + np.repeat(first_of, size_of)]], axis=1)
        pairs = np.concatenate([pairs, both[both[:, 0] != both[:, 1]]])
    n = len(documents)  # one int64 per (document, partner): np.unique over rows sorts much slower
    codes = sorted_unique(pairs[:, 0] * n + pairs[:, 1])
    pairs = np.stack([codes // n, codes % n], axis=1)
    in_large: dict[int, list[tuple[int, ...]]] = {}
    for docs in large:
        for d in docs:
            in_large.setdefault(d, []).append(docs)
    # Characters shared per document: the union of its shared members' spans.
    s_doc, s_start, s_end = doc[shared], start[shared], end[shared]
    order = np.lexsort((s_end, s_start, s_doc))
    s_doc, s_start, s_end = s_doc[order], s_start[order], s_end[order]
    docs_out, first = np.unique(s_doc, return_index=True)
    big = int(s_end.max()) + 1 if s_end.size else 1
    reach = np.maximum.accumulate(s_doc * big + s_end) - s_doc * big  # furthest end so far, per document
    before = np.r_[np.int64(0), reach[:-1]]
    before[first] = s_start[first]
    gained = np.maximum(0, s_end - np.maximum(s_start, before))
    shared_chars = np.add.reduceat(gained, first).tolist() if first.size else []
    # Each document's partners: a slice of the sorted (document, partner) rows.
    p_lo, p_hi = (np.searchsorted(pairs[:, 0], docs_out, side=sd).tolist() for sd in ("left", "right"))
    p_all = pairs[:, 1].tolist()
    out = []
    for i, d in enumerate(docs_out.tolist()):
        lo, hi = p_lo[i], p_hi[i]
        if d in in_large:
            every = set(p_all[lo:hi]).union(*in_large[d])
            every.discard(d)
            count = len(every)
            named = heapq.nsmallest(MAX_WITH, every)
        else:
            count, named = hi - lo, p_all[lo : min(hi, lo + MAX_WITH)]
        size = documents[d].chars
        out.append(
            {
                "doc": documents[d].id,
                "shared_chars": shared_chars[i],
                "shared_fraction": _round(shared_chars[i] / size) if size else 0.0,
                "with": [documents[p].id for p in named],
                "with_count": count,
            }
        )
    return out


def _union_length(intervals: list[tuple[int, int]]) -> int:
    """Characters covered by the union of [start, end) intervals."""
    total, cur_s, cur_e = 0, None, None
    for s, e in sorted(intervals):
        if cur_e is None or s > cur_e:
            if cur_e is not None:
                total += cur_e - cur_s
            cur_s, cur_e = s, e
        else:
            cur_e = max(cur_e, e)
    if cur_e is not None:
        total += cur_e - cur_s
    return total


def _dumps_bytes(obj: Any, indent: bool) -> bytes:
    """UTF-8 JSON and a newline, by orjson for speed. Text with lone surrogates (legal in JSON
    input, refused by orjson) goes through the stdlib, and only those surrogates become \\uXXXX
    escapes: the output stays valid UTF-8 and every other character is written as orjson writes it.

    Bytes, because the CLI writes bytes: a 60 MB report (200k documents) decoded to a str, joined
    with its newline and encoded again cost 0.1 s."""
    try:
        return orjson.dumps(obj, option=orjson.OPT_APPEND_NEWLINE | (orjson.OPT_INDENT_2 if indent else 0))
    except TypeError:
        text = json.dumps(
            obj,
            indent=2 if indent else None,
            ensure_ascii=False,
            separators=(",", ": ") if indent else (",", ":"),
        )
        return (_SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text) + "\n").encode("utf-8")


def _dumps(obj: Any, indent: bool) -> str:
    """_dumps_bytes as text, without its newline."""
    return _dumps_bytes(obj, indent)[:-1].decode("utf-8")


def render_json(report: dict[str, Any]) -> str:
    return render_json_bytes(report).decode("utf-8")


def render_json_bytes(report: dict[str, Any]) -> bytes:
    return b"".join(_json_chunks(report))


# Items of a top-level list rendered at a time by _json_chunks (and clusters a JSONL chunk).
_CHUNK_ITEMS = 2048


def _json_chunks(report: dict[str, Any], items: int = _CHUNK_ITEMS) -> Iterator[bytes]:
    """The bytes of _dumps_bytes(report, indent=True), in pieces of at most `items` items of each
    top-level list. Whole, a 200k-document report is one 64 MB buffer, above any heap threshold,
    so each rendering mapped fresh memory (15k page faults, the slow part of memory on the VMs
    measured: see heap); in pieces, the heap's blocks are reused. A piece is rendered as the one
    key of an object, so it comes out indented as in the whole, and is cut out of it. A piece
    holding a lone surrogate goes through the stdlib on its own (the whole did before, so a small
    float elsewhere in such a report, 1e-06, now reads as orjson writes it, 1e-6)."""
    if not report:
        yield _dumps_bytes(report, indent=True)
        return
    yield b"{\n"
    last = len(report) - 1
    for i, (key, value) in enumerate(report.items()):
        tail = b"\n" if i == last else b",\n"
        if not isinstance(value, list) or len(value) <= items:
            yield _dumps_bytes({key: value}, indent=True)[_OPEN:-_CLOSE] + tail
            continue
        # A piece is '{\n  "key": [\n' items '\n  ]\n}\n': the first keeps the key and its
        # bracket, the last its closing bracket, and the pieces between them only their items.
        for at in range(0, len(value), items):
            piece = _dumps_bytes({key: value[at : at + items]}, indent=True)
            start = _OPEN if at == 0 else piece.index(b"[\n") + 2
            if at + items >= len(value):
                yield piece[start:-_CLOSE] + tail
            else:
                yield piece[start:-_LIST_CLOSE] + b",\n"
    yield b"}\n"


_OPEN = len(b"{\n")  # what _json_chunks cuts off a one-key object's dump
_CLOSE = len(b"\n}\n")
_LIST_CLOSE = len(b"\n  ]\n}\n")


def render_jsonl(report: dict[str, Any]) -> str:
    return render_jsonl_bytes(report).decode("utf-8")


def render_jsonl_bytes(report: dict[str, Any]) -> bytes:
    """One cluster object per line (the same objects as in the JSON report's "clusters")."""
    return b"".join(_jsonl_chunks(report))


def _jsonl_chunks(report: dict[str, Any], items: int = _CHUNK_ITEMS) -> Iterator[bytes]:
    clusters = report["clusters"]
    for at in range(0, len(clusters), items):
        yield b"".join(_dumps_bytes(c, indent=False) for c in clusters[at : at + items])


# A spreadsheet treats a cell starting with one of these as a formula (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any, raw: bool = False) -> Any:
    """A text cell made inert for spreadsheets: a leading formula character gets a "'" before it
    (OWASP's advice; Excel, LibreOffice and Sheets then show the text). Numbers pass as they are."""
    if raw or not isinstance(value, str) or not value.startswith(_FORMULA_START):
        return value
    return "'" + value


def render_csv(report: dict[str, Any], raw: bool = False) -> str:
    """One row per cluster member; text cells neutralized against formula injection unless raw."""
    buf = io.StringIO()
    # RFC 4180 line ends: the csv module then quotes any field holding \r or \n.
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(["cluster", "level", "scope", "similarity", "exact", "doc", "start", "end", "text"])
    for c in report["clusters"]:
        for m in c["members"]:
            writer.writerow(
                [
                    c["id"],
                    c["level"],
                    c["scope"],
                    c["similarity"],
                    c["exact"],
                    csv_cell(m["doc"], raw),
                    m["start"],
                    m["end"],
                    csv_cell(m["text"], raw),
                ]
            )
    return scrub_surrogates(buf.getvalue())


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _printable(text: str) -> str:
    """Display form: lone surrogates become U+FFFD, control characters (newlines in ids) visible."""
    return scrub_surrogates(text).translate(_CONTROL)


_CONTROL = {c: f"\\x{c:02x}" for c in range(32) if chr(c) not in "\n\t"} | {10: "\\n", 9: "\\t"}


_SKIPPED_SHOWN = 5  # skipped inputs named in the table; the JSON report lists them all


def render_table(report: dict[str, Any], width: int | None = None, color: bool = False) -> str:
    """A rich table: one row per cluster (level, scope, similarity, locations, snippet), then the summary."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    buf = io.StringIO()
    console = Console(file=buf, width=width or 120, no_color=not color, force_terminal=color, highlight=False)
    summary = report["summary"]
    # The summary first: on a long report it is what a reader needs before the rows.
    by_level = ", ".join(f"{n} {lv}" for lv, n in summary["clusters_by_level"].items())
    console.print(
        f"{_plural(summary['documents'], 'document')}, {_plural(summary['clusters'], 'cluster')} ({by_level}); "
        f"{summary['within_clusters']} within a document, {summary['across_clusters']} across documents; "
        f"{summary['duplicated_chars']} duplicated characters ({summary['duplicated_fraction']:.1%})"
        + (f"; {_plural(summary['skipped'], 'input')} skipped" if summary["skipped"] else ""),
        markup=False,
        style="bold" if color else None,
    )
    skipped = summary.get("skipped_inputs") or []
    for s in skipped[:_SKIPPED_SHOWN]:
        console.print(f"skipped: {_printable(s['source'])}: {_printable(s['reason'])}", markup=False)
    if len(skipped) > _SKIPPED_SHOWN:
        console.print(
            f"skipped: ... and {len(skipped) - _SKIPPED_SHOWN} more (all in the JSON report's "
            "summary.skipped_inputs)",
            markup=False,
        )
    if report["clusters"]:
        console.print(_cluster_table(report["clusters"], console.width, color))
    else:
        console.print("No duplicates found.", markup=False)
    if report.get("reuse"):
        reuse = Table(title="Text shared with other documents", expand=True)
        reuse.add_column("document", no_wrap=True)
        reuse.add_column("shared", justify="right", no_wrap=True)
        reuse.add_column("with", overflow="fold", ratio=1)
        for r in report["reuse"]:
            reuse.add_row(
                Text(_printable(r["doc"])),
                f"{r['shared_fraction']:.1%}",
                Text(
                    ", ".join(_printable(w) for w in r["with"])
                    + (
                        f" and {r['with_count'] - len(r['with'])} more"
                        if r["with_count"] > len(r["with"])
                        else ""
                    )
                ),
            )
        console.print(reuse)
    return buf.getvalue()


_WHERE_SHOWN = 10  # places listed per cluster in the table
# Below this width the cluster table drops its vertical rules and abbreviates the level names.
_COMPACT_BELOW = 100
_SHORT_LEVEL = {"document": "doc", "paragraph": "para", "passage": "pass", "boilerplate": "boiler"}


def _cluster_table(clusters: list[dict[str, Any]], width: int, color: bool):
    """One row per cluster, largest first, laid out for `width` columns: '#', level, scope and sim
    are never cut; the snippet keeps at least about half of the rest (up to 40 characters) and
    'where' gives way first, each location shortened in the middle of its id so the offsets stay."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    compact = width < _COMPACT_BELOW
    ordered = sorted(clusters, key=lambda c: (-len(c["members"]), c["id"]))
    levels = ["boilerplate" if c.get("boilerplate") else c["level"] for c in ordered]
    if compact:
        levels = [_SHORT_LEVEL.get(lv, lv) for lv in levels]
    fixed = [
        max(1, *(len(str(c["id"])) for c in ordered)),
        max(5, *(len(lv) for lv in levels)),
        6,  # within / across
        5,  # 0.000
    ]
    overhead = 5 if compact else 19  # rules and padding around six columns
    flex = max(width - overhead - sum(fixed), 20)
    # A cluster lists its first _WHERE_SHOWN places, then how many more (all are in the JSON): a
    # footer in every one of 10,000 documents was 10,000 lines of terminal.
    places = [
        [(_printable(m["doc"]), f"[{m['start']}:{m['end']}]") for m in c["members"][:_WHERE_SHOWN]]
        for c in ordered
    ]
    more = [len(c["members"]) - len(p) for c, p in zip(ordered, places, strict=True)]
    longest_id = max(len(d) for p in places for d, _ in p)
    longest_span = max(len(s0) for p in places for _, s0 in p)
    longest_more = max(len(f"+{n} more") if n else 0 for n in more)
    where_w = max(min(max(longest_id + longest_span, longest_more), flex - min(40, flex // 2)), 8)
    id_w = max(where_w - longest_span, 3)  # every id shortened alike, so the column stays aligned
    if compact:
        table = Table(
            title="Duplicate clusters, largest first",
            box=box.SIMPLE_HEAD,
            show_edge=False,
            pad_edge=False,
            padding=(0, 0),
        )
    else:
        table = Table(title="Duplicate clusters, largest first", show_lines=False)
    table.add_column("#", justify="right", no_wrap=True, width=fixed[0])
    table.add_column("level", no_wrap=True, width=fixed[1])
    table.add_column("scope", no_wrap=True, width=fixed[2])
    table.add_column("sim", justify="right", no_wrap=True, width=fixed[3])
    table.add_column("where", no_wrap=True, overflow="ellipsis", width=where_w)
    table.add_column("snippet", no_wrap=True, overflow="ellipsis", width=flex - where_w)
    for c, level, place, n_more in zip(ordered, levels, places, more, strict=True):
        # Text(), not markup strings: document text and ids may contain "[...]".
        where = "\n".join(_shorten(d, id_w) + span for d, span in place)
        if n_more:
            where += f"\n+{n_more} more"
        snippet = " ".join(_printable(c["members"][0]["text"]).split())
        scope = Text(c["scope"], style=("magenta" if c["scope"] == "across" else "cyan") if color else "")
        table.add_row(str(c["id"]), level, scope, f"{c['similarity']:.3f}", Text(where), Text(snippet))
    return table


def _shorten(text: str, width: int) -> str:
    """`text` in at most `width` characters, cut in its middle: an id's start and its extension
    are what tell documents apart."""
    if len(text) <= width:
        return text
    head = width // 2
    return text[:head] + "…" + text[len(text) - (width - head - 1) :]


def render_compare(a: Document, b: Document, passages: list, fmt: str, width: int | None = None) -> str:
    """`dedup compare`: the shared passages of two documents, side by side (table) or as JSON."""
    rows = [
        {
            "a": [p.a_start, p.a_end],
            "b": [p.b_start, p.b_end],
            "words": [p.words_a, p.words_b],
            "identity": _round(p.identity),
            "exact": p.exact,
            "a_text": a.text[p.a_start : p.a_end],
            "b_text": b.text[p.b_start : p.b_end],
        }
        for p in passages
    ]
    if fmt == "json":
        doc = {"a": {"id": a.id, "source": a.source}, "b": {"id": b.id, "source": b.source}, "passages": rows}
        return _dumps(doc, indent=True) + "\n"
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    buf = io.StringIO()
    console = Console(file=buf, width=width or 120, no_color=True, highlight=False)
    if not rows:
        console.print("No shared passages.", markup=False)
        return buf.getvalue()
    table = Table(title=f"{len(rows)} shared passage(s)", show_lines=True, expand=True)
    table.add_column("#", justify="right", no_wrap=True)
    table.add_column(Text(_printable(a.id)), ratio=1, overflow="fold")
    table.add_column(Text(_printable(b.id)), ratio=1, overflow="fold")
    table.add_column("identity", justify="right", no_wrap=True)
    for i, r in enumerate(rows):
        table.add_row(
            str(i),
            Text(f"[{r['a'][0]}:{r['a'][1]}] " + _printable(r["a_text"])),
            Text(f"[{r['b'][0]}:{r['b'][1]}] " + _printable(r["b_text"])),
            f"{r['identity']:.3f}",
        )
    console.print(table)
    return buf.getvalue()


def render(
    report: dict[str, Any],
    fmt: str,
    width: int | None = None,
    color: bool = False,
    documents: list[Document] | None = None,
    csv_raw: bool = False,
) -> str:
    if fmt == "html":
        from .html import render_html

        return render_html(report, documents or [])
    if fmt == "json":
        return render_json(report)
    if fmt == "jsonl":
        return render_jsonl(report)
    if fmt == "csv":
        return render_csv(report, raw=csv_raw)
    return render_table(report, width=width, color=color)


def render_bytes(report: dict[str, Any], fmt: str, **options: Any) -> bytes:
    """render(report, fmt, **options) as the UTF-8 bytes written out; JSON and JSONL never exist
    as a str."""
    return b"".join(render_chunks(report, fmt, **options))


def render_chunks(report: dict[str, Any], fmt: str, **options: Any) -> Iterator[bytes]:
    """render_bytes in pieces, as the CLI writes them: JSON and JSONL are never whole in memory."""
    if fmt == "json":
        return _json_chunks(report)
    if fmt == "jsonl":
        return _jsonl_chunks(report)
    return iter([render(report, fmt, **options).encode("utf-8")])
