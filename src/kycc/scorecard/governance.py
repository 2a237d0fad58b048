"""The scorecard governance rules: who may activate, what blocks an activation, what a rollback restores.

Plain functions over plain values (names, definitions, comparison results, the activation history): no SQL, no
I/O. Each returns a decision or raises one of the errors below with the message the user sees.
:class:`kycc.scorecard.store.ScorecardStore` reads what a rule needs inside its write transaction, calls the rule
and writes the outcome (the activation row, the audit row, the status change) in the same transaction.

The rules:

* **A named person** activates, rolls back and overrides decisions (:func:`require_person`); a rollback and a
  decision override also need a written reason (:func:`require_rollback_reason`, :func:`check_override_request`).
* **Only a fair-lending version decides** (:func:`check_can_decide`): activation and rollback refuse a version
  that fails :func:`kycc.scorecard.fairness.check_fair_lending`.
* **Evidence first** (:func:`decide_activation`): the latest comparison of the candidate with the active version
  must pass every check (the four of :func:`kycc.scorecard.comparison.compare_scorecards`, ``shadow_gini``
  included); a failed or missing comparison blocks the activation (:class:`ActivationBlockedError`) unless a
  written override reason is given, which is recorded. The version already active is refused
  (:class:`AlreadyActiveError`); with no active version (a new store) nothing is compared.
* **Rollback walks the activation history back** (:func:`activation_stack`, :func:`rollback_target`):
  activations push, rollbacks pop (v1 → ml_v2 → rollback → v1; a further rollback has nothing to restore).
* **Versions are immutable and numbered** (:func:`new_version_name`, :func:`next_ml_version`): a draft is named
  ``ml_v{N+1}``; an existing name is never reused.
* **The initial version** activated when a store is set up (by :data:`BOOTSTRAP_REVIEWER`) must be a current
  (not legacy) version defined in configuration (:func:`check_initial_version`, :func:`bootstrap_version`).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kycc.scorecard.comparison import failed_checks
from kycc.scorecard.definition import ScorecardDefinition
from kycc.scorecard.fairness import FairLendingError, check_fair_lending

__all__ = [
    "BOOTSTRAP_REVIEWER",
    "DECISION_ORDER",
    "ActivationBlockedError",
    "ActivationDecision",
    "AlreadyActiveError",
    "NothingToRollBackError",
    "ReviewerRequiredError",
    "ScorecardStoreError",
    "UnknownVersionError",
    "activation_stack",
    "bootstrap_version",
    "check_can_decide",
    "check_initial_version",
    "check_not_active",
    "check_override_request",
    "decide_activation",
    "new_version_name",
    "next_ml_version",
    "override_side",
    "require_person",
    "require_rollback_reason",
    "rollback_target",
]

#: Reviewer recorded for the activation of the initial version when a store is first set up.
BOOTSTRAP_REVIEWER = "system (bootstrap from configuration)"
#: Decisions from least to most favourable to the applicant (an override towards approve is ``low_side``).
DECISION_ORDER = {"decline": 0, "refer": 1, "approve": 2}


# ---------------------------------------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------------------------------------
class ScorecardStoreError(Exception):
    """A scorecard governance operation was refused (the message says why and what to do)."""


class UnknownVersionError(ScorecardStoreError):
    """No such version (the message lists the versions that exist)."""


class ReviewerRequiredError(ScorecardStoreError):
    """Activation and rollback need a named reviewer."""


class AlreadyActiveError(ScorecardStoreError):
    """The version is already the active one."""


class NothingToRollBackError(ScorecardStoreError):
    """No earlier active version to restore."""


class ActivationBlockedError(ScorecardStoreError):
    """The comparison with the active version failed (or is missing) and no override reason was given.

    Attributes:
        version: The version that was to be activated.
        active: The active version.
        failed: The failing checks (empty when there is no comparison at all).
        comparison_id: The comparison looked at (None when missing).
    """

    def __init__(
        self,
        message: str,
        version: str,
        active: str | None,
        failed: list[dict[str, Any]],
        comparison_id: int | None,
    ) -> None:
        super().__init__(message)
        self.version = version
        self.active = active
        self.failed = failed
        self.comparison_id = comparison_id


# ---------------------------------------------------------------------------------------------------------
# who
# ---------------------------------------------------------------------------------------------------------
def require_person(value: str | None, what: str) -> str:
    """The named person (stripped); :class:`ReviewerRequiredError` when blank.

    Args:
        value: The reviewer (or overriding person) as given.
        what: What needs the person, for the message (``"Activating scorecard 'ml_v2'"``).
    """
    person = (value or "").strip()
    if not person:
        raise ReviewerRequiredError(
            f"{what} needs a named reviewer (who approves it), e.g. --reviewer 'Jane Doe, Head of Credit Risk'"
        )
    return person


def require_rollback_reason(reason: str | None) -> str:
    """The rollback's reason (stripped); :class:`ScorecardStoreError` when blank."""
    why = (reason or "").strip()
    if not why:
        raise ScorecardStoreError("A rollback needs a reason (why), e.g. --reason 'band E share doubled'")
    return why


