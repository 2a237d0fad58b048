"""The version store: governance rules, the append-only audit log, restarts and concurrent processes."""

from __future__ import annotations

import copy
import logging
import multiprocessing
import re
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from kycc.scorecard.comparison import compare_scorecards
from kycc.scorecard.governance import (
    BOOTSTRAP_REVIEWER,
    ActivationBlockedError,
    AlreadyActiveError,
    NothingToRollBackError,
    ReviewerRequiredError,
    ScorecardStoreError,
    UnknownVersionError,
)
from kycc.scorecard.store import ScorecardStore
from tests.scorecard.conftest import SMALL, with_weights


def _db_file(url: str) -> Path:
    return Path(make_url(url).database)


def _active_rows(url: str) -> list[str]:
    """The active versions, read with plain sqlite3 (not through the store)."""
    with sqlite3.connect(_db_file(url)) as con:
        return [r[0] for r in con.execute("SELECT version FROM scorecard_versions WHERE status = 'active'")]


def _draft(store, small, name: str, **weights: float):
    return store.create_version(
        small.with_weights(with_weights(small, **weights), version=name), source="manual", created_by="tester"
    )


def _compare(store, old: str, new: str, reference, actor: str = "analyst") -> dict:
    result = compare_scorecards(store.get(old).definition, store.get(new).definition, reference)
    store.record_comparison(result, actor, "review")
    return result


def test_a_new_store_holds_v1_1_from_configuration_as_the_active_version(store_url, params):
    with ScorecardStore(store_url) as store:
        assert store.sync_config_versions(params["versions"], params["initial_version"]) == ["v1", "v1_1"]
        assert store.sync_config_versions(params["versions"], params["initial_version"]) == []
        active = store.active()
        assert active.version == "v1_1" and active.source == "config"
        assert store.get("v1").status == "draft" and store.get("v1").provenance["legacy"] is True
        assert [(e.action, e.version, e.actor) for e in store.history()] == [
            ("create", "v1", "config"),
            ("create", "v1_1", "config"),
            ("activate", "v1_1", BOOTSTRAP_REVIEWER),
        ]
    assert _active_rows(store_url) == ["v1_1"]


def test_versions_survive_a_restart_and_a_stored_version_never_changes(store_url, caplog):
    with ScorecardStore(store_url) as store:
        store.sync_config_versions({"v1": copy.deepcopy(SMALL)}, "v1")
    edited = copy.deepcopy(SMALL)
    edited["features"]["age"]["points"] = [0, 60, 85, 90]
    with caplog.at_level(logging.WARNING), ScorecardStore(store_url) as store:  # a new process, same file
        assert store.sync_config_versions({"v1": edited}, "v1") == []
        assert store.get("v1").definition.feature("age").points == (30, 60, 85, 90)
        assert store.active().version == "v1"
    assert "differs from the stored v1" in caplog.text


def test_refined_versions_are_named_ml_v2_ml_v3(store, small):
    assert _draft(store, small, "draft").version == "ml_v2"
    assert _draft(store, small, "draft", age=0.16).version == "ml_v3"
    assert store.get("ml_v3").status == "draft"
    with pytest.raises(ScorecardStoreError, match="already exists"):
        _draft(store, small, "ml_v3")


def test_unknown_versions_and_missing_reviewers_are_refused_with_clear_messages(store, small):
    _draft(store, small, "ml_v2", age=0.16)
    with pytest.raises(
        UnknownVersionError, match="Unknown scorecard version 'ml_v9'. Versions in the store: v1, ml_v2"
    ):
        store.activate("ml_v9", reviewer="Ann")
    for reviewer in (None, "", "   "):
        with pytest.raises(ReviewerRequiredError, match="needs a named reviewer"):
            store.activate("ml_v2", reviewer=reviewer)
    with pytest.raises(AlreadyActiveError):
        store.activate("v1", reviewer="Ann")
    with pytest.raises(NothingToRollBackError, match="no version was active before v1"):
        store.rollback("Ann", "test")
    with pytest.raises(ScorecardStoreError, match="needs a reason"):
        store.rollback("Ann", " ")
    assert _active_rows(store.url) == ["v1"]


