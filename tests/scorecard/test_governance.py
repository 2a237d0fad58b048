"""The governance rules on their own (no database): who may activate, what blocks an activation, what a rollback
restores, how versions are named, the initial version and decision overrides; each rule allowing and refusing."""

from __future__ import annotations

import copy

import pytest

from kycc.scorecard import governance
from kycc.scorecard.comparison import compare_scorecards
from kycc.scorecard.definition import ScorecardDefinition
from kycc.scorecard.governance import (
    ActivationBlockedError,
    AlreadyActiveError,
    NothingToRollBackError,
    ReviewerRequiredError,
    ScorecardStoreError,
    UnknownVersionError,
)
from tests.scorecard.conftest import SMALL, with_weights


@pytest.fixture
def age_penalty() -> ScorecardDefinition:
    """SMALL with fewer age points for the oldest bin (> 50, holding ages >= 62) than for 35..50."""
    spec = copy.deepcopy(SMALL)
    spec["features"]["age"]["points"] = [30, 60, 90, 50]
    return ScorecardDefinition.from_dict(spec, version="ml_v3")


def test_a_named_person_is_required_and_stripped():
    assert governance.require_person("  Ann Risk ", "Activating scorecard 'ml_v2'") == "Ann Risk"
    for blank in (None, "", "   "):
        with pytest.raises(
            ReviewerRequiredError,
            match=r"^Activating scorecard 'ml_v2' needs a named reviewer \(who approves it\)",
        ):
            governance.require_person(blank, "Activating scorecard 'ml_v2'")
    assert issubclass(ReviewerRequiredError, ScorecardStoreError)


def test_a_rollback_needs_a_reason():
    assert governance.require_rollback_reason(" band E share doubled ") == "band E share doubled"
    for blank in (None, "", " \t"):
        with pytest.raises(ScorecardStoreError, match="A rollback needs a reason"):
            governance.require_rollback_reason(blank)


def test_only_a_fair_lending_version_can_decide(small, age_penalty):
    governance.check_can_decide("v1", small)  # the oldest bin gets the most age points: allowed
    with pytest.raises(ScorecardStoreError, match="^ml_v3 cannot become the deciding version: .*age rule"):
        governance.check_can_decide("ml_v3", age_penalty)


def test_the_active_version_cannot_be_activated_again():
    governance.check_not_active("ml_v2", "v1")
    governance.check_not_active("ml_v2", None)
    with pytest.raises(AlreadyActiveError, match="Scorecard 'v1' is already the active version"):
        governance.check_not_active("v1", "v1")


def test_a_new_store_activates_without_a_comparison(small):
    decision = governance.decide_activation("v1", small, None, None)
    assert decision == governance.ActivationDecision(None, [], False, "no active version")
    assert governance.decide_activation("v1", small, None, None, reason="first").reason == "first"


def test_activation_needs_a_comparison_with_the_active_version_or_a_written_override(small):
    with pytest.raises(ActivationBlockedError) as blocked:
        governance.decide_activation("ml_v2", small, "v1", None, reason="better", override_reason="  ")
    err = blocked.value
    assert (err.version, err.active, err.comparison_id) == ("ml_v2", "v1", None)
    assert err.failed == [{"check": "comparison", "detail": "no comparison of ml_v2 with v1"}]
    assert "has not been compared with the active version v1: run `kycc scorecard compare v1 ml_v2`" in str(
        err
    )
    assert "--override-reason" in str(err)

    allowed = governance.decide_activation("ml_v2", small, "v1", None, "better", " committee 12/10 ")
    assert allowed.override and allowed.comparison_id is None
    assert [c["check"] for c in allowed.failed] == ["comparison"]
    assert allowed.reason == "better; OVERRIDE of failed checks (comparison): committee 12/10"


def test_a_failed_comparison_blocks_and_a_passing_one_allows(small, sample):
    moved = small.with_weights(with_weights(small, age=0.24), version="ml_v2")  # age weight +60 %
    failed = compare_scorecards(small, moved, sample)
    assert not failed["passed"]
    with pytest.raises(ActivationBlockedError) as blocked:
        governance.decide_activation("ml_v2", moved, "v1", (7, failed), reason="better model")
    err = blocked.value
    assert err.comparison_id == 7 and [c["check"] for c in err.failed] == ["weight_change"]
    assert "the comparison #7 of ml_v2 with the active version v1 failed weight_change (" in str(err)

    overridden = governance.decide_activation("ml_v2", moved, "v1", (7, failed), None, "age drift accepted")
    assert (overridden.comparison_id, overridden.override) == (7, True)
    assert overridden.reason == "OVERRIDE of failed checks (weight_change): age drift accepted"

    same = small.renamed("ml_v2")
    passed = compare_scorecards(small, same, sample)
    assert passed["passed"]
    ok = governance.decide_activation("ml_v2", same, "v1", (8, passed), override_reason="not needed")
    assert ok == governance.ActivationDecision(8, [], False, "all checks of comparison #8 passed")
    assert governance.decide_activation("ml_v2", same, "v1", (8, passed), reason="committee").reason == (
        "committee"
    )


