"""The process pool must not change the result: same clusters, in the same order, as one process."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dedup.config import ScanConfig
from dedup.engine import signed_batches
from dedup.scan import scan_documents
from dedup.synth import make_corpus


@pytest.mark.slow
@pytest.mark.parametrize("method", ["classic", "oph"])
def test_two_workers_give_the_serial_result(method):
    docs = make_corpus(1200, dup_fraction=0.1, seed=11).documents()
    config = ScanConfig(batch_size=40, method=method)  # 30 batches: the pool really runs
    assert sum(1 for _ in signed_batches(docs, config, 2)) == 30
    serial = scan_documents(docs, config, workers=1)
    pooled = scan_documents(docs, config, workers=2)
    assert len(serial.clusters) == len(pooled.clusters) > 50
    for a, b in zip(serial.clusters, pooled.clusters, strict=True):
        assert a.level == b.level and a.similarity == b.similarity and a.exact == b.exact
        for name in ("doc", "start", "end", "edges", "edge_similarity"):
            assert np.array_equal(getattr(a, name), getattr(b, name))


def test_the_level_with_most_units_gets_the_threads(monkeypatch):
    """Side by side, the level with the most units (the critical path) gets every thread."""
    import dedup.scan as scan

    docs = make_corpus(200, dup_fraction=0.2, seed=4).documents()
    seen: dict[tuple[str, str], int] = {}
    candidates, cluster, verify = scan._candidates, scan._cluster_level, scan._verify_levels

    def record_candidates(level, units, config, stats, threads=1):
        seen["candidates", level] = threads
        return candidates(level, units, config, stats, threads=threads)

    def record_cluster(level, documents, units, config, stats, cand, sims, threads=1):
        seen["cluster", level] = threads
        return cluster(level, documents, units, config, stats, cand, sims, threads=threads)

    def record_verify(documents, found, config, threads=1):
        seen["verify", ",".join(found)] = threads  # every level's pairs at once, on every thread
        return verify(documents, found, config, threads)

    monkeypatch.setattr(scan, "_candidates", record_candidates)
    monkeypatch.setattr(scan, "_cluster_level", record_cluster)
    monkeypatch.setattr(scan, "_verify_levels", record_verify)
    scan_documents(docs, ScanConfig(levels=("document", "paragraph")), workers=2)
    assert seen == {
        ("candidates", "document"): 1,
        ("candidates", "paragraph"): 2,
        ("verify", "document,paragraph"): 2,
        ("cluster", "document"): 1,
        ("cluster", "paragraph"): 2,
    }
    seen.clear()
    scan_documents(docs, ScanConfig(levels=("document",)), workers=2)
    assert seen == {("candidates", "document"): 2, ("verify", "document"): 2, ("cluster", "document"): 2}


def test_the_workers_are_gone_once_every_batch_is_back():
    """Clustering comes after the last batch: by then the workers have exited and their memory is
    free for it (on a VM that reports freed pages to its host, memory freed long before is cold)."""
    from dedup.engine import Signer

    docs = make_corpus(400, dup_fraction=0.1, seed=3).documents()
    with Signer(ScanConfig(batch_size=20), 2) as signer:
        signer.extend([d.text for d in docs])
        batches = signer.finish()
        first = next(batches)
        pool = signer._pool
        assert signer.started_pool and pool is not None
        processes = list(pool._processes.values())
        assert all(p.is_alive() for p in processes)
        rest = list(batches)
        assert signer._pool is None
        assert processes and not any(p.is_alive() for p in processes)
    assert sum(n for n, _ in [first, *rest]) == 400


@pytest.mark.slow
@pytest.mark.parametrize("in_workers", [False, True], ids=["parsed here", "parsed by workers"])
def test_signing_while_reading_accounts_for_dropped_documents(cli, tmp_path, request, monkeypatch, in_workers):
    """The CLI signs documents as they are parsed, on the pool once there are enough batches (or
    the workers parse a JSONL file's line ranges and sign them there). A document the reader drops
    after offering it (a duplicate id, a file rejected whole for a NUL byte) must not shift the
    others: the clusters equal those of a scan of the kept documents."""
    import orjson

    if in_workers:
        request.getfixturevalue("tiny_ranges")

    corpus = make_corpus(900, dup_fraction=0.1, seed=5)
    rows = [orjson.dumps({"id": i, "text": t}) for i, t in zip(corpus.ids, corpus.texts, strict=True)]
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.jsonl").write_bytes(b"\n".join(rows[:300]) + b"\n")
    # Rejected as a whole under --skip-bad, after all its records were parsed (and offered).
    (folder / "b.jsonl").write_bytes(b"\n".join(rows[300:500]) + b"\n\0\n")
    # Repeats ids of a.jsonl among new documents: those records are dropped one by one.
    dup_ids = [orjson.dumps({"id": corpus.ids[k], "text": corpus.texts[k + 1]}) for k in range(0, 300, 7)]
    (folder / "c.jsonl").write_bytes(b"\n".join(rows[500:700] + dup_ids + rows[700:]) + b"\n")
    kept = tmp_path / "kept.jsonl"
    kept.write_bytes(b"\n".join(rows[:300] + rows[500:]) + b"\n")
    common = ("--id-field", "id", "-f", "json", "--batch-size", "30", "--level", "document,paragraph")
    code, out, err = cli("scan", str(folder), "--skip-bad", "--workers", "2", *common)
    assert code == 0, err
    streamed = json.loads(out)
    assert len(streamed["summary"]["skipped_inputs"]) == 1 + len(dup_ids)
    # The reference is read by the serial reader: one worker, too, parses a large file's ranges.
    import dedup.engine as engine

    monkeypatch.setattr(engine, "_PARALLEL_JSONL_BYTES", 1 << 62)
    code, out, err = cli("scan", str(kept), "--workers", "1", *common)
    assert code == 0, err
    direct = json.loads(out)
    assert len(direct["clusters"]) > 20
    assert streamed["clusters"] == direct["clusters"]


@pytest.fixture
def tiny_ranges(monkeypatch):
    """Workers parse every JSONL file, in ranges of a few lines, so small test files take the path
    a large file takes."""
    import dedup.engine as engine
    import dedup.io as io

    monkeypatch.setattr(engine, "_PARALLEL_JSONL_BYTES", 1)
    monkeypatch.setattr(engine, "_FIRST_RANGE_BYTES", 40)
    monkeypatch.setattr(engine, "_RANGE_BYTES", 150)
    monkeypatch.setattr(io, "_RANGE_BLOCK", 64)


def _jsonl_cases() -> dict[str, list[bytes]]:
    """Files (as lists of lines) that exercise every way the reader treats a line."""
    good = [b'{"id": %d, "text": "words number %d here"}\n' % (i, i) for i in range(40)]
    return {
        "clean, with a BOM, blank lines and CRLF": [b"\xef\xbb\xbf" + good[0], b"\n", b"  \r\n"]
        + [g.replace(b"\n", b"\r\n") for g in good[1:20]]
        + good[20:],
        "no newline at the end": [*good[:-1], good[-1].rstrip(b"\n")],
        "bad JSON": [*good[:17], b'{"id": 99, "text": \n', *good[17:]],
        "missing text and bad id": [*good[:5], b'{"id": 98}\n', *good[5:30], b'{"id": [1], "text": "x"}\n', *good[30:]],
        "invalid UTF-8": [*good[:25], b'{"id": 97, "text": "caf\xe9"}\n', *good[25:]],
        "a NUL byte": [*good[:33], b'{"id": 96, "text": "a\x00b"}\n', *good[33:]],
        "a line over the cap": [*good[:12], b'{"id": 95, "text": "' + b"x" * 400 + b'"}\n', *good[12:]],
        "duplicate ids": [*good[:30], good[3], good[8], *good[30:]],
        # orjson refuses both (read back by the full parse, not the fast path): an escaped lone
        # surrogate, and a BOM on a line other than the first (bad JSON, so an error or a skip).
        "a lone surrogate, a stray BOM": [
            *good[:7],
            b'{"id": 94, "text": "a\\ud800b c"}\n',
            *good[7:21],
            b"\xef\xbb\xbf" + good[21],
            *good[22:],
        ],
    }


@pytest.mark.parametrize("case", list(_jsonl_cases()))
@pytest.mark.parametrize("skip_bad", [False, True])
@pytest.mark.parametrize("id_field", ["id", None])
@pytest.mark.parametrize("stored", [True, False])
@pytest.mark.parametrize("workers", [2, 1])
def test_workers_parse_jsonl_like_the_serial_reader(tiny_ranges, tmp_path, case, skip_bad, id_field, stored, workers):
    """The same documents (ids, texts, sources), the same skips, or the same first error; with
    the texts left in the file (read back on demand) or sent back by the workers (the passage
    level keeps them). One worker parses the same ranges in this process, and leaves the texts
    in the file the same way."""
    from dedup.engine import Signer
    from dedup.io import read_documents
    from dedup.model import InputError
    from dedup.report import DocumentTotals, document_totals

    lines = _jsonl_cases()[case]
    path = tmp_path / "in.jsonl"
    path.write_bytes(b"".join(lines))
    other = tmp_path / "other.jsonl"  # a second file, so ids derived from names may clash
    other.write_bytes(b"".join(lines[:10]))
    options = dict(id_field=id_field, skip_bad=skip_bad, max_doc_bytes=300)

    levels = ("document", "paragraph") if stored else ("document", "passage")

    def read(parallel: bool) -> object:
        with Signer(ScanConfig(batch_size=4, levels=levels), workers) as signer:
            pools.append(signer)
            try:
                got = read_documents(
                    [str(path), str(other)],
                    **options,
                    on_text=signer.offer,
                    jsonl_chunks=signer.jsonl_chunks if parallel else None,
                    describe=document_totals,
                )
            except InputError as err:
                return str(err)
            # The report's per-document part, made chunk by chunk, is that of the documents kept;
            # it is given up (None) only when some document was kept one by one (a clash of ids).
            if got.described is not None:
                assert DocumentTotals.joined(got.described) == document_totals(got.documents)
            described.append(got.described is not None)
            # The offered texts are the kept ones, in order, plus only those dropped afterwards.
            assert [t for t in signer.texts if any(t is d.origin for d in got.documents)] == [
                d.origin for d in got.documents
            ]
            left = [isinstance(d.origin, tuple) for d in got.documents]
            assert all(left) == (parallel and stored) and any(left) == all(left)
            totals = [(d.chars, d.blank) for d in got.documents]  # known before a text is read
            assert totals == [(len(d.text), not d.text.strip()) for d in got.documents]
            return [(d.id, d.text, d.source) for d in got.documents], got.skipped

    pools: list[Signer] = []
    described: list[bool] = []
    serial, parallel = read(False), read(True)
    assert parallel == serial
    if case.startswith("clean"):  # 40 documents, and 8 more in the second file
        assert pools[1].started_pool == (workers > 1)
        if id_field is None:
            assert len(serial[0]) == 48
            assert described == [True, True]  # no id can clash: every chunk described as it came
        elif skip_bad:  # the second file repeats the first's ids
            assert len(serial[0]) == 40 and len(serial[1]) == 8
        else:
            assert "duplicate document id" in serial


def test_jsonl_ranges_cut_whole_lines_and_number_them(tmp_path):
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from dedup.io import jsonl_ranges

    path = tmp_path / "lines.jsonl"

    @settings(max_examples=200)
    @given(
        st.lists(st.binary(max_size=30).map(lambda b: b.replace(b"\n", b"")), max_size=40),
        st.booleans(),
        st.integers(1, 100),
        st.integers(1, 100),
    )
    def check(lines, final_newline, first, size):
        data = b"\n".join(lines) + (b"\n" if final_newline and lines else b"")
        path.write_bytes(data)
        ranges = list(jsonl_ranges(str(path), first, size))
        assert [a for a, _, _ in ranges[1:]] == [b for _, b, _ in ranges[:-1]]  # contiguous
        assert (ranges[0][0], ranges[-1][1]) == (0, len(data)) if data else ranges == []
        for start, _, lineno in ranges:
            assert start == 0 or data[start - 1 : start] == b"\n"  # a range starts a line
            assert lineno == data.count(b"\n", 0, start) + 1

    import dedup.io as io

    old, io._RANGE_BLOCK = io._RANGE_BLOCK, 16
    try:
        check()
    finally:
        io._RANGE_BLOCK = old


@pytest.mark.parametrize("mappable", [True, False])
def test_results_spooled_back_are_the_results_and_leave_no_file(tmp_path, monkeypatch, mappable):
    """A worker's result comes back through a file (arrays out of band, aligned; mapped, or read
    where the file cannot be mapped), or down the pipe when the file cannot be written; either way
    it is the same result, and no file is left."""
    import mmap

    from dedup.engine import _spool, _unspool
    from dedup.scan import sign_batch

    if not mappable:

        def refuse(*args, **kwargs):
            raise OSError(19, "No such device")

        monkeypatch.setattr(mmap, "mmap", refuse)
    texts = make_corpus(30, dup_fraction=0.2, seed=3).texts
    result = ([t[:20] for t in texts], {"batch": sign_batch(texts, 0, ScanConfig())})
    for folder in (tmp_path, tmp_path / "missing"):
        message = _spool(result, str(folder))
        assert (message[0] is None) == (folder.name == "missing")
        back = _unspool(message)
        assert back[0] == result[0]
        for level, units in result[1]["batch"].items():
            for name in ("doc", "line", "rel_a", "rel_b", "exact", "keys"):
                got = getattr(back[1]["batch"][level], name)
                assert np.array_equal(got, getattr(units, name)) and got.flags.aligned and got.flags.writeable
    assert list(tmp_path.iterdir()) == []


def test_paragraph_offsets_on_threads_are_the_paragraphs(monkeypatch):
    """unit_offsets splits the documents between threads; every (document, line) still gets its
    own paragraph's offsets, including documents at the chunk borders."""
    import dedup.scan as scan
    from dedup.segment import paragraphs_batch

    docs = make_corpus(300, dup_fraction=0.0, seed=4).documents()
    monkeypatch.setattr(scan, "_THREADED_SPANS", 10)
    p_doc, p_line, p_start, p_end = paragraphs_batch([d.text for d in docs])
    pick = np.arange(0, p_doc.size, 3)  # some paragraphs of every document
    for threads in (1, 2, 3):
        start, end = scan.unit_offsets("paragraph", docs, p_doc[pick], p_line[pick], threads)
        assert np.array_equal(start, p_start[pick]) and np.array_equal(end, p_end[pick])


