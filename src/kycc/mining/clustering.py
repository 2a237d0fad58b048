"""MiniBatchKMeans over the day's embeddings: ``n_clusters = max(10, n // 100)``, never more than ``n``.

Quality per cluster: the mean cosine silhouette of its items (``cosine_silhouette``, exact and O(n·k·d) for unit
vectors, so it runs at a day's volume), and per item its cosine similarity to the cluster centroid (the summary and
the labeller read the items nearest the centroid first).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

__all__ = ["ClusterResult", "cluster_embeddings", "cosine_silhouette", "n_clusters_for"]

logger = logging.getLogger(__name__)


def n_clusters_for(n_items: int, min_clusters: int = 10, items_per_cluster: int = 100) -> int:
    """The seed's rule: ``max(min_clusters, n // items_per_cluster)`` capped by the item count.

    >>> [n_clusters_for(n) for n in (0, 5, 50, 5000)]
    [0, 5, 10, 50]
    """
    if n_items < 0:
        raise ValueError(f"n_items must be >= 0, got {n_items}")
    if min_clusters < 1 or items_per_cluster < 1:
        raise ValueError("min_clusters and items_per_cluster must be >= 1")
    return min(n_items, max(min_clusters, n_items // items_per_cluster))


def cosine_silhouette(x: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The silhouette of every item with the cosine distance (``sklearn.metrics.silhouette_samples(...,
    metric="cosine")``), computed from per-cluster sums instead of all pairwise distances.

    For unit vectors the distance is ``1 - x·y``, so the mean distance from ``x_i`` to the items of cluster ``C``
    is ``1 - x_i·S_C / |C|`` (``S_C`` the sum of ``C``'s vectors; ``x_i`` itself left out of its own cluster).
    Rows are normalised first. Items alone in their cluster get 0 (sklearn's convention), and so does every item
    when there is a single cluster.
    """
    x = np.asarray(x, dtype=np.float64)
    labels = np.asarray(labels)
    n = x.shape[0]
    out = np.zeros(n)
    ids, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    if n == 0 or len(ids) < 2:
        return out
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    unit = x / np.where(norms > 0, norms, 1.0)
    sums = np.zeros((len(ids), x.shape[1]))
    np.add.at(sums, inverse, unit)
    dots = unit @ sums.T  # (n, k): x_i · S_C
    self_dot = np.einsum("ij,ij->i", unit, unit)
    own = counts[inverse]
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where(own > 1, ((own - 1) - (dots[np.arange(n), inverse] - self_dot)) / (own - 1), 0.0)
        mean_to = 1.0 - dots / counts[None, :]
    mean_to[np.arange(n), inverse] = np.inf
    b = mean_to.min(axis=1)
    denominator = np.maximum(a, b)
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.where(denominator > 0, (b - a) / denominator, 0.0)
    s[own == 1] = 0.0
    return s


@dataclass
class ClusterResult:
    """Per item its label and cosine similarity to its centroid; per cluster its size, confidence (mean similarity
    to the centroid) and silhouette (mean cosine silhouette of its items)."""

    labels: np.ndarray
    sizes: np.ndarray
    confidence: np.ndarray
    centroid_similarity: np.ndarray | None = None
    silhouette: np.ndarray | None = None

    @property
    def overall_silhouette(self) -> float:
        """The mean silhouette over all items (0.0 without items)."""
        if self.silhouette is None or not self.n_clusters:
            return 0.0
        return float(np.average(self.silhouette, weights=self.sizes))

    @property
    def n_clusters(self) -> int:
        return int(self.sizes.shape[0])


def cluster_embeddings(
    embeddings: np.ndarray,
    *,
    min_clusters: int = 10,
    items_per_cluster: int = 100,
    random_state: int = 42,
    batch_size: int = 1024,
    n_init: int = 3,
) -> ClusterResult:
    """Cluster unit vectors with MiniBatchKMeans.

    Cluster ids are renumbered by decreasing size (ties by first item), so the largest cluster is 0 and the
    numbering is stable for the same input. Empty clusters (possible with MiniBatchKMeans) are dropped.

    Raises:
        ValueError: ``embeddings`` is not a 2-D array or holds non-finite values.
    """
    from sklearn.cluster import MiniBatchKMeans

    x = np.asarray(embeddings, dtype=np.float32)
    if x.ndim != 2:
        raise ValueError(f"embeddings must be 2-D, got shape {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError("embeddings hold NaN or infinite values")
    n = x.shape[0]
    k = n_clusters_for(n, min_clusters, items_per_cluster)
    if k == 0:
        return ClusterResult(
            np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0), np.zeros(0)
        )
    if k == n:
        raw = np.arange(n)
    else:
        model = MiniBatchKMeans(n_clusters=k, random_state=random_state, batch_size=batch_size, n_init=n_init)
        raw = model.fit_predict(x)
    # Renumber: largest first, ties by first occurrence.
    ids, first, counts = np.unique(raw, return_index=True, return_counts=True)
    order = sorted(range(len(ids)), key=lambda i: (-counts[i], first[i]))
    mapping = {int(ids[i]): new for new, i in enumerate(order)}
    labels = np.array([mapping[int(r)] for r in raw], dtype=np.int64)
    sizes = np.bincount(labels)
    confidence = np.zeros(len(sizes))
    similarity = np.zeros(n)
    for c in range(len(sizes)):
        mask = labels == c
        members = x[mask]
        centroid = members.mean(axis=0)
        norm = np.linalg.norm(centroid)
        unit = centroid / norm if norm > 0 else centroid
        norms = np.linalg.norm(members, axis=1)
        similarity[mask] = members @ unit / np.where(norms > 0, norms, 1.0)
        confidence[c] = float(np.mean(similarity[mask]))
    per_item = cosine_silhouette(x, labels)
    silhouette = np.bincount(labels, weights=per_item, minlength=len(sizes)) / sizes
    result = ClusterResult(labels, sizes, confidence, similarity, silhouette)
    logger.info(
        "clustered %d items into %d clusters (largest %d, silhouette %.3f)",
        n,
        len(sizes),
        int(sizes.max()),
        result.overall_silhouette,
    )
    return result
