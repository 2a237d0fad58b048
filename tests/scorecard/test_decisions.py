"""Decisions a lender can defend: the policy of a version, reason codes, points to approval, the decision log
(append-only, reproduced bit for bit, overrides), the fair-lending age rule, adverse impact and PDO scaling."""

from __future__ import annotations

import copy
import json
import math
import sqlite3

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from kycc.inference.scoring import score_scorecard
from kycc.scorecard.decision import cutoff_average_reference
from kycc.scorecard.decision_log import log_entries, reproduce
from kycc.scorecard.definition import ScorecardDefinition, ScorecardDefinitionError
from kycc.scorecard.fairness import FairLendingError, adverse_impact, age_rule_violations, override_rates
from kycc.scorecard.governance import ScorecardStoreError
from kycc.scorecard.points import score_applications
from kycc.scorecard.scaling import fit_pdo_scaling, implied_odds, pdo_factor_offset
from kycc.scorecard.store import ScorecardStore
from tests.scorecard.conftest import SMALL, v1_like_rows

#: The worked example of docs/scorecard.md (P = 61.65, score 639, band C).
APPLICANT = {
    "kyc_verified": 1.0,
    "age": 30.0,
    "customer_tenure_months": 24.0,
    "credit_mix": "Good",
    "payment_of_min_amount": "Yes",
    "debt_to_income": 0.05,
    "interest_rate": None,
    "num_of_delayed_payment": 10.0,
    "delay_from_due_date": 3.0,
    "num_credit_inquiries": 12.0,
    "credit_utilization_ratio": 30.0,
    "credit_history_age_months": 200.0,
    "click_fe_mean_lookback": 125.0,
    "click_months_observed": 0,
    "net_counterparty_arrears_share": 0.5,
    "net_guarantor_links": 2,
}


def _frame(*rows: dict, date: str = "2024-06-03") -> pd.DataFrame:
    frame = pd.DataFrame(list(rows))
    frame.insert(0, "application_date", pd.Timestamp(date))
    frame.insert(0, "customer_id", [f"C{i}" for i in range(len(rows))])
    frame.insert(0, "loan_id", [f"L{i}" for i in range(len(rows))])
    return frame


def _record(definition: ScorecardDefinition, calibration=None) -> dict:
    return {"version": definition.version, "definition": definition.to_dict(), "calibration": calibration}


# ---------------------------------------------------------------------------------------------------------
# policy and reasons
# ---------------------------------------------------------------------------------------------------------
def test_the_hand_made_applicant_is_referred_by_the_cutoff_with_the_hand_computed_reasons(v1_1):
    out = score_scorecard(_frame(APPLICANT), _record(v1_1)).iloc[0]
    assert (out["score"], out["band"]) == (639, "C")  # as v1: only the over-65 age points changed
    assert out["decision"] == "refer" and out["decided_by"] == "cutoff:refer>=600"
    # weighted points lost against each feature's maximum (weight x (max - points)):
    # inquiries 0.07 x 90 = 6.30; interest rate (missing) 0.09 x 60 = 5.40; min amount 0.07 x 75 = 5.25;
    # delayed payments 0.08 x 45 = 3.60; next would be the arrears share 0.05 x 70 = 3.50
    reasons = json.loads(out["reasons"])
    assert out["reason_codes"] == "F07,F04M,F02,F05"
    assert [r["weighted_points_lost"] for r in reasons] == [6.3, 5.4, 5.25, 3.6]
    assert reasons[1]["text"] == "No information on interest rates of existing credit"
    assert reasons[0] == {
        "code": "F07", "text": "Number of recent credit inquiries", "feature": "num_credit_inquiries",
        "bin": "> 10", "points": 10.0, "reference_points": 100.0, "weighted_points_lost": 6.3,
    }  # fmt: skip
    # band B and approval start at 660: 21 points away
    assert (out["next_band"], out["points_to_next_band"], out["points_to_approval"]) == ("B", 21, 21)
    # single changes reaching 660: inquiries (2, 4] -> P + 0.07 x 70 = 66.55 -> 666; min amount No -> 668;
    # interest rate <= 8 -> 669; delayed payments <= 4 only reaches P 65.25 -> 659 (not enough)
    changes = json.loads(out["approval_changes"])
    assert [(c["feature"], c["to_bin"], c["new_score"]) for c in changes] == [
        ("num_credit_inquiries", "(2, 4]", 666),
        ("payment_of_min_amount", "No", 668),
        ("interest_rate", "<= 8", 669),
    ]


