"""stability: scoring-time stability of the active scorecard and each champion (no labels needed)."""

from kycc.pipelines.stability.pipeline import create_pipeline

__all__ = ["create_pipeline"]