def test_a_version_moving_a_weight_by_60_percent_cannot_be_activated_without_an_override(
    store, small, sample
):
    _draft(store, small, "ml_v2", age=0.24)  # 0.15 -> 0.24: +60 %
    # not compared yet: blocked
    with pytest.raises(ActivationBlockedError, match="has not been compared with the active version v1"):
        store.activate("ml_v2", reviewer="Ann Risk")
    result = _compare(store, "v1", "ml_v2", sample)
    assert not result["passed"]
    with pytest.raises(ActivationBlockedError) as blocked:
        store.activate("ml_v2", reviewer="Ann Risk", reason="better model")
    assert [c["check"] for c in blocked.value.failed] == ["weight_change"]
    assert "--override-reason" in str(blocked.value) and "age" in str(blocked.value)
    assert store.active().version == "v1" and _active_rows(store.url) == ["v1"]
    assert [e.action for e in store.history()][-1] == "compare"  # a refused activation writes nothing

    done = store.activate(
        "ml_v2", reviewer="Ann Risk", reason="better model", override_reason="age drift accepted by committee"
    )
    assert done.override and done.previous_version == "v1"
    assert store.active().version == "ml_v2" and store.get("v1").status == "retired"
    last = store.history()[-1]
    assert (last.action, last.version, last.actor) == ("activate", "ml_v2", "Ann Risk")
    assert last.details["override"] is True and last.details["failed_checks"] == ["weight_change"]
    assert "OVERRIDE of failed checks (weight_change): age drift accepted by committee" in last.reason


def test_activate_rollback_activate_keeps_exactly_one_active_version_and_audits_every_step(
    store, small, sample
):
    _draft(store, small, "ml_v2", age=0.16)
    _draft(store, small, "ml_v3", age=0.17)
    _compare(store, "v1", "ml_v2", sample)
    store.activate("ml_v2", reviewer="Ann Risk", reason="Q3 review")
    assert _active_rows(store.url) == ["ml_v2"]
    store.rollback(reviewer="Bob Chief", reason="band E doubled")
    assert _active_rows(store.url) == ["v1"]
    _compare(store, "v1", "ml_v3", sample)
    store.activate("ml_v3", reviewer="Carol Risk")
    assert _active_rows(store.url) == ["ml_v3"]
    store.rollback(reviewer="Dan Ops", reason="incident 42")
    assert _active_rows(store.url) == ["v1"]
    with pytest.raises(NothingToRollBackError):
        store.rollback(reviewer="Dan Ops", reason="again")

    steps = [(e.action, e.version, e.actor) for e in store.history() if e.action in ("activate", "rollback")]
    assert steps == [
        ("activate", "v1", BOOTSTRAP_REVIEWER),
        ("activate", "ml_v2", "Ann Risk"),
        ("rollback", "v1", "Bob Chief"),
        ("activate", "ml_v3", "Carol Risk"),
        ("rollback", "v1", "Dan Ops"),
    ]
    entries = store.history()
    assert [e.id for e in entries] == sorted(e.id for e in entries)
    assert [e.at for e in entries] == sorted(e.at for e in entries)
    rollback = [e for e in entries if e.action == "rollback"][0]
    assert (
        rollback.details == {"rolled_back": "ml_v2", "restored": "v1"} and rollback.reason == "band E doubled"
    )
    assert [a.previous_version for a in store.activations()] == [None, "v1", "ml_v2", "v1", "ml_v3"]


def test_the_audit_log_and_history_tables_are_append_only_and_two_actives_are_impossible(
    store, small, sample
):
    _draft(store, small, "ml_v2", age=0.16)
    _compare(store, "v1", "ml_v2", sample)
    with sqlite3.connect(_db_file(store.url)) as con:
        for statement in (
            "UPDATE scorecard_audit SET actor = 'mallory'",
            "DELETE FROM scorecard_audit",
            "DELETE FROM scorecard_activations",
            "UPDATE scorecard_comparisons SET passed = 1",
            "UPDATE scorecard_versions SET definition = '{}' WHERE version = 'v1'",
            "DELETE FROM scorecard_versions WHERE version = 'ml_v2'",
            "UPDATE scorecard_versions SET status = 'active' WHERE version = 'ml_v2'",
        ):
            with pytest.raises(sqlite3.DatabaseError):
                con.execute(statement)
    assert _active_rows(store.url) == ["v1"]
    assert store.counts()["scorecard_audit"] == 4  # create v1, activate v1, create ml_v2, compare


