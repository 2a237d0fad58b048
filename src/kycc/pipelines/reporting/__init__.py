"""reporting pipeline: monitoring charts and the self-contained HTML dashboard."""

from kycc.pipelines.reporting.pipeline import create_pipeline

__all__ = ["create_pipeline"]
