"""The scorecard version store and its append-only audit log: a SQL database through SQLAlchemy.

sqlite by default (``data/06_models/scorecard/scorecard.db``; any SQLAlchemy URL works, e.g. PostgreSQL).

Tables:

* ``scorecard_versions`` — one row per version: definition (JSON), fingerprint, status (``draft``,
  ``active``, ``retired``), where it came from (``source``, ``base_version``, ``provenance``), who created and
  who activated it. The definition of a stored version never changes.
* ``scorecard_calibrations`` — score → PD calibrations per version (the latest one is used).
* ``scorecard_comparisons`` — every comparison result (JSON) and whether its checks passed.
* ``scorecard_activations`` — every activation and rollback (version, previous version, reviewer, reason,
  override, comparison used): the activation history that rollback walks back.
* ``scorecard_audit`` — who, when, what and why of every create / calibrate / compare / activate / rollback.

Guarantees:

* **Exactly one active version.** A unique partial index on ``status = 'active'`` makes a second active row
  impossible; activation and rollback retire the old and activate the new version in one transaction.
* **Serialised writers.** Every write runs in one transaction that takes the write lock first (sqlite:
  ``BEGIN IMMEDIATE``, waiting up to 30 s for another writer; other databases: ``SELECT … FOR UPDATE`` on a
  lock row). Two processes activating at once run one after the other; the second sees the first's result.
* **Append-only history.** Audit, activation, comparison and calibration rows are only inserted; on sqlite,
  triggers reject any UPDATE or DELETE of them, and any change to a stored definition. (On other databases
  grant the application INSERT/SELECT only on these tables.)
* **No unaudited switch.** On sqlite a trigger refuses every change of ``status`` (and of ``activated_at`` /
  ``activated_by``) of ``scorecard_versions`` that the activation history and the audit log do not record:
  a version becomes ``active`` only when the latest ``scorecard_activations`` row activates it (same reviewer,
  same time) and the latest audit row is that ``activate``/``rollback``; the previously active version is
  ``retired`` only by that same activation. A raw ``UPDATE scorecard_versions SET status = …`` is refused; a
  new version is always inserted as a ``draft``. Stores created before this rule get the triggers when they
  are opened, after a check that the active version is the one the audit log says; a store whose active
  version disagrees with its audit log is refused with the statements that restore it.

Rollback restores the version that was active before the current one: activations push onto a stack,
rollbacks pop it (activate v1 → ml_v2 → rollback → v1; a further rollback has nothing left to restore).
"""

from __future__ import annotations

import getpass
import json
import logging
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    DDL,
    Boolean,
    Column,
    Connection,
    Engine,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.engine import make_url

from kycc.jsonsafe import json_safe
from kycc.scorecard.comparison import failed_checks
from kycc.scorecard.definition import ScorecardDefinition
from kycc.scorecard.fairness import check_fair_lending

logger = logging.getLogger(__name__)

__all__ = [
    "ActivationBlockedError",
    "ActivationResult",
    "AlreadyActiveError",
    "AuditEntry",
    "NothingToRollBackError",
    "ReviewerRequiredError",
    "ScorecardStore",
    "ScorecardStoreError",
    "UnknownVersionError",
    "VersionRecord",
]

STATUSES = ("draft", "active", "retired")
AUDIT_ACTIONS = ("create", "calibrate", "compare", "activate", "rollback")
#: Reviewer recorded for the activation of the initial version when a store is first set up.
BOOTSTRAP_REVIEWER = "system (bootstrap from configuration)"
#: Seconds a writer waits for another writer's transaction (sqlite busy timeout).
LOCK_TIMEOUT_S = 30

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


# ---------------------------------------------------------------------------------------------------------
# errors and records
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


@dataclass(frozen=True)
class VersionRecord:
    """A stored version."""

    version: str
    status: str
    source: str
    base_version: str | None
    definition: ScorecardDefinition
    fingerprint: str
    provenance: dict[str, Any]
    created_at: str
    created_by: str
    activated_at: str | None = None
    activated_by: str | None = None
    calibration: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in asdict(self).items() if k != "definition"}
        out["definition"] = self.definition.to_dict()
        return out


