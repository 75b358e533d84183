"""Connected components of verified pairs (scipy.sparse.csgraph), as clusters of units.

scipy is imported at the first call, not with this module: its sparse package took 0.2 s of a
scan's start-up, before any worker could fork. A scan on a pool imports it on a thread while the
workers sign (`import_in_background`), where this process is otherwise waiting.
"""

from __future__ import annotations

import threading

import numpy as np


def _connected_components(graph: object, directed: bool) -> tuple[int, np.ndarray]:
    from scipy.sparse.csgraph import connected_components

    return connected_components(graph, directed=directed)


def _graph(n_units: int, left: np.ndarray, right: np.ndarray) -> object:
    """The edges as a sparse adjacency matrix (scipy's coo_matrix)."""
    from scipy.sparse import coo_matrix

    return coo_matrix((np.ones(left.size, dtype=np.int8), (left, right)), shape=(n_units, n_units))


def import_in_background() -> None:
    """Import scipy's graph routines on a thread (a call meanwhile waits for that import), and
    then numba's array routines, which the kernel that drops explained paragraph clusters loads
    (scan._explained_by_pairs: 0.05 s, after clustering, otherwise). Not a daemon: an
    interpreter finalizing under an import half done is asking for trouble."""
    threading.Thread(target=_import_graph_tools, name="dedup-import-scipy").start()


def _import_graph_tools() -> None:
    # scipy first: it imports scipy.linalg, which numba's array routines look for when they load
    import scipy.sparse.csgraph  # noqa: F401

    __import__("numba.np.arraymath")


def component_labels(n_units: int, left: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, int]:
    """(label of each unit, number of labels): components of two or more units are numbered
    0, 1, ... in order of their smallest unit; a unit in no such component gets -1."""
    out = np.full(n_units, -1, dtype=np.int64)
    if n_units == 0 or left.size == 0:
        return out, 0
    n_comp, labels = _connected_components(_graph(n_units, left, right), directed=False)
    _, first_unit, sizes = np.unique(labels, return_index=True, return_counts=True)
    big = np.flatnonzero(sizes > 1)  # component ids (= np.unique's order) with two or more units
    rank = np.full(n_comp, -1, dtype=np.int64)
    rank[big[np.argsort(first_unit[big], kind="stable")]] = np.arange(big.size)
    return rank[labels], int(big.size)


def edge_components(left: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """(units, label of each, number of labels) for the units an edge touches (sorted), labelled
    as component_labels does. Only those units enter the graph: at 1.4M paragraphs with ~50k in
    an edge, a graph over all of them made each step (scipy's, and numbering the components
    through np.unique) as long as the units."""
    if left.size == 0:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty, 0
    nodes, at = np.unique(np.concatenate([left, right]), return_inverse=True)
    labels, n_labels = component_labels(nodes.size, at[: left.size], at[left.size :])
    keep = labels >= 0  # a unit whose only edges are to itself
    return nodes[keep], labels[keep], n_labels


def components(n_units: int, left: np.ndarray, right: np.ndarray) -> list[np.ndarray]:
    """Groups of two or more units joined by edges, each sorted, in order of their smallest unit."""
    if n_units == 0 or left.size == 0:
        return []
    _, labels = _connected_components(_graph(n_units, left, right), directed=False)
    order = np.argsort(labels, kind="stable")
    bounds = np.flatnonzero(np.r_[True, np.diff(labels[order]) != 0, True])
    # Plain slicing (np.split builds every singleton too, through a slow generic path).
    groups = [order[a:b] for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True) if b - a > 1]
    groups.sort(key=lambda g: int(g[0]))
    return groups
