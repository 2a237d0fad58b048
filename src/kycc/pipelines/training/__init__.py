"""training pipeline: temporal windows, one namespaced template per model, quality gates, MLflow registry."""

from kycc.pipelines.training.pipeline import create_pipeline

__all__ = ["create_pipeline"]
