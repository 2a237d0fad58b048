"""MiniBatchKMeans over the day's embeddings: ``n_clusters = max(10, n // 100)``, never more than ``n``."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

__all__ = ["ClusterResult", "cluster_embeddings", "n_clusters_for"]

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


@dataclass
class ClusterResult:
    """Labels per item, and per cluster its size and confidence (mean cosine similarity to the centroid)."""

    labels: np.ndarray
    sizes: np.ndarray
    confidence: np.ndarray

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
        return ClusterResult(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0))
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
    for c in range(len(sizes)):
        members = x[labels == c]
        centroid = members.mean(axis=0)
        norm = np.linalg.norm(centroid)
        unit = centroid / norm if norm > 0 else centroid
        norms = np.linalg.norm(members, axis=1)
        confidence[c] = float(np.mean(members @ unit / np.where(norms > 0, norms, 1.0)))
    logger.info("clustered %d items into %d clusters (largest %d)", n, len(sizes), int(sizes.max()))
    return ClusterResult(labels, sizes, confidence)
