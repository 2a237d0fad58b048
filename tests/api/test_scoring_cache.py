"""Online scoring keeps what it loaded (kycc.api.scoring_cache) and still follows every change, on a real state.

* a second request builds no catalog, opens no store and loads no scorecard or model again (the cache's own
  counters), and both answers equal the batch pipeline's decision and prediction for that loan;
* a scorecard version activated through the API decides the very next request, and one activated by another
  store client (``kycc scorecard activate`` in another process) too;
* a champion alias moved in the MLflow registry is followed once the registry check is due.

No timing is asserted (``make bench`` prints them: benchmarks/bench_online.py).
"""

from __future__ import annotations

import pandas as pd
import pytest
from mlflow import MlflowClient

from kycc.inference.scoring import score_scorecard
from kycc.scorecard import ScorecardDefinition
from kycc.scorecard.config import load_scorecard_config, open_store
from tests.api.conftest import Served
from tests.api.test_api import _scored_applicant
from tests.kedro_run import PROJECT_ROOT

pytestmark = pytest.mark.slow

LOADS = ("catalog_builds", "store_opens", "scorecard_loads", "model_loads")


def _body(root) -> tuple[dict, pd.Series, pd.Series, pd.Series]:
    row, decision, feature_row, payload = _scored_applicant(root)
    body = {
        "application_date": pd.Timestamp(feature_row["application_date"]).date().isoformat(),
        "loan_id": str(row["loan_id"]),
        "customer_id": str(row["customer_id"]),
        "features": payload,
    }
    return body, row, decision, feature_row


def _score(served: Served, body: dict) -> dict:
    response = served.client.post("/api/scoring/score", json=body, headers=served.auth)
    assert response.status_code == 200, response.text
    assert response.headers["server-timing"].startswith("score;dur=")
    return response.json()


def _assert_batch(scored: dict, row: pd.Series, decision: pd.Series) -> None:
    assert scored["decision"]["scorecard_version"] == decision["scorecard_version"]
    assert scored["decision"]["score"] == pytest.approx(float(decision["score"]), abs=1e-9)
    assert scored["decision"]["band"] == decision["band"]
    assert scored["decision"]["decision"] == decision["decision"]
    advice = {a["model"]: a for a in scored["advice"]}
    assert advice["model_1"]["model_version"] == int(row["model_version"])
    assert advice["model_1"]["probability"] == pytest.approx(float(row["probability"]), rel=1e-9, abs=1e-12)


def test_a_second_request_loads_nothing_again_and_both_equal_batch(served: Served):
    cache = served.client.app.state.service.scoring
    body, row, decision, _ = _body(served.root)
    first = _score(served, body)
    before = dict(cache.stats)
    assert all(before[k] >= 1 for k in LOADS), before  # the first request (or an earlier test) loaded them
    second = _score(served, body)
    after = dict(cache.stats)
    assert {k: after[k] for k in LOADS} == {k: before[k] for k in LOADS}, (before, after)
    assert after["scorecard_checks"] > before["scorecard_checks"]  # the active version is still checked
    _assert_batch(first, row, decision)
    _assert_batch(second, row, decision)
    assert second["decision"]["decision_id"] == first["decision"]["decision_id"] + 1  # both logged


def _flat_version(definition: ScorecardDefinition, name: str) -> ScorecardDefinition:
    """Every bin, category and missing value at full points: another score for (nearly) every applicant."""
    data = definition.to_dict()
    for spec in data["features"].values():
        if spec.get("points"):
            spec["points"] = [100.0] * len(spec["points"])
        if spec.get("categories"):
            spec["categories"] = dict.fromkeys(spec["categories"], 100.0)
        spec["missing"] = 100.0
        if spec.get("other") is not None:
            spec["other"] = 100.0
    return ScorecardDefinition.from_dict(data, version=name)


def test_an_activation_decides_the_next_request(served: Served):
    cache = served.client.app.state.service.scoring
    body, row, decision, feature_row = _body(served.root)
    active = served.client.get("/api/scoring/versions").json()["active"]
    _assert_batch(_score(served, body), row, decision)  # the cache holds the active version
    candidate = f"{active}_flat"
    with open_store(load_scorecard_config("test", PROJECT_ROOT)) as store:
        if not store.exists(candidate):
            store.create_version(
                _flat_version(store.get(active).definition, candidate),
                base_version=active,
                created_by="analyst",
            )
        record = store.get(candidate).to_dict()
    applicant = pd.DataFrame([feature_row]).reset_index(drop=True)
    expected = score_scorecard(applicant, record).iloc[0]  # the batch function on the candidate version
    assert float(expected["score"]) != pytest.approx(float(decision["score"]))
    loads = cache.stats["scorecard_loads"]
    try:
        activated = served.client.post(
            f"/api/scoring/versions/{candidate}/activate",
            json={"reviewer": "Jane Doe", "override_reason": "cache test: the next answer must use it"},
            headers=served.auth,
        )
        assert activated.status_code == 200, activated.text
        scored = _score(served, body)["decision"]
        assert scored["scorecard_version"] == candidate
        assert scored["score"] == pytest.approx(float(expected["score"]), abs=1e-9)
        assert scored["band"] == expected["band"] and scored["decision"] == expected["decision"]
        assert cache.stats["scorecard_loads"] == loads + 1
    finally:
        # back to the original as `kycc scorecard activate` would, through another store client
        with open_store(load_scorecard_config("test", PROJECT_ROOT)) as store:
            if store.active().version != active:
                store.activate(active, "Jane Doe", override_reason="restore after the cache test")
    _assert_batch(_score(served, body), row, decision)  # seen by the next request without any API call
    assert cache.stats["scorecard_loads"] == loads + 2


def test_a_moved_champion_alias_is_followed(served: Served):
    cache = served.client.app.state.service.scoring
    body, row, decision, _ = _body(served.root)
    _assert_batch(_score(served, body), row, decision)
    client = MlflowClient(tracking_uri=f"sqlite:///{served.root / 'mlflow.db'}")
    name = "kycc_model_1"
    champion = int(client.get_model_version_by_alias(name, "champion").version)
    others = sorted(int(v.version) for v in client.search_model_versions(f"name = '{name}'"))
    others = [v for v in others if v != champion]
    assert others, f"the cycle registered one {name} version only"
    other = others[-1]
    interval = cache.model_check_seconds
    cache.model_check_seconds = 0.0  # check the aliases on every request (KYCC_API_MODEL_CHECK_SECONDS=0)
    try:
        client.set_registered_model_alias(name, "champion", str(other))
        scored = _score(served, body)
        used = {a["model"]: a["model_version"] for a in scored["advice"]}
        skipped = {s["model"]: s["reason"] for s in scored["skipped"]}
        # the other version advises, or is refused by the batch-lag rule on this month: either way it is used
        assert used.get("model_1") == other or f"{name} v{other}" in skipped.get("model_1", ""), scored
    finally:
        client.set_registered_model_alias(name, "champion", str(champion))
        cache.model_check_seconds = interval
    cache.model_check_seconds = 0.0
    try:
        _assert_batch(_score(served, body), row, decision)  # back on the champion the batch used
    finally:
        cache.model_check_seconds = interval