# -- two processes at once --------------------------------------------------------------------------------
def _activate_in_process(url: str, version: str, barrier, results) -> None:
    store = ScorecardStore(url)
    barrier.wait()
    try:
        done = store.activate(version, reviewer=f"reviewer-{version}", override_reason="concurrency test")
        results.put((version, "ok", done.previous_version))
    except ScorecardStoreError as exc:
        results.put((version, type(exc).__name__, str(exc)))
    finally:
        store.close()


def _run_concurrently(url: str, versions: list[str]) -> list[tuple]:
    ctx = multiprocessing.get_context("fork")
    barrier, results = ctx.Barrier(len(versions)), ctx.Queue()
    procs = [ctx.Process(target=_activate_in_process, args=(url, v, barrier, results)) for v in versions]
    for p in procs:
        p.start()
    out = [results.get(timeout=30) for _ in procs]
    for p in procs:
        p.join(timeout=30)
        assert p.exitcode == 0
    return out


def test_processes_activating_at_once_leave_one_consistent_state(store, small):
    drafts = [_draft(store, small, "draft", age=0.15 + i / 100).version for i in range(1, 5)]  # ml_v2..ml_v5
    url = store.url
    store.close()

    outcomes = _run_concurrently(url, drafts)
    assert sorted(o[1] for o in outcomes) == ["ok"] * 4  # serialised, each saw the previous one's result
    assert len(_active_rows(url)) == 1
    with ScorecardStore(url) as after:
        activations = after.activations()
        # the activation history is one chain: each one replaced the version the previous one activated
        chain = [a.version for a in activations]
        assert [a.previous_version for a in activations[1:]] == chain[:-1]
        assert after.active().version == chain[-1] == _active_rows(url)[0]
        assert sorted(chain[1:]) == sorted(drafts)
        audited = [(e.version, e.actor) for e in after.history() if e.action == "activate"][1:]
        assert audited == [(v, f"reviewer-{v}") for v in chain[1:]]

    # the same version from two processes: one activates it, the other is told it is already active
    with ScorecardStore(url) as again:
        target = _draft(again, small, "draft", age=0.2).version
    outcomes = _run_concurrently(url, [target, target])
    assert sorted(o[1] for o in outcomes) == ["AlreadyActiveError", "ok"]
    assert _active_rows(url) == [target]


def _refine_in_process(url: str, definition: dict, barrier, results) -> None:
    store = ScorecardStore(url)
    barrier.wait()
    try:
        record, _ = store.save_refinement({"definition": definition, "base_version": "v1", "created_by": "p"})
        results.put(record.version)
    except Exception as exc:  # noqa: BLE001 - reported to the test, never hangs it
        results.put(f"{type(exc).__name__}: {exc}")
    finally:
        store.close()


def test_processes_refining_at_once_get_distinct_version_names(store, small):
    url = store.url
    store.close()
    ctx = multiprocessing.get_context("fork")
    barrier, results = ctx.Barrier(3), ctx.Queue()
    procs = [
        ctx.Process(target=_refine_in_process, args=(url, small.to_dict(), barrier, results))
        for _ in range(3)
    ]
    for p in procs:
        p.start()
    names = sorted(results.get(timeout=30) for _ in procs)
    for p in procs:
        p.join(timeout=30)
    assert names == ["ml_v2", "ml_v3", "ml_v4"]


# -- a status change needs its audit row (issue 18.8) -----------------------------------------------------
def _audit_rows(url: str) -> int:
    with sqlite3.connect(_db_file(url)) as con:
        return con.execute("SELECT COUNT(*) FROM scorecard_audit").fetchone()[0]