def test_a_policy_rule_decides_unless_the_cutoff_is_more_severe_and_its_reason_comes_first(v1_1):
    # kyc 0: P = 61.65 - 0.05 x 70 = 58.15 -> 620 (refer by the cut-off too: the rule decides);
    # kyc missing and credit mix Bad: P = 61.65 - 0.05 x 80 - 0.11 x 90 = 47.75 -> 563 (decline: the cut-off)
    rows = _frame({**APPLICANT, "kyc_verified": 0}, {**APPLICANT, "kyc_verified": None, "credit_mix": "Bad"})
    out = score_scorecard(rows, _record(v1_1))
    assert out["score"].tolist() == [620, 563]
    assert out["decided_by"].tolist() == ["rule:kyc_not_verified", "cutoff:decline<600"]
    assert out["decision"].tolist() == ["refer", "decline"]
    first = [json.loads(r)[0] for r in out["reasons"]]
    assert [r["code"] for r in first] == ["P01", "P01"] and first[0]["feature"] == "kyc_verified"
    assert [r["bin"] for r in first] == ["0", "(missing)"]
    assert all(len(json.loads(r)) == 4 for r in out["reasons"])  # the rule + the top 3 features


def test_approve_has_no_reasons_and_decline_has_them(v1_1):
    best = {f.name: (max(f.categories, key=f.categories.get) if f.kind == "categorical" else None)
            for f in v1_1.features}  # fmt: skip
    good = dict(APPLICANT) | {k: v for k, v in best.items() if v is not None}
    good |= {"age": 55, "customer_tenure_months": 40, "debt_to_income": 0.01, "interest_rate": 5,
             "num_of_delayed_payment": 0, "num_credit_inquiries": 1, "credit_utilization_ratio": 20,
             "credit_history_age_months": 300, "click_fe_mean_lookback": 140, "click_months_observed": 5,
             "net_counterparty_arrears_share": 0, "net_guarantor_links": 0}  # fmt: skip
    bad = {k: None for k in APPLICANT} | {"kyc_verified": 1}
    out = score_scorecard(_frame(good, bad), _record(v1_1))
    assert out["score"].tolist()[0] > 840 and out["decision"].tolist() == ["approve", "decline"]
    assert out["reasons"].iloc[0] == "[]" and out["reason_codes"].iloc[0] == ""
    assert out["points_to_approval"].iloc[0] == 0 and pd.isna(out["next_band"].iloc[0])
    assert out["decided_by"].iloc[1] == "cutoff:decline<600" and len(json.loads(out["reasons"].iloc[1])) == 4


def test_every_refer_and_decline_carries_a_reason_tied_to_a_scored_feature(v1_1):
    rows = v1_like_rows(v1_1, n=3000, seed=4)
    out = score_scorecard(rows, _record(v1_1))
    assert set(out["decision"]) == {"approve", "refer", "decline"}
    adverse = out.loc[out["decision"] != "approve"]
    assert len(adverse) > 500
    for reasons in adverse["reasons"]:
        parsed = json.loads(reasons)
        # every adverse decision here loses points on at least 4 of v1_1's 16 features: the 4 largest are given
        assert len(parsed) == 4 and all(r["feature"] in v1_1.feature_names for r in parsed)
        assert len({r["feature"] for r in parsed}) == 4  # a feature is named once
        assert all(r["code"] and r["text"] for r in parsed)
        lost = [r["weighted_points_lost"] for r in parsed if "weighted_points_lost" in r]
        assert all(x > 0 for x in lost) and lost == sorted(lost, reverse=True)  # most points lost first
    # the exact points to approval: score + points == the approval cut-off
    refer = out.loc[out["decided_by"].str.startswith("cutoff:")]
    not_ok = refer.loc[refer["decision"] != "approve"]
    assert ((not_ok["score"] + not_ok["points_to_approval"]) == 660).all()


