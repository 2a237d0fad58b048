"""monitoring pipeline: performance, PSI and drift per model and month."""

from kycc.pipelines.monitoring.pipeline import create_pipeline

__all__ = ["create_pipeline"]
