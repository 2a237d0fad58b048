"""actions pipeline: the 3-tier governance decision per model and month."""

from kycc.pipelines.actions.pipeline import create_pipeline

__all__ = ["create_pipeline"]
