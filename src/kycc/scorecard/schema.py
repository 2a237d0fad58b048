"""The scorecard store's schema: its tables, the database rules that guard them, and their migration.

Tables (one :data:`metadata`):

* ``scorecard_versions`` — one row per version: definition (JSON), fingerprint, status (:data:`STATUSES`:
  ``draft``, ``active``, ``retired``), where it came from (``source``, ``base_version``, ``provenance``), who
  created and who activated it. The definition of a stored version never changes.
* ``scorecard_calibrations`` — score → PD calibrations per version (the latest one is used).
* ``scorecard_comparisons`` — every comparison result (JSON) and whether its checks passed.
* ``scorecard_activations`` — every activation and rollback (version, previous version, reviewer, reason,
  override, comparison used): the activation history that rollback walks back.
* ``scorecard_audit`` — who, when, what and why (:data:`AUDIT_ACTIONS`: create / calibrate / compare / activate /
  rollback).
* ``scorecard_decisions`` and ``scorecard_decision_overrides`` — the decision log and its overrides.
* ``scorecard_lock`` — one row writers lock on databases other than sqlite.

What the database itself enforces:

* **Exactly one active version**: a unique partial index on ``status = 'active'``.
* **Append-only history**: on sqlite, triggers reject any UPDATE or DELETE of the audit, activation,
  comparison, calibration, decision and override rows, and any change to a stored definition. (On other
  databases grant the application INSERT/SELECT only on these tables.)
* **No unaudited switch** (:data:`STATUS_TRIGGERS`): on sqlite a trigger refuses every change of ``status`` (and
  of ``activated_at`` / ``activated_by``) of ``scorecard_versions`` that the activation history and the audit log
  do not record: a version becomes ``active`` only when the latest ``scorecard_activations`` row activates it
  (same reviewer, same time) and the latest audit row is that ``activate``/``rollback``; the previously active
  version is ``retired`` only by that same activation. A new version is always inserted as a ``draft``. Stores
  created before this rule get the triggers when they are opened (:func:`migrate_status_triggers`), after a
  check that the active version is the one the audit log says; a store whose active version disagrees with its
  audit log is refused with the statements that restore it.
"""

from __future__ import annotations

import logging

from sqlalchemy import (
    DDL,
    Boolean,
    Column,
    Connection,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    event,
    insert,
    select,
    text,
)

from kycc.scorecard.governance import ScorecardStoreError

logger = logging.getLogger(__name__)

__all__ = [
    "AUDIT_ACTIONS",
    "STATUSES",
    "STATUS_TRIGGERS",
    "activations_table",
    "audit_table",
    "calibrations_table",
    "comparisons_table",
    "create_schema",
    "decisions_table",
    "lock_table",
    "metadata",
    "migrate_status_triggers",
    "overrides_table",
    "versions_table",
]

STATUSES = ("draft", "active", "retired")
AUDIT_ACTIONS = ("create", "calibrate", "compare", "activate", "rollback")

metadata = MetaData()