@dataclass(frozen=True)
class AuditEntry:
    """One audit-log row: who did what to which version, when and why."""

    id: int
    at: str
    actor: str
    action: str
    version: str | None
    details: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ActivationResult:
    """The outcome of an activation or rollback."""

    action: str
    version: str
    previous_version: str | None
    reviewer: str
    reason: str | None
    override: bool
    comparison_id: int | None
    at: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# ---------------------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------------------
def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _dumps(value: Any) -> str:
    return json.dumps(json_safe(value), allow_nan=False, default=str)


def default_actor() -> str:
    """The operating-system user (for records made without an explicit author)."""
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no user database (containers): still record something
        return "unknown"


def _require_person(value: str | None, what: str) -> str:
    person = (value or "").strip()
    if not person:
        raise ReviewerRequiredError(
            f"{what} needs a named reviewer (who approves it), e.g. --reviewer 'Jane Doe, Head of Credit Risk'"
        )
    return person


_VERSION_NUMBER = re.compile(r"(?:^|_)v(\d+)$")


def next_ml_version(existing: list[str]) -> str:
    """``ml_v{N+1}`` where N is the highest version number in use (v1 → ml_v2)."""
    numbers = [int(m.group(1)) for name in existing if (m := _VERSION_NUMBER.search(name))]
    return f"ml_v{max(numbers, default=1) + 1}"


