"""The comparison's fourth check, ``shadow_gini`` (#11.3): pass, fail (activation blocked), no evidence (said so,
and blocking when ``require_shadow_evidence``), the interval rule, the evidence join and the reports."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from kycc.modeling.compare import paired_auc_delong
from kycc.scorecard.comparison import CheckThresholds, ComparisonError, compare_scorecards, failed_checks
from kycc.scorecard.governance import ActivationBlockedError
from kycc.scorecard.report import render_html, render_markdown, render_text
from kycc.scorecard.shadow import shadow_evidence, shadow_gini_check
from tests.scorecard.conftest import with_weights
from tests.scorecard.test_cli import cli  # noqa: F401 - the CLI fixture


def _evidence(new_noise: float, old_noise: float = 40.0, n: int = 1200, seed: int = 0) -> pd.DataFrame:
    """Two matured cohorts: the same loans scored by OLD (deciding) and NEW (shadow) at decision time."""
    rng = np.random.default_rng(seed)
    risk = rng.normal(size=n)
    label = (risk + rng.normal(size=n) > 1.0).astype(int)
    return pd.DataFrame(
        {
            "cohort_month": pd.to_datetime(np.where(np.arange(n) < n // 2, "2024-01-01", "2024-02-01")),
            "loan_id": [f"L{i}" for i in range(n)],
            "label": label,
            "old_score": 600 - 60 * risk + rng.normal(scale=old_noise, size=n),
            "new_score": 600 - 60 * risk + rng.normal(scale=new_noise, size=n),
        }
    )


def _gini(frame: pd.DataFrame, column: str) -> float:
    return 2 * roc_auc_score(frame["label"], -frame[column]) - 1


def test_a_draft_ranking_as_well_passes_with_both_ginis_n_cohorts_and_the_paired_test():
    evidence = _evidence(new_noise=20.0)
    check = shadow_gini_check("v1", "ml_v2", evidence, max_gini_drop=0.02)
    ev = check["evidence"]
    assert check["status"] == "pass" and check["passed"]
    assert ev["old_gini"] == pytest.approx(_gini(evidence, "old_score"))
    assert ev["new_gini"] == pytest.approx(_gini(evidence, "new_score"))
    assert check["value"] == pytest.approx(ev["old_gini"] - ev["new_gini"]) and check["value"] < 0
    assert (
        ev["n"] == 1200
        and ev["defaults"] == evidence["label"].sum()
        and ev["cohorts"] == ["2024-01", "2024-02"]
    )
    paired = paired_auc_delong(evidence["label"], -evidence["new_score"], -evidence["old_score"])
    assert ev["gini_drop_lower"] == pytest.approx(-2 * paired["difference_upper"])
    assert ev["gini_drop_upper"] == pytest.approx(-2 * paired["difference_lower"])
    assert ev["p_value"] == pytest.approx(paired["p_value"])
    assert ev["new_gini_lower"] < ev["new_gini"] < ev["new_gini_upper"]
    assert "2024-01, 2024-02" in check["detail"] and "paired DeLong" in check["detail"]


def test_a_draft_ranking_worse_beyond_the_margin_fails():
    evidence = _evidence(new_noise=120.0)
    check = shadow_gini_check("v1", "ml_v2", evidence, max_gini_drop=0.02)
    assert check["status"] == "fail" and not check["passed"]
    assert check["value"] == pytest.approx(_gini(evidence, "old_score") - _gini(evidence, "new_score"))
    assert check["value"] > 0.02
    # a wider margin lets the same drop pass
    assert shadow_gini_check("v1", "ml_v2", evidence, max_gini_drop=check["value"] + 0.01)["passed"]


def test_the_interval_rule_needs_the_upper_bound_of_the_drop_within_the_margin():
    evidence = _evidence(new_noise=45.0, n=400, seed=2)  # about as good: a small drop, a wide CI
    point = shadow_gini_check("v1", "ml_v2", evidence, max_gini_drop=0.02)
    interval = shadow_gini_check("v1", "ml_v2", evidence, max_gini_drop=0.02, decide_on="interval")
    assert point["value"] <= 0.02 < interval["evidence"]["gini_drop_upper"]
    assert point["passed"] and not interval["passed"] and interval["status"] == "fail"
    with pytest.raises(ValueError, match="gini_decide_on must be one of"):
        shadow_gini_check("v1", "ml_v2", evidence, decide_on="median")


def test_no_matured_shadow_cohort_is_said_not_passed_silently():
    for evidence in (None, _evidence(20.0).iloc[0:0]):
        check = shadow_gini_check("v1", "ml_v2", evidence)
        assert check["status"] == "no evidence" and check["value"] is None
        assert check["passed"]  # does not block by default …
        assert check["detail"].startswith("NO EVIDENCE: no matured cohort of ml_v2 scored in shadow while v1")
        assert "does not block activation" in check["detail"]
        blocking = shadow_gini_check("v1", "ml_v2", evidence, require_evidence=True)  # … unless required
        assert not blocking["passed"] and blocking["status"] == "no evidence"
    full = _evidence(20.0)
    few = pd.concat([full.loc[full["label"] == 0].head(300), full.loc[full["label"] == 1].head(6)])
    assert 0 < few["label"].sum() < 10
    check = shadow_gini_check("v1", "ml_v2", few, min_defaults=10)
    assert check["status"] == "no evidence" and f"only {few['label'].sum()} default(s)" in check["detail"]


def test_the_evidence_is_the_matured_loans_the_draft_scored_while_the_old_version_decided():
    shadow = pd.DataFrame(
        {
            "snapshot_date": pd.to_datetime(["2024-01-01"] * 4 + ["2024-02-01"]),
            "loan_id": ["a", "b", "c", "d", "e"],
            "scorecard_version": ["ml_v2", "ml_v2", "ml_v3", "ml_v2", "ml_v2"],
            "score": [610, 620, 630, 640, 650],
            "deciding_version": ["v1", "v1", "v1", "v0", "v1"],
            "deciding_score": [600, 601, 602, 603, 604],
        }
    )
    labels = pd.DataFrame({"loan_id": ["a", "b", "c", "d", "e"], "label": [1, 0, 1, 0, None]})
    out = shadow_evidence(shadow, labels, "v1", "ml_v2")
    assert out["loan_id"].tolist() == ["a", "b"]  # not ml_v3's, not decided by v0, not the unlabelled e
    assert out["new_score"].tolist() == [610, 620] and out["old_score"].tolist() == [600, 601]
    assert shadow_evidence(None, labels, "v1", "ml_v2").empty


def test_the_fourth_check_blocks_activation_and_shows_in_the_reports(store, small, sample):
    same = small.with_weights(
        with_weights(small, age=0.16), version="ml_v2"
    )  # 0.15 -> 0.16: three checks pass
    store.create_version(same, source="refinement", base_version="v1", reason="test draft")
    reference = sample.loc[sample["application_date"] >= "2024-06-01"]

    # no shadow evidence yet: three checks pass, the fourth says there is none, activation is not blocked by it
    result = compare_scorecards(small, same, reference)
    fourth = {c["check"]: c for c in result["checks"]}["shadow_gini"]
    assert [c["check"] for c in result["checks"]][-1] == "shadow_gini" and len(result["checks"]) == 4
    assert fourth["status"] == "no evidence" and result["passed"]
    text = render_text(result)
    assert "NO EVIDENCE" in text and "shadow_gini: no evidence yet" in text
    assert "NO EVIDENCE" in render_markdown(result) and 'class="none"' in render_html(result)
    blocked = compare_scorecards(small, same, reference, {"require_shadow_evidence": True})
    assert [c["check"] for c in failed_checks(blocked)] == ["shadow_gini"]

    # matured shadow cohorts where the draft ranks worse: the comparison fails on the fourth check only
    worse = compare_scorecards(small, same, reference, shadow=_evidence(new_noise=120.0))
    assert [c["check"] for c in failed_checks(worse)] == ["shadow_gini"] and not worse["passed"]
    store.record_comparison(worse, "Bob Analyst", "shadow review")
    with pytest.raises(ActivationBlockedError) as err:
        store.activate("ml_v2", reviewer="Ann Risk")
    assert [c["check"] for c in err.value.failed] == ["shadow_gini"]
    markdown = render_markdown(worse)
    assert "## Shadow backtest (matured cohorts)" in markdown and "| ml_v2 | shadow |" in markdown
    assert "| v1 | deciding |" in markdown and "2024-01, 2024-02" in markdown

    better = compare_scorecards(small, same, reference, shadow=_evidence(new_noise=20.0))
    store.record_comparison(better, "Bob Analyst", "shadow review")
    assert store.activate("ml_v2", reviewer="Ann Risk").version == "ml_v2"


def test_bad_fourth_check_settings_are_refused():
    with pytest.raises(ComparisonError, match="require_shadow_evidence must be true or false"):
        CheckThresholds.from_params({"require_shadow_evidence": "yes"})
    with pytest.raises(ComparisonError, match="gini_decide_on must be point or interval"):
        CheckThresholds.from_params({"gini_decide_on": "mean"})
    with pytest.raises(ComparisonError, match="min_shadow_defaults must be a whole number"):
        CheckThresholds.from_params({"min_shadow_defaults": 0})
    assert CheckThresholds.from_params({"max_gini_drop": "0.05"}).max_gini_drop == 0.05


def test_kycc_scorecard_compare_reads_the_shadow_table_for_the_fourth_check(cli, store_url, v1_1, tmp_path):  # noqa: F811
    """The CLI takes the evidence from the project's catalog: out_scorecard_shadow ⋈ feat_gold_labels."""
    import ibis
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project

    from tests.scorecard.conftest import PROJECT_ROOT, v1_like_rows
    from tests.scorecard.test_cli import _add_draft

    cli("list")
    _add_draft(store_url, v1_1, "ml_v2", age=0.042)  # a small move: the three checks pass
    reference = tmp_path / "reference.parquet"
    v1_like_rows(v1_1, n=500, seed=2).to_parquet(reference)
    no_shadow = cli("compare", "v1_1", "ml_v2", "--reference-file", str(reference))
    assert no_shadow.exit_code == 0, no_shadow.output
    assert "NO EVIDENCE" in no_shadow.output and "shadow_gini: no evidence yet" in no_shadow.output

    evidence = _evidence(new_noise=120.0)
    shadow = pd.DataFrame(
        {
            "snapshot_date": evidence["cohort_month"],
            "loan_id": evidence["loan_id"],
            "scorecard_version": "ml_v2",
            "score": evidence["new_score"],
            "deciding_version": "v1_1",
            "deciding_score": evidence["old_score"],
        }
    )
    labels = evidence[["loan_id", "label"]].assign(
        snapshot_date=evidence["cohort_month"] + pd.DateOffset(months=6)
    )
    bootstrap_project(PROJECT_ROOT)
    with KedroSession.create(project_path=PROJECT_ROOT) as session:
        catalog = session.load_context().catalog
        catalog.save("out_scorecard_shadow", shadow)
        catalog.save("feat_gold_labels", ibis.memtable(labels))
    compared = cli("compare", "v1_1", "ml_v2", "--reference-file", str(reference))
    assert compared.exit_code == 1, compared.output  # the fourth check fails: the draft ranks worse
    gini_old, gini_new = _gini(evidence, "old_score"), _gini(evidence, "new_score")
    assert f"Gini v1_1 {gini_old:.3f} vs ml_v2 {gini_new:.3f}" in compared.output
    assert "on 1200 matured applications" in compared.output and "of 2024-01, 2024-02" in compared.output
    assert "1 CHECK(S) FAILED: shadow_gini" in compared.output
