"""Hostile and broken input, and the safety of what dedup writes (issue 7)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from dedup.model import Document

BODY = "The quick brown fox jumps over the lazy dog near the river bank today again"


def test_csv_cells_cannot_become_formulas(cli, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    evil = '=HYPERLINK("http://x","y") ' + BODY
    for name in ("=cmd.txt", "@a.txt", "+b.txt", "-c.txt"):
        (src / name).write_text(evil)
    code, out, _ = cli("scan", str(src), "-f", "csv", "--level", "document")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out, newline="")))
    assert len(rows) == 4
    for row in rows:
        assert row["doc"][0] == "'" and row["text"].startswith("'=HYPERLINK")
    code, out, _ = cli("scan", str(src), "-f", "csv", "--level", "document", "--csv-raw")
    assert {r["doc"] for r in csv.DictReader(io.StringIO(out, newline=""))} == {
        "=cmd.txt",
        "@a.txt",
        "+b.txt",
        "-c.txt",
    }


TRICKY_TEXTS = {
    "crlf": "Title line here\r\n\r\n" + BODY + "\r\nSecond paragraph words stay here today.\r\n",
    "bom": "\ufeff" + BODY + "\n\nAnother paragraph of words right here.",
    "combining": "Cafe\u0301 na\u0131\u0308ve re\u0301sume\u0301 " + BODY,
    "zero_width": "zero\u200bwidth\u200cjoin\u200d " + BODY + "\u2060",
    "emoji": "😀👍🏽 family 👨‍👩‍👧 " + BODY + " 🇫🇷",
    "rtl": "\u05e9\u05dc\u05d5\u05dd \u0645\u0631\u062d\u0628\u0627 \u202e" + BODY + "\u202c",
}


@pytest.mark.parametrize("name", sorted(TRICKY_TEXTS))
def test_offsets_stay_exact_on_tricky_text(cli, tmp_path, name):
    text = TRICKY_TEXTS[name]
    src = tmp_path / "in"
    src.mkdir()
    for k in range(2):  # two copies: every paragraph and the document form clusters
        (src / f"{k}.txt").write_bytes(text.encode("utf-8"))
    read = {d: (src / d).read_bytes().decode("utf-8").removeprefix("\ufeff") for d in ("0.txt", "1.txt")}
    found = []
    for level in ("document", "paragraph"):  # apart: paragraphs of near-duplicate documents are not repeated
        code, out, _ = cli("scan", str(src), "-f", "json", "--min-words", "3", "--level", level)
        assert code == 0
        found += json.loads(out)["clusters"]
    for c in found:
        for m in c["members"]:
            assert m["text"] == read[m["doc"]][m["start"] : m["end"]]
            assert m["text"] == m["text"].strip()
    assert [c["members"][0]["text"] for c in found if c["level"] == "document"] == [read["0.txt"].strip()]
    paragraphs = [c for c in found if c["level"] == "paragraph"]
    lines = [x.strip() for x in read["0.txt"].splitlines() if len(x.split()) >= 3]
    assert sorted(c["members"][0]["text"] for c in paragraphs) == sorted(lines)


def test_lone_surrogates_in_json_keep_offsets(cli, tmp_path):
    line = json.dumps({"text": "a\ud800b " + BODY}) + "\n"
    (tmp_path / "s.jsonl").write_text(line * 2)
    code, out, _ = cli("scan", str(tmp_path / "s.jsonl"), "-f", "json", "--level", "document")
    assert code == 0
    member = json.loads(out)["clusters"][0]["members"][0]
    assert member["start"] == 0 and member["text"] == "a\ud800b " + BODY


@pytest.mark.slow
def test_hostile_corpus_runs_no_script_and_makes_no_request(browser, tmp_path):
    from test_html import _report_html

    payloads = [
        "<script>window.__pwned = 1</script>",
        '"><img src=x onerror="window.__pwned=2">',
        "</style><style>body{background:url(http://127.0.0.1:9/x)}</style>",
        '<a href="javascript:window.__pwned=3">click</a>',
        "</script><script>window.__pwned=4</script><!--",
    ]
    text = " ".join(payloads) + " " + BODY
    docs = [Document(id=p[:20] + str(i), text=text + f" copy {i}", source=p) for i, p in enumerate(payloads)]
    from dedup.config import ScanConfig

    page_html = _report_html(docs, ScanConfig(levels=("document", "paragraph", "passage"), min_words=3))
    out = Path(tmp_path) / "evil.html"
    out.write_text(page_html, encoding="utf-8")
    page = browser.new_page()
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(out.as_uri())
    page.wait_for_selector("body[data-ready='1']")
    page.click("nav button[data-view=clusters]")
    page.click("a.member")
    page.click("mark.focused")
    page.query_selector_all("#pop a.member")[0].click()
    page.click("mark.focused")  # and from that copy's own popover
    page.query_selector_all("#pop a.member")[-1].click()
    assert page.evaluate("window.__pwned") is None
    assert page.query_selector("img") is None and page.query_selector("a[href^='javascript']") is None
    assert "<script>window.__pwned = 1</script>" in page.inner_text("main")  # shown as text
    page.close()
    assert requests == [out.as_uri()]


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from dedup.io import read_documents  # noqa: E402
from dedup.model import InputError  # noqa: E402
from dedup.text import normalize, tokens  # noqa: E402

_PIECES = st.sampled_from(
    [
        b"{",
        b"}",
        b'"text"',
        b":",
        b'"a b c"',
        b"\n",
        b"\r\n",
        b"[",
        b"]",
        b",",
        b"\\ud800",
        b'"',
        b"\xff",
        b"\x00",
        b"\xef\xbb\xbf",
        b"\x1f\x8b",
        b"word ",
        b" ",
        b"5",
        b"null",
        b'"id"',
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_PIECES, st.binary(max_size=8)), max_size=40).map(b"".join), st.booleans())
def test_readers_return_documents_or_one_located_error(data, skip_bad):
    try:
        result = read_documents(["-"], stdin=io.BytesIO(data), skip_bad=skip_bad, max_doc_bytes=256)
    except InputError as err:
        assert str(err).startswith("-") and "\n" not in str(err)
        return
    for doc in result.documents:
        assert isinstance(doc.text, str) and doc.source.startswith("-")
    for s in result.skipped:
        assert s.source.startswith("-") and "\n" not in s.reason


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_normalization_is_idempotent(text):
    once = normalize(text)
    assert normalize(once) == once
    assert tokens(" ".join(tokens(text))) == tokens(text)


@pytest.mark.parametrize("surrogate", [False, True])
def test_report_bytes_are_the_rendered_text_encoded(surrogate):
    """The CLI writes render_bytes (JSON and JSONL straight from orjson, never a str); every format
    gives exactly the UTF-8 of render's text, with a lone surrogate (the stdlib's path) or not."""
    from dedup.config import ScanConfig
    from dedup.report import FORMATS, build_report, render, render_bytes
    from dedup.scan import scan_documents

    odd = "a\ud800b " if surrogate else "a\u00e9b "
    docs = [Document(id=f"d{i}", text=odd + BODY + f"\n\n{BODY} tail {i}", source="x") for i in range(3)]
    config = ScanConfig(levels=("document", "paragraph"), min_words=3)
    report = build_report(docs, [], scan_documents(docs, config), config, "test")
    assert report["clusters"]
    for fmt in FORMATS:
        data = render_bytes(report, fmt, documents=docs)
        assert data == render(report, fmt, documents=docs).encode("utf-8"), fmt
        if fmt == "json":
            assert data.endswith(b"}\n") and json.loads(data) == json.loads(json.dumps(report))
        if fmt == "jsonl":
            lines = data.decode("utf-8").splitlines()
            assert len(lines) == len(report["clusters"]) and json.loads(lines[0])["members"]


_json_text = st.text() | st.sampled_from(["\ud800", "a\udfffb", "\u00e9\n"])  # lone surrogates too
_json_leaf = (
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from([1e-06, 2.5e-05, 1e16])  # written differently by orjson and the stdlib
    | _json_text
)
_json_value = st.recursive(
    _json_leaf, lambda inner: st.lists(inner, max_size=6) | st.dictionaries(_json_text, inner, max_size=4)
)


def _has_surrogate(value) -> bool:
    if isinstance(value, str):
        return any("\ud800" <= ch <= "\udfff" for ch in value)
    if isinstance(value, dict):
        return any(_has_surrogate(k) or _has_surrogate(v) for k, v in value.items())
    return isinstance(value, list) and any(_has_surrogate(v) for v in value)


@settings(max_examples=300, deadline=None)
@given(report=st.dictionaries(st.text(max_size=8), _json_value, max_size=6), items=st.integers(1, 4))
def test_json_in_pieces_is_the_whole_dump(report, items):
    """The CLI writes the JSON report in pieces of a few list items each. Joined, they are the
    one dump of the whole, byte for byte; with a lone surrogate somewhere, only the pieces holding
    one go through the stdlib (as the whole did), so a number elsewhere may read as orjson writes
    it, and the JSON is the same value."""
    from dedup.report import _dumps_bytes, _json_chunks, _jsonl_chunks

    joined = b"".join(_json_chunks(report, items))
    if not _has_surrogate(report):
        assert joined == _dumps_bytes(report, indent=True)
    assert json.loads(joined.decode("utf-8")) == report
    clusters = {"clusters": list(report.values())}
    whole = b"".join(_dumps_bytes(c, indent=False) for c in clusters["clusters"])
    assert b"".join(_jsonl_chunks(clusters, items)) == whole


@pytest.mark.parametrize("items", [1, 2, 5])
def test_seed_report_in_pieces_is_the_whole_dump(seeds_dir, items):
    from dedup.config import ScanConfig
    from dedup.io import read_documents
    from dedup.report import _dumps_bytes, _json_chunks, build_report
    from dedup.scan import scan_documents

    docs = read_documents([str(seeds_dir)]).documents
    config = ScanConfig()
    report = build_report(docs, [], scan_documents(docs, config), config, "seeds")
    assert len(report["clusters"]) > 2 * items  # the clusters are cut into pieces
    assert b"".join(_json_chunks(report, items)) == _dumps_bytes(report, indent=True)