def test_a_raw_status_update_cannot_switch_the_active_version_without_an_audit_row(store, small, sample):
    _draft(store, small, "ml_v2", age=0.16)
    _compare(store, "v1", "ml_v2", sample)
    audited = _audit_rows(store.url)
    con = sqlite3.connect(_db_file(store.url), isolation_level=None)
    try:
        for statements in (
            # the switch of the issue: retire the active version, then activate another, in one transaction
            [
                "UPDATE scorecard_versions SET status = 'retired' WHERE version = 'v1'",
                "UPDATE scorecard_versions SET status = 'active' WHERE version = 'ml_v2'",
            ],
            # both rows in one statement
            [
                "UPDATE scorecard_versions SET status = CASE version WHEN 'v1' THEN 'retired' ELSE 'active' END "
                "WHERE version IN ('v1', 'ml_v2')"
            ],
            # an activation row forged without its audit row
            [
                "INSERT INTO scorecard_activations (action, version, previous_version, reviewer, override, at) "
                "VALUES ('activate', 'ml_v2', 'v1', 'mallory', 0, '2030-01-01')",
                "UPDATE scorecard_versions SET status = 'retired' WHERE version = 'v1'",
            ],
            ["UPDATE scorecard_versions SET status = 'draft' WHERE version = 'v1'"],
            ["UPDATE scorecard_versions SET activated_by = 'mallory' WHERE version = 'v1'"],
            # a new version inserted as active (or retired) from the start
            [
                "INSERT INTO scorecard_versions (version, status, source, definition, fingerprint, provenance, "
                "created_at, created_by) SELECT 'ml_v9', 'retired', source, definition, fingerprint, provenance, "
                "created_at, 'mallory' FROM scorecard_versions WHERE version = 'ml_v2'"
            ],
        ):
            con.execute("BEGIN")
            with pytest.raises(sqlite3.DatabaseError, match="audit|draft"):
                for statement in statements:
                    con.execute(statement)
            con.execute("ROLLBACK")
    finally:
        con.close()
    assert _active_rows(store.url) == ["v1"]
    assert store.active().version == "v1" and store.get("ml_v2").status == "draft"
    assert _audit_rows(store.url) == audited

    # through the store the same switch works, and is audited
    store.activate("ml_v2", reviewer="Ann Risk", reason="Q3 review")
    store.rollback(reviewer="Bob Chief", reason="band E doubled")
    assert _active_rows(store.url) == ["v1"] and store.get("ml_v2").status == "retired"
    assert [e.action for e in store.history()][-2:] == ["activate", "rollback"]
    assert _audit_rows(store.url) == audited + 2


def _drop_status_triggers(url: str) -> None:
    """Make the database look like one created before the status triggers existed."""
    with sqlite3.connect(_db_file(url)) as con:
        for name in ("scorecard_versions_status_audited", "scorecard_versions_insert_draft"):
            con.execute(f"DROP TRIGGER {name}")


def test_a_store_created_before_the_rule_is_migrated_when_its_state_matches_its_audit_log(
    store, small, sample, caplog
):
    _draft(store, small, "ml_v2", age=0.16)
    _compare(store, "v1", "ml_v2", sample)
    store.activate("ml_v2", reviewer="Ann Risk")
    url = store.url
    store.close()
    _drop_status_triggers(url)
    with caplog.at_level(logging.INFO), ScorecardStore(url) as reopened:
        assert reopened.active().version == "ml_v2"
    assert "migrated: status changes now need their audit row" in caplog.text
    with sqlite3.connect(_db_file(url)) as con, pytest.raises(sqlite3.DatabaseError, match="audit"):
        con.execute("UPDATE scorecard_versions SET status = 'retired' WHERE version = 'ml_v2'")
    with ScorecardStore(url) as again:
        again.rollback(reviewer="Bob Chief", reason="back to v1")
        assert again.active().version == "v1"


def test_a_store_switched_outside_the_audit_log_before_the_rule_is_refused_with_the_fix(store, small):
    _draft(store, small, "ml_v2", age=0.16)
    url = store.url
    store.close()
    _drop_status_triggers(url)
    tamper = [
        "UPDATE scorecard_versions SET status = 'retired' WHERE version = 'v1'",
        "UPDATE scorecard_versions SET status = 'active' WHERE version = 'ml_v2'",
    ]
    with sqlite3.connect(_db_file(url)) as con:
        for statement in tamper:
            con.execute(statement)
    with pytest.raises(ScorecardStoreError) as refused:
        ScorecardStore(url)
    message = str(refused.value)
    assert "disagrees with its own audit log: the active version is ml_v2" in message
    assert "makes it v1" in message and "changed outside the store" in message
    assert "UPDATE scorecard_versions SET status = 'active' WHERE version = 'v1';" in message
    assert _active_rows(url) == ["ml_v2"]  # refused: nothing changed

    # the statements the message gives restore the audited state; then the store opens and is protected
    with sqlite3.connect(_db_file(url)) as con:
        for statement in re.findall(r"UPDATE scorecard_versions [^;]+;", message):
            con.execute(statement)
    with ScorecardStore(url) as repaired:
        assert repaired.active().version == "v1" and repaired.get("ml_v2").status == "draft"
    with sqlite3.connect(_db_file(url)) as con, pytest.raises(sqlite3.DatabaseError, match="audit"):
        con.execute(tamper[0])
