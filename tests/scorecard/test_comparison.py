"""Comparing two versions: weights, score correlation, band distribution, the three checks, the reports."""

from __future__ import annotations

import pandas as pd
import pytest

from kycc.scorecard.comparison import ComparisonError, compare_scorecards, failed_checks
from kycc.scorecard.report import render_html, render_markdown, render_text
from tests.scorecard.conftest import with_weights


def _checks(result):
    return {c["check"]: c for c in result["checks"]}


def test_a_version_compared_with_itself_passes_every_check(small, sample):
    result = compare_scorecards(small, small.renamed("v1_copy"), sample, reference_label="2024-01..2024-06")
    checks = _checks(result)
    assert result["passed"] and not failed_checks(result)
    assert checks["weight_change"]["value"] == 0
    assert checks["score_correlation"]["value"] == pytest.approx(1.0)
    assert checks["band_shift"]["value"] == 0
    assert result["reference"] == {"label": "2024-01..2024-06", "rows": len(sample)}
    assert sum(sum(r) for r in result["migration"]["counts"]) == len(sample)


def test_moving_one_weight_by_60_percent_fails_the_weight_check_and_names_the_feature(small, sample):
    # age 0.15 -> 0.24 (+60 %); the 0.09 is taken from net_degree (0.10 -> 0.01, −90 %): two features exceed
    moved = small.with_weights(with_weights(small, age=0.24), version="v2")
    checks = _checks(compare_scorecards(small, moved, sample))
    weight = checks["weight_change"]
    assert not weight["passed"]
    assert weight["value"] == pytest.approx(90.0)
    assert "age, net_degree" in weight["detail"]

    # only age moves by 60 %: the difference spread over the other features (each < 50 %)
    weights = dict(small.weights)
    weights["age"] = 0.24
    for name in ("interest_rate", "num_of_delayed_payment", "credit_mix", "net_degree"):
        weights[name] -= 0.09 / 4
    sixty = small.with_weights(weights, version="v3")
    result = compare_scorecards(small, sixty, sample)
    rows = {r["feature"]: r for r in result["weights"]}
    assert rows["age"]["change_pct"] == pytest.approx(60.0) and rows["age"]["exceeds"]
    assert [r["feature"] for r in result["weights"] if r["exceeds"]] == ["age"]
    assert [c["check"] for c in failed_checks(result)] == ["weight_change"]
    assert not result["passed"]


def test_a_change_of_exactly_50_percent_fails_and_just_under_passes(small, sample):
    half = small.with_weights(
        with_weights(small, age=0.075, interest_rate=0.375), version="v2"
    )  # −50 %, +25 %
    weight = _checks(compare_scorecards(small, half, sample))["weight_change"]
    assert weight["value"] == 50.0 and not weight["passed"]
    under = small.with_weights(with_weights(small, age=0.0751, interest_rate=0.3749), version="v3")
    weight = _checks(compare_scorecards(small, under, sample))["weight_change"]
    assert weight["value"] == pytest.approx(49.933333) and weight["passed"]


def test_band_shift_is_the_largest_change_of_a_band_share_in_percentage_points(small, sample):
    # the same weights with every band threshold 40 points higher: many applications move down a band
    data = small.to_dict()
    data["bands"] = {"A": 760, "B": 700, "C": 640, "D": 580, "E": 300}
    from kycc.scorecard.definition import ScorecardDefinition

    stricter = ScorecardDefinition.from_dict(data, version="v2")
    result = compare_scorecards(small, stricter, sample)
    shares = {b["band"]: b for b in result["bands"]}
    largest = max(abs(b["new_share"] - b["old_share"]) for b in shares.values()) * 100
    assert _checks(result)["band_shift"]["value"] == pytest.approx(largest)
    assert not _checks(result)["band_shift"]["passed"]  # > 10 pp with these data
    assert _checks(result)["score_correlation"]["value"] == pytest.approx(1.0)  # same scores
    tv = sum(abs(b["new_share"] - b["old_share"]) for b in shares.values()) / 2 * 100
    assert result["band_shift"]["total_variation_pp"] == pytest.approx(tv)


def test_low_score_correlation_fails(small, sample):
    # all weight on one weak feature vs the original card
    weights = dict.fromkeys(small.feature_names, 0.0)
    weights["net_degree"] = 1.0
    other = small.with_weights(weights, version="v2")
    result = compare_scorecards(small, other, sample)
    assert not _checks(result)["score_correlation"]["passed"]
    assert _checks(result)["score_correlation"]["value"] < 0.8


def test_an_empty_reference_batch_is_an_error(small):
    with pytest.raises(ComparisonError, match="reference batch is empty"):
        compare_scorecards(small, small, pd.DataFrame())


def test_reports_show_the_decision_the_checks_and_every_feature(small, sample):
    moved = small.with_weights(with_weights(small, age=0.24), version="ml_v2")
    result = {**compare_scorecards(small, moved, sample, reference_label="2024-06"), "id": 7}
    text = render_text(result)
    assert "1 CHECK(S) FAILED: weight_change" in text and "comparison #7" in text
    markdown = render_markdown(result)
    html = render_html(result)
    for report in (text, markdown, html):
        for feature in small.feature_names:
            assert feature in report
        assert "FAIL" in report and "PASS" in report and "2024-06" in report
    assert markdown.startswith("# Scorecard comparison v1 → ml_v2")
    assert "--override-reason" in markdown and "| age | kyc | 0.1500 | 0.2400 | +60.0 % | ! |" in markdown
    assert html.startswith("<!DOCTYPE html>") and "<script" not in html
