"""recalibration pipeline: the ``recalibrate`` action carried out (new model version, scorecard PD refreshed)."""

from kycc.pipelines.recalibration.pipeline import create_pipeline

__all__ = ["create_pipeline"]