versions_table = Table(
    "scorecard_versions",
    metadata,
    Column("version", String(64), primary_key=True),
    Column("status", String(16), nullable=False),
    Column("source", String(32), nullable=False),
    Column("base_version", String(64), nullable=True),
    Column("definition", Text, nullable=False),
    Column("fingerprint", String(80), nullable=False),
    Column("provenance", Text, nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("activated_at", String(40), nullable=True),
    Column("activated_by", String(200), nullable=True),
)
# at most one active version, enforced by the database itself
Index(
    "uq_scorecard_one_active",
    versions_table.c.status,
    unique=True,
    sqlite_where=text("status = 'active'"),
    postgresql_where=text("status = 'active'"),
)

calibrations_table = Table(
    "scorecard_calibrations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("version", String(64), ForeignKey("scorecard_versions.version"), nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("calibration", Text, nullable=False),
)

comparisons_table = Table(
    "scorecard_comparisons",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("old_version", String(64), ForeignKey("scorecard_versions.version"), nullable=False),
    Column("new_version", String(64), ForeignKey("scorecard_versions.version"), nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("passed", Boolean, nullable=False),
    Column("result", Text, nullable=False),
)

activations_table = Table(
    "scorecard_activations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("action", String(16), nullable=False),  # bootstrap | activate | rollback
    Column("version", String(64), ForeignKey("scorecard_versions.version"), nullable=False),
    Column("previous_version", String(64), nullable=True),
    Column("reviewer", String(200), nullable=False),
    Column("reason", Text, nullable=True),
    Column("override", Boolean, nullable=False, default=False),
    Column("comparison_id", Integer, nullable=True),
    Column("at", String(40), nullable=False),
)

audit_table = Table(
    "scorecard_audit",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", String(40), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("action", String(16), nullable=False),
    Column("version", String(64), nullable=True),
    Column("details", Text, nullable=False),
    Column("reason", Text, nullable=True),
)

lock_table = Table("scorecard_lock", metadata, Column("id", Integer, primary_key=True))

#: The decision log: every decision (batch and API) with what is needed to reproduce it (kycc.scorecard.decision_log).
decisions_table = Table(
    "scorecard_decisions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", String(40), nullable=False),
    Column("channel", String(16), nullable=False),  # batch | api
    Column("batch_id", String(32), nullable=True),
    Column("decision_set", Integer, nullable=False),
    Column("loan_id", String(200), nullable=True),
    Column("customer_id", String(200), nullable=True),
    Column("application_date", String(40), nullable=True),
    Column("input_fingerprint", String(80), nullable=False),
    Column("features", Text, nullable=False),
    Column("scorecard_version", String(64), ForeignKey("scorecard_versions.version"), nullable=False),
    Column("scorecard_fingerprint", String(80), nullable=False),
    Column("calibration", Text, nullable=True),
    Column("model_versions", Text, nullable=False),
    Column("score", Integer, nullable=False),
    Column("band", String(16), nullable=False),
    Column("pd", Text, nullable=True),  # repr of the float: bit for bit
    Column("decision", String(16), nullable=False),
    Column("decided_by", String(200), nullable=False),
    Column("reason_codes", Text, nullable=False),
    Column("outcome", Text, nullable=False),
)
Index("ix_scorecard_decisions_loan", decisions_table.c.loan_id)

#: Overrides of logged decisions by a person (who, why, low-side / high-side); a decision is never changed.
overrides_table = Table(
    "scorecard_decision_overrides",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("decision_id", Integer, ForeignKey("scorecard_decisions.id"), nullable=False),
    Column("at", String(40), nullable=False),
    Column("overridden_by", String(200), nullable=False),
    Column("reason", Text, nullable=False),
    Column("original_decision", String(16), nullable=False),
    Column("decision", String(16), nullable=False),
    Column(
        "side", String(16), nullable=False
    ),  # low_side (system declined/referred, person approves) | high_side
)

for _table in (
    audit_table,
    activations_table,
    comparisons_table,
    calibrations_table,
    decisions_table,
    overrides_table,
):
    for _op in ("UPDATE", "DELETE"):
        event.listen(
            _table,
            "after_create",
            DDL(
                f"CREATE TRIGGER {_table.name}_no_{_op.lower()} BEFORE {_op} ON {_table.name} "
                f"BEGIN SELECT RAISE(ABORT, '{_table.name} is append-only: rows cannot be "
                f"{'updated' if _op == 'UPDATE' else 'deleted'}'); END"
            ).execute_if(dialect="sqlite"),
        )
event.listen(
    versions_table,
    "after_create",
    DDL(
        "CREATE TRIGGER scorecard_versions_immutable BEFORE UPDATE OF version, definition, fingerprint, source, "
        "base_version, created_at, created_by ON scorecard_versions "
        "BEGIN SELECT RAISE(ABORT, 'a stored scorecard version cannot be changed: create a new version'); END"
    ).execute_if(dialect="sqlite"),
)
event.listen(
    versions_table,
    "after_create",
    DDL(
        "CREATE TRIGGER scorecard_versions_no_delete BEFORE DELETE ON scorecard_versions "
        "BEGIN SELECT RAISE(ABORT, 'scorecard versions are never deleted'); END"
    ).execute_if(dialect="sqlite"),
)

#: The latest activation / audit row (what the current status must agree with).
_LATEST_ACTIVATION = "(SELECT MAX(id) FROM scorecard_activations)"
_LATEST_AUDIT = "(SELECT MAX(id) FROM scorecard_audit)"
#: sqlite triggers that tie every status change of a version to its activation row and audit row.
STATUS_TRIGGERS = {
    "scorecard_versions_status_audited": (
        "CREATE TRIGGER scorecard_versions_status_audited "
        "BEFORE UPDATE OF status, activated_at, activated_by ON scorecard_versions "
        "WHEN NEW.status IS NOT OLD.status OR NEW.activated_at IS NOT OLD.activated_at "
        "OR NEW.activated_by IS NOT OLD.activated_by "
        "BEGIN SELECT RAISE(ABORT, 'scorecard_versions.status changes only by an activation or rollback "
        "recorded in scorecard_activations and scorecard_audit (kycc scorecard activate / rollback): "
        "a status change without its audit row is refused') "
        "WHERE NOT ("
        # becoming active: the latest activation activates this version, by this reviewer, at this time,
        # and the latest audit row records it
        "(NEW.status = 'active' AND OLD.status IN ('draft', 'retired') "
        f"AND EXISTS (SELECT 1 FROM scorecard_activations a WHERE a.id = {_LATEST_ACTIVATION} "
        "AND a.version = NEW.version AND a.reviewer IS NEW.activated_by AND a.at IS NEW.activated_at) "
        f"AND EXISTS (SELECT 1 FROM scorecard_audit u WHERE u.id = {_LATEST_AUDIT} "
        "AND u.action IN ('activate', 'rollback') AND u.version = NEW.version AND u.at IS NEW.activated_at))"
        # retiring the active version: only the latest activation that replaced it, audited
        " OR (NEW.status = 'retired' AND OLD.status = 'active' "
        "AND NEW.activated_at IS OLD.activated_at AND NEW.activated_by IS OLD.activated_by "
        f"AND EXISTS (SELECT 1 FROM scorecard_activations a WHERE a.id = {_LATEST_ACTIVATION} "
        "AND a.previous_version = OLD.version AND a.version <> OLD.version "
        f"AND EXISTS (SELECT 1 FROM scorecard_audit u WHERE u.id = {_LATEST_AUDIT} "
        "AND u.action IN ('activate', 'rollback') AND u.version = a.version AND u.at = a.at)))"
        "); END"
    ),
    "scorecard_versions_insert_draft": (
        "CREATE TRIGGER scorecard_versions_insert_draft BEFORE INSERT ON scorecard_versions "
        "WHEN NEW.status IS NOT 'draft' OR NEW.activated_at IS NOT NULL OR NEW.activated_by IS NOT NULL "
        "BEGIN SELECT RAISE(ABORT, 'a new scorecard version is stored as a draft; it becomes active only by "
        "an audited activation'); END"
    ),
}
for _sql in STATUS_TRIGGERS.values():
    event.listen(versions_table, "after_create", DDL(_sql).execute_if(dialect="sqlite"))


def create_schema(conn: Connection, store_name: str) -> None:
    """Create the missing tables, indexes and triggers, the lock row, and migrate an older sqlite store.

    Args:
        conn: A connection inside the store's write transaction.
        store_name: The store's URL without its password (for messages).
    """
    metadata.create_all(conn, checkfirst=True)
    if conn.execute(select(lock_table.c.id)).first() is None:
        conn.execute(insert(lock_table).values(id=1))
    if conn.dialect.name == "sqlite":
        migrate_status_triggers(conn, store_name)


def migrate_status_triggers(conn: Connection, store_name: str) -> None:
    """Give a store created before status changes were audited its triggers (after checking its state).

    Raises:
        ScorecardStoreError: The active version is not the one the latest activation or rollback made active
            (the message gives the statements that restore the audited state).
    """
    present = {
        r[0] for r in conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall()
    }
    missing = [name for name in STATUS_TRIGGERS if name not in present]
    if not missing:
        return
    latest = conn.execute(
        select(activations_table.c.version, activations_table.c.action)
        .order_by(activations_table.c.id.desc())
        .limit(1)
    ).first()
    expected = latest[0] if latest else None
    actives = [
        r[0]
        for r in conn.execute(select(versions_table.c.version).where(versions_table.c.status == "active"))
    ]
    actual = actives[0] if actives else None
    if actual != expected:
        fix = []
        if actual is not None:
            ever_active = {r[0] for r in conn.execute(select(activations_table.c.version))}
            before = "retired" if actual in ever_active else "draft"
            fix.append(f"UPDATE scorecard_versions SET status = '{before}' WHERE version = '{actual}';")
        if expected is not None:
            fix.append(f"UPDATE scorecard_versions SET status = 'active' WHERE version = '{expected}';")
        raise ScorecardStoreError(
            f"The scorecard store {store_name} disagrees with its own audit log: the active version "
            f"is {actual or 'none'}, but the last recorded activation or rollback "
            f"({latest[1] + ' of ' + expected if latest else 'none'}) makes it {expected or 'none'}. "
            "scorecard_versions.status was changed outside the store (this store predates the rule that "
            "refuses that). Restore the database from a backup, or set the audited state back with sqlite3 "
            f"({' '.join(fix)}) and open the store again; then activate through `kycc scorecard activate`."
        )
    for name in missing:
        conn.exec_driver_sql(STATUS_TRIGGERS[name])
    logger.info(
        "Scorecard store %s migrated: status changes now need their audit row (%s)",
        store_name,
        ", ".join(missing),
    )