def test_document_offsets_are_the_text_without_its_surrounding_whitespace(monkeypatch):
    """A document unit's span comes from its paragraphs: for any text, in any order, repeated, on
    threads, it is what stripping the text's whitespace (str.strip) leaves, (0, 0) for a blank one."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    import dedup.scan as scan
    from dedup.model import Document
    from dedup.segment import document_span

    monkeypatch.setattr(scan, "_THREADED_SPANS", 2)
    piece = st.sampled_from(["word", "é", " ", "\t", "\n", "\r\n", "\r", "\u2028", "\x85", "\u3000", "\x0c", "."])
    text = st.lists(piece, max_size=12).map("".join)

    @settings(max_examples=200, deadline=None)
    @given(st.lists(text, min_size=1, max_size=8), st.data(), st.integers(1, 3))
    def check(texts, data, threads):
        docs = [Document(str(i), t, "t") for i, t in enumerate(texts)]
        doc = np.array(data.draw(st.lists(st.integers(0, len(texts) - 1), min_size=1, max_size=10)), dtype=np.int64)
        start, end = scan.unit_offsets("document", docs, doc, np.full(doc.size, -1, dtype=np.int64), threads)
        assert [(int(a), int(b)) for a, b in zip(start, end, strict=True)] == [document_span(texts[d]) for d in doc]
        for d, a, b in zip(doc.tolist(), start.tolist(), end.tolist(), strict=True):
            assert texts[d][a:b] == texts[d].strip()

    check()


def test_a_task_ships_only_its_own_batches_texts(tiny_ranges, tmp_path, monkeypatch):
    """Texts offered before and after a JSONL file the workers parse go to the pool in tasks whose
    batches are not contiguous: each task carries its batches' texts, not every text in between
    (it once shipped a whole file's texts to sign a few), and the signatures are the serial ones."""
    from concurrent.futures import ProcessPoolExecutor

    import dedup.engine as engine
    from dedup.io import read_documents

    corpus = make_corpus(160, dup_fraction=0.1, seed=3)
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(40):
        (folder / f"a{i:02}.txt").write_text(corpus.texts[i])
    (folder / "m.jsonl").write_text("".join(json.dumps({"text": t}) + "\n" for t in corpus.texts[40:140]))
    for i in range(140, 160):
        (folder / f"z{i}.txt").write_text(corpus.texts[i])
    shipped = []
    submit = ProcessPoolExecutor.submit

    def spy(self, fn, *args, **kwargs):
        if fn is engine._sign_task and args[0][1] is not None:
            ranges, texts, _ = args[0]
            shipped.append((sum(b - a for a, b in ranges), sum(map(len, texts))))
        return submit(self, fn, *args, **kwargs)

    monkeypatch.setattr(ProcessPoolExecutor, "submit", spy)
    config = ScanConfig(batch_size=4)
    with engine.Signer(config, 2) as signer:
        read = read_documents([str(folder)], on_text=signer.offer, jsonl_chunks=signer.jsonl_chunks)
        pooled = list(engine.remap(signer.finish(), signer.texts, read.documents))
    assert len(read.documents) == 160 and shipped
    assert all(n_range == n_texts for n_range, n_texts in shipped), shipped
    serial = list(signed_batches(read.documents, config, 1))
    for level in ("document", "paragraph"):
        for name, axis in (("doc", 0), ("keys", 1), ("exact", 0)):
            got = np.concatenate([getattr(b[level], name) for _, b in pooled], axis=axis)
            want = np.concatenate([getattr(b[level], name) for _, b in serial], axis=axis)
            assert np.array_equal(got, want), (level, name)


@pytest.mark.parametrize("fmt", ["json", "html"])
def test_the_report_on_two_workers_is_the_report_on_one(cli, tmp_path, tiny_ranges, monkeypatch, fmt):
    """With several workers the report's per-document part (ids, sources, characters, empty texts)
    is made on a thread beside the clustering, and the workers parse the file and leave its texts
    in it (read back for the clusters' snippets, the HTML's texts); one worker parses the same
    ranges here and leaves the texts too. Both reports must be byte-identical to that of the
    serial reader, which holds every text."""
    import orjson

    import dedup.engine as engine

    corpus = make_corpus(400, dup_fraction=0.1, seed=8)
    texts = [*corpus.texts[:200], "", " \n\t ", "\u3000", *corpus.texts[200:]]
    src = tmp_path / "in.jsonl"
    src.write_bytes(b"".join(orjson.dumps({"id": f"d{i}", "text": t}) + b"\n" for i, t in enumerate(texts)))
    common = ("--id-field", "id", "-f", fmt, "--batch-size", "20", "--level", "document,paragraph")
    with monkeypatch.context() as m:
        m.setattr(engine, "_PARALLEL_JSONL_BYTES", 1 << 62)  # the serial reader
        code, held, err = cli("scan", str(src), "--workers", "1", *common)
        assert code == 0, err
    code, one, err = cli("scan", str(src), "--workers", "1", *common)
    assert code == 0, err
    code, two, err = cli("scan", str(src), "--workers", "2", *common)
    assert code == 0, err
    assert one == held and two == held
    if fmt == "html":
        assert corpus.texts[0][:40] in one
        return
    report = json.loads(one)
    assert report["summary"]["empty_documents"] == 3 and len(report["documents"]) == len(texts)
    assert report["summary"]["total_chars"] == sum(len(t) for t in texts) and report["clusters"]


@pytest.mark.parametrize("change", ["rewritten", "truncated", "removed"])
def test_a_file_changed_during_the_scan_is_an_error_naming_the_line(tiny_ranges, tmp_path, change):
    """Texts left in the file are read back later: if the file changed meanwhile, reading one back
    fails with the place of its line, instead of a report mixing two versions of the file."""
    from dedup.engine import Signer
    from dedup.io import read_documents
    from dedup.model import DedupError

    path = tmp_path / "in.jsonl"
    path.write_bytes(b"".join(b'{"id": %d, "text": "words number %d here"}\n' % (i, i) for i in range(40)))
    with Signer(ScanConfig(batch_size=4, levels=("document",)), 2) as signer:
        docs = read_documents([str(path)], id_field="id", on_text=signer.offer, jsonl_chunks=signer.jsonl_chunks).documents
        list(signer.finish())
    assert all(isinstance(d.origin, tuple) for d in docs)
    if change != "removed":  # (once a text was read back, the open file outlives its removal)
        assert docs[3].text == "words number 3 here"
    if change == "rewritten":  # the same length, other bytes
        path.write_bytes(path.read_bytes().replace(b"number 7 ", b"NUMBER 7 "))
    elif change == "truncated":
        path.write_bytes(path.read_bytes()[:200])
    else:
        path.unlink()
    with pytest.raises(DedupError) as err:
        _ = docs[7].text
    assert str(err.value).startswith(f"{path}:8: ")
    if change != "removed":
        assert docs[3].text == "words number 3 here"  # read before the change: kept
    assert docs[7].chars == len("words number 7 here")


def test_a_stored_document_reads_its_text_once_and_only_when_asked():
    """Length, blankness, a new id and the repr come without reading a stored text; the text is
    read once, then kept; two documents are equal by id, source and text, however held."""
    from dedup.model import Document

    class Store:
        def __init__(self) -> None:
            self.reads = 0

        def read(self, at: int) -> str:
            self.reads += 1
            return ["alpha beta", "  \n"][at]

        def chars(self, at: int) -> int:
            return [10, 3][at]

        def blank(self, at: int) -> bool:
            return [False, True][at]

    store = Store()
    doc, empty = Document("a", (store, 0), "f:1"), Document("b", (store, 1), "f:2")
    renamed = doc.renamed("f:1")
    assert (doc.chars, doc.blank, empty.chars, empty.blank) == (10, False, 3, True)
    assert "stored" in repr(doc) and renamed.id == "f:1" and renamed.origin is doc.origin
    assert store.reads == 0
    assert doc.text == "alpha beta" and doc.text == "alpha beta" and store.reads == 1
    assert doc == Document("a", "alpha beta", "f:1") and doc != Document("a", "alpha", "f:1")
    assert (doc.chars, doc.blank) == (len(doc.text), False)
    assert Document("c", "", "s").blank and Document("c", "\u3000\n", "s").blank


def test_joined_batches_are_the_batch_of_all_their_texts(monkeypatch):
    """UnitBatch.joined of consecutive batches is what signing their texts as one batch gives,
    field by field; and a scan over many small batches (joined as they come) finds the same
    clusters as over one batch."""
    import dedup.scan as scan
    from dedup.scan import UnitBatch, sign_batch

    corpus = make_corpus(120, dup_fraction=0.3, seed=7)
    texts, docs = corpus.texts, corpus.documents()
    config = ScanConfig(levels=("document", "paragraph"), batch_size=8)
    whole = sign_batch(texts, 0, config)
    parts = [sign_batch(texts[a : a + 8], a, config) for a in range(0, len(texts), 8)]
    for level, units in whole.items():
        joined = UnitBatch.joined([p[level] for p in parts])
        for name in ("doc", "line", "rel_a", "rel_b", "exact", "keys"):
            assert np.array_equal(getattr(joined, name), getattr(units, name)), (level, name)
    one = scan_documents(docs, config, signed=iter([(len(texts), whole)]))
    monkeypatch.setattr(scan, "_PART_DOCS", 30)  # joined by fours, three batches left at the end
    small = scan_documents(docs, config, signed=iter([(8, p) for p in parts]))
    assert len(one.clusters) > 10
    assert [(c.level, c.doc.tolist(), c.start.tolist(), c.edges.tolist()) for c in small.clusters] == [
        (c.level, c.doc.tolist(), c.start.tolist(), c.edges.tolist()) for c in one.clusters
    ]