def test_a_version_without_policy_refers_everything_and_says_so(small):
    rows = pd.DataFrame({"loan_id": ["a"], "customer_id": ["c"], "application_date": [pd.Timestamp("2024-01-01")],
                         "interest_rate": [30.0], "num_of_delayed_payment": [1], "credit_mix": ["Good"],
                         "age": [40], "net_degree": [3]})  # fmt: skip
    out = score_scorecard(rows, _record(small)).iloc[0]
    assert (out["decision"], out["decided_by"]) == ("refer", "no_policy")
    assert json.loads(out["reasons"])[0]["feature"] == "interest_rate"  # 0.3 x 90 lost
    assert out["points_to_approval"] is pd.NA or pd.isna(out["points_to_approval"])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda p: p["rules"][0].update(decision="approve"), "a rule never approves"),
        (
            lambda p: p["reasons"]["catalogue"].pop("age"),
            r"catalogue needs exactly one entry per feature: missing \['age'\]",
        ),
        (lambda p: p["cutoffs"].update(approve="Z"), "names band 'Z', which does not exist"),
        (lambda p: p["cutoffs"].update(refer=700), r"refer \(700\) must not exceed approve \(660\)"),
        (
            lambda p: p["rules"][0].update(feature="salary"),
            "feature 'salary' is not a feature of this version",
        ),
        (
            lambda p: p["reasons"]["catalogue"]["age"].update(code="F01"),
            "credit_mix.code 'F01' is already used by feature age",
        ),
    ],
)
def test_policy_errors_name_the_version_and_the_field(params, change, message):
    spec = copy.deepcopy(params["versions"]["v1_1"])
    spec.pop("reason")
    change(spec["policy"])
    with pytest.raises(ScorecardDefinitionError, match=rf"scorecard 'v1_1': policy.*{message}"):
        ScorecardDefinition.from_dict(spec, version="v1_1")


def test_the_policy_is_part_of_the_fingerprint_and_survives_a_weight_change(v1_1):
    spec = v1_1.to_dict()
    spec["policy"]["cutoffs"]["approve"] = 700
    other = ScorecardDefinition.from_dict(spec)
    assert other.fingerprint() != v1_1.fingerprint()
    reweighted = v1_1.with_weights(v1_1.weights, version="ml_v2")
    assert (
        reweighted.policy == v1_1.policy and ScorecardDefinition.from_dict(reweighted.to_dict()) == reweighted
    )


def test_cutoff_average_reference_is_the_mean_points_just_above_the_cutoff(v1_1):
    rows = v1_like_rows(v1_1, n=2000, seed=5)
    scored = score_applications(rows, v1_1, with_points=True)
    ref = cutoff_average_reference(scored, v1_1, width=20)
    near = scored.loc[scored["score"].between(660, 679)]
    assert ref["rows"] == len(near) > 20
    assert ref["points"]["age"] == pytest.approx(near["points_age"].mean(), abs=1e-6)
    spec = v1_1.to_dict()
    spec["policy"]["reasons"]["reference"] = {"name": ref["name"], "points": ref["points"]}
    custom = ScorecardDefinition.from_dict(spec)
    out = score_scorecard(_frame(APPLICANT), _record(custom)).iloc[0]
    lost = {r["feature"]: r for r in json.loads(out["reasons"])}
    first = next(iter(lost.values()))
    assert first["reference_points"] == ref["points"][first["feature"]]
    assert first["weighted_points_lost"] == round(
        v1_1.weights[first["feature"]] * (ref["points"][first["feature"]] - first["points"]), 6
    )


