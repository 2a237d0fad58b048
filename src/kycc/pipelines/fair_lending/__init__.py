"""fair_lending pipeline: the monthly adverse-impact report of the decisions and the override rates per band."""

from kycc.pipelines.fair_lending.pipeline import create_pipeline

__all__ = ["create_pipeline"]
