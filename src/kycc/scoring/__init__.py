"""Scorecard domain: versioned rule-based scorecards, scoring, PD calibration, refinement from model_1,
comparison checks, the version store with its audit log, and reports. User guide: docs/scorecard.md.

Scoring a batch (the one implementation shared by the pipeline, the CLI, inference and the API)::

    from kycc.scoring import ScorecardStore, score_applications
    record = ScorecardStore(url).active()
    scores = score_applications(gold_features_frame, record.definition, record.calibration)
"""

from kycc.scoring.definition import ScorecardDefinition, ScorecardDefinitionError
from kycc.scoring.scoring import ScoringError, assign_bands, predict_pd, score_applications
from kycc.scoring.store import ScorecardStore, ScorecardStoreError, VersionRecord

__all__ = [
    "ScorecardDefinition",
    "ScorecardDefinitionError",
    "ScorecardStore",
    "ScorecardStoreError",
    "ScoringError",
    "VersionRecord",
    "assign_bands",
    "predict_pd",
    "score_applications",
]
