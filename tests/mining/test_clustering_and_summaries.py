"""Cluster count rule, MiniBatchKMeans on unit vectors, LexRank summaries with the offline tokenizer."""

import numpy as np
import pytest

from kycc.mining.clustering import cluster_embeddings, cosine_silhouette, n_clusters_for
from kycc.mining.summaries import OfflineTokenizer, lexrank_sentences, lexrank_summary, nearest_items


@pytest.mark.parametrize(
    ("n", "expected"),
    [(0, 0), (1, 1), (5, 5), (10, 10), (50, 10), (999, 10), (1000, 10), (1099, 10), (1100, 11), (5000, 50)],
)
def test_cluster_count_rule(n, expected):
    assert n_clusters_for(n) == expected


def _unit(rng, n, centers=None):
    if centers is None:
        x = rng.normal(size=(n, 384))
    else:
        x = centers[rng.integers(0, len(centers), n)] + 0.05 * rng.normal(size=(n, 384))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


@pytest.mark.parametrize(("n", "expected"), [(5, 5), (50, 10), (5000, 50)])
def test_cluster_embeddings_follows_the_rule(n, expected):
    rng = np.random.default_rng(0)
    result = cluster_embeddings(_unit(rng, n, centers=rng.normal(size=(60, 384))), n_init=1)
    assert result.n_clusters == expected
    assert result.labels.shape == (n,) and set(result.labels) == set(range(expected))
    assert result.sizes.sum() == n and list(result.sizes) == sorted(result.sizes, reverse=True)
    assert ((result.confidence > 0) & (result.confidence <= 1.0 + 1e-6)).all()


def test_clusters_find_obvious_groups_and_are_reproducible():
    rng = np.random.default_rng(1)
    centers = rng.normal(size=(10, 384))
    x = _unit(rng, 200, centers)
    first, second = cluster_embeddings(x, random_state=7), cluster_embeddings(x, random_state=7)
    assert np.array_equal(first.labels, second.labels)
    truth = np.argmax(x @ (centers / np.linalg.norm(centers, axis=1, keepdims=True)).T, axis=1)
    for cluster in range(first.n_clusters):  # every found cluster is one true group
        assert len(set(truth[first.labels == cluster])) == 1
    assert cluster_embeddings(np.zeros((0, 384))).n_clusters == 0


@pytest.mark.parametrize("bad", [np.zeros(384), np.full((3, 384), np.nan)])
def test_bad_embeddings_are_rejected(bad):
    with pytest.raises(ValueError, match="2-D|NaN"):
        cluster_embeddings(bad)


def test_offline_tokenizer_handles_abbreviations_and_versions():
    tokenizer = OfflineTokenizer()
    sentences = tokenizer.to_sentences("Dr. Smith upgraded pandas to 2.1.3, e.g. on Ubuntu. It broke! Why?")
    assert sentences == ("Dr. Smith upgraded pandas to 2.1.3, e.g. on Ubuntu.", "It broke!", "Why?")
    assert tokenizer.to_words("It's a CI/CD pipeline v2") == ("It's", "a", "CI", "CD", "pipeline", "v")


TEXTS = [
    "Stripe payouts do not match ledger entries\n\nEach payout bundles charges, refunds and fees into one deposit. "
    "Our accountant matches payouts by hand every month. We would pay for software that handles this.",
    "Month-end reconciliation takes four days\n\nThe bank statement shows net amounts while the ledger has gross "
    "charges. Matching payouts by hand takes our accountant a week.\n\n```sql\nSELECT 1;\n```",
    "How do you reconcile payouts?\n\nPayouts arriving after month end break reports. Each payout bundles "
    "charges, refunds and fees into one deposit.",
]


def test_lexrank_summary_has_three_sentences_from_the_texts():
    parts = lexrank_sentences(TEXTS, sentences=3)
    summary = lexrank_summary(TEXTS, sentences=3)
    assert len(parts) == 3 and summary == " ".join(parts)
    source = " ".join(TEXTS)
    for part in parts:
        assert part.rstrip(".") in source
    assert "SELECT" not in summary  # code blocks are not prose
    assert summary.count("Each payout bundles") <= 1  # repeated sentences are ranked once


def test_lexrank_summary_edge_cases():
    assert lexrank_summary([]) == ""
    assert lexrank_summary(["", "   "]) == ""
    assert lexrank_summary(["Only one short sentence here."]) == "Only one short sentence here."
    long = [" ".join(f"Sentence number {i} talks about payouts and fees." for i in range(400))]
    assert len(lexrank_sentences(long, max_sentences=50)) == 3


def test_nearest_items_are_the_most_central_first_ties_and_unknowns_by_key():
    keys = ["e", "d", "c", "b", "a"]
    similarity = [0.2, 0.9, None, 0.9, float("nan")]
    assert nearest_items(keys, similarity, 3) == [3, 1, 0]  # 0.9 (b before d), 0.2, then no similarity
    assert nearest_items(keys, similarity, 10) == [3, 1, 0, 4, 2]
    assert nearest_items([], [], 10) == []


@pytest.mark.parametrize("k", [2, 5])
def test_cosine_silhouette_equals_sklearn(k):
    from sklearn.metrics import silhouette_samples

    rng = np.random.default_rng(k)
    x = _unit(rng, 120, centers=rng.normal(size=(k, 384)))
    labels = rng.integers(0, k, 120)
    labels[0] = k  # a singleton cluster: silhouette 0
    assert np.allclose(
        cosine_silhouette(x, labels), silhouette_samples(x, labels, metric="cosine"), atol=1e-5
    )
    assert np.array_equal(cosine_silhouette(x, np.zeros(120)), np.zeros(120))  # one cluster


def test_clusters_carry_their_silhouette_and_centroid_similarity():
    rng = np.random.default_rng(3)
    centers = rng.normal(size=(10, 384))
    tight = cluster_embeddings(_unit(rng, 200, centers), n_init=1)
    noise = cluster_embeddings(_unit(rng, 200), n_init=1)  # no structure at all
    assert tight.silhouette.shape == (tight.n_clusters,) and (tight.silhouette > 0.5).all()
    assert noise.overall_silhouette < 0.1 and tight.overall_silhouette > 0.5
    assert tight.centroid_similarity.shape == (200,)
    for c in range(tight.n_clusters):  # confidence is the mean similarity of the cluster's items
        assert np.isclose(tight.confidence[c], tight.centroid_similarity[tight.labels == c].mean())
