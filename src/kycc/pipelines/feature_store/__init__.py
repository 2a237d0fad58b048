"""feature_store: party data from raw to the gold point-in-time feature table."""

from kycc.pipelines.feature_store.pipeline import create_pipeline

__all__ = ["create_pipeline"]
