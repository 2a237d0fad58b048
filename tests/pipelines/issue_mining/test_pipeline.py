"""The issue_mining pipeline end to end on the recorded samples: real DuckDB, model, LexRank and PocketBase."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pytest
from kedro.config import OmegaConfigLoader
from kedro.io import DataCatalog
from kedro.runner import SequentialRunner
from pydantic import ValidationError

from kycc.mining.labelling import LLMAccess
from kycc.mining.pocketbase import LocalPocketBase, PocketBaseClient
from kycc.mining.store import TABLES, DatePartition
from kycc.pipelines.issue_mining import create_pipeline, nodes
from tests.mining.fakes import FakeChatServer, Reply

pytestmark = pytest.mark.xdist_group("issue_mining_model")

PROJECT_ROOT = Path(__file__).resolve().parents[3]
DAY = "2026-11-20"


def _flatten_params(params: dict[str, Any], prefix: str = "params:") -> dict[str, Any]:
    """``params:a``, ``params:a.b``, … as Kedro's context feeds them."""
    feed = {}
    for key, value in params.items():
        feed[f"{prefix}{key}"] = value
        if isinstance(value, dict):
            feed.update(_flatten_params(value, f"{prefix}{key}."))
    return feed


def make_catalog(
    data_root: Path,
    run_date: str,
    pocketbase: LocalPocketBase | None = None,
    pocketbase_params: dict[str, Any] | None = None,
    **overrides: Any,
) -> DataCatalog:
    """The project's issue_mining catalog and parameters (env ``test``), every file under ``data_root``."""
    import os

    from kycc.settings import CONFIG_LOADER_ARGS

    # ${kycc_env:KYCC_DATA_ROOT,data} in globals.yml: resolvers are registered once per process, so the data
    # root is passed the way the project does, through the environment.
    previous = os.environ.get("KYCC_DATA_ROOT")
    os.environ["KYCC_DATA_ROOT"] = str(data_root)
    loader = OmegaConfigLoader(
        conf_source=str(PROJECT_ROOT / "conf"),
        env="test",
        base_env="base",
        default_run_env="local",
        merge_strategy=CONFIG_LOADER_ARGS["merge_strategy"],
        custom_resolvers=CONFIG_LOADER_ARGS["custom_resolvers"],
        config_patterns={
            "catalog": ["catalog_issue_mining*"],
            "parameters": ["parameters_issue_mining*"],
            "credentials": ["credentials_issue_mining*"],
        },
    )
    try:
        catalog_conf, credentials, params = (
            dict(loader["catalog"]),
            dict(loader["credentials"]),
            loader["parameters"],
        )
    finally:  # other tests in this process must not inherit the data root
        if previous is None:
            os.environ.pop("KYCC_DATA_ROOT", None)
        else:
            os.environ["KYCC_DATA_ROOT"] = previous
    if pocketbase is not None:
        catalog_conf["issue_mining.pocketbase_access"] = {
            **catalog_conf["issue_mining.pocketbase_access"],
            "url": pocketbase.url,
        }
        credentials["issue_mining"] = {
            "pocketbase": {"email": pocketbase.email, "password": pocketbase.password}
        }
    params["issue_mining"]["run_date"] = run_date
    params["issue_mining"]["collect"]["mode"] = "samples"
    params["issue_mining"]["pocketbase"]["enabled"] = pocketbase is not None
    params["issue_mining"]["pocketbase"].update(pocketbase_params or {})
    for key, value in overrides.items():
        params["issue_mining"][key] = {**params["issue_mining"][key], **value}
    catalog = DataCatalog.from_config(catalog_conf, credentials=credentials)
    for name, value in _flatten_params(params).items():
        catalog[name] = value
    return catalog


def counts(data_root: Path) -> dict[str, int]:
    con = duckdb.connect(
        str(data_root / "03_primary" / "issue_mining" / "issue_mining.duckdb"), read_only=True
    )
    try:
        return {table: con.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in TABLES}
    finally:
        con.close()


def run(
    data_root: Path,
    run_date: str = DAY,
    pocketbase: LocalPocketBase | None = None,
    pocketbase_params: dict[str, Any] | None = None,
    **overrides: Any,
):
    catalog = make_catalog(data_root, run_date, pocketbase, pocketbase_params, **overrides)
    SequentialRunner().run(create_pipeline(), catalog)
    return json.loads((data_root / "08_reporting" / "issue_mining" / "run_summary.json").read_text())