def redact_url(url: str) -> str:
    """The URL without its password (for logs and reports)."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001
        return url


# ---------------------------------------------------------------------------------------------------------
# the store
# ---------------------------------------------------------------------------------------------------------
class ScorecardStore:
    """Versions, calibrations, comparisons, activations and the audit log in one database.

    Args:
        url: SQLAlchemy URL, e.g. ``sqlite:///data/06_models/scorecard/scorecard.db`` (the folder is created).
    """

    def __init__(self, url: str) -> None:
        self.url = str(url)
        self._engine = self._make_engine(self.url)
        self._ensure_schema()

    # -- engine and transactions ---------------------------------------------------------------------------
    @staticmethod
    def _make_engine(url: str) -> Engine:
        parsed = make_url(url)
        if parsed.get_backend_name() != "sqlite":
            return create_engine(url, pool_pre_ping=True)
        database = parsed.database
        if not database or database == ":memory:":
            raise ScorecardStoreError(
                "The scorecard store needs a database file (sqlite:///path/scorecard.db), not an in-memory sqlite: "
                "versions and the audit log must survive restarts"
            )
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": LOCK_TIMEOUT_S})

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            # take transaction control from the sqlite3 driver (it would not BEGIN before SELECTs), see
            # SQLAlchemy's "Transactions with SQLite and the sqlite3 driver"
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute(f"PRAGMA busy_timeout = {LOCK_TIMEOUT_S * 1000}")
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            # writers take the write lock at BEGIN (IMMEDIATE): no read-then-upgrade deadlocks between processes
            mode = conn.get_execution_options().get("kycc_sqlite_begin", "DEFERRED")
            conn.exec_driver_sql(f"BEGIN {mode}")

        return engine

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self._engine.connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        with self._engine.connect() as raw:
            conn = raw.execution_options(kycc_sqlite_begin="IMMEDIATE")
            with conn.begin():
                # other databases: serialise writers on the lock row (sqlite is already locked by BEGIN IMMEDIATE)
                conn.execute(select(lock_table.c.id).where(lock_table.c.id == 1).with_for_update()).first()
                yield conn

    def _ensure_schema(self) -> None:
        with self._engine.connect() as raw:
            conn = raw.execution_options(kycc_sqlite_begin="IMMEDIATE")
            with conn.begin():
                metadata.create_all(conn, checkfirst=True)
                if conn.execute(select(lock_table.c.id)).first() is None:
                    conn.execute(insert(lock_table).values(id=1))
                if conn.dialect.name == "sqlite":
                    self._migrate_status_triggers(conn)

    def _migrate_status_triggers(self, conn: Connection) -> None:
        """Give a store created before status changes were audited its triggers (after checking its state)."""
        present = {
            r[0]
            for r in conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall()
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
                f"The scorecard store {redact_url(self.url)} disagrees with its own audit log: the active version "
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
            redact_url(self.url),
            ", ".join(missing),
        )

    def close(self) -> None:
        """Release the database connections."""
        self._engine.dispose()

    def __enter__(self) -> ScorecardStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading -------------------------------------------------------------------------------------------
    @staticmethod
    def _names(conn: Connection) -> list[str]:
        return [
            r[0] for r in conn.execute(select(versions_table.c.version).order_by(versions_table.c.created_at))
        ]

    @staticmethod
    def _latest_calibration(conn: Connection, version: str) -> dict[str, Any] | None:
        row = conn.execute(
            select(calibrations_table.c.calibration)
            .where(calibrations_table.c.version == version)
            .order_by(calibrations_table.c.id.desc())
            .limit(1)
        ).first()
        return json.loads(row[0]) if row else None

    def _record(self, conn: Connection, row: Any) -> VersionRecord:
        m = row._mapping
        return VersionRecord(
            version=m["version"],
            status=m["status"],
            source=m["source"],
            base_version=m["base_version"],
            definition=ScorecardDefinition.from_dict(json.loads(m["definition"]), version=m["version"]),
            fingerprint=m["fingerprint"],
            provenance=json.loads(m["provenance"]),
            created_at=m["created_at"],
            created_by=m["created_by"],
            activated_at=m["activated_at"],
            activated_by=m["activated_by"],
            calibration=self._latest_calibration(conn, m["version"]),
        )

    def _get(self, conn: Connection, version: str) -> VersionRecord:
        row = conn.execute(select(versions_table).where(versions_table.c.version == version)).first()
        if row is None:
            names = self._names(conn)
            raise UnknownVersionError(
                f"Unknown scorecard version {version!r}. Versions in the store: "
                f"{', '.join(names) if names else '(none yet)'}"
            )
        return self._record(conn, row)

    @staticmethod
    def _active_name(conn: Connection) -> str | None:
        row = conn.execute(
            select(versions_table.c.version).where(versions_table.c.status == "active")
        ).first()
        return row[0] if row else None

    def get(self, version: str) -> VersionRecord:
        """The stored version ``version`` (raises :class:`UnknownVersionError` listing the versions)."""
        with self._read() as conn:
            return self._get(conn, version)

    def exists(self, version: str) -> bool:
        with self._read() as conn:
            return version in self._names(conn)

    def list_versions(self) -> list[VersionRecord]:
        """Every version, oldest first."""
        with self._read() as conn:
            rows = conn.execute(select(versions_table).order_by(versions_table.c.created_at)).all()
            return [self._record(conn, r) for r in rows]

    def active(self) -> VersionRecord | None:
        """The active version (the one that makes decisions), or None in an empty store."""
        with self._read() as conn:
            name = self._active_name(conn)
            return self._get(conn, name) if name else None

    def history(self, version: str | None = None, limit: int | None = None) -> list[AuditEntry]:
        """Audit-log entries in the order they happened (optionally of one version; the last ``limit``)."""
        query = select(audit_table).order_by(audit_table.c.id)
        if version is not None:
            query = query.where(audit_table.c.version == version)
        with self._read() as conn:
            rows = conn.execute(query).all()
        entries = [
            AuditEntry(
                id=r.id,
                at=r.at,
                actor=r.actor,
                action=r.action,
                version=r.version,
                details=json.loads(r.details),
                reason=r.reason,
            )
            for r in rows
        ]
        return entries[-limit:] if limit else entries

    def activations(self) -> list[ActivationResult]:
        """Every activation and rollback, in order."""
        with self._read() as conn:
            rows = conn.execute(select(activations_table).order_by(activations_table.c.id)).all()
        return [
            ActivationResult(
                action=r.action,
                version=r.version,
                previous_version=r.previous_version,
                reviewer=r.reviewer,
                reason=r.reason,
                override=bool(r.override),
                comparison_id=r.comparison_id,
                at=r.at,
            )
            for r in rows
        ]

    @staticmethod
    def _latest_comparison(conn: Connection, old: str, new: str) -> tuple[int, dict[str, Any]] | None:
        row = conn.execute(
            select(comparisons_table.c.id, comparisons_table.c.result)
            .where(comparisons_table.c.old_version == old, comparisons_table.c.new_version == new)
            .order_by(comparisons_table.c.id.desc())
            .limit(1)
        ).first()
        return (row[0], json.loads(row[1])) if row else None

    def latest_comparison(self, old: str, new: str) -> dict[str, Any] | None:
        """The latest comparison of ``new`` against ``old`` (with its ``id``), or None."""
        with self._read() as conn:
            found = self._latest_comparison(conn, old, new)
        return {**found[1], "id": found[0]} if found else None

    def comparison(self, comparison_id: int) -> dict[str, Any]:
        with self._read() as conn:
            row = conn.execute(
                select(comparisons_table).where(comparisons_table.c.id == int(comparison_id))
            ).first()
        if row is None:
            raise ScorecardStoreError(f"No comparison #{comparison_id}")
        return {
            **json.loads(row.result),
            "id": row.id,
            "created_at": row.created_at,
            "created_by": row.created_by,
        }

    @staticmethod
    def _check_activatable(record: VersionRecord) -> None:
        from kycc.scorecard.fairness import FairLendingError

        try:
            check_fair_lending(record.definition)
        except FairLendingError as exc:
            raise ScorecardStoreError(f"{record.version} cannot become the deciding version: {exc}") from exc

    # -- writing helpers -----------------------------------------------------------------------------------
    @staticmethod
    def _audit(
        conn: Connection,
        actor: str,
        action: str,
        version: str | None,
        details: Mapping[str, Any],
        reason: str | None,
        at: str | None = None,
    ) -> None:
        if action not in AUDIT_ACTIONS:
            raise ValueError(f"unknown audit action {action!r}")
        conn.execute(
            insert(audit_table).values(
                at=at or _now(),
                actor=actor,
                action=action,
                version=version,
                details=_dumps(details),
                reason=reason,
            )
        )

    def _insert_version(
        self,
        conn: Connection,
        definition: ScorecardDefinition,
        *,
        source: str,
        base_version: str | None,
        provenance: Mapping[str, Any],
        created_by: str,
        reason: str | None,
        fair_lending: bool = True,
    ) -> None:
        if fair_lending:
            check_fair_lending(definition)
        conn.execute(
            insert(versions_table).values(
                version=definition.version,
                status="draft",
                source=source,
                base_version=base_version,
                definition=_dumps(definition.to_dict()),
                fingerprint=definition.fingerprint(),
                provenance=_dumps(provenance),
                created_at=_now(),
                created_by=created_by,
            )
        )
        self._audit(
            conn,
            created_by,
            "create",
            definition.version,
            {
                "status": "draft",
                "source": source,
                "base_version": base_version,
                "fingerprint": definition.fingerprint(),
                "weights": definition.weights,
                **{k: v for k, v in provenance.items() if k in ("blend_factor", "model", "importance")},
            },
            reason,
        )

    def _insert_calibration(
        self, conn: Connection, version: str, calibration: Mapping[str, Any], actor: str
    ) -> None:
        conn.execute(
            insert(calibrations_table).values(
                version=version, created_at=_now(), created_by=actor, calibration=_dumps(calibration)
            )
        )
        self._audit(
            conn,
            actor,
            "calibrate",
            version,
            {
                k: calibration.get(k)
                for k in ("method", "intercept", "slope", "rows", "defaults", "roc_auc", "fitted_on")
            },
            "score → probability-of-default mapping",
        )

    def _insert_comparison(
        self, conn: Connection, result: Mapping[str, Any], actor: str, reason: str | None
    ) -> int:
        for key in ("old_version", "new_version"):
            self._get(conn, result[key])
        row = conn.execute(
            insert(comparisons_table)
            .values(
                old_version=result["old_version"],
                new_version=result["new_version"],
                created_at=_now(),
                created_by=actor,
                passed=bool(result["passed"]),
                result=_dumps(result),
            )
            .returning(comparisons_table.c.id)
        ).first()
        comparison_id = int(row[0])
        self._audit(
            conn,
            actor,
            "compare",
            result["new_version"],
            {
                "comparison_id": comparison_id,
                "old_version": result["old_version"],
                "new_version": result["new_version"],
                "reference": result.get("reference"),
                "passed": bool(result["passed"]),
                "checks": {
                    c["check"]: {"value": c["value"], "passed": c["passed"]} for c in result["checks"]
                },
            },
            reason,
        )
        return comparison_id

    def _set_active(
        self, conn: Connection, version: str, previous: str | None, reviewer: str, at: str
    ) -> None:
        # after the activation row and the audit row of the same transaction: the sqlite triggers check them
        if previous is not None:
            conn.execute(
                update(versions_table).where(versions_table.c.version == previous).values(status="retired")
            )
        conn.execute(
            update(versions_table)
            .where(versions_table.c.version == version)
            .values(status="active", activated_at=at, activated_by=reviewer)
        )

    @staticmethod
    def _activation_stack(conn: Connection) -> list[str]:
        stack: list[str] = []
        for action, version in conn.execute(
            select(activations_table.c.action, activations_table.c.version).order_by(activations_table.c.id)
        ):
            if action == "rollback":
                stack.pop()
            else:
                stack.append(version)
        return stack

    # -- writing -------------------------------------------------------------------------------------------
    def sync_config_versions(
        self,
        definitions: Mapping[str, Mapping[str, Any]],
        initial_version: str = "v1",
        actor: str = "config",
    ) -> list[str]:
        """Store the versions defined in configuration that the store does not hold yet (as drafts).

        When no version is active (a new store), ``initial_version`` becomes active, activated by
        ``system (bootstrap from configuration)``. A stored version is never changed: when configuration
        defines different bins/points/weights under an existing name, a warning says so.

        A definition may carry a ``reason`` (why the version exists; recorded in its ``create`` audit row). Every
        version must pass the fair-lending rules (:func:`kycc.scorecard.fairness.check_fair_lending`) except the
        ones marked ``legacy: true``: versions defined before the rules, stored for the record (their decisions
        reproduce) but never activated.

        Returns:
            The names created.
        """
        configured = {
            name: ScorecardDefinition.from_config(name, d) for name, d in (definitions or {}).items()
        }
        parsed = {name: c[0] for name, c in configured.items()}
        reasons = {name: c[1] for name, c in configured.items()}
        legacy = tuple(name for name, c in configured.items() if c[2])
        if initial_version in legacy:
            raise ScorecardStoreError(
                f"scorecard.initial_version {initial_version!r} is a legacy version (legacy: true): it breaks the "
                "fair-lending rules and is never activated; choose a current version"
            )
        created = []
        with self._write() as conn:
            names = set(self._names(conn))
            for name, definition in parsed.items():
                if name in names:
                    stored = conn.execute(
                        select(versions_table.c.fingerprint).where(versions_table.c.version == name)
                    ).scalar_one()
                    if stored != definition.fingerprint():
                        logger.warning(
                            "Scorecard %s in configuration differs from the stored %s; stored versions never change, "
                            "so the stored one is used. Give the edited definition a new version name.",
                            name,
                            name,
                        )
                    continue
                self._insert_version(
                    conn,
                    definition,
                    source="config",
                    base_version=None,
                    provenance={"source": "configuration (parameters scorecard.versions)"}
                    | ({"legacy": True} if name in legacy else {}),
                    created_by=actor,
                    reason=reasons.get(name)
                    or (
                        "legacy version defined in configuration (kept for the record; fails the fair-lending "
                        "rules: never activated)"
                        if name in legacy
                        else "version defined in configuration"
                    ),
                    fair_lending=name not in legacy,
                )
                created.append(name)
            if self._active_name(conn) is None:
                if initial_version not in set(self._names(conn)):
                    raise UnknownVersionError(
                        f"scorecard.initial_version {initial_version!r} is not defined in scorecard.versions "
                        f"({', '.join(parsed) or 'none'})"
                    )
                at = _now()
                reason = "initial version from configuration: no version was active"
                conn.execute(
                    insert(activations_table).values(
                        action="bootstrap",
                        version=initial_version,
                        previous_version=None,
                        reviewer=BOOTSTRAP_REVIEWER,
                        reason=reason,
                        override=False,
                        at=at,
                    )
                )
                self._audit(
                    conn,
                    BOOTSTRAP_REVIEWER,
                    "activate",
                    initial_version,
                    {"previous_version": None},
                    reason,
                    at,
                )
                self._set_active(conn, initial_version, None, BOOTSTRAP_REVIEWER, at)
                logger.info("Scorecard store set up: %s is the active version", initial_version)
        if created:
            logger.info("Stored scorecard version(s) from configuration: %s", ", ".join(created))
        return created

    def create_version(
        self,
        definition: ScorecardDefinition,
        *,
        source: str = "manual",
        base_version: str | None = None,
        provenance: Mapping[str, Any] | None = None,
        created_by: str | None = None,
        reason: str | None = None,
        calibration: Mapping[str, Any] | None = None,
    ) -> VersionRecord:
        """Store a new draft version (named ``ml_vN`` when ``definition.version`` is ``draft``)."""
        actor = created_by or default_actor()
        with self._write() as conn:
            if definition.version == "draft":
                definition = definition.renamed(next_ml_version(self._names(conn)))
            elif definition.version in set(self._names(conn)):
                raise ScorecardStoreError(
                    f"Version {definition.version!r} already exists; versions are immutable"
                )
            self._insert_version(
                conn,
                definition,
                source=source,
                base_version=base_version,
                provenance=provenance or {},
                created_by=actor,
                reason=reason,
            )
            if calibration:
                self._insert_calibration(conn, definition.version, calibration, actor)
            return self._get(conn, definition.version)

    def save_refinement(self, proposal: Mapping[str, Any]) -> tuple[VersionRecord, int | None]:
        """Store a refinement in one transaction: the draft ``ml_vN``, its calibration (and the base's when
        it has none), and its comparison with the base; each with its audit entry.

        Args:
            proposal: ``definition`` (dict), ``base_version``, ``provenance``, ``created_by`` (optional),
                ``calibration`` / ``base_calibration`` (optional), ``comparison`` (optional, its
                ``new_version`` is filled in).

        Returns:
            The stored draft and the comparison id (None without a comparison).
        """
        actor = proposal.get("created_by") or default_actor()
        base_name = proposal["base_version"]
        definition = ScorecardDefinition.from_dict(proposal["definition"], version="draft")
        with self._write() as conn:
            base = self._get(conn, base_name)
            name = next_ml_version(self._names(conn))
            definition = definition.renamed(name)
            provenance = dict(proposal.get("provenance") or {})
            self._insert_version(
                conn,
                definition,
                source="refinement",
                base_version=base_name,
                provenance=provenance,
                created_by=actor,
                reason=proposal.get("reason")
                or f"refined from {provenance.get('model', {}).get('model', 'model_1')} coefficients, "
                f"blend_factor {provenance.get('blend_factor')}",
            )
            if proposal.get("calibration"):
                self._insert_calibration(conn, name, proposal["calibration"], actor)
            if proposal.get("base_calibration") and base.calibration is None:
                self._insert_calibration(conn, base_name, proposal["base_calibration"], actor)
            comparison_id = None
            if proposal.get("comparison"):
                result = {**proposal["comparison"], "new_version": name, "old_version": base_name}
                comparison_id = self._insert_comparison(
                    conn, result, actor, "comparison of the refined draft with its base"
                )
            record = self._get(conn, name)
        logger.info("Stored draft scorecard %s (base %s) by %s", name, base_name, actor)
        return record, comparison_id

    def calibration_history(self, version: str) -> list[dict[str, Any]]:
        """Every calibration of ``version``, oldest first (``id`` and ``created_at`` added)."""
        with self._read() as conn:
            rows = conn.execute(
                select(
                    calibrations_table.c.id, calibrations_table.c.created_at, calibrations_table.c.calibration
                )
                .where(calibrations_table.c.version == version)
                .order_by(calibrations_table.c.id)
            ).all()
        return [{**json.loads(r[2]), "id": int(r[0]), "created_at": r[1]} for r in rows]

    def add_calibration(self, version: str, calibration: Mapping[str, Any], actor: str | None = None) -> None:
        """Record a (new) score → PD calibration of ``version``."""
        with self._write() as conn:
            self._get(conn, version)
            self._insert_calibration(conn, version, calibration, actor or default_actor())

    def record_comparison(
        self, result: Mapping[str, Any], actor: str | None = None, reason: str | None = None
    ) -> int:
        """Store a comparison result (from :func:`kycc.scorecard.comparison.compare_scorecards`); returns its id."""
        with self._write() as conn:
            return self._insert_comparison(conn, result, actor or default_actor(), reason)

    def activate(
        self,
        version: str,
        reviewer: str | None,
        reason: str | None = None,
        override_reason: str | None = None,
    ) -> ActivationResult:
        """Make ``version`` the active scorecard.

        Needs a named ``reviewer`` and the latest comparison of ``version`` against the active version with
        every check passing; otherwise ``override_reason`` (a written reason) is required and recorded.
        The previous active version is retired (kept for rollback).
        """
        reviewer = _require_person(reviewer, f"Activating scorecard {version!r}")
        override_reason = (override_reason or "").strip() or None
        with self._write() as conn:
            candidate = self._get(conn, version)
            self._check_activatable(candidate)
            active = self._active_name(conn)
            if active == candidate.version:
                raise AlreadyActiveError(f"Scorecard {version!r} is already the active version")
            comparison_id, failed = None, []
            if active is not None:
                found = self._latest_comparison(conn, active, version)
                if found is None:
                    failed = [{"check": "comparison", "detail": f"no comparison of {version} with {active}"}]
                    problem = (
                        f"{version} has not been compared with the active version {active}: run "
                        f"`kycc scorecard compare {active} {version}` and review the report first"
                    )
                else:
                    comparison_id, result = found
                    failed = failed_checks(result)
                    problem = (
                        f"the comparison #{comparison_id} of {version} with the active version {active} failed "
                        + "; ".join(
                            f"{c['check']} ({c.get('value')} vs {c.get('rule')}): {c.get('detail', '')}"
                            for c in failed
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
            ) or (
                f"all checks of comparison #{comparison_id} passed" if comparison_id else "no active version"
            )
            at = _now()
            conn.execute(
                insert(activations_table).values(
                    action="activate",
                    version=version,
                    previous_version=active,
                    reviewer=reviewer,
                    reason=why,
                    override=override,
                    comparison_id=comparison_id,
                    at=at,
                )
            )
            self._audit(
                conn,
                reviewer,
                "activate",
                version,
                {
                    "previous_version": active,
                    "comparison_id": comparison_id,
                    "override": override,
                    "failed_checks": [c["check"] for c in failed],
                    "fingerprint": candidate.fingerprint,
                },
                why,
                at,
            )
            self._set_active(conn, version, active, reviewer, at)
        logger.info(
            "Scorecard %s activated by %s (previous: %s)%s",
            version,
            reviewer,
            active,
            " OVERRIDE" if override else "",
        )
        return ActivationResult("activate", version, active, reviewer, why, override, comparison_id, at)

    def rollback(self, reviewer: str | None, reason: str | None) -> ActivationResult:
        """Restore the version that was active before the current one (named reviewer and reason required)."""
        reviewer = _require_person(reviewer, "Rolling back the scorecard")
        reason = (reason or "").strip()
        if not reason:
            raise ScorecardStoreError("A rollback needs a reason (why), e.g. --reason 'band E share doubled'")
        with self._write() as conn:
            active = self._active_name(conn)
            stack = self._activation_stack(conn)
            if active is None or len(stack) < 2:
                raise NothingToRollBackError(
                    f"Nothing to roll back to: no version was active before {active or 'the current one'} "
                    "(each rollback restores the version active before the current one's activation; "
                    "activate another version instead)"
                )
            if stack[-1] != active:  # pragma: no cover - guarded by the transactions above
                raise ScorecardStoreError(
                    f"Inconsistent store: the active version is {active} but the activation history ends with "
                    f"{stack[-1]}"
                )
            target = stack[-2]
            self._check_activatable(self._get(conn, target))
            at = _now()
            conn.execute(
                insert(activations_table).values(
                    action="rollback",
                    version=target,
                    previous_version=active,
                    reviewer=reviewer,
                    reason=reason,
                    override=False,
                    at=at,
                )
            )
            self._audit(
                conn, reviewer, "rollback", target, {"rolled_back": active, "restored": target}, reason, at
            )
            self._set_active(conn, target, active, reviewer, at)
        logger.info("Scorecard rolled back from %s to %s by %s", active, target, reviewer)
        return ActivationResult("rollback", target, active, reviewer, reason, False, None, at)

    # -- the decision log ----------------------------------------------------------------------------------
    def log_decisions(self, entries: list[Mapping[str, Any]]) -> list[int]:
        """Append decisions to the log (one transaction); returns their ids in order.

        Args:
            entries: Rows of :data:`decisions_table` without ``id`` (``kycc.scorecard.decision_log.log_entries``).
        """
        if not entries:
            return []
        with self._write() as conn:
            names = set(self._names(conn))
            unknown = sorted({e["scorecard_version"] for e in entries} - names)
            if unknown:
                raise UnknownVersionError(f"Decisions of unknown scorecard version(s) {unknown}")
            first = (
                int(conn.execute(select(func.coalesce(func.max(decisions_table.c.id), 0))).scalar_one()) + 1
            )
            at = _now()
            conn.execute(insert(decisions_table), [{**e, "at": e.get("at") or at} for e in entries])
            last = int(conn.execute(select(func.max(decisions_table.c.id))).scalar_one())
        if last - first + 1 != len(entries):  # pragma: no cover - the write lock makes ids contiguous
            raise ScorecardStoreError("decision log ids are not contiguous")
        return list(range(first, last + 1))

    def decision(self, decision_id: int) -> dict[str, Any]:
        """One logged decision (JSON columns parsed) with its overrides."""
        with self._read() as conn:
            row = conn.execute(
                select(decisions_table).where(decisions_table.c.id == int(decision_id))
            ).first()
            if row is None:
                last = conn.execute(select(func.max(decisions_table.c.id))).scalar_one()
                raise ScorecardStoreError(
                    f"No logged decision #{decision_id} (the log holds ids 1..{last or 0})"
                )
            overrides = conn.execute(
                select(overrides_table)
                .where(overrides_table.c.decision_id == int(decision_id))
                .order_by(overrides_table.c.id)
            ).all()
        out = dict(row._mapping)
        for key in ("features", "calibration", "model_versions", "outcome"):
            out[key] = None if out[key] is None else json.loads(out[key])
        out["overrides"] = [dict(o._mapping) for o in overrides]
        return out

    def decisions_frame(self, columns: tuple[str, ...] | None = None) -> Any:
        """The decision log as a pandas frame (``features`` parsed into a dict column)."""
        import pandas as pd

        with self._read() as conn:
            rows = conn.execute(select(decisions_table).order_by(decisions_table.c.id)).all()
        frame = pd.DataFrame(
            [dict(r._mapping) for r in rows], columns=[c.name for c in decisions_table.columns]
        )
        return frame if columns is None else frame[list(columns)]

    def overrides_frame(self) -> Any:
        import pandas as pd

        with self._read() as conn:
            rows = conn.execute(select(overrides_table).order_by(overrides_table.c.id)).all()
        return pd.DataFrame(
            [dict(r._mapping) for r in rows], columns=[c.name for c in overrides_table.columns]
        )

    def record_override(
        self, decision_id: int, decision: str, overridden_by: str | None, reason: str | None
    ) -> dict[str, Any]:
        """A person overrides a logged decision (named, with a reason); appended, the decision stays as logged.

        ``side``: ``low_side`` when the new decision is more favourable (a decline or refer approved, a decline
        referred), ``high_side`` when less favourable.
        """
        who = _require_person(overridden_by, f"Overriding decision #{decision_id}")
        why = (reason or "").strip()
        if not why:
            raise ScorecardStoreError(f"Overriding decision #{decision_id} needs a reason (why)")
        order = {"decline": 0, "refer": 1, "approve": 2}
        if decision not in order:
            raise ScorecardStoreError(f"An override decision is approve, refer or decline, got {decision!r}")
        with self._write() as conn:
            row = conn.execute(
                select(decisions_table.c.decision).where(decisions_table.c.id == int(decision_id))
            ).first()
            if row is None:
                raise ScorecardStoreError(f"No logged decision #{decision_id}")
            original = row[0]
            if original == decision:
                raise ScorecardStoreError(
                    f"Decision #{decision_id} already is {decision}: nothing to override"
                )
            side = "low_side" if order[decision] > order[original] else "high_side"
            values = {
                "decision_id": int(decision_id),
                "at": _now(),
                "overridden_by": who,
                "reason": why,
                "original_decision": original,
                "decision": decision,
                "side": side,
            }
            conn.execute(insert(overrides_table).values(**values))
        logger.info("Decision #%s overridden %s → %s (%s) by %s", decision_id, original, decision, side, who)
        return values

    # -- introspection -------------------------------------------------------------------------------------
    def counts(self) -> dict[str, int]:
        """Row counts per table (for tests and summaries)."""
        with self._read() as conn:
            return {
                t.name: int(conn.execute(select(func.count()).select_from(t)).scalar_one())
                for t in (
                    versions_table,
                    calibrations_table,
                    comparisons_table,
                    activations_table,
                    audit_table,
                    decisions_table,
                    overrides_table,
                )
            }
