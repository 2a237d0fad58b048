"""Synthetic data world: a lender's raw exports (LMS, KYC, financials, clickstream, network) with latent risk.

Plain Python (numpy, pyarrow); no Kedro. Entry point: :func:`generate` (CLI: ``kycc generate``).
"""

from kycc.synthetic.config import (
    DEFAULT_CUSTOMERS,
    DEFAULT_END,
    DEFAULT_SEED,
    DEFAULT_START,
    DirtyRates,
    batch_id,
    month_range,
)
from kycc.synthetic.generator import CSV_FILES, MANIFEST_FILE, GenerationSummary, generate

__all__ = [
    "CSV_FILES",
    "DEFAULT_CUSTOMERS",
    "DEFAULT_END",
    "DEFAULT_SEED",
    "DEFAULT_START",
    "MANIFEST_FILE",
    "DirtyRates",
    "GenerationSummary",
    "batch_id",
    "generate",
    "month_range",
]