# ---------------------------------------------------------------------------------------------------------
# activation
# ---------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ActivationDecision:
    """An allowed activation: what the store records.

    Attributes:
        comparison_id: The comparison the activation rests on (None with no active version).
        failed: The failing checks accepted by the override (empty without an override).
        override: Whether failed checks were overridden by a written reason.
        reason: The recorded reason (the given reason, the override and its reason, or what allowed it).
    """

    comparison_id: int | None
    failed: list[dict[str, Any]] = field(default_factory=list)
    override: bool = False
    reason: str = ""


def check_can_decide(version: str, definition: ScorecardDefinition) -> None:
    """Refuse (:class:`ScorecardStoreError`) a version that fails the fair-lending rules as the deciding one."""
    try:
        check_fair_lending(definition)
    except FairLendingError as exc:
        raise ScorecardStoreError(f"{version} cannot become the deciding version: {exc}") from exc


def check_not_active(version: str, active: str | None) -> None:
    """Refuse (:class:`AlreadyActiveError`) activating the version that is already active."""
    if active == version:
        raise AlreadyActiveError(f"Scorecard {version!r} is already the active version")


def decide_activation(
    version: str,
    definition: ScorecardDefinition,
    active: str | None,
    comparison: tuple[int, Mapping[str, Any]] | None,
    reason: str | None = None,
    override_reason: str | None = None,
) -> ActivationDecision:
    """Whether ``version`` may replace ``active``, on the evidence of their latest comparison.

    Args:
        version: The candidate.
        definition: The candidate's definition (fair-lending rules).
        active: The active version (None in a new store: nothing to compare with).
        comparison: ``(id, result)`` of the latest comparison of ``version`` against ``active``, or None.
        reason: Why (optional; recorded).
        override_reason: A written reason to activate despite failed or missing checks.

    Returns:
        The allowed activation.

    Raises:
        ScorecardStoreError: ``version`` fails the fair-lending rules.
        AlreadyActiveError: ``version`` is the active version.
        ActivationBlockedError: The comparison is missing or failed and there is no override reason.
    """
    check_can_decide(version, definition)
    check_not_active(version, active)
    override_reason = (override_reason or "").strip() or None
    comparison_id, failed = None, []
    if active is not None:
        if comparison is None:
            failed = [{"check": "comparison", "detail": f"no comparison of {version} with {active}"}]
            problem = (
                f"{version} has not been compared with the active version {active}: run "
                f"`kycc scorecard compare {active} {version}` and review the report first"
            )
        else:
            comparison_id, result = comparison
            failed = failed_checks(result)
            problem = (
                f"the comparison #{comparison_id} of {version} with the active version {active} failed "
                + (
                    "; ".join(
                        f"{c['check']} ({c.get('value')} vs {c.get('rule')}): {c.get('detail', '')}"
                        for c in failed
                    )
                )
            )
        if failed and override_reason is None:
            raise ActivationBlockedError(
                f"Activation of {version} blocked: {problem}. To activate anyway, give a written reason: "
                f"--override-reason '…' (recorded in the audit log).",
                version,
                active,
                failed,
                comparison_id,
            )
    override = bool(failed)
    why = "; ".join(
        p
        for p in (
            reason,
            f"OVERRIDE of failed checks ({', '.join(c['check'] for c in failed)}): {override_reason}"
            if override
            else None,
        )
        if p
    ) or (f"all checks of comparison #{comparison_id} passed" if comparison_id else "no active version")
    return ActivationDecision(comparison_id, failed, override, why)