# ---------------------------------------------------------------------------------------------------------
# fair lending
# ---------------------------------------------------------------------------------------------------------
def test_v1_breaks_the_age_rule_and_v1_1_passes(params, v1_1):
    v1 = ScorecardDefinition.from_dict(params["versions"]["v1"], version="v1")
    assert age_rule_violations(v1) == [
        "age bin > 65 (ages >= 62) gets 70 points, fewer than the 90 points of the younger bin (50, 65]"
    ]
    assert age_rule_violations(v1_1) == []
    # a bin holding 60..64 counts on both sides: 64 < 85 is a penalty for 62-64
    spec = v1_1.to_dict()
    spec["features"]["age"] |= {"edges": [25, 59, 64], "points": [30, 85, 64, 100]}
    assert len(age_rule_violations(ScorecardDefinition.from_dict(spec))) == 1


def test_a_version_with_an_age_penalty_is_refused_at_definition_and_at_activation(store_url, params, v1_1):
    with ScorecardStore(store_url) as store:
        with pytest.raises(FairLendingError, match=r"scorecard 'v1' breaks the fair-lending age rule.*> 65"):
            store.sync_config_versions({"v1": params["versions"]["v1"] | {"legacy": False}}, "v1")
        assert store.list_versions() == []  # nothing half-written
        created = store.sync_config_versions(params["versions"], params["initial_version"])
        assert created == ["v1", "v1_1"] and store.active().version == "v1_1"
        history = {(e.action, e.version): e for e in store.history()}
        assert history[("create", "v1_1")].reason.startswith("fair lending: v1 gave applicants over 65")
        assert "never activated" in history[("create", "v1")].reason
        store.record_comparison(
            {"old_version": "v1_1", "new_version": "v1", "passed": True, "checks": [], "reference": None}
        )
        with pytest.raises(ScorecardStoreError, match="v1 cannot become the deciding version: .*age rule"):
            store.activate("v1", "Ann Risk")
        assert store.active().version == "v1_1"
        with pytest.raises(FairLendingError):
            store.create_version(ScorecardDefinition.from_dict(params["versions"]["v1"], version="v1_old"))


def test_legacy_initial_version_is_refused(store_url, params):
    with ScorecardStore(store_url) as store, pytest.raises(ScorecardStoreError, match="legacy version"):
        store.sync_config_versions(params["versions"], "v1")


def _decisions(n_by_group: dict[str, tuple[int, int]], month: str = "2024-06-01") -> pd.DataFrame:
    rows = []
    for group, (n, approved) in n_by_group.items():
        rows += [{"snapshot_date": month, "country": group, "decision": "approve" if i < approved else "decline"}
                 for i in range(n)]  # fmt: skip
    return pd.DataFrame(rows)


def test_adverse_impact_ratio_flag_intervals_and_minimum_group_size():
    frame = _decisions({"X": (200, 120), "Y": (150, 60), "Z": (10, 1)})
    report = adverse_impact(frame, {"country": {"categories": True}}, min_group_size=30).set_index("group")
    assert report.loc["X", "reference_group"] == "X" and report.loc["X", "impact_ratio"] == 1.0
    assert report.loc["Y", "impact_ratio"] == pytest.approx(0.4 / 0.6)
    assert bool(report.loc["Y", "flagged"]) and not bool(report.loc["X", "flagged"])
    assert bool(report.loc["Z", "small_group"]) and not bool(report.loc["Z", "flagged"])  # 0.1/0.6 but n = 10
    wilson = stats.binomtest(60, 150).proportion_ci(confidence_level=0.95, method="wilson")
    assert (report.loc["Y", "rate_low"], report.loc["Y", "rate_high"]) == pytest.approx(
        (wilson.low, wilson.high)
    )
    se = math.sqrt(1 / 60 - 1 / 150 + 1 / 120 - 1 / 200)
    assert report.loc["Y", "ratio_high"] == pytest.approx((0.4 / 0.6) * math.exp(1.959963984540054 * se))
    assert report.loc["Y", "ratio_high"] < 1 and report.loc["Y", "p_value"] < 0.01