@pytest.fixture(scope="module")
def pocketbase():
    with LocalPocketBase() as server:
        yield server


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    """One run of 2026-11-20 (no PocketBase); tests copy it so the day is embedded only once."""
    root = tmp_path_factory.mktemp("seeded")
    return root, run(root, DAY)


@pytest.fixture
def data_root(seeded, tmp_path):
    shutil.copytree(seeded[0], tmp_path, dirs_exist_ok=True)
    return tmp_path


def test_end_to_end_rerun_is_idempotent_and_syncs_to_pocketbase(seeded, data_root, pocketbase):
    first, summary = counts(seeded[0]), seeded[1]
    assert first["bronze.raw_items"] == 66 and first["bronze.quarantine"] == 0
    assert first["silver.items"] == 66 and first["silver.clusters"] == 10  # max(10, 66 // 100) = 10
    assert first["gold.issues"] == 10 and first["gold.label_failures"] == 0
    assert first["gold.issue_evidence"] == 66 and first["gold.live_issues"] == 0  # PocketBase disabled
    assert summary["collection"]["sources"]["github"]["used"] == "recorded (mode)"
    assert {s: i["stored"] for s, i in summary["collection"]["sources"].items()} == {
        "github": 18,
        "stackexchange": 16,
        "reddit": 18,
        "hackernews": 14,
    }
    assert summary["embedding"] == {"items": 66, "embedded": 66, "cached": 0}
    assert summary["labelling"]["labeller"] == "offline" and summary["sync"]["status"] == "disabled"

    synced = run(data_root, DAY, pocketbase)
    assert counts(data_root) == {**first, "gold.live_issues": 10}  # re-running a date replaces it
    assert synced["embedding"] == {"items": 66, "embedded": 0, "cached": 66}  # cached by url_hash
    assert synced["sync"]["synced"] == 10
    rerun = run(data_root, DAY, pocketbase)
    assert counts(data_root) == {**first, "gold.live_issues": 10}
    assert rerun["sync"]["synced"] == 0 and rerun["sync"]["unchanged"] == 10
    with PocketBaseClient(pocketbase.url, pocketbase.email, pocketbase.password) as client:
        client.authenticate()
        assert len(client.list_records("kycc_issues", filter=f"cluster_date='{DAY}'")) == 10
        assert len(client.list_records("kycc_issue_evidence", filter=f"cluster_date='{DAY}'")) == 66

    con = duckdb.connect(
        str(data_root / "03_primary" / "issue_mining" / "issue_mining.duckdb"), read_only=True
    )
    issues = con.execute("SELECT * FROM gold.issues").df()
    clusters = con.execute("SELECT * FROM silver.clusters ORDER BY cluster_id").df()
    norms = con.execute(
        "SELECT sqrt(list_dot_product(embedding::FLOAT[], embedding::FLOAT[])) AS n FROM silver.items"
    ).df()
    con.close()
    assert set(issues["category"]) <= {
        "ai",
        "finance",
        "compliance",
        "logistics",
        "healthtech",
        "devtools",
        "ecommerce",
        "other",
    }
    assert issues["canonical_title"].str.len().max() <= 120 and set(issues["labeller"]) == {"offline"}
    assert clusters["cluster_size"].sum() == 66 and clusters["summary"].str.len().min() > 0
    assert np.allclose(norms["n"], 1.0, atol=1e-4)


def test_dates_accumulate_and_bad_items_are_quarantined(data_root):
    summary = run(data_root, "2026-11-18")  # the recorded HN story without a title is on this day
    totals = counts(data_root)
    assert summary["collection"]["quarantined"] == 1 and totals["bronze.quarantine"] == 1
    assert totals["bronze.raw_items"] == 66 + summary["collection"]["stored"]
    assert summary["collection"]["fetched"] == (
        summary["collection"]["stored"]
        + summary["collection"]["duplicates"]
        + summary["collection"]["already_seen"]
        + 1
    )
    assert totals["silver.clusters"] == 20 and summary["sync"]["status"] == "disabled"
    con = duckdb.connect(
        str(data_root / "03_primary" / "issue_mining" / "issue_mining.duckdb"), read_only=True
    )
    reason = con.execute("SELECT reason FROM bronze.quarantine").fetchone()[0]
    con.close()
    assert reason == "missing title"


