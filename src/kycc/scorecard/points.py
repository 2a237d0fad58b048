"""Scoring: a batch of applications (gold feature rows) → score and band (and PD when calibrated).

The one implementation used by the scorecard pipeline, the comparison, the CLI and (later) inference and the
HTTP API. For a definition with features ``f`` (weights ``w_f`` summing to 1, points ``p_f(x)`` in 0..100) and
score range ``[min, max]``::

    weighted points  P     = sum_f  w_f * p_f(x_f)                  (0..100)
    score                  = floor(min + (max - min) * P / 100 + 0.5)   (an integer; halves round up)
    band                   = the first band, from best to worst, whose lowest score <= score
    probability of default = 1 / (1 + exp(-(intercept + slope * score)))   (with a calibration)

Example (``score_range`` 300..850, two features with weights 0.6 and 0.4 giving 80 and 50 points):
``P = 0.6·80 + 0.4·50 = 68``; ``score = floor(300 + 550·0.68 + 0.5) = 674``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from kycc.scorecard.definition import POINTS_MAX, ScorecardDefinition

logger = logging.getLogger(__name__)

__all__ = [
    "ID_COLUMNS",
    "ScoringError",
    "assign_bands",
    "pd_from_score",
    "score_applications",
    "weighted_points",
]

#: Columns copied from the input to the scores when present.
ID_COLUMNS = ("loan_id", "customer_id", "application_date", "snapshot_date")


class ScoringError(ValueError):
    """The data cannot be scored with this scorecard (the message names what is missing)."""


def _definition(scorecard: ScorecardDefinition | Mapping[str, Any]) -> ScorecardDefinition:
    if isinstance(scorecard, ScorecardDefinition):
        return scorecard
    return ScorecardDefinition.from_dict(scorecard)


def feature_points(features: pd.DataFrame, scorecard: ScorecardDefinition) -> pd.DataFrame:
    """Points (0..100) of every scorecard feature for every row (columns = feature names)."""
    if not isinstance(features, pd.DataFrame):
        raise ScoringError(f"features must be a pandas DataFrame, got {type(features).__name__}")
    missing = [f for f in scorecard.feature_names if f not in features.columns]
    if missing:
        raise ScoringError(
            f"Cannot score with scorecard {scorecard.version!r}: the data lacks feature column(s) {missing}. "
            f"The scorecard reads gold feature columns (docs/feature_dictionary.md)."
        )
    return pd.DataFrame(
        {f.name: f.points_for(features[f.name]) for f in scorecard.features}, index=features.index
    )


def weighted_points(points: pd.DataFrame, scorecard: ScorecardDefinition) -> np.ndarray:
    """``P = sum_f w_f * p_f`` (0..100) per row."""
    weights = np.asarray([f.weight for f in scorecard.features], dtype="float64")
    return points[scorecard.feature_names].to_numpy(dtype="float64") @ weights


def scale_score(weighted: np.ndarray, scorecard: ScorecardDefinition) -> np.ndarray:
    """Integer score from weighted points (see the module docstring; a PDO version: :mod:`kycc.scorecard.scaling`)."""
    if scorecard.scaling is not None:
        from kycc.scorecard.scaling import pdo_score

        return pdo_score(weighted, scorecard.scaling, scorecard.score_min, scorecard.score_max)
    raw = scorecard.score_min + (scorecard.score_max - scorecard.score_min) * weighted / POINTS_MAX
    # round away the float noise of the weighted sum first, so that an exact .5 rounds up as documented
    return np.floor(np.round(raw, 9) + 0.5).astype("int64")


def assign_bands(scores: Sequence[float] | np.ndarray, scorecard: ScorecardDefinition) -> np.ndarray:
    """Band of each score (bands from best to worst; the first whose lowest score <= score)."""
    s = np.asarray(scores, dtype="float64")
    out = np.full(s.shape, scorecard.bands[-1].name, dtype=object)
    # walk from worst to best so that the best matching band wins
    for band in reversed(scorecard.bands):
        out[s >= band.min_score] = band.name
    return out


def pd_from_score(scores: Sequence[float] | np.ndarray, calibration: Mapping[str, Any]) -> np.ndarray:
    """Probability of default from a logistic calibration ``{"intercept", "slope"}`` of the score."""
    s = np.asarray(scores, dtype="float64")
    z = float(calibration["intercept"]) + float(calibration["slope"]) * s
    return 1.0 / (1.0 + np.exp(-z))


def score_applications(
    features: pd.DataFrame,
    scorecard: ScorecardDefinition | Mapping[str, Any],
    calibration: Mapping[str, Any] | None = None,
    *,
    with_points: bool = False,
    id_columns: Sequence[str] = ID_COLUMNS,
) -> pd.DataFrame:
    """Score every row of ``features`` (gold feature columns) with ``scorecard``.

    Args:
        features: One row per application; must hold every scorecard feature column (values may be missing).
        scorecard: A :class:`ScorecardDefinition` or its dict.
        calibration: The version's score → PD calibration (adds a ``pd`` column), or None.
        with_points: Also return ``points_<feature>`` (0..100) and ``weighted_points`` (reason codes).
        id_columns: Columns copied from ``features`` when present.

    Returns:
        ``id columns…, scorecard_version, score, band[, pd][, weighted_points, points_<feature>…]`` in the
        order of ``features``.
    """
    definition = _definition(scorecard)
    points = feature_points(features, definition)
    weighted = weighted_points(points, definition)
    scores = scale_score(weighted, definition)
    out = features[[c for c in id_columns if c in features.columns]].copy()
    out["scorecard_version"] = definition.version
    out["score"] = scores
    out["band"] = assign_bands(scores, definition)
    if calibration:
        out["pd"] = pd_from_score(scores, calibration)
    if with_points:
        out["weighted_points"] = weighted
        for name in definition.feature_names:
            out[f"points_{name}"] = points[name].to_numpy()
    return out


def band_shares(bands: Sequence[str] | pd.Series, band_names: Sequence[str]) -> dict[str, float]:
    """Share of rows per band (every band listed, 0 when empty)."""
    series = pd.Series(list(bands), dtype="object")
    n = len(series)
    counts = series.value_counts()
    return {b: (float(counts.get(b, 0)) / n if n else 0.0) for b in band_names}
