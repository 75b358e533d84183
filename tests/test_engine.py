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


@pytest.mark.slow
def test_signing_while_reading_accounts_for_dropped_documents(cli, tmp_path):
    """The CLI signs documents as they are parsed, on the pool once there are enough batches. A
    document the reader drops after offering it (a duplicate id, a file rejected whole for a NUL
    byte) must not shift the others: the clusters equal those of a scan of the kept documents."""
    import orjson

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
    code, out, err = cli("scan", str(kept), "--workers", "1", *common)
    assert code == 0, err
    direct = json.loads(out)
    assert len(direct["clusters"]) > 20
    assert streamed["clusters"] == direct["clusters"]
