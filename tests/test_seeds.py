"""What `dedup scan seeds/` must find, with offsets computed independently from the raw files."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pytest

from dedup.cli import run

SEED_IDS = sorted(p.name for p in (Path(__file__).resolve().parent.parent / "seeds").iterdir())


def _line_spans(text: str) -> list[tuple[int, int, str]]:
    """(start, end, line) of every line split on "\\n" (the seeds use plain LF line ends)."""
    spans, pos = [], 0
    for line in text.split("\n"):
        spans.append((pos, pos + len(line), line))
        pos += len(line) + 1
    return spans


@pytest.fixture(scope="module")
def report(seeds_dir):
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert run(["scan", str(seeds_dir), "--format", "json"]) == 0
    return json.loads(buf.getvalue())


def _clusters_of(report, doc_prefix, levels=("document", "paragraph")):
    return [
        c
        for c in report["clusters"]
        if c["level"] in levels and all(m["doc"].startswith(doc_prefix) for m in c["members"])
    ]


def _units(report):
    return [c for c in report["clusters"] if c["level"] != "passage"]


def test_documents_listed_in_order(report, seeds_dir):
    assert [d["id"] for d in report["documents"]] == SEED_IDS
    for d in report["documents"]:
        assert d["chars"] == len((seeds_dir / d["id"]).read_text(encoding="utf-8"))


def test_001_wire_story_twice_gives_twelve_paragraph_clusters(report, seeds_dir):
    doc = SEED_IDS[1]
    text = (seeds_dir / doc).read_text(encoding="utf-8")
    lines = _line_spans(text)
    assert lines[0][2] == "AFP, Moscow :" and len(lines) == 25
    expected = [[lines[i][:2], lines[i + 12][:2]] for i in range(1, 13)]
    found = _clusters_of(report, "001_")
    assert len(found) == 12
    for cluster, (first, second) in zip(found, expected, strict=True):
        assert cluster["level"] == "paragraph"
        assert cluster["scope"] == "within"
        assert cluster["similarity"] == 1.0
        assert [(m["start"], m["end"]) for m in cluster["members"]] == [first, second]
        for m in cluster["members"]:
            assert m["text"] == text[m["start"] : m["end"]]


@pytest.mark.parametrize(
    ("prefix", "line"),
    [
        ("002_", "This news has been read 7484 times!"),
        ("003_", "Shoigu: Russia’s defense Ministry has begun cooperation with the armed forces of France"),
        ("004_", "Russian warships launch rockets on ISIS in Syria: Vladimir Putin"),
    ],
)
def test_repeated_lines(report, seeds_dir, prefix, line):
    doc = next(i for i in SEED_IDS if i.startswith(prefix))
    text = (seeds_dir / doc).read_text(encoding="utf-8")
    expected = [(s, e) for s, e, body in _line_spans(text) if body == line]
    assert len(expected) == 2
    found = _clusters_of(report, prefix)
    assert len(found) == 1
    (cluster,) = found
    assert cluster["scope"] == "within" and cluster["similarity"] == 1.0 and cluster["exact"] is True
    assert [(m["start"], m["end"]) for m in cluster["members"]] == expected


def test_000_has_no_cluster_and_no_document_clusters(report):
    assert not any(m["doc"].startswith("000_") for c in report["clusters"] for m in c["members"])
    assert not [c for c in report["clusters"] if c["level"] == "document"]
    assert len(_units(report)) == 15
    assert report["summary"]["clusters"] == len(report["clusters"])


def test_summary_counts_duplicated_characters(report, seeds_dir):
    # Second copies: the 12 repeated paragraphs of 001 and one line each in 002, 003 and 004, plus
    # what passages add outside those (unioned per document, as the report counts).
    spans: dict[str, list[tuple[int, int]]] = {}
    for c in report["clusters"]:
        for m in c["members"][1:]:
            spans.setdefault(m["doc"], []).append((m["start"], m["end"]))
    covered = {(d, i) for d, iv in spans.items() for s, e in iv for i in range(s, e)}
    assert report["summary"]["duplicated_chars"] == len(covered)
    units_only = sum(len(c["members"][1]["text"]) for c in _units(report))
    assert report["summary"]["duplicated_chars"] >= units_only
    total = sum(len((seeds_dir / i).read_text(encoding="utf-8")) for i in SEED_IDS)
    assert report["summary"]["total_chars"] == total


def test_clusters_sorted_by_first_member(report):
    order = {d: i for i, d in enumerate(SEED_IDS)}
    keys = [(order[c["members"][0]["doc"]], c["members"][0]["start"]) for c in report["clusters"]]
    assert keys == sorted(keys)
    assert [c["id"] for c in report["clusters"]] == list(range(len(keys)))
    for c in report["clusters"]:
        members = [(order[m["doc"]], m["start"]) for m in c["members"]]
        assert members == sorted(members)


def test_schema_key_order(report):
    assert list(report)[:5] == ["dedup_report", "params", "documents", "clusters", "summary"]
    assert report["dedup_report"] == 1
    for c in report["clusters"]:
        assert list(c)[:5] == ["id", "level", "scope", "similarity", "members"]
        for m in c["members"]:
            assert list(m) == ["doc", "start", "end", "text"]
    assert list(report["summary"])[:3] == ["documents", "clusters", "duplicated_chars"]
    p = report["params"]
    assert (p["threshold"], p["ngram"], p["num_perm"]) == (0.8, 5, 128)
    assert p["min_words"] == {"document": 5, "paragraph": 5, "passage": 8}
    assert p["bands"] * p["rows"] <= p["num_perm"]


# --- `dedup scan seeds/ --level passage --min-words 6`: the expectations, passages alone --


@pytest.fixture(scope="module")
def passage_report(seeds_dir):
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = run(["scan", str(seeds_dir), "--level", "passage", "--min-words", "6", "--format", "json"])
    assert code == 0
    return json.loads(buf.getvalue())


def _raw(seeds_dir, prefix: str) -> str:
    """A seed file as bytes decoded by hand (no BOM, LF line ends), independent of dedup's reader."""
    (path,) = [p for p in seeds_dir.iterdir() if p.name.startswith(prefix)]
    return path.read_bytes().decode("utf-8")


