"""Every endpoint of the HTTP API through FastAPI's test client, on a real trained project state.

Success, 401 (missing/wrong key), 404 (unknown pipeline, model, version, run) and 422 (the field named) for each
endpoint; an activation through the API lands in the scorecard audit log; one applicant scored through the API
gets exactly the score, band and probability the batch inference pipeline wrote for it.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pandas as pd
import pytest

from kycc.scorecard.config import load_scorecard_config, open_store
from tests.api.conftest import Served
from tests.kedro_run import PROJECT_ROOT, gold, read_table

pytestmark = pytest.mark.slow

WRONG = {"X-API-Key": "not-the-key-at-all-000"}


def _json_value(value):
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, np.generic):
        return _json_value(value.item())
    return value


def _scored_applicant(root, month: str = "2025-06"):
    """A loan the batch pipeline scored in ``month``: its decision, model_1 prediction and gold feature row."""
    decisions = read_table(root / "07_model_output" / "scorecard_decisions")
    predictions = read_table(root / "07_model_output" / "predictions" / "model_1")
    predictions = predictions[pd.to_datetime(predictions["snapshot_date"]).dt.strftime("%Y-%m") == month]
    assert len(predictions) > 10, f"the cycle scored too few loans in {month}"
    row = predictions.iloc[len(predictions) // 2]
    decision = decisions.loc[decisions["loan_id"] == row["loan_id"]].iloc[0]
    features = gold(root, "gold_features")
    feature_row = features.loc[features["loan_id"] == row["loan_id"]].iloc[0]
    payload = {
        name: _json_value(value)
        for name, value in feature_row.items()
        if name not in ("loan_id", "customer_id", "application_date") and not name.endswith("_as_of")
    }
    return row, decision, feature_row, payload


# ---------------------------------------------------------------------------------------------------------
# service
# ---------------------------------------------------------------------------------------------------------
def test_health_and_openapi_docs(served: Served):
    health = served.client.get("/api/health").json()
    assert health == {"status": "ok", "project": str(PROJECT_ROOT), "env": "test", "api_key_configured": True}
    spec = served.client.get("/openapi.json").json()
    for path in (
        "/api/pipeline/trigger/{pipeline}",
        "/api/pipeline/models/{model_id}",
        "/api/scoring/versions",
        "/api/scoring/versions/{version}",
        "/api/scoring/versions/{version}/activate",
        "/api/scoring/score",
    ):
        assert path in spec["paths"], path
    assert "APIKeyHeader" in spec["components"]["securitySchemes"]
    docs = served.client.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()


# ---------------------------------------------------------------------------------------------------------
# models
# ---------------------------------------------------------------------------------------------------------
def test_models_list_and_champion(served: Served):
    models = {m["model"]: m for m in served.client.get("/api/pipeline/models").json()}
    assert set(models) == {"model_1", "model_2"}
    assert models["model_1"]["champion_version"] is not None

    info = served.client.get("/api/pipeline/models/model_1").json()
    assert info["registered_model_name"] == "kycc_model_1"
    assert info["is_champion"] and "champion" in info["aliases"]
    assert info["version"] == models["model_1"]["champion_version"]
    assert {"train", "validation", "oot"} <= set(info["windows"])
    assert 0.5 < info["metrics"]["oot"]["roc_auc"] <= 1.0
    assert 0.0 < info["threshold"] < 1.0
    assert info["features"], "the model lists its input features"
    assert [v["version"] for v in info["versions"]] == sorted(
        (v["version"] for v in info["versions"]), reverse=True
    )
    by_registry_name = served.client.get("/api/pipeline/models/kycc_model_1").json()
    assert by_registry_name["version"] == info["version"]


def test_model_version_by_number_and_404(served: Served):
    info = served.client.get("/api/pipeline/models/model_1").json()
    first = min(v["version"] for v in info["versions"])
    older = served.client.get("/api/pipeline/models/model_1", params={"version": first}).json()
    assert older["version"] == first
    assert older["is_champion"] == (first == info["champion_version"])

    assert served.client.get("/api/pipeline/models/model_9").status_code == 404
    missing = served.client.get("/api/pipeline/models/model_1", params={"version": 999})
    assert missing.status_code == 404 and "999" in missing.json()["detail"]
    bad = served.client.get("/api/pipeline/models/model_1", params={"version": "latest"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "version"]


# ---------------------------------------------------------------------------------------------------------
# scorecard versions
# ---------------------------------------------------------------------------------------------------------
def test_scorecard_versions_list_and_show(served: Served):
    listed = served.client.get("/api/scoring/versions").json()
    names = [v["version"] for v in listed["versions"]]
    assert listed["active"] in names and "v1" in names
    assert sum(v["status"] == "active" for v in listed["versions"]) == 1

    shown = served.client.get(f"/api/scoring/versions/{listed['active']}").json()
    assert shown["version"] == listed["active"] and shown["status"] == "active"
    assert shown["definition"]["features"] and shown["definition"]["bands"]
    assert any(e["action"] == "create" for e in shown["history"])
    assert served.client.get("/api/scoring/versions/v404").status_code == 404


def test_activation_rules_audit_and_errors(served: Served):
    active = served.client.get("/api/scoring/versions").json()["active"]
    # an expert revision of the active version, stored as the CLI or a refinement would (a draft)
    with open_store(load_scorecard_config("test", PROJECT_ROOT)) as store:
        candidate = f"{active}_api"
        if not store.exists(candidate):
            store.create_version(
                store.get(active).definition.renamed(candidate), base_version=active, created_by="analyst"
            )
    assert candidate in [v["version"] for v in served.client.get("/api/scoring/versions").json()["versions"]]
    url = f"/api/scoring/versions/{candidate}/activate"
    body = {"reviewer": "Jane Doe, Head of Credit Risk", "reason": "API test"}

    assert served.client.post(url, json=body).status_code == 401
    assert served.client.post(url, json=body, headers=WRONG).status_code == 401
    no_reviewer = served.client.post(url, json={"reason": "x"}, headers=served.auth)
    assert no_reviewer.status_code == 422 and no_reviewer.json()["detail"][0]["loc"] == ["body", "reviewer"]
    blank = served.client.post(url, json={"reviewer": "  "}, headers=served.auth)
    assert blank.status_code == 422 and blank.json()["detail"][0]["loc"][-1] == "reviewer"
    unknown = served.client.post("/api/scoring/versions/v404/activate", json=body, headers=served.auth)
    assert unknown.status_code == 404

    try:
        # never compared with the active version: refused (as the CLI refuses), unless a written override reason
        blocked = served.client.post(url, json=body, headers=served.auth)
        assert blocked.status_code == 409, blocked.text
        assert blocked.json()["detail"]["active"] == active
        assert blocked.json()["detail"]["failed_checks"][0]["check"] == "comparison"
        overridden = {**body, "override_reason": "API test: accepted without a comparison"}
        response = served.client.post(url, json=overridden, headers=served.auth)
        assert response.status_code == 200, response.text
        result = response.json()
        assert result["version"] == candidate and result["previous_version"] == active
        assert result["reviewer"] == "Jane Doe, Head of Credit Risk" and result["override"] is True

        # the same audit log and state the CLI sees
        with open_store(load_scorecard_config("test", PROJECT_ROOT)) as store:
            assert store.active().version == candidate
            entry = store.history(candidate)[-1]
        assert entry.action == "activate" and entry.actor == "Jane Doe, Head of Credit Risk"
        assert entry.details["previous_version"] == active and entry.details["override"] is True
        assert "API test: accepted without a comparison" in entry.reason
        again = served.client.post(url, json=body, headers=served.auth)
        assert again.status_code == 409 and "already" in again.json()["detail"]

    finally:  # put the original version back (the other tests score with it)
        with open_store(load_scorecard_config("test", PROJECT_ROOT)) as store:
            if store.active().version != active:
                store.activate(active, "Jane Doe", override_reason="restore after the API test")


# ---------------------------------------------------------------------------------------------------------
# scoring one applicant
# ---------------------------------------------------------------------------------------------------------
def test_score_matches_the_batch_pipeline(served: Served):
    row, decision, feature_row, payload = _scored_applicant(served.root)
    response = served.client.post(
        "/api/scoring/score",
        json={
            "application_date": pd.Timestamp(feature_row["application_date"]).date().isoformat(),
            "loan_id": str(row["loan_id"]),
            "customer_id": str(row["customer_id"]),
            "features": payload,
        },
        headers=served.auth,
    )
    assert response.status_code == 200, response.text
    scored = response.json()
    assert scored["decision"]["scorecard_version"] == decision["scorecard_version"]
    assert scored["decision"]["score"] == pytest.approx(float(decision["score"]), abs=1e-9)
    assert scored["decision"]["band"] == decision["band"]
    advice = {a["model"]: a for a in scored["advice"]}
    assert advice["model_1"]["model_version"] == int(row["model_version"])
    assert advice["model_1"]["probability"] == pytest.approx(float(row["probability"]), rel=1e-9, abs=1e-12)
    assert advice["model_1"]["prediction"] == int(row["prediction"])
    assert scored["batch_id"] == "BATCH_2025_06"


def test_every_batch_refer_and_decline_of_the_cycle_carries_a_reason_of_a_scored_feature(served: Served):
    import json

    decisions = read_table(served.root / "07_model_output" / "scorecard_decisions")
    with open_store(load_scorecard_config("test", PROJECT_ROOT)) as store:
        features = {
            v: set(store.get(v).definition.feature_names) for v in decisions["scorecard_version"].unique()
        }
        logged = len(store.decisions_frame())
    assert decisions["decision"].notna().all() and decisions["decided_by"].notna().all()
    adverse = decisions.loc[decisions["decision"] != "approve"]
    assert len(adverse) > 100 and set(adverse["decision"]) == {"refer", "decline"}
    for version, reasons in zip(adverse["scorecard_version"], adverse["reasons"], strict=True):
        parsed = json.loads(reasons)
        # on the cycle world every adverse decision loses points on at least 4 scored features: the 4 largest
        assert len(parsed) == 4 and all(r["feature"] in features[version] for r in parsed)
        assert len({r["feature"] for r in parsed}) == 4  # a feature is named once
        assert all(r["code"] and r["text"] for r in parsed)
        lost = [r["weighted_points_lost"] for r in parsed if "weighted_points_lost" in r]
        assert all(x > 0 for x in lost) and lost == sorted(lost, reverse=True)  # most points lost first
    assert logged >= len(decisions)  # every batch decision is in the decision log (API ones too)


def test_score_gives_the_batch_decision_and_reasons_logs_it_and_reproduces_it(served: Served):
    """Same applicant, same reasons in batch and API; the API decision is logged, reproduced, overridable."""
    import json

    row, decision, feature_row, payload = _scored_applicant(served.root)
    body = {
        "application_date": pd.Timestamp(feature_row["application_date"]).date().isoformat(),
        "loan_id": str(row["loan_id"]),
        "customer_id": str(row["customer_id"]),
        "features": payload,
    }
    scored = served.client.post("/api/scoring/score", json=body, headers=served.auth).json()["decision"]
    assert scored["decision"] == decision["decision"] and scored["decided_by"] == decision["decided_by"]
    assert scored["reasons"] == json.loads(decision["reasons"])
    assert scored["reason_codes"] == [c for c in decision["reason_codes"].split(",") if c]
    assert scored["approval_changes"] == json.loads(decision["approval_changes"])
    assert scored["next_band"] == (decision["next_band"] if isinstance(decision["next_band"], str) else None)
    assert scored["points_to_approval"] == int(decision["points_to_approval"])
    if scored["decision"] != "approve":
        assert scored["reasons"] and all(r["feature"] in payload for r in scored["reasons"])

    shown = served.client.get(f"/api/scoring/decisions/{scored['decision_id']}").json()
    assert shown["identical"] is True and shown["differences"] == {}
    assert shown["logged"]["channel"] == "api" and shown["logged"]["loan_id"] == str(row["loan_id"])
    assert shown["reproduced"]["reasons"] == scored["reasons"]
    assert served.client.get("/api/scoring/decisions/999999").status_code == 404

    target = "approve" if scored["decision"] != "approve" else "decline"
    url = f"/api/scoring/decisions/{scored['decision_id']}/override"
    override = {"decision": target, "reviewer": "Jane Doe, Credit Officer", "reason": "API test"}
    assert served.client.post(url, json=override).status_code == 401
    done = served.client.post(url, json=override, headers=served.auth)
    assert done.status_code == 200, done.text
    assert done.json()["side"] == ("low_side" if target == "approve" else "high_side")
    again = served.client.get(f"/api/scoring/decisions/{scored['decision_id']}").json()
    assert again["identical"] and again["logged"]["decision"] == scored["decision"]  # the log never changes
    assert again["logged"]["overrides"][0]["decision"] == target


def test_score_errors_name_the_field(served: Served):
    _row, _decision, feature_row, payload = _scored_applicant(served.root)
    date = pd.Timestamp(feature_row["application_date"]).date().isoformat()
    good = {"application_date": date, "features": payload}
    assert served.client.post("/api/scoring/score", json=good).status_code == 401
    assert served.client.post("/api/scoring/score", json=good, headers=WRONG).status_code == 401

    name = next(k for k, v in payload.items() if isinstance(v, float))
    missing = {k: v for k, v in payload.items() if k != name}
    r = served.client.post("/api/scoring/score", json={**good, "features": missing}, headers=served.auth)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "features", name]
    assert "missing" in r.json()["detail"][0]["msg"]

    r = served.client.post(
        "/api/scoring/score", json={**good, "features": {**payload, name: "high"}}, headers=served.auth
    )
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "features", name]

    r = served.client.post(
        "/api/scoring/score", json={**good, "application_date": "2025-13-40"}, headers=served.auth
    )
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "application_date"]
    r = served.client.post("/api/scoring/score", json={**good, "colour": "red"}, headers=served.auth)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "colour"]
    r = served.client.post("/api/scoring/score", json={**good, "models": ["model_9"]}, headers=served.auth)
    assert r.status_code == 404 and "model_9" in r.json()["detail"]


def test_score_refuses_values_silver_rejects(served: Served):
    """An impossible value is not scored (it used to get band A): 422 naming the feature and the silver rule."""
    import json

    _row, _decision, feature_row, payload = _scored_applicant(served.root)
    date = pd.Timestamp(feature_row["application_date"]).date().isoformat()
    for name, value, rule in (
        ("debt_to_income", -50, "outstanding_debt / annual_income"),
        ("age", 8000, "feature_store.valid_ranges.Age"),
        ("annual_income", -1.0, "feature_store.valid_ranges.Annual_Income"),
    ):
        assert name in payload, name
        body = {"application_date": date, "features": {**payload, name: value}}
        r = served.client.post("/api/scoring/score", json=body, headers=served.auth)
        assert r.status_code == 422, (name, r.text)
        detail = r.json()["detail"]
        assert [d["loc"] for d in detail] == [["body", "features", name]]
        assert "outside the valid range" in detail[0]["msg"] and rule in detail[0]["msg"]
    # JSON's NaN / Infinity (accepted by Python's parser) are not numbers to score either
    raw = json.dumps({"application_date": date, "features": {**payload, "debt_to_income": float("inf")}})
    r = served.client.post(
        "/api/scoring/score", content=raw, headers={**served.auth, "Content-Type": "application/json"}
    )
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "features", "debt_to_income"]
    assert "finite" in r.json()["detail"][0]["msg"]


def test_score_inside_a_training_window_is_refused_by_the_batch_lag_rule(served: Served):
    info = served.client.get("/api/pipeline/models/model_1").json()
    train_month = info["windows"]["train"]["start"]
    _row, _decision, _feature_row, payload = _scored_applicant(served.root)
    r = served.client.post(
        "/api/scoring/score",
        json={"application_date": str(train_month)[:10], "features": payload, "models": ["model_1"]},
        headers=served.auth,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["advice"] == []  # the scorecard still decides; the model may not advise on its own window
    assert body["decision"]["band"]
    assert "Batch-lag rule" in body["skipped"][0]["reason"]


# ---------------------------------------------------------------------------------------------------------
# pipeline runs
# ---------------------------------------------------------------------------------------------------------
def _wait(served: Served, run_id: str, deadline_s: float = 600) -> dict:
    end = time.monotonic() + deadline_s  # a guard against a hung run, not a speed assertion
    while time.monotonic() < end:
        status = served.client.get(f"/api/pipeline/runs/{run_id}").json()
        if status["state"] in ("succeeded", "failed"):
            return status
        time.sleep(0.5)
    raise AssertionError(f"run {run_id} did not finish: {status}")


def test_trigger_errors(served: Served):
    assert served.client.post("/api/pipeline/trigger/inference").status_code == 401
    assert served.client.post("/api/pipeline/trigger/inference", headers=WRONG).status_code == 401
    unknown = served.client.post("/api/pipeline/trigger/nope", headers=served.auth)
    assert unknown.status_code == 404 and "inference" in unknown.json()["detail"]
    bad = served.client.post(
        "/api/pipeline/trigger/inference", json={"params": {"not a name": 1}}, headers=served.auth
    )
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"][:2] == ["body", "params"]
    assert served.client.get("/api/pipeline/runs/20990101T000000-deadbeef").status_code == 404


def test_trigger_runs_the_pipeline_and_reports(served: Served):
    month = "2025-06-01"
    r = served.client.post(
        "/api/pipeline/trigger/inference",
        json={"params": {"inference.start_month": month, "inference.end_month": month}},
        headers=served.auth,
    )
    assert r.status_code == 202, r.text
    queued = r.json()
    assert queued["state"] in ("queued", "running") and queued["status_url"].endswith(queued["run_id"])
    done = _wait(served, queued["run_id"])
    assert done["state"] == "succeeded", done["log_tail"]
    assert done["exit_code"] == 0
    assert done["progress"]["nodes_done"] == done["progress"]["nodes_total"] > 0
    assert any(name.endswith("out_predictions") for name in done["summary"]["outputs"])
    assert served.root.as_posix() in done["summary"]["outputs"]["out_scorecard_decisions"]
    listed = served.client.get("/api/pipeline/runs").json()
    assert queued["run_id"] in [x["run_id"] for x in listed]

    failed = served.client.post(
        "/api/pipeline/trigger/inference",
        json={"params": {"inference.start_month": "2025-06-01", "inference.end_month": "2024-01-01"}},
        headers=served.auth,
    ).json()
    status = _wait(served, failed["run_id"])
    assert status["state"] == "failed" and status["exit_code"] == 1
    assert "end_month" in status["error"], status
