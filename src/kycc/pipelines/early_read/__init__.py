"""early_read: vintage curves, roll rates and the projected MOB-6 default rate from the silver loan tape."""

from kycc.pipelines.early_read.pipeline import create_pipeline

__all__ = ["create_pipeline"]
