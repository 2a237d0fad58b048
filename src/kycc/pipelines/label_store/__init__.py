"""label_store: the loan book from raw to gold labels (DPD at MOB)."""

from kycc.pipelines.label_store.pipeline import create_pipeline

__all__ = ["create_pipeline"]