def test_adverse_impact_groups_ages_with_right_closed_bins():
    frame = pd.DataFrame({"snapshot_date": ["2024-06-01"] * 4, "age": [30, 61, 62, None],
                          "decision": ["approve"] * 4})  # fmt: skip
    report = adverse_impact(frame, {"age": {"edges": [61]}}, min_group_size=1)
    assert dict(zip(report["group"], report["n"], strict=True)) == {"(missing)": 1, "<= 61": 2, "> 61": 1}


def test_override_rates_per_band_count_low_and_high_side():
    log = pd.DataFrame(
        {
            "application_date": ["2024-06-03", "2024-06-09", "2024-06-10", "2024-06-30"],
            "band": ["C", "C", "A", "C"],
            "override_side": ["low_side", None, "high_side", None],
        }
    )
    rates = override_rates(log).set_index("band")
    assert rates.loc["C", ["decisions", "overrides", "low_side"]].tolist() == [3, 1, 1]
    assert rates.loc["A", "high_side"] == 1 and rates.loc["C", "rate"] == pytest.approx(1 / 3)
    wilson = stats.binomtest(1, 3).proportion_ci(confidence_level=0.95, method="wilson")
    assert (rates.loc["C", "rate_low"], rates.loc["C", "rate_high"]) == pytest.approx(
        (wilson.low, wilson.high)
    )


# ---------------------------------------------------------------------------------------------------------
# the decision log
# ---------------------------------------------------------------------------------------------------------
@pytest.fixture
def logged(store_url, params):
    with ScorecardStore(store_url) as store:
        store.sync_config_versions(params["versions"], params["initial_version"])
        record = store.active()
        rows = v1_like_rows(record.definition, n=300, seed=8)
        calibration = {"method": "prior", "intercept": 3.1, "slope": -0.0115}
        rec = {"version": record.version, "definition": record.definition.to_dict(),
               "calibrations_by_month": {"2024-06-01": calibration}}  # fmt: skip
        decisions = score_scorecard(rows, rec)
        ids = store.log_decisions(
            log_entries(decisions, rows, rec, channel="batch", model_versions={"model_1": 3})
        )
        yield store, ids, decisions, rows


def test_every_decision_is_logged_and_reproduced_bit_for_bit(logged):
    store, ids, decisions, rows = logged
    assert len(ids) == len(decisions) == 300 and ids == list(range(1, 301))
    for decision_id in (ids[0], ids[137], ids[-1]):
        result = reproduce(store, decision_id)
        assert result["identical"], result["differences"]
        row = decisions.iloc[decision_id - 1]
        logged_row = result["logged"]
        assert logged_row["loan_id"] == row["loan_id"] and logged_row["score"] == row["score"]
        assert logged_row["pd"] == repr(float(row["pd"])) and logged_row["model_versions"] == {"model_1": 3}
        assert logged_row["features"]["age"] == rows.iloc[decision_id - 1]["age"] or (
            logged_row["features"]["age"] is None and pd.isna(rows.iloc[decision_id - 1]["age"])
        )
        assert logged_row["scorecard_fingerprint"] == store.get("v1_1").fingerprint


def test_the_decision_log_refuses_update_and_delete_in_the_database(logged):
    store, ids, _, _ = logged
    path = store.url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as con:
        for sql in ("UPDATE scorecard_decisions SET decision = 'approve' WHERE id = 1",
                    "DELETE FROM scorecard_decisions WHERE id = 1"):  # fmt: skip
            with pytest.raises(sqlite3.DatabaseError, match="scorecard_decisions is append-only"):
                con.execute(sql)
    store.record_override(1, "approve" if store.decision(1)["decision"] != "approve" else "decline",
                          "Jane Doe", "documents checked")  # fmt: skip
    with sqlite3.connect(path) as con, pytest.raises(sqlite3.DatabaseError, match="append-only"):
        con.execute("DELETE FROM scorecard_decision_overrides")
    assert reproduce(store, 1)["identical"]  # an override never changes the logged decision


