"""Connected components of verified pairs (scipy.sparse.csgraph), as clusters of units."""

from __future__ import annotations

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components


def component_labels(n_units: int, left: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, int]:
    """(label of each unit, number of labels): components of two or more units are numbered
    0, 1, ... in order of their smallest unit; a unit in no such component gets -1."""
    out = np.full(n_units, -1, dtype=np.int64)
    if n_units == 0 or left.size == 0:
        return out, 0
    graph = coo_matrix((np.ones(left.size, dtype=np.int8), (left, right)), shape=(n_units, n_units))
    n_comp, labels = connected_components(graph, directed=False)
    _, first_unit, sizes = np.unique(labels, return_index=True, return_counts=True)
    big = np.flatnonzero(sizes > 1)  # component ids (= np.unique's order) with two or more units
    rank = np.full(n_comp, -1, dtype=np.int64)
    rank[big[np.argsort(first_unit[big], kind="stable")]] = np.arange(big.size)
    return rank[labels], int(big.size)


def components(n_units: int, left: np.ndarray, right: np.ndarray) -> list[np.ndarray]:
    """Groups of two or more units joined by edges, each sorted, in order of their smallest unit."""
    if n_units == 0 or left.size == 0:
        return []
    graph = coo_matrix((np.ones(left.size, dtype=np.int8), (left, right)), shape=(n_units, n_units))
    _, labels = connected_components(graph, directed=False)
    order = np.argsort(labels, kind="stable")
    bounds = np.flatnonzero(np.r_[True, np.diff(labels[order]) != 0, True])
    # Plain slicing (np.split builds every singleton too, through a slow generic path).
    groups = [order[a:b] for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True) if b - a > 1]
    groups.sort(key=lambda g: int(g[0]))
    return groups
