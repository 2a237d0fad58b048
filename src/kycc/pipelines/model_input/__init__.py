"""model_input pipeline: the join of the gold label and feature stores that training reads."""

from kycc.pipelines.model_input.pipeline import create_pipeline

__all__ = ["create_pipeline"]