def test_an_override_needs_a_person_and_a_reason_and_records_its_side(logged):
    store, _, decisions, _ = logged
    declined = int(decisions.index[decisions["decision"] == "decline"][0]) + 1
    approved = int(decisions.index[decisions["decision"] == "approve"][0]) + 1
    with pytest.raises(ScorecardStoreError, match="named reviewer"):
        store.record_override(declined, "approve", "", "x")
    with pytest.raises(ScorecardStoreError, match="needs a reason"):
        store.record_override(declined, "approve", "Jane Doe", " ")
    assert store.record_override(declined, "approve", "Jane Doe", "income verified")["side"] == "low_side"
    assert store.record_override(approved, "decline", "Jane Doe", "fraud alert")["side"] == "high_side"
    shown = store.decision(declined)
    assert shown["decision"] == "decline" and shown["overrides"][0]["decision"] == "approve"
    with pytest.raises(ScorecardStoreError, match="No logged decision #9999"):
        store.decision(9999)


def test_kycc_decisions_show_reproduces_and_override(logged, store_url):
    from click.testing import CliRunner

    from kycc.cli.main import main

    runner = CliRunner()
    shown = runner.invoke(main, ["decisions", "--db", store_url, "show", "5"])
    assert shown.exit_code == 0, shown.output
    assert (
        "Decision #5 (batch" in shown.output and "identical (every logged field, bit for bit)" in shown.output
    )
    listed = runner.invoke(main, ["decisions", "--db", store_url, "list", "--limit", "3"])
    assert listed.exit_code == 0 and "300 decision(s) logged" in listed.output
    missing = runner.invoke(main, ["decisions", "--db", store_url, "show", "999"])
    assert missing.exit_code == 1 and "No logged decision #999" in missing.output


# ---------------------------------------------------------------------------------------------------------
# points to double the odds
# ---------------------------------------------------------------------------------------------------------
def _pdo(definition: ScorecardDefinition, **scaling) -> ScorecardDefinition:
    spec = definition.to_dict()
    spec["scaling"] = {"method": "pdo", "pdo": 20, "base_score": 600, "base_odds": 50,
                       "log_odds_intercept": -1.0, "log_odds_per_point": 0.08} | scaling  # fmt: skip
    return ScorecardDefinition.from_dict(spec)


def test_pdo_points_more_double_the_odds(v1_1):
    d = _pdo(v1_1)
    factor, offset = pdo_factor_offset(d.scaling)
    assert factor == pytest.approx(20 / math.log(2)) and offset == pytest.approx(600 - factor * math.log(50))
    assert implied_odds([600], d.scaling)[0] == pytest.approx(50)
    for s in (480, 555, 600, 713):
        assert implied_odds([s + 20], d.scaling)[0] / implied_odds([s], d.scaling)[0] == pytest.approx(2.0)
    # the score itself: weighted points whose log-odds differ by ln 2 score exactly PDO points apart
    P = np.array([40.0, 40.0 + math.log(2) / 0.08, 55.0, 55.0 + 2 * math.log(2) / 0.08])
    rows = pd.DataFrame({"loan_id": list("abcd")})
    from kycc.scorecard.points import scale_score

    scores = scale_score(P, d)
    assert scores[1] - scores[0] in (19, 20, 21) and abs((scores[3] - scores[2]) - 40) <= 1
    raw = offset + factor * (-1.0 + 0.08 * P)
    assert (scores == np.floor(raw + 0.5)).all() and len(rows) == 4


def test_pdo_scaling_fitted_on_labels_keeps_the_odds_anchor_across_versions(v1_1):
    rows = v1_like_rows(v1_1, n=3000, seed=9)
    P = score_applications(rows, v1_1, with_points=True)["weighted_points"].to_numpy()
    rng = np.random.default_rng(1)
    true_log_odds = -2.0 + 0.07 * P  # odds good:bad
    rows["label"] = (rng.random(len(rows)) < 1 / (1 + np.exp(true_log_odds))).astype(int)
    fitted = fit_pdo_scaling(v1_1, rows, pdo=20, base_score=600, base_odds=50)
    assert fitted.scaling["log_odds_per_point"] == pytest.approx(0.07, abs=0.015)
    reweighted = fit_pdo_scaling(v1_1.with_weights(v1_1.weights, version="ml_v2"), rows, pdo=20, base_score=600,
                                 base_odds=50)  # fmt: skip
    # whatever the fit, a score of 620 means odds 100:1 in both versions
    for d in (fitted, reweighted):
        assert implied_odds([620], d.scaling)[0] == pytest.approx(100)
    out = score_scorecard(rows.drop(columns="label"), _record(fitted))
    assert out["score"].between(300, 850).all() and set(out["decision"]) <= {"approve", "refer", "decline"}