def test_items_first_seen_on_an_earlier_date_are_not_collected_again(data_root):
    # No recording for 2026-11-21: the latest recording (2026-11-20) is replayed; all its items are known.
    summary = run(data_root, "2026-11-21")
    assert summary["collection"]["stored"] == 0 and summary["collection"]["already_seen"] == 66
    assert summary["clustering"]["clusters"] == 0 and summary["labelling"]["labelled"] == 0
    assert counts(data_root)["bronze.raw_items"] == 66


def test_llm_failures_are_recorded_and_keep_the_published_issues(data_root):
    def broken_llm(**kwargs):
        raise RuntimeError("provider down")

    before = published(data_root)
    catalog = make_catalog(data_root, DAY, labelling={"mode": "llm", "model": "openai/fake"})
    catalog["issue_mining.llm_access"] = LLMAccess(api_key="k", completion=broken_llm)
    with pytest.raises(nodes.IssueMiningRunFailed, match="all 10 clusters failed.*kept as they were"):
        SequentialRunner().run(create_pipeline(), catalog)
    totals = counts(data_root)
    assert totals["gold.issues"] == 10 and totals["gold.label_failures"] == 10
    assert_frames_equal(published(data_root), before)
    summary = json.loads((data_root / "08_reporting" / "issue_mining" / "run_summary.json").read_text())
    assert summary["status"] == "failed" and summary["labelling"]["kept_previous"] is True


def test_all_clusters_failing_on_a_date_without_published_issues_publishes_nothing_and_fails():
    def broken_llm(**kwargs):
        raise RuntimeError("provider down")

    raw = _raw(date(2026, 11, 20), ["a", "b"])
    assignments = pd.DataFrame(
        {"url_hash": ["a", "b"], "cluster_date": date(2026, 11, 20), "cluster_id": [0, 1]}
    )
    clusters = pd.DataFrame(
        {"cluster_date": date(2026, 11, 20), "cluster_id": [0, 1], "cluster_size": 1, "summary": "s"}
    )
    issues, failures, publication, report = nodes.label_issues(
        raw_items=raw,
        item_clusters=assignments,
        clusters=clusters,
        published=pd.DataFrame(columns=["cluster_date", "cluster_id"]),
        llm_access=LLMAccess(api_key="k", completion=broken_llm),
        run_date=DAY,
        labelling={"mode": "llm", "model": "openai/fake", "num_retries": 0},
    )
    assert not issues.keep and len(issues) == 0 and len(failures) == 2  # nothing earlier to keep
    assert publication == {"run_date": DAY, "kept_previous": False}
    assert report["status"] == "failed" and report["kept_previous"] is False
    summary = nodes.summarise_run(
        collection={"run_date": DAY},
        embedding={},
        clustering={},
        summaries={},
        labelling=report,
        sync={"status": "disabled"},
    )
    assert summary["status"] == "failed"
    with pytest.raises(nodes.IssueMiningRunFailed, match="all 2 clusters failed.*nothing was published"):
        nodes.check_run_status(summary)
    nodes.check_run_status({**summary, "status": "partial"})  # only "every cluster failed" fails the run


# -- a failing LLM on 127.0.0.1 after a good run: DuckDB and PocketBase exactly as they were -------------------------


def published(data_root: Path) -> dict[str, pd.DataFrame]:
    """The published tables (``gold.issues``, ``gold.issue_evidence``, ``gold.live_issues``), every column."""
    con = duckdb.connect(
        str(data_root / "03_primary" / "issue_mining" / "issue_mining.duckdb"), read_only=True
    )
    try:
        return {
            table: con.execute(f"SELECT * FROM {table} ORDER BY ALL").df()
            for table in ("gold.issues", "gold.issue_evidence", "gold.live_issues")
        }
    finally:
        con.close()


def assert_frames_equal(actual: dict[str, pd.DataFrame], expected: dict[str, pd.DataFrame]) -> None:
    assert actual.keys() == expected.keys()
    for table, frame in expected.items():
        pd.testing.assert_frame_equal(actual[table], frame, obj=table)