def _occurrences(text: str, phrase: str) -> list[tuple[int, int]]:
    out, at = [], text.find(phrase)
    while at >= 0:
        out.append((at, at + len(phrase)))
        at = text.find(phrase, at + 1)
    return out


def _holding(report, prefix: str, phrase: str) -> list[dict]:
    """Passage clusters with a member in the document `prefix` whose text holds `phrase`."""
    return [
        c
        for c in report["clusters"]
        if c["level"] == "passage"
        and any(m["doc"].startswith(prefix) and phrase in m["text"] for m in c["members"])
    ]


def _spans(cluster, prefix: str) -> list[tuple[int, int]]:
    return [(m["start"], m["end"]) for m in cluster["members"] if m["doc"].startswith(prefix)]


def _docs(cluster) -> set[str]:
    return {m["doc"][:3] for m in cluster["members"]}


def test_passages_alone_members_are_the_raw_slices(passage_report, seeds_dir):
    for c in passage_report["clusters"]:
        for m in c["members"]:
            assert m["text"] == _raw(seeds_dir, m["doc"][:3])[m["start"] : m["end"]]


def test_passages_alone_putin_allies_quote_is_one_cluster_of_001_and_003(passage_report, seeds_dir):
    [c] = _holding(passage_report, "003", "work with them")
    assert _docs(c) == {"001", "003"}
    ends_001 = {e for _, e in _occurrences(_raw(seeds_dir, "001"), "work with them as allies")}
    ends_003 = {e for _, e in _occurrences(_raw(seeds_dir, "003"), "work with them “as allies")}
    assert ends_003 >= {e for _, e in _spans(c, "003")}
    assert ends_001 >= {e for _, e in _spans(c, "001")}
    assert all("establish direct contact with" in m["text"] for m in c["members"])


def test_passages_alone_224_people_is_one_cluster_of_000_and_001(passage_report, seeds_dir):
    phrase = "killing all 224 people on board"
    [c] = _holding(passage_report, "000", phrase)
    assert _docs(c) == {"000", "001"}
    assert _spans(c, "000") == _occurrences(_raw(seeds_dir, "000"), phrase)
    in_001 = _spans(c, "001")
    assert in_001 and set(in_001) <= set(_occurrences(_raw(seeds_dir, "001"), phrase))


def test_passages_alone_kerry_is_one_cluster_of_000_and_002(passage_report, seeds_dir):
    [c] = _holding(passage_report, "000", "John Kerry")
    assert _docs(c) == {"000", "002"}
    assert _spans(c, "000") == _occurrences(_raw(seeds_dir, "000"), "US Secretary of State, John Kerry, said")
    assert _spans(c, "002") == _occurrences(_raw(seeds_dir, "002"), "US Secretary of State John Kerry said")


def test_passages_alone_002_interview_quote_is_one_cluster_of_two(passage_report, seeds_dir):
    raw = _raw(seeds_dir, "002")
    [c] = _holding(passage_report, "002", "We have proposed to cooperate")
    starts = [s for s, _ in _occurrences(raw, "We have proposed to cooperate")]
    ends = [e for _, e in _occurrences(raw, "interview with CBS television")]
    assert len(starts) == len(ends) == 2
    assert _spans(c, "002") == list(zip(starts, ends, strict=True)) and _docs(c) == {"002"}
    assert c["exact"] is False


def test_passages_alone_004_pairs_with_no_other_document(passage_report):
    for c in passage_report["clusters"]:
        assert "004" not in _docs(c) or _docs(c) == {"004"}


def test_passages_alone_001_self_repeat_is_its_own_cluster(passage_report, seeds_dir):
    """001 carries its wire story twice; that self-match must not swallow the small passages other
    documents share with it (places are one passage only when they mostly overlap)."""
    raw = _raw(seeds_dir, "001")
    first, second = _occurrences(raw, "President Vladimir Putin on Tuesday ordered")
    end1, end2 = (e for _, e in _occurrences(raw, "people on board"))
    [c] = _holding(passage_report, "001", "President Vladimir Putin on Tuesday ordered")
    assert _spans(c, "001") == [(first[0], end1), (second[0], end2)] and _docs(c) == {"001"}
    for phrase, prefix in [("killing all 224", "000"), ("Islamic State group in Syria", "002")]:
        [small] = _holding(passage_report, prefix, phrase)
        assert "001" in _docs(small) and len(small["members"]) <= 3


def test_passages_alone_reuse_counts_only_text_aligned_with_other_documents(passage_report):
    reuse = {r["doc"][:3]: r for r in passage_report["reuse"]}
    assert set(reuse) == {"000", "001", "002", "003"}
    assert reuse["001"]["shared_fraction"] < 0.1  # its self-repeat is not shared with anyone
    withs = {d: sorted(w[:3] for w in r["with"]) for d, r in reuse.items()}
    assert withs == {
        "000": ["001", "002"],
        "001": ["000", "002", "003"],
        "002": ["000", "001"],
        "003": ["001"],
    }