def test_pdo_scaling_errors_name_the_field(v1_1):
    with pytest.raises(ScorecardDefinitionError, match=r"scaling.pdo must be > 0"):
        _pdo(v1_1, pdo=0)
    with pytest.raises(ScorecardDefinitionError, match=r"scaling.base_score 900 is outside score_range"):
        _pdo(v1_1, base_score=900)
    assert SMALL  # the small scorecard has no scaling: the linear rescale (the existing tests)


def test_the_training_contract_leaves_protected_columns_out_by_default():
    import yaml

    from kycc.modeling.contract import DataContract, DataContractError, resolve_features
    from tests.scorecard.conftest import PROJECT_ROOT

    conf = yaml.safe_load((PROJECT_ROOT / "conf/base/parameters_training.yml").read_text())["training"]
    contract = DataContract.from_params(conf["data_contract"])
    assert contract.left_out_protected == ["age", "country", "occupation"]
    frame = pd.DataFrame({"loan_id": ["a"], "customer_id": ["c"], "application_date": ["2024-01-01"], "label": [0],
                          "label_date": ["2024-07-01"], "age": [40], "country": ["X"], "occupation": ["Y"],
                          "interest_rate": [9.0]})  # fmt: skip
    assert resolve_features(list(frame.columns), frame.dtypes, contract).features == ["interest_rate"]
    declared = DataContract.from_params({**conf["data_contract"], "features": ["age", "interest_rate"]})
    with pytest.raises(DataContractError, match=r"declares protected column\(s\) \['age'\].*allow_protected"):
        resolve_features(list(frame.columns), frame.dtypes, declared)
    allowed = DataContract.from_params({**conf["data_contract"], "allow_protected": ["age"]})
    assert resolve_features(list(frame.columns), frame.dtypes, allowed).features == ["age", "interest_rate"]
    with pytest.raises(DataContractError, match="allow_protected lists \\['salary'\\]"):
        DataContract.from_params({**conf["data_contract"], "allow_protected": ["salary"]})


def test_the_fairness_section_shows_flags_with_sizes_and_intervals_and_empty_inputs():
    from kycc.reporting.fairness_section import render_fairness_section

    frame = _decisions({"X": (200, 120), "Y": (150, 60), "Z": (10, 1)})
    report = adverse_impact(frame, {"country": {"categories": True}}, min_group_size=30)
    log = pd.DataFrame({"application_date": ["2024-06-03", "2024-06-09"], "band": ["C", "C"],
                        "override_side": ["low_side", None]})  # fmt: skip
    html = render_fairness_section(report, override_rates(log))
    assert html.startswith("<section>") and html.endswith("</section>")
    assert "1 group-month(s) below the 0.8 ratio" in html and "<b>Y</b>: approval 40.0% (n=150)" in html
    wilson = stats.binomtest(60, 150).proportion_ci(confidence_level=0.95, method="wilson")
    assert "small group" in html and f"[{wilson.low:.3f}, {wilson.high:.3f}]" in html  # Y's approval-rate CI
    assert "Override rates per band" in html and "0.500" in html
    empty = render_fairness_section(None, None)
    assert "No adverse-impact report yet" in empty and "No decision logged yet" in empty