def remote(server: LocalPocketBase, prefix: str) -> tuple[list[dict], list[dict]]:
    """Every record (all fields, ``updated`` included) of the two collections, sorted by id."""
    with PocketBaseClient(server.url, server.email, server.password) as client:
        client.authenticate()
        return tuple(
            sorted(client.list_records(f"{prefix}_{name}"), key=lambda r: r["id"])
            for name in ("issues", "evidence")
        )


FAILURES = {
    # only api_base configured, no key: "Missing credentials" (LiteLLM says InternalServerError), never retried
    "missing_key": (None, lambda body: Reply.label(), "auth_error"),
    "key_refused": ("sk-revoked", lambda body: Reply(status=401), "auth_error"),
    "server_down": ("sk-local", lambda body: Reply(status=503), "api_error"),
    "invalid_replies": ("sk-local", lambda body: Reply(content="Sorry, I cannot help."), "invalid_reply"),
}


def test_a_failing_llm_after_a_good_run_leaves_duckdb_and_pocketbase_as_they_were(
    data_root, pocketbase, monkeypatch
):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    prefix = "keep_failed"
    settings = {
        "pocketbase_params": {
            "issues_collection": f"{prefix}_issues",
            "evidence_collection": f"{prefix}_evidence",
        },
    }

    def labelling(server):
        return {
            "mode": "llm",
            "model": "openai/fake-model",
            "api_base": server.api_base,
            "num_retries": 1,
            "max_invalid_retries": 1,
        }

    with FakeChatServer() as good:  # the good run: every cluster labelled by the LLM, synced to PocketBase
        catalog = make_catalog(data_root, DAY, pocketbase, labelling=labelling(good), **settings)
        catalog["issue_mining.llm_access"] = LLMAccess(api_key="sk-local")
        SequentialRunner().run(create_pipeline(), catalog)
    before, before_remote = published(data_root), remote(pocketbase, prefix)
    assert set(before["gold.issues"]["labeller"]) == {"litellm:openai/fake-model"}
    assert len(before["gold.issues"]) == len(before["gold.live_issues"]) == len(before_remote[0]) == 10
    assert len(before_remote[1]) == 66

    # Each failing run starts from the same published state, and must leave it exactly so.
    for failure, (api_key, script, kind) in FAILURES.items():
        with FakeChatServer(script) as bad:
            catalog = make_catalog(data_root, DAY, pocketbase, labelling=labelling(bad), **settings)
            catalog["issue_mining.llm_access"] = LLMAccess(api_key=api_key)
            with pytest.raises(nodes.IssueMiningRunFailed, match="all 10 clusters failed"):
                SequentialRunner().run(create_pipeline(), catalog)
        assert_frames_equal(published(data_root), before)
        assert remote(pocketbase, prefix) == before_remote, failure  # no record deleted, re-written, touched
        summary = json.loads((data_root / "08_reporting" / "issue_mining" / "run_summary.json").read_text())
        assert summary["status"] == "failed" and summary["labelling"]["failure_kinds"] == [kind], failure
        assert summary["sync"]["unchanged"] == 10 and summary["sync"]["deleted"] == 0, failure
        con = duckdb.connect(
            str(data_root / "03_primary" / "issue_mining" / "issue_mining.duckdb"), read_only=True
        )
        failures = con.execute("SELECT error_kind, attempts, error FROM gold.label_failures").df()
        con.close()
        assert len(failures) == 10 and set(failures["error_kind"]) == {kind}, failure
        if kind == "auth_error":  # not retried: one call at most, then no further call for any cluster
            assert failures["attempts"].max() <= 1 and len(bad.requests) <= 8, failure  # ≤ those in flight
            assert failures["error"].str.contains("issue_mining.llm.api_key").all(), failure
        if failure == "missing_key":
            assert bad.requests == []  # the provider SDK refuses before sending anything


