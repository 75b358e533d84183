"""The process pool must not change the result: same clusters, in the same order, as one process."""

from __future__ import annotations

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
