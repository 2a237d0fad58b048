"""scorecard pipeline: refine the active scorecard from model_1 into a draft version, compare it, report."""

from kycc.pipelines.scorecard.pipeline import create_pipeline

__all__ = ["create_pipeline"]