def test_a_partly_failing_rerun_keeps_every_published_issue(data_root, pocketbase):
    prefix = "keep_partial"
    settings = {
        "pocketbase_params": {
            "issues_collection": f"{prefix}_issues",
            "evidence_collection": f"{prefix}_evidence",
        },
    }
    run(data_root, DAY, pocketbase, **settings)  # offline labels, synced
    before, before_remote = published(data_root), remote(pocketbase, prefix)
    replies = iter([Reply.label()] * 4)
    with FakeChatServer(lambda body: next(replies, Reply(status=400))) as server:
        catalog = make_catalog(
            data_root,
            DAY,
            pocketbase,
            labelling={"mode": "llm", "model": "openai/fake-model", "api_base": server.api_base},
            **settings,
        )
        catalog["issue_mining.llm_access"] = LLMAccess(api_key="sk-local")
        SequentialRunner().run(create_pipeline(), catalog)  # not every cluster failed: the run succeeds
    summary = json.loads((data_root / "08_reporting" / "issue_mining" / "run_summary.json").read_text())
    assert summary["status"] == "partial" and summary["labelling"]["labelled"] == 4
    assert summary["labelling"]["kept_previous"] is True and summary["labelling"]["published"] == 10
    assert_frames_equal(published(data_root), before)
    assert remote(pocketbase, prefix) == before_remote
    assert counts(data_root)["gold.label_failures"] == 6


# -- nodes: clear errors on bad input -----------------------------------------------------------------------------


def _raw(day: date, hashes: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "url_hash": hashes,
            "source": "github",
            "collection_date": day,
            "url": "u",
            "title": "t",
            "body": "b",
            "created_at": pd.Timestamp("2026-11-20 08:00"),
            "external_id": "1",
            "query": "q",
        }
    )


def test_cluster_node_refuses_items_without_embeddings():
    raw = _raw(date(2026, 11, 20), ["a", "b"])
    silver = pd.DataFrame({"url_hash": ["a"], "embedding": [np.ones(384, np.float32) / np.sqrt(384)]})
    with pytest.raises(ValueError, match=r"1 items of 2026-11-20 have no embedding"):
        nodes.cluster_items(raw, silver, DAY, {})


def test_nodes_handle_a_day_without_items():
    empty = _raw(date(2026, 11, 20), [])
    assignments, clusters, report = nodes.cluster_items(
        empty, pd.DataFrame(columns=["url_hash", "embedding"]), DAY, {}
    )
    assert isinstance(clusters, DatePartition) and len(clusters) == 0 and report["clusters"] == 0
    summaries, _ = nodes.summarise_clusters(empty, assignments.frame, clusters.frame, DAY, {})
    issues, failures, _, report = nodes.label_issues(
        raw_items=empty,
        item_clusters=assignments.frame,
        clusters=clusters.frame,
        published=pd.DataFrame(),
        llm_access=LLMAccess(),
        run_date=DAY,
        labelling={},
    )
    assert len(summaries) == len(issues) == len(failures) == 0 and report["labeller"] == "offline"


@pytest.mark.parametrize(
    ("run_date", "collect", "message"),
    [
        ("20-11-2026", None, "YYYY-MM-DD"),
        (DAY, {"mode": "sometimes"}, "mode"),
        (DAY, {"rate_limits": {"github": 0}}, "rate_limits.github"),
        (DAY, {"github": {"queries": []}}, "queries"),
        (DAY, {"unknown_key": 1}, "unknown_key"),
    ],
)
def test_collect_node_rejects_bad_parameters(tmp_path, run_date, collect, message):
    catalog = make_catalog(tmp_path, DAY)
    params = {**catalog.load("params:issue_mining.collect"), **(collect or {})}
    with pytest.raises((ValueError, ValidationError), match=message):
        nodes.collect_raw_items(catalog.load("issue_mining.api_access"), pd.DataFrame(), run_date, params)


def test_pipeline_shape():
    pipeline = create_pipeline()
    assert [n.name for n in pipeline.nodes][0] == "issue_mining.collect_raw_items"
    assert all(n.name.startswith("issue_mining.") for n in pipeline.nodes)
    assert pipeline.outputs() >= {"issue_mining.gold_live_issues"}
    # the summary is saved, then checked: a run in which every cluster failed ends with an error
    assert "issue_mining.run_summary" in pipeline.all_outputs()
    assert [n.name for n in pipeline.nodes][-1] == "issue_mining.check_run_status"


@pytest.mark.slow
def test_kedro_session_smoke(data_root):
    from tests.kedro_run import run_kedro

    run_kedro(
        data_root,
        ["issue_mining"],
        params={
            "issue_mining": {
                "run_date": DAY,
                "collect": {"mode": "samples"},
                "pocketbase": {"enabled": False},
            }
        },
    )
    assert counts(data_root)["gold.issues"] == 10
    summary = json.loads((data_root / "08_reporting" / "issue_mining" / "run_summary.json").read_text())
    assert summary["run_date"] == DAY and summary["embedding"]["cached"] == 66


