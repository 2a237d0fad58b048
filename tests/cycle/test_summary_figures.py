"""The cycle summary's monitoring figures (issue #13's Done-when figures), computed from the stored tables."""

from __future__ import annotations

import pandas as pd

from kycc.cycle.summary import format_figures, format_summary

MONTHS = pd.to_datetime(["2024-07-01", "2024-08-01", "2024-09-01", "2024-10-01"])


def _stability(verdicts):
    return pd.DataFrame(
        {"snapshot_date": MONTHS, "scorer": "scorecard:v1", "scorer_kind": "scorecard", "family": "status",
         "feature": ["score_psi", "band_ssi", "score_psi", "score_psi"], "value": [0.02, 0.11, 0.139, 0.2],
         "verdict": verdicts}
    )  # fmt: skip


ESTIMATED = pd.DataFrame(
    {"scorer": ["model_1", "model_1", "scorecard:v1"], "status": "realized",
     "roc_auc_error": [0.02, -0.04, 0.01], "default_rate_error": [0.01, 0.03, -0.02],
     "realized_roc_auc_lower": [0.70, 0.72, 0.71], "realized_roc_auc_upper": [0.80, 0.82, 0.81]}
)  # fmt: skip
EARLY = {"label_def": "30dpd_6mob", "projection_check": {
    "mob_2": {"cohorts": 18, "mae_pp": 2.41, "bias_pp": 0.63, "realized_noise_sd_pp": 1.96},
    "mob_3": {"cohorts": 19, "mae_pp": 2.77, "bias_pp": 0.33, "realized_noise_sd_pp": 1.96}}}  # fmt: skip


def test_the_drift_month_and_the_earlier_flags_are_named():
    manifest = {"drift": {"enabled": True, "start_month": "2024-09-01"}}
    text = format_figures(manifest, _stability(["stable", "moderate", "moderate", "major"]), ESTIMATED, EARLY)
    assert "drift planted from 2024-09 (generation manifest)" in text
    assert "scorecard:v1: 3 of 4 checked month(s) flagged: 2024-08 moderate (band_ssi 0.110)" in text
    assert "in the drift month 2024-09: moderate (score_psi 0.139); flagged before it: 1" in text
    # MAE per scorer over its matured months, with the bias and the mean DeLong SE ((upper - lower) / 3.92)
    assert "model_1: MAE 0.030 over 2 month(s) (bias -0.010, SE 0.026); default rate MAE 2.0 pp" in text
    assert "scorecard:v1: MAE 0.010 over 1 month(s)" in text
    assert "from MOB-3: MAE 2.77 pp over 19 cohort(s) (bias +0.33 pp" in text


def test_a_world_without_drift_or_without_manifest_says_so():
    text = format_figures({"drift": {"enabled": False}}, _stability(["stable"] * 4), None, None)
    assert (
        "a world generated without drift (--no-drift)" in text
        and "0 of 4 checked month(s) flagged: none" in text
    )
    assert "no matured cohort yet" in text and "no projection checked" in text
    assert "no generation manifest (not a generated world)" in format_figures(None, _stability(["stable"] * 4),
                                                                              None, None)  # fmt: skip


def test_the_table_shows_the_scorecard_backtest_of_every_month():
    record = {"month": "2023-09-01", "training": {"status": "skipped", "reason": "history 2/17 window months"},
              "inference": {"status": "ran", "scorecard": {"scorecard_version": "v1", "applications": 285}},
              "scorecard_monitoring": {"status": "ran", "backtest": {"v1": {
                  "roc_auc": 0.7481, "observed_default_rate": 0.189, "predicted_pd": 0.151}}}}  # fmt: skip
    line = format_summary([record], ["model_1"]).splitlines()[2]
    assert "v1 AUC .748 DR 19%/PD 15%" in line and "no model" in line
