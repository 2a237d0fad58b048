"""Cluster count rule, MiniBatchKMeans on unit vectors, LexRank summaries with the offline tokenizer."""

import numpy as np
import pytest

from kycc.mining.clustering import cluster_embeddings, n_clusters_for
from kycc.mining.summaries import OfflineTokenizer, lexrank_sentences, lexrank_summary, sample_items


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


def test_sample_items_is_reproducible_and_capped():
    keys = [f"h{i:02d}" for i in range(30)]
    first = sample_items(keys, 10, seed=3)
    assert first == sample_items(list(keys), 10, seed=3) and len(first) == 10 and len(set(first)) == 10
    assert sample_items(keys[:4], 10) == [0, 1, 2, 3]