def test_sync_is_skipped_without_server_or_credentials():
    from kycc.mining.pocketbase import PocketBaseAccess, PocketBaseError

    empty = pd.DataFrame(columns=["cluster_date", "cluster_id"])
    kwargs = {"issues": empty, "evidence": empty, "live_state": empty, "run_date": DAY}
    state, report = nodes.sync_live_issues(
        access=PocketBaseAccess(url="http://127.0.0.1:9"), pocketbase={}, **kwargs
    )
    assert report["status"] == "no credentials" and len(state) == 0
    unreachable = PocketBaseAccess(url="http://127.0.0.1:9", email="a@b.c", password="pw", timeout=0.5)
    assert nodes.sync_live_issues(access=unreachable, pocketbase={}, **kwargs)[1]["status"] == "unreachable"
    with pytest.raises(PocketBaseError, match="not reachable"):
        nodes.sync_live_issues(access=unreachable, pocketbase={"required": True}, **kwargs)


def _pid_gone(pid: int) -> bool:
    import os

    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # Still in the process table: only acceptable as a zombie (exited, not reaped by its parent).
    status = Path(f"/proc/{pid}/status")
    return status.exists() and "State:\tZ" in status.read_text()


def test_with_no_pocketbase_configured_the_embedded_server_syncs_and_is_stopped(data_root):
    """No URL in catalog or credentials: the run starts the packaged PocketBase under the data root, syncs a
    record per issue, and stops it by its PID; a second run creates no duplicate."""
    first = run(data_root, DAY, pocketbase_params={"enabled": True})
    sync = first["sync"]
    issues = counts(data_root)["gold.issues"]
    assert issues > 0
    assert sync["server"] == "embedded" and sync["status"] == "synced", sync
    assert sync["created"] == issues and sync["updated"] == 0 and sync["unchanged"] == 0
    assert _pid_gone(sync["pid"])
    pb_dir = data_root / "03_primary" / "issue_mining" / "pocketbase"
    assert Path(sync["data_dir"]) == pb_dir
    secret = pb_dir / "superuser.json"
    assert secret.stat().st_mode & 0o777 == 0o600
    password = json.loads(secret.read_text())["password"]

    con = duckdb.connect(
        str(data_root / "03_primary" / "issue_mining" / "issue_mining.duckdb"), read_only=True
    )
    try:
        live = con.execute(
            "SELECT l.cluster_id FROM gold.live_issues l JOIN gold.issues i USING (cluster_date, cluster_id) "
            "WHERE l.cluster_date = ?",
            [DAY],
        ).fetchall()
    finally:
        con.close()
    assert len(live) == issues  # a row per issue

    second = run(data_root, DAY, pocketbase_params={"enabled": True})
    assert second["sync"]["created"] == 0 and second["sync"]["updated"] == 0
    assert second["sync"]["unchanged"] == issues
    assert second["sync"]["pid"] != sync["pid"] and _pid_gone(second["sync"]["pid"])
    assert counts(data_root)["gold.live_issues"] == issues
    assert json.loads(secret.read_text())["password"] == password  # generated once, kept

    # The server's own records: one per issue, no duplicate (read by starting the same data folder again).
    with (
        LocalPocketBase(pb_dir, email="admin@kycc.local", password=password) as server,
        PocketBaseClient(server.url, server.email, server.password) as client,
    ):
        client.authenticate()
        records = client.list_records("kycc_issues")
    assert len(records) == issues and len({r["cluster_id"] for r in records}) == issues


def test_an_embedded_server_that_cannot_start_leaves_the_state_and_names_its_folder(tmp_path):
    from kycc.mining.pocketbase import PocketBaseAccess, PocketBaseError

    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the data folder should be")
    empty = pd.DataFrame(columns=["cluster_date", "cluster_id"])
    kwargs = {"issues": empty, "evidence": empty, "live_state": empty, "run_date": DAY}
    access = PocketBaseAccess(url=None, embedded_dir=blocker)
    state, report = nodes.sync_live_issues(access=access, pocketbase={}, **kwargs)
    assert report["status"] == "not started" and str(blocker) in report["error"] and len(state) == 0
    with pytest.raises(PocketBaseError, match="embedded PocketBase in .*not-a-folder"):
        nodes.sync_live_issues(access=access, pocketbase={"required": True}, **kwargs)