# ---------------------------------------------------------------------------------------------------------
# rollback
# ---------------------------------------------------------------------------------------------------------
def activation_stack(history: Iterable[tuple[str, str]]) -> list[str]:
    """The versions a rollback can walk back through, oldest first (the last one is the active version).

    Args:
        history: ``(action, version)`` of every activation row in order (``bootstrap``, ``activate``,
            ``rollback``): activations push their version, rollbacks pop.
    """
    stack: list[str] = []
    for action, version in history:
        if action == "rollback":
            stack.pop()
        else:
            stack.append(version)
    return stack


def rollback_target(active: str | None, stack: Sequence[str]) -> str:
    """The version a rollback restores: the one active before the current one's activation.

    Raises:
        NothingToRollBackError: No version was active before the current one.
        ScorecardStoreError: The activation history does not end with the active version.
    """
    if active is None or len(stack) < 2:
        raise NothingToRollBackError(
            f"Nothing to roll back to: no version was active before {active or 'the current one'} "
            "(each rollback restores the version active before the current one's activation; "
            "activate another version instead)"
        )
    if stack[-1] != active:
        raise ScorecardStoreError(
            f"Inconsistent store: the active version is {active} but the activation history ends with "
            f"{stack[-1]}"
        )
    return stack[-2]


# ---------------------------------------------------------------------------------------------------------
# version names and the initial version
# ---------------------------------------------------------------------------------------------------------
_VERSION_NUMBER = re.compile(r"(?:^|_)v(\d+)$")


def next_ml_version(existing: Iterable[str]) -> str:
    """``ml_v{N+1}`` where N is the highest version number in use (v1 → ml_v2)."""
    numbers = [int(m.group(1)) for name in existing if (m := _VERSION_NUMBER.search(name))]
    return f"ml_v{max(numbers, default=1) + 1}"


def new_version_name(requested: str, existing: Collection[str]) -> str:
    """The name a new version is stored under: the next ``ml_vN`` for a ``draft``, else ``requested``.

    Raises:
        ScorecardStoreError: ``requested`` already exists (versions are immutable).
    """
    if requested == "draft":
        return next_ml_version(existing)
    if requested in existing:
        raise ScorecardStoreError(f"Version {requested!r} already exists; versions are immutable")
    return requested


def check_initial_version(initial_version: str, legacy: Collection[str]) -> None:
    """Refuse a legacy version (``legacy: true``) as ``scorecard.initial_version``."""
    if initial_version in legacy:
        raise ScorecardStoreError(
            f"scorecard.initial_version {initial_version!r} is a legacy version (legacy: true): it breaks the "
            "fair-lending rules and is never activated; choose a current version"
        )


def bootstrap_version(initial_version: str, stored: Collection[str], configured: Iterable[str]) -> str:
    """The version a store with no active version activates: ``initial_version``, which must be stored.

    Raises:
        UnknownVersionError: ``initial_version`` is not among the stored versions (``configured`` are named).
    """
    if initial_version not in stored:
        raise UnknownVersionError(
            f"scorecard.initial_version {initial_version!r} is not defined in scorecard.versions "
            f"({', '.join(configured) or 'none'})"
        )
    return initial_version


# ---------------------------------------------------------------------------------------------------------
# overriding a logged decision
# ---------------------------------------------------------------------------------------------------------
def check_override_request(
    decision_id: int, decision: str, overridden_by: str | None, reason: str | None
) -> tuple[str, str]:
    """The person and the reason of an override of decision ``decision_id`` to ``decision`` (both required).

    Raises:
        ReviewerRequiredError: No named person.
        ScorecardStoreError: No reason, or ``decision`` is not approve, refer or decline.
    """
    who = require_person(overridden_by, f"Overriding decision #{decision_id}")
    why = (reason or "").strip()
    if not why:
        raise ScorecardStoreError(f"Overriding decision #{decision_id} needs a reason (why)")
    if decision not in DECISION_ORDER:
        raise ScorecardStoreError(f"An override decision is approve, refer or decline, got {decision!r}")
    return who, why


def override_side(decision_id: int, original: str, decision: str) -> str:
    """``low_side`` when ``decision`` is more favourable than ``original`` (a decline or refer approved, a decline
    referred), ``high_side`` when less favourable.

    Raises:
        ScorecardStoreError: ``decision`` is the original decision (nothing to override).
    """
    if original == decision:
        raise ScorecardStoreError(f"Decision #{decision_id} already is {decision}: nothing to override")
    return "low_side" if DECISION_ORDER[decision] > DECISION_ORDER[original] else "high_side"
