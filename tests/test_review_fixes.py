"""Regression tests for problems a review found by trying to break `dedup scan` (one test per finding)."""

from __future__ import annotations

import csv
import io
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from dedup.config import ScanConfig
from dedup.model import Document
from dedup.scan import scan_documents

WORDS = "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima"


def _write(path: Path, data: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data)
    return path


def test_output_never_replaces_a_device(cli, seeds_dir, tmp_path):
    dev = tmp_path / "mynull"
    try:
        os.mknod(dev, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("mknod needs root")
    assert cli("scan", str(seeds_dir), "-o", str(dev))[0] == 0
    assert stat.S_ISCHR(os.stat(dev).st_mode)


def test_output_errors_are_one_line_and_modes_are_kept(cli, seeds_dir, tmp_path):
    code, out, err = cli("scan", str(seeds_dir), "-o", str(tmp_path))
    assert code == 2 and out == "" and err.strip() == f"dedup: error: --output {tmp_path}: is a directory"
    code, _, err = cli("scan", str(seeds_dir), "-o", str(tmp_path / "missing" / "r.json"))
    assert code == 2 and "no such directory" in err
    old = os.umask(0o022)
    try:
        fresh = tmp_path / "fresh.json"
        assert cli("scan", str(seeds_dir), "-f", "json", "-o", str(fresh))[0] == 0
        assert stat.S_IMODE(os.stat(fresh).st_mode) == 0o644
        fresh.chmod(0o640)
        assert cli("scan", str(seeds_dir), "-f", "json", "-o", str(fresh))[0] == 0
        assert stat.S_IMODE(os.stat(fresh).st_mode) == 0o640
    finally:
        os.umask(old)


def test_table_shows_markup_like_text_verbatim(cli, tmp_path):
    line = "This line has [/] a closing tag and [bold red]more words[/bold red] here"
    _write(tmp_path / "m" / "[bold]x.txt", f"{line}\n{line}\n")
    code, out, err = cli("scan", str(tmp_path / "m"))
    assert code == 0, err
    assert "[bold]x.txt[0:" in out and "[/]" in out


def test_csv_quotes_bare_carriage_returns(cli, tmp_path):
    body = "one two three four five six\rseven eight nine ten eleven\r"
    _write(tmp_path / "cr" / "a.txt", body)
    _write(tmp_path / "cr" / "b.txt", body)
    code, out, _ = cli("scan", str(tmp_path / "cr"), "-f", "csv", "--level", "document")
    assert code == 0
    rows = list(csv.reader(io.StringIO(out, newline="")))
    assert len(rows) == 3 and rows[1][-1] == body.strip()


@pytest.mark.parametrize("fmt", ["json", "jsonl", "csv", "table"])
def test_lone_surrogates_in_input_never_break_output(cli, tmp_path, fmt):
    record = json.dumps({"text": "surrogate \ud800 here café and more words to pass"})
    path = _write(tmp_path / "s.jsonl", f"{record}\n{record}\n")
    out_file = tmp_path / f"out.{fmt}"
    code, _, err = cli("scan", str(path), "-f", fmt, "-o", str(out_file))
    assert code == 0, err
    text = out_file.read_bytes().decode("utf-8")  # valid UTF-8
    if fmt == "json":
        assert "café" in text and "\\ud800" in text  # only the surrogate is escaped
        member = json.loads(text)["clusters"][0]["members"][0]
        assert member["text"] == "surrogate \ud800 here café and more words to pass"


def test_paragraph_suppression_needs_a_verified_document_pair(tmp_path):
    """A~C and B~C are near-duplicate documents but A and B are not: what A and B alone share is news."""
    lines = [f"Sentence number {i} talks about topic {i * 7 % 13} with extra words here." for i in range(130)]
    shared = "This shared secret paragraph appears only in documents A and B nowhere else."
    docs = [
        Document("a", "\n".join([*lines[0:100], shared]), "a"),
        Document("c", "\n".join(lines[10:110]), "c"),
        Document("b", "\n".join([*lines[20:120], shared]), "b"),
    ]
    result = scan_documents(docs, ScanConfig())
    (doc_cluster,) = [c for c in result.clusters if c.level == "document"]
    assert doc_cluster.doc.tolist() == [0, 1, 2]
    found = [
        c
        for c in result.clusters
        if c.level == "paragraph" and docs[c.doc[0]].text[c.start[0] : c.end[0]] == shared
    ]
    assert len(found) == 1 and found[0].doc.tolist() == [0, 2]
    assert result.suppressed > 0  # the paragraphs that verified pairs do explain stay suppressed


def test_level_order_and_repeats_do_not_change_the_report(cli, seeds_dir):
    a = cli("scan", str(seeds_dir), "-f", "json", "--level", "document,paragraph")[1]
    b = cli("scan", str(seeds_dir), "-f", "json", "--level", "paragraph,document,document")[1]
    assert a == b


@pytest.mark.parametrize(
    "args",
    [["--ngram", "100000000000000000000"], ["--ngram", "65"], ["--threshold", "abc"], ["--bogus"], []],
)
def test_usage_errors_are_one_line_exit_2(cli, seeds_dir, args):
    code, out, err = cli("scan", *([str(seeds_dir)] if args else []), *args)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and err.startswith("dedup: error: ")


def test_params_record_input_settings(cli, seeds_dir):
    params = json.loads(cli("scan", str(seeds_dir), "-f", "json", "--skip-bad")[1])["params"]
    assert (params["text_field"], params["id_field"], params["skip_bad"]) == ("text", None, True)


def test_too_few_permutations_warn(cli, seeds_dir):
    code, _, err = cli("scan", str(seeds_dir), "--num-perm", "4", "--threshold", "0.5", "-f", "json")
    assert code == 0 and "warning: with --num-perm 4" in err


def test_two_versions_of_a_corpus_compare(cli, tmp_path):
    for d in ("v1", "v2"):
        _write(tmp_path / d / "x.jsonl", json.dumps({"text": WORDS}) + "\n")
    report = json.loads(cli("scan", str(tmp_path / "v1"), str(tmp_path / "v2"), "-f", "json")[1])
    assert [d["id"] for d in report["documents"]] == ["x.jsonl:1", f"{tmp_path / 'v2' / 'x.jsonl'}:1"]
    assert report["clusters"][0]["scope"] == "across"


@pytest.mark.slow
def test_closed_stdin_is_an_input_error(seeds_dir):
    exe = Path(sys.executable).parent / "dedup"
    done = subprocess.run(
        [str(exe), "scan", "-"], stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0  # an empty stdin is one empty document, listed
    done = subprocess.run(
        f"{exe} scan - <&-", shell=True, capture_output=True, text=True, timeout=120, executable="/bin/bash"
    )
    assert done.returncode == 2 and done.stderr.strip() == "dedup: error: -: standard input is closed"