_WORDS = __import__("re").compile(r"[a-z][a-z0-9+#-]{3,}")


def _keywords(texts: list[str]) -> set[str]:
    """A cluster's keywords: the words (sumy's English stop words out) of at least a quarter of its items."""
    from collections import Counter

    from sumy.utils import get_stop_words

    stop = set(get_stop_words("english"))
    frequency = Counter(w for text in texts for w in set(_WORDS.findall(text.lower())) if w not in stop)
    return {w for w, n in frequency.items() if n >= max(2, len(texts) / 4)}


def test_cluster_quality_on_the_shipped_corpus(seeded):
    """Per-cluster silhouettes are stored and poor ones flagged; each summary comes from the items nearest the
    centroid; a coherent cluster's title and summary share its items' keywords."""
    from sklearn.metrics import silhouette_samples

    from kycc.mining.items import item_text

    root, summary = seeded
    con = duckdb.connect(str(root / "03_primary" / "issue_mining" / "issue_mining.duckdb"), read_only=True)
    try:
        clusters = con.execute(
            "SELECT * FROM silver.clusters WHERE cluster_date = ? ORDER BY cluster_id", [DAY]
        ).df()
        items = con.execute(
            "SELECT s.url_hash, s.cluster_id, s.centroid_similarity, s.embedding, r.title, r.body "
            "FROM silver.items s JOIN bronze.raw_items r USING (url_hash) WHERE s.cluster_date = ?",
            [DAY],
        ).df()
        issues = con.execute("SELECT * FROM gold.issues WHERE cluster_date = ?", [DAY]).df()
    finally:
        con.close()
    threshold = summary["clustering"]["min_silhouette"]
    assert threshold == 0.1  # parameters_issue_mining.yml
    assert clusters["silhouette"].notna().all()
    assert (clusters["poor_quality"] == (clusters["silhouette"] < threshold)).all()
    assert (
        summary["clustering"]["poor_clusters"]
        == clusters.loc[clusters["poor_quality"], "cluster_id"].tolist()
    )
    # the stored silhouettes are the clusters' mean cosine silhouettes of the embeddings
    per_item = silhouette_samples(
        np.stack(items["embedding"].to_numpy()), items["cluster_id"], metric="cosine"
    )
    expected = pd.Series(per_item).groupby(items["cluster_id"].to_numpy()).mean()
    assert np.allclose(
        clusters.set_index("cluster_id")["silhouette"].sort_index(), expected.sort_index(), atol=1e-4
    )

    coherent = 0
    for cluster in clusters.itertuples(index=False):
        group = items.loc[items["cluster_id"] == cluster.cluster_id].sort_values(
            ["centroid_similarity", "url_hash"], ascending=[False, True]
        )
        texts = [
            " ".join(item_text(t, b, 30_000).split())
            for t, b in zip(group["title"], group["body"], strict=True)
        ]
        nearest = texts[:10]  # summaries.max_items
        # every summary sentence was taken from one of the items nearest the centroid
        for sentence in lexrank_sentences_of(cluster.summary):
            assert any(sentence in text for text in nearest), (cluster.cluster_id, sentence)
        if cluster.poor_quality or len(group) < 3:
            continue
        coherent += 1
        keywords = _keywords(texts)
        issue = issues.loc[issues["cluster_id"] == cluster.cluster_id].iloc[0]
        title_words = set(_WORDS.findall(issue["canonical_title"].lower()))
        summary_words = set(_WORDS.findall(cluster.summary.lower()))
        assert title_words & keywords, (cluster.cluster_id, issue["canonical_title"], keywords)
        assert summary_words & keywords, (cluster.cluster_id, cluster.summary, keywords)
    assert coherent >= len(clusters) // 2


def lexrank_sentences_of(summary: str) -> list[str]:
    """The sentences of a stored summary, without the final stop LexRank's input may have added."""
    from kycc.mining.summaries import OfflineTokenizer

    return [s[:-1] if s.endswith(".") else s for s in OfflineTokenizer().to_sentences(summary)]
