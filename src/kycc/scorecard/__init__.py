"""Scorecard domain: versioned rule-based scorecards, scoring, PD calibration, refinement from model_1,
comparison checks, the version store with its audit log, and reports. User guide: docs/scorecard.md.

Scoring a batch (the one implementation shared by the pipeline, the CLI, inference and the API)::

    from kycc.scorecard import ScorecardStore, score_applications
    record = ScorecardStore(url).active()
    scores = score_applications(gold_features_frame, record.definition, record.calibration)
"""

from typing import TYPE_CHECKING

from kycc.scorecard.definition import ScorecardDefinition, ScorecardDefinitionError
from kycc.scorecard.governance import ScorecardStoreError
from kycc.scorecard.points import ScoringError, assign_bands, pd_from_score, score_applications

if TYPE_CHECKING:
    from kycc.scorecard.store import ScorecardStore, VersionRecord

__all__ = [
    "ScorecardDefinition",
    "ScorecardDefinitionError",
    "ScorecardStore",
    "ScorecardStoreError",
    "ScoringError",
    "VersionRecord",
    "assign_bands",
    "pd_from_score",
    "score_applications",
]


def __getattr__(name: str):
    """``ScorecardStore`` and ``VersionRecord`` on first use: the store imports SQLAlchemy, which a module that
    only scores (the pipelines, ``kedro registry list``) does not need."""
    if name in ("ScorecardStore", "VersionRecord"):
        from kycc.scorecard import store

        return getattr(store, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