def test_fair_lending_and_already_active_are_checked_before_the_evidence(small, age_penalty):
    # with an override reason and no comparison, the other rules still refuse
    with pytest.raises(ScorecardStoreError, match="cannot become the deciding version"):
        governance.decide_activation("ml_v3", age_penalty, "v1", None, override_reason="accepted")
    with pytest.raises(AlreadyActiveError):
        governance.decide_activation("v1", small, "v1", None, override_reason="accepted")


def test_the_activation_stack_pushes_activations_and_pops_rollbacks():
    history = [("bootstrap", "v1"), ("activate", "ml_v2"), ("activate", "ml_v3"), ("rollback", "ml_v2")]
    assert governance.activation_stack(history) == ["v1", "ml_v2"]
    assert governance.activation_stack(history + [("rollback", "v1")]) == ["v1"]
    assert governance.activation_stack([]) == []


def test_a_rollback_restores_the_version_active_before_the_current_one():
    assert governance.rollback_target("ml_v2", ["v1", "ml_v2"]) == "v1"
    assert governance.rollback_target("ml_v3", ["v1", "ml_v2", "ml_v3"]) == "ml_v2"
    with pytest.raises(NothingToRollBackError, match="no version was active before v1"):
        governance.rollback_target("v1", ["v1"])
    with pytest.raises(NothingToRollBackError, match="no version was active before the current one"):
        governance.rollback_target(None, [])
    with pytest.raises(
        ScorecardStoreError, match="Inconsistent store: the active version is v1 but .* ml_v2"
    ):
        governance.rollback_target("v1", ["v1", "ml_v2"])


def test_drafts_are_numbered_after_the_highest_version_and_names_are_never_reused():
    assert governance.next_ml_version(["v1"]) == "ml_v2"
    assert governance.next_ml_version(["v1", "v1_1", "ml_v2", "ml_v10", "ml_v3"]) == "ml_v11"
    assert governance.next_ml_version([]) == "ml_v2"
    assert governance.next_ml_version(["expert"]) == "ml_v2"
    assert governance.new_version_name("draft", {"v1", "ml_v2"}) == "ml_v3"
    assert governance.new_version_name("v2", {"v1", "ml_v2"}) == "v2"
    with pytest.raises(ScorecardStoreError, match="Version 'v1' already exists; versions are immutable"):
        governance.new_version_name("v1", {"v1", "ml_v2"})


def test_the_initial_version_is_a_current_configured_version():
    governance.check_initial_version("v1_1", ("v1",))
    with pytest.raises(ScorecardStoreError, match="'v1' is a legacy version"):
        governance.check_initial_version("v1", ("v1",))
    assert governance.bootstrap_version("v1_1", {"v1", "v1_1"}, ["v1", "v1_1"]) == "v1_1"
    with pytest.raises(UnknownVersionError, match=r"'v9' is not defined in scorecard.versions \(v1, v1_1\)"):
        governance.bootstrap_version("v9", {"v1", "v1_1"}, ["v1", "v1_1"])
    with pytest.raises(UnknownVersionError, match=r"\(none\)"):
        governance.bootstrap_version("v1", set(), [])


def test_a_decision_override_needs_a_person_a_reason_and_a_valid_decision():
    assert governance.check_override_request(5, "approve", " Bob ", " documented income ") == (
        "Bob",
        "documented income",
    )
    with pytest.raises(ReviewerRequiredError, match="Overriding decision #5 needs a named reviewer"):
        governance.check_override_request(5, "approve", "", "why")
    with pytest.raises(ScorecardStoreError, match="Overriding decision #5 needs a reason"):
        governance.check_override_request(5, "approve", "Bob", " ")
    with pytest.raises(ScorecardStoreError, match="approve, refer or decline, got 'accept'"):
        governance.check_override_request(5, "accept", "Bob", "why")


def test_an_override_is_low_side_when_more_favourable_and_never_a_no_op():
    assert governance.override_side(1, "decline", "approve") == "low_side"
    assert governance.override_side(1, "decline", "refer") == "low_side"
    assert governance.override_side(1, "refer", "approve") == "low_side"
    assert governance.override_side(1, "approve", "refer") == "high_side"
    assert governance.override_side(1, "refer", "decline") == "high_side"
    with pytest.raises(ScorecardStoreError, match="Decision #1 already is refer: nothing to override"):
        governance.override_side(1, "refer", "refer")
