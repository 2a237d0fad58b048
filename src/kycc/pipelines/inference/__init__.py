"""inference pipeline: score a month with the active scorecard and the champion models."""

from kycc.pipelines.inference.pipeline import create_pipeline

__all__ = ["create_pipeline"]
