"""Tests for dedup.io: real files in tmp_path, real bytes, real errors."""

from __future__ import annotations

import gzip
import io
import json
import os
import re
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dedup.io import ReadResult, read_documents
from dedup.model import Document, InputError, Skipped

SEEDS = Path(__file__).resolve().parent.parent / "seeds"


def write(path: Path, data: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def ids(result: ReadResult) -> list[str]:
    return [d.id for d in result.documents]


# --- folders ---------------------------------------------------------------------------------------


def test_folder_recursion_order_ids_sources_and_hidden(tmp_path: Path) -> None:
    root = tmp_path / "corpus"
    write(root / "b.txt", "B")
    write(root / "a.md", "A")
    write(root / "sub" / "c.txt", "C")
    write(root / "sub" / "deeper" / "d.txt", "D")
    write(root / "ignored.csv", "not picked in a folder")
    write(root / ".hidden.txt", "hidden")
    write(root / ".git" / "e.txt", "hidden dir")
    write(root / "sub" / ".cache" / "f.txt", "hidden nested dir")
    write(tmp_path / "outside.txt", "linked")
    os.symlink(tmp_path / "outside.txt", root / "link.txt")

    result = read_documents([str(root)])

    assert ids(result) == ["a.md", "b.txt", "link.txt", "sub/c.txt", "sub/deeper/d.txt"]
    assert [d.text for d in result.documents] == ["A", "B", "linked", "C", "D"]
    assert result.documents[3].source == os.path.join(str(root), "sub", "c.txt")
    assert result.skipped == []


def test_folder_source_keeps_argument_form(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "seeds" / "001.txt", "x")
    monkeypatch.chdir(tmp_path)
    for arg in ("seeds", "seeds/"):
        doc = read_documents([arg]).documents[0]
        assert (doc.id, doc.source) == ("001.txt", "seeds/001.txt")


def test_folder_order_is_sorted_by_relative_path(tmp_path: Path) -> None:
    for name in ("z.txt", "a/z.txt", "a.txt", "A.txt", "a/b/c.txt", "ab.txt"):
        write(tmp_path / name, name)
    assert ids(read_documents([str(tmp_path)])) == sorted(
        ["z.txt", "a/z.txt", "a.txt", "A.txt", "a/b/c.txt", "ab.txt"]
    )


def test_symlink_loop_terminates_and_symlinked_dirs_are_not_followed(tmp_path: Path) -> None:
    write(tmp_path / "d" / "a.txt", "A")
    os.symlink(tmp_path / "d", tmp_path / "d" / "loop")
    os.symlink(tmp_path / "d", tmp_path / "d" / "loop.txt")  # a dir link with a picked extension
    result = read_documents([str(tmp_path / "d")])
    assert ids(result) == ["a.txt"]
    assert result.skipped == []


def test_explicit_symlink_to_folder_is_walked(tmp_path: Path) -> None:
    write(tmp_path / "real" / "a.txt", "A")
    os.symlink(tmp_path / "real", tmp_path / "alias")
    assert ids(read_documents([str(tmp_path / "alias")])) == ["a.txt"]


def test_seeds_folder() -> None:
    result = read_documents([str(SEEDS)])
    assert len(result.documents) == 5
    assert ids(result) == sorted(p.name for p in SEEDS.glob("*.txt"))
    assert ids(result)[0] == "000_bdc3c0136ee189f6.txt"
    assert all(d.text.strip() for d in result.documents)
    assert result.documents[0].text == (SEEDS / "000_bdc3c0136ee189f6.txt").read_text(encoding="utf-8")


# --- plain text ------------------------------------------------------------------------------------


def test_text_bom_removed_and_crlf_kept(tmp_path: Path) -> None:
    path = write(tmp_path / "win.txt", b"\xef\xbb\xbfline one\r\nline two\r\n")
    [doc] = read_documents([str(path)]).documents
    assert doc == Document(id="win.txt", text="line one\r\nline two\r\n", source=str(path))


def test_explicit_unknown_extension_is_plain_text(tmp_path: Path) -> None:
    path = write(tmp_path / "notes.log", "some log text\n")
    [doc] = read_documents([str(path)]).documents
    assert (doc.id, doc.text, doc.source) == ("notes.log", "some log text\n", str(path))


def test_empty_file_is_kept(tmp_path: Path) -> None:
    write(tmp_path / "empty.txt", b"")
    write(tmp_path / "bom_only.md", b"\xef\xbb\xbf")
    result = read_documents([str(tmp_path)])
    assert [(d.id, d.text) for d in result.documents] == [("bom_only.md", ""), ("empty.txt", "")]


def test_gzip_in_folder_and_explicit(tmp_path: Path) -> None:
    write(tmp_path / "in" / "a.txt.gz", gzip.compress("héllo\n".encode()))
    write(tmp_path / "in" / "b.jsonl.gz", gzip.compress(b'{"text": "one"}\n{"text": "two"}\n'))
    write(tmp_path / "in" / "c.gz", gzip.compress(b"not picked: no known inner extension"))
    plain = write(tmp_path / "data.gz", gzip.compress(b"explicit gz"))
    result = read_documents([str(tmp_path / "in"), str(plain)])
    assert [(d.id, d.text) for d in result.documents] == [
        ("a.txt.gz", "héllo\n"),
        ("b.jsonl.gz:1", "one"),
        ("b.jsonl.gz:2", "two"),
        ("data.gz", "explicit gz"),
    ]


# --- JSONL / JSON ----------------------------------------------------------------------------------


def test_jsonl_default_ids_skip_blank_lines(tmp_path: Path) -> None:
    path = write(tmp_path / "sub" / "r.jsonl", '{"text": "a"}\n\n  \r\n{"text": "b", "x": 1}\r\n{"text": ""}')
    result = read_documents([str(tmp_path)])
    assert [(d.id, d.text, d.source) for d in result.documents] == [
        ("sub/r.jsonl:1", "a", f"{path}:1"),
        ("sub/r.jsonl:4", "b", f"{path}:4"),
        ("sub/r.jsonl:5", "", f"{path}:5"),
    ]


def test_jsonl_with_id_field_and_custom_text_field(tmp_path: Path) -> None:
    path = write(tmp_path / "r.jsonl", '{"id": "x", "body": "A"}\n{"id": 7, "body": "B"}\n')
    result = read_documents([str(path)], text_field="body", id_field="id")
    assert [(d.id, d.text, d.source) for d in result.documents] == [
        ("x", "A", f"{path}:1"),
        ("7", "B", f"{path}:2"),
    ]


def test_jsonl_explicit_file_uses_basename(tmp_path: Path) -> None:
    path = write(tmp_path / "deep" / "r.jsonl", '{"text": "a"}\n')
    assert ids(read_documents([str(path)])) == ["r.jsonl:1"]


def test_jsonl_lone_surrogate_and_line_separator(tmp_path: Path) -> None:
    path = write(tmp_path / "r.jsonl", '{"text": "a\\ud800b"}\n{"text": "x\u2028y"}\n'.encode())
    assert [d.text for d in read_documents([str(path)]).documents] == ["a\ud800b", "x\u2028y"]


def test_json_array_and_single_object(tmp_path: Path) -> None:
    arr = write(tmp_path / "arr.json", b'\xef\xbb\xbf[{"text": "a"}, {"text": "b"}]')
    one = write(tmp_path / "one.json", '{"text": "solo"}')
    result = read_documents([str(arr), str(one)])
    assert [(d.id, d.text, d.source) for d in result.documents] == [
        ("arr.json:1", "a", f"{arr}:1"),
        ("arr.json:2", "b", f"{arr}:2"),
        ("one.json", "solo", str(one)),
    ]


def test_json_array_with_id_field(tmp_path: Path) -> None:
    path = write(tmp_path / "arr.json", '[{"text": "a", "k": "p"}, {"text": "b", "k": 2}]')
    assert ids(read_documents([str(path)], id_field="k")) == ["p", "2"]


# --- stdin -----------------------------------------------------------------------------------------


def test_stdin_text() -> None:
    result = read_documents(["-"], stdin=io.BytesIO(b"plain text\r\n{not json first}"))
    assert result.documents == [Document(id="-", text="plain text\r\n{not json first}", source="-")]


def test_stdin_jsonl() -> None:
    data = b'  \n{"text": "a"}\n{"text": "b"}\n'
    result = read_documents(["-"], stdin=io.BytesIO(data))
    assert [(d.id, d.text, d.source) for d in result.documents] == [("-:2", "a", "-:2"), ("-:3", "b", "-:3")]


def test_stdin_text_starting_with_a_brace_is_text() -> None:
    data = b"{ This is prose that happens to start with a brace }\nsecond line"
    result = read_documents(["-"], stdin=io.BytesIO(data))
    assert [(d.id, d.text) for d in result.documents] == [("-", data.decode())]


def test_stdin_json_array_and_gzip() -> None:
    import gzip

    data = gzip.compress(b'[{"text": "a"}, {"text": "b"}]')
    result = read_documents(["-"], stdin=io.BytesIO(data))
    assert [(d.id, d.text) for d in result.documents] == [("-:1", "a"), ("-:2", "b")]


def test_fifo_in_a_folder_is_reported_not_read(tmp_path: Path) -> None:
    write(tmp_path / "d" / "a.txt", "fine")
    os.mkfifo(tmp_path / "d" / "pipe.txt")
    with pytest.raises(InputError) as exc:
        read_documents([str(tmp_path / "d")])
    assert exc.value.problem == "not a regular file (a FIFO, socket or device)"
    result = read_documents([str(tmp_path / "d")], skip_bad=True)
    assert ids(result) == ["a.txt"] and result.skipped[0].source.endswith("pipe.txt")


def test_stdin_mixed_with_files(tmp_path: Path) -> None:
    path = write(tmp_path / "a.txt", "A")
    result = read_documents([str(path), "-"], stdin=io.BytesIO(b"S"))
    assert ids(result) == ["a.txt", "-"]


def test_stdin_bad_utf8() -> None:
    with pytest.raises(InputError) as exc:
        read_documents(["-"], stdin=io.BytesIO(b"ok\n\xff"))
    assert (exc.value.where, exc.value.problem) == ("-", "invalid UTF-8 at line 2, byte offset 3")


# --- bad input -------------------------------------------------------------------------------------

# (file name, content, read_documents kwargs, where suffix after the path, expected problem regex)
OK = b'{"text": "ok"}\n'
OK_ID = b'{"text": "ok", "id": "a"}\n'
BAD_CASES = [
    ("bin.txt", b"abc\x00def", {}, "", r"binary file \(NUL byte at offset 3\)"),
    ("utf.txt", b"ok\nfine\nbad \xc3\x28 here", {}, "", r"invalid UTF-8 at line 3, byte offset 12"),
    ("bom_bad.md", b"\xef\xbb\xbf\xff", {}, "", r"invalid UTF-8 at line 1, byte offset 3"),
    ("bad.txt.gz", b"\x1f\x8b\x08\x00garbage", {}, "", r"cannot decompress gzip: .+"),
    ("notgz.md.gz", b"plain", {}, "", r"cannot decompress gzip: Not a gzipped file.*"),
    ("l.jsonl", OK + b'{"text": "\xff"}\n', {}, ":2", r"invalid UTF-8 at byte offset 10"),
    ("l.jsonl", OK + b'{"text": oops}\n', {}, ":2", r"invalid JSON: Expecting value at column 10"),
    ("l.jsonl", OK + b"[1, 2]\n", {}, ":2", r"record is not a JSON object \(got array\)"),
    ("l.jsonl", OK + b'"str"\n', {}, ":2", r"record is not a JSON object \(got string\)"),
    ("l.jsonl", OK + b'{"body": "x"}\n', {}, ":2", r"missing text field 'text'"),
    ("l.jsonl", OK + b'{"text": 5}\n', {}, ":2", r"text field 'text' is not a string \(got number\)"),
    ("l.jsonl", OK + b'{"text": null}\n', {}, ":2", r"text field 'text' is not a string \(got null\)"),
    ("l.jsonl", OK_ID + b'{"text": "x"}\n', {"id_field": "id"}, ":2", r"missing id field 'id'"),
    (
        "l.jsonl",
        OK_ID + b'{"text": "x", "id": true}\n',
        {"id_field": "id"},
        ":2",
        r"id field 'id' must be a string or integer \(got boolean\)",
    ),
    (
        "l.jsonl",
        OK_ID + b'{"text": "x", "id": 1.5}\n',
        {"id_field": "id"},
        ":2",
        r"id field 'id' must be a string or integer \(got number\)",
    ),
    (
        "l.jsonl",
        OK_ID + b'{"text": "x", "id": "a"}\n',
        {"id_field": "id"},
        ":2",
        r"duplicate document id 'a' \(first seen at .*l\.jsonl:1\)",
    ),
    ("l.jsonl", OK + b"[" * 5000 + b"\n", {}, ":2", r"invalid JSON: .+"),
    ("a.json", b'[{"text": "ok"}, 3]', {}, ":2", r"record is not a JSON object \(got number\)"),
    (
        "a.json",
        b'[{"text": "ok"},\n {"text": }]',
        {},
        "",
        r"invalid JSON: Expecting value at line 2 column 11",
    ),
    ("a.json", b'"just a string"', {}, "", r"expected a JSON object or array of objects \(got string\)"),
    ("a.json", b"", {}, "", r"invalid JSON: Expecting value at line 1 column 1"),
]


def _bad_case_id(case: tuple[object, ...]) -> str:
    return f"{case[0]}-{case[4]}"[:60]


@pytest.mark.parametrize("case", BAD_CASES, ids=[_bad_case_id(c) for c in BAD_CASES])
def test_bad_input_raises(tmp_path: Path, case: tuple) -> None:
    name, data, kwargs, suffix, problem = case
    path = write(tmp_path / name, data)
    with pytest.raises(InputError) as exc:
        read_documents([str(path)], **kwargs)
    err = exc.value
    assert err.where == f"{path}{suffix}"
    assert re.fullmatch(problem, err.problem), err.problem
    assert str(err) == f"{path}{suffix}: {err.problem}"
    assert "\n" not in str(err)


@pytest.mark.parametrize("case", BAD_CASES, ids=[_bad_case_id(c) for c in BAD_CASES])
def test_bad_input_skipped(tmp_path: Path, case: tuple) -> None:
    name, data, kwargs, suffix, problem = case
    good = write(tmp_path / "good.jsonl", '{"text": "good", "id": "g"}\n')
    path = write(tmp_path / name, data)
    result = read_documents([str(good), str(path)], skip_bad=True, **kwargs)
    [skipped] = result.skipped
    assert skipped.source == f"{path}{suffix}"
    assert re.fullmatch(problem, skipped.reason), skipped.reason
    texts = [d.text for d in result.documents]
    assert texts[0] == "good"
    # A bad line or element costs only itself; the good record before it in the same file survives.
    assert texts[1:] == (["ok"] if suffix else [])


def test_missing_path(tmp_path: Path) -> None:
    missing = str(tmp_path / "nope.txt")
    with pytest.raises(InputError) as exc:
        read_documents([missing])
    assert (exc.value.where, exc.value.problem) == (missing, "no such file or directory")

    good = write(tmp_path / "good.txt", "g")
    result = read_documents([missing, str(good)], skip_bad=True)
    assert result.skipped == [Skipped(source=missing, reason="no such file or directory")]
    assert ids(result) == ["good.txt"]


def test_os_error_uses_strerror(tmp_path: Path) -> None:
    write(tmp_path / "file.txt", "x")
    bad = str(tmp_path / "file.txt" / "inner.txt")
    with pytest.raises(InputError) as exc:
        read_documents([bad])
    assert (exc.value.where, exc.value.problem) == (bad, "Not a directory")


def test_broken_symlink_in_folder(tmp_path: Path) -> None:
    write(tmp_path / "ok.txt", "ok")
    os.symlink(tmp_path / "gone.txt", tmp_path / "dangling.txt")
    result = read_documents([str(tmp_path)], skip_bad=True)
    assert result.skipped == [Skipped(str(tmp_path / "dangling.txt"), "no such file or directory")]
    assert ids(result) == ["ok.txt"]


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root can read anything")
def test_unreadable_file_and_dir(tmp_path: Path) -> None:
    secret = write(tmp_path / "secret.txt", "s")
    locked = tmp_path / "locked"
    write(locked / "x.txt", "x")
    write(tmp_path / "ok.txt", "ok")
    secret.chmod(0)
    locked.chmod(0)
    try:
        with pytest.raises(InputError, match="Permission denied"):
            read_documents([str(secret)])
        result = read_documents([str(tmp_path)], skip_bad=True)
        assert result.skipped == [
            Skipped(str(locked), "Permission denied"),
            Skipped(str(secret), "Permission denied"),
        ]
        assert ids(result) == ["ok.txt"]
    finally:
        secret.chmod(0o644)
        locked.chmod(0o755)


def test_same_relative_path_from_two_arguments_falls_back_to_source(tmp_path: Path) -> None:
    """Two folders holding the same file names (two versions of a corpus) can be compared."""
    first = write(tmp_path / "x" / "a.txt", "one")
    second = write(tmp_path / "y" / "a.txt", "two")
    result = read_documents([str(first), str(second)])
    assert [(d.id, d.text) for d in result.documents] == [("a.txt", "one"), (str(second), "two")]
    folders = read_documents([str(tmp_path / "x"), str(tmp_path / "y")])
    assert ids(folders) == ["a.txt", str(second)]


def test_duplicate_id_from_id_field_is_an_error(tmp_path: Path) -> None:
    first = write(tmp_path / "x.jsonl", '{"text": "one", "id": "k"}\n')
    second = write(tmp_path / "y.jsonl", '{"text": "two", "id": "k"}\n')
    with pytest.raises(InputError) as exc:
        read_documents([str(first), str(second)], id_field="id")
    assert exc.value.where == f"{second}:1"
    assert exc.value.problem == f"duplicate document id 'k' (first seen at {first}:1)"

    result = read_documents([str(first), str(second)], id_field="id", skip_bad=True)
    assert [d.text for d in result.documents] == ["one"]
    assert result.skipped == [Skipped(f"{second}:1", f"duplicate document id 'k' (first seen at {first}:1)")]


def test_first_error_stops_without_skip_bad(tmp_path: Path) -> None:
    path = write(tmp_path / "l.jsonl", '{"text": 1}\n{"text": 2}\n')
    with pytest.raises(InputError) as exc:
        read_documents([str(path)])
    assert exc.value.where == f"{path}:1"
    result = read_documents([str(path)], skip_bad=True)
    assert [s.source for s in result.skipped] == [f"{path}:1", f"{path}:2"]
    assert result.documents == []


# --- property --------------------------------------------------------------------------------------

# Any code point, lone surrogates included. A high surrogate directly followed by a low one is
# excluded: JSON cannot tell "\ud83d\ude00" (two code units) from the pair it encodes, so such a
# Python str legitimately reads back as the single astral character.
_ANY_CHAR = st.one_of(st.characters(), st.integers(0xD800, 0xDFFF).map(chr))
_TEXTS = st.lists(
    st.text(_ANY_CHAR).filter(lambda t: re.search("[\ud800-\udbff][\udc00-\udfff]", t) is None),
    max_size=8,
)


@settings(max_examples=150, deadline=None)
@given(texts=_TEXTS)
def test_jsonl_roundtrip_property(texts: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "p.jsonl"
        path.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts), encoding="ascii")
        result = read_documents([str(path)])
    assert [d.text for d in result.documents] == texts
    assert ids(result) == [f"p.jsonl:{i}" for i in range(1, len(texts) + 1)]
