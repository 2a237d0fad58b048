"""``kycc scorecard …`` through click's CliRunner, on a store in a temp folder and the project's configuration."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from kycc.cli.main import main
from kycc.scorecard.store import ScorecardStore
from tests.scorecard.conftest import v1_like_rows, with_weights


@pytest.fixture
def cli(tmp_path, monkeypatch, store_url):
    """Run ``kycc scorecard --db <temp store> ARGS``; data (reports) under a temp data root."""
    monkeypatch.setenv("KYCC_DATA_ROOT", str(tmp_path / "data"))
    monkeypatch.setenv("KYCC_MLFLOW_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()

    def run(*args: str):
        return runner.invoke(main, ["scorecard", "--db", store_url, *args], catch_exceptions=False)

    return run


def _add_draft(store_url: str, v1, name: str, **weights: float) -> None:
    with ScorecardStore(store_url) as store:
        weights = with_weights(v1, spread=True, **weights)
        store.create_version(v1.with_weights(weights, version=name), created_by="modeller")


def test_list_and_show_on_a_new_store_show_v1_1_from_configuration_active(cli):
    listed = cli("list")
    assert listed.exit_code == 0, listed.output
    assert "* v1_1" in listed.output and "active" in listed.output and "config" in listed.output
    assert "  v1 " in listed.output  # the legacy v1 is stored for the record, as a draft
    shown = cli("show", "v1_1")
    assert shown.exit_code == 0
    assert "Scorecard v1_1 (active)" in shown.output and "credit_mix" in shown.output
    assert "Score = floor(300 + 550 × Σ weight × points / 100 + 0.5)" in shown.output
    as_json = json.loads(cli("show", "v1_1", "--json").stdout)
    assert as_json["version"] == "v1_1" and len(as_json["definition"]["features"]) == 16
    assert as_json["definition"]["policy"]["cutoffs"] == {"approve": 660.0, "refer": 600.0}


def test_unknown_version_and_missing_reviewer_give_clear_errors(cli, store_url, v1_1):
    cli("list")
    _add_draft(store_url, v1_1, "ml_v2", age=0.05)
    unknown = cli("show", "ml_v9")
    assert unknown.exit_code == 1
    assert "Unknown scorecard version 'ml_v9'. Versions in the store: v1, v1_1, ml_v2" in unknown.output
    no_reviewer = cli("activate", "ml_v2")
    assert no_reviewer.exit_code == 2
    assert "Activating ml_v2 needs a named reviewer: --reviewer" in no_reviewer.output
    no_reason = cli("rollback", "--reviewer", "Ann")
    assert no_reason.exit_code == 2 and "needs a reason" in no_reason.output


def test_compare_activate_override_rollback_history_end_to_end(cli, store_url, v1_1, tmp_path):
    cli("list")
    _add_draft(store_url, v1_1, "ml_v2", credit_mix=0.176)  # 0.11 -> 0.176: +60 %
    reference = tmp_path / "reference.parquet"
    v1_like_rows(v1_1, n=500, seed=2).to_parquet(reference)

    compared = cli("compare", "v1_1", "ml_v2", "--reference-file", str(reference), "--author", "Bob Analyst")
    assert compared.exit_code == 1, compared.output  # a failing check
    assert "weight_change" in compared.output and "FAIL" in compared.output
    assert "credit_mix" in compared.output and "+60.0 %" in compared.output
    report_dir = tmp_path / "data" / "08_reporting" / "scorecard"
    assert (report_dir / "v1_1_vs_ml_v2.html").is_file() and (report_dir / "v1_1_vs_ml_v2.md").is_file()

    blocked = cli("activate", "ml_v2", "--reviewer", "Ann Risk")
    assert blocked.exit_code == 1
    assert "FAIL weight_change" in blocked.output and "--override-reason" in blocked.output

    overridden = cli(
        "activate", "ml_v2", "--reviewer", "Ann Risk", "--override-reason", "credit mix matters more since Q2"
    )
    assert overridden.exit_code == 0, overridden.output
    assert (
        "ml_v2 is now the active scorecard (previous: v1_1)" in overridden.output
        and "OVERRIDE" in overridden.output
    )

    rolled = cli("rollback", "--reviewer", "Bob Chief", "--reason", "approval rates fell")
    assert rolled.exit_code == 0 and "v1_1 is the active scorecard again (was ml_v2)" in rolled.output
    assert "* v1_1" in cli("list").output

    history = cli("history", "--json")
    entries = [json.loads(line) for line in history.stdout.splitlines()]
    assert [(e["action"], e["version"], e["actor"]) for e in entries] == [
        ("create", "v1", "config"),
        ("create", "v1_1", "config"),
        ("activate", "v1_1", "system (bootstrap from configuration)"),
        ("create", "ml_v2", "modeller"),
        ("compare", "ml_v2", "Bob Analyst"),
        ("activate", "ml_v2", "Ann Risk"),
        ("rollback", "v1_1", "Bob Chief"),
    ]
    assert "credit mix matters more since Q2" in entries[5]["reason"]
    table = cli("history", "--limit", "2").output
    assert "rollback" in table and "approval rates fell" in table and "create" not in table