def test_the_committee_comparison_shows_the_age_rule_and_approvals_by_age(params, v1_1):
    from kycc.scorecard.comparison import compare_scorecards
    from kycc.scorecard.report import render_html, render_markdown

    v1 = ScorecardDefinition.from_config("v1", params["versions"]["v1"])[0]
    rows = v1_like_rows(v1_1, n=1500, seed=12)
    result = compare_scorecards(v1, v1_1, rows)
    fair = result["fair_lending"]
    assert fair["age_rule"]["v1"] and fair["age_rule"]["v1_1"] == []
    groups = {r["group"]: r for r in fair["approval_by_age"]["v1_1"]}
    assert set(groups) <= {"<= 61", "> 61", "(missing)"} and "> 61" in groups
    decided = score_scorecard(rows, _record(v1_1))
    elderly = pd.to_numeric(rows["age"], errors="coerce") > 61
    assert groups["> 61"]["n"] == int(elderly.sum())
    assert groups["> 61"]["approval_rate"] == pytest.approx(
        (decided.loc[elderly, "decision"] == "approve").mean()
    )
    assert "v1" not in fair["approval_by_age"]  # v1 has no decision policy
    md = render_markdown(result)
    assert (
        "## Fair lending" in md
        and "v1: age rule FAILS — age bin > 65" in md
        and "v1_1: age rule passes" in md
    )
    assert "<h2>Fair lending</h2>" in render_html(result)


def test_a_fair_blend_has_the_least_disparity_within_the_gini_tolerance(v1_1):
    from sklearn.metrics import roc_auc_score

    from kycc.pipelines.scorecard import nodes
    from kycc.scorecard.refinement import choose_fair_blend

    rows = v1_like_rows(v1_1, n=3000, seed=21)
    rng = np.random.default_rng(2)
    P = score_applications(rows, v1_1, with_points=True)["weighted_points"].to_numpy()
    rows["label"] = (rng.random(len(rows)) < 1 / (1 + np.exp(-2.0 + 0.07 * (P - 30)))).astype(int)
    ml = dict.fromkeys(v1_1.feature_names, 0.0) | {"age": 0.5, "credit_mix": 0.5}  # the model leans on age
    groups = {"age": {"edges": [61]}}
    chosen = choose_fair_blend(v1_1, ml, rows, groups, gini_tolerance=0.02, grid=6, min_group_size=30)
    cands = chosen["candidates"]
    assert [c["blend_factor"] for c in cands] == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    base_gini = 2 * roc_auc_score(rows["label"], -score_applications(rows, v1_1)["score"]) - 1
    assert cands[0]["gini"] == pytest.approx(base_gini)
    eligible = [c for c in cands if c["gini"] >= chosen["best_gini"] - 0.02]
    assert [c["eligible"] for c in cands] == [c in eligible for c in cands]
    best = next(c for c in cands if c["blend_factor"] == chosen["blend_factor"])
    assert best in eligible and best["disparity"] == min(c["disparity"] for c in eligible)
    strict = choose_fair_blend(v1_1, ml, rows, groups, gini_tolerance=0.0, grid=6)
    assert strict["blend_factor"] == max(cands, key=lambda c: c["gini"])["blend_factor"]
    # through the pipeline's nodes: the chosen factor is the draft's and is recorded in the provenance
    base = {"version": "v1_1", "definition": v1_1.to_dict(), "calibration": None}
    ml_rows = {"features": [{"feature": f, "ml_weight": w, "base_weight": v1_1.weights[f], "coefficient": 0,
                             "note": ""} for f, w in ml.items()], "model": {}, "outside_share": 0.0}  # fmt: skip
    refinement = {"blend_factor": "fair", "fair_blend": {"gini_tolerance": 0.02, "grid": 6}}
    blend = nodes.choose_blend_factor(base, ml_rows, rows, refinement)
    assert blend["method"] == "fair" and blend["blend_factor"] == chosen["blend_factor"]
    draft = nodes.refine_scorecard(base, ml_rows, refinement, rows, blend)
    assert draft["features"]["age"]["weight"] == pytest.approx(
        (1 - blend["blend_factor"]) * 0.04 + blend["blend_factor"] * 0.5
    )
    proposal = nodes.assemble_proposal(
        base, draft, ml_rows, {"draft": None, "base": None}, {}, refinement, blend
    )
    assert proposal["provenance"]["blend_factor"] == blend["blend_factor"]
    assert proposal["provenance"]["fair_blend"]["candidates"] == cands
