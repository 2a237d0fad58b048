"""The scorecard version store: versions, calibrations, comparisons, activations, the audit log and the
decision log in one SQL database through SQLAlchemy.

sqlite by default (``data/06_models/scorecard/scorecard.db``; any SQLAlchemy URL works, e.g. PostgreSQL). The
tables and the rules the database enforces (one active version, append-only history, no unaudited switch) are
in :mod:`kycc.scorecard.schema`; the activation, rollback and override rules in :mod:`kycc.scorecard.governance`.
:class:`ScorecardStore` does the I/O: it reads what a rule needs inside a write transaction, applies the rule and
writes the outcome in the same transaction.

* **Serialised writers.** Every write runs in one transaction that takes the write lock first (sqlite:
  ``BEGIN IMMEDIATE``, waiting up to 30 s for another writer; other databases: ``SELECT … FOR UPDATE`` on a
  lock row). Two processes activating at once run one after the other; the second sees the first's result.
* **Activation and rollback in one transaction**: the activation row, the audit row, retiring the old and
  activating the new version commit together or not at all.
"""

from __future__ import annotations

import getpass
import json
import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, func, insert, select, update
from sqlalchemy.engine import make_url

from kycc.jsonsafe import json_safe
from kycc.scorecard import governance
from kycc.scorecard.definition import ScorecardDefinition
from kycc.scorecard.fairness import check_fair_lending
from kycc.scorecard.governance import BOOTSTRAP_REVIEWER, ScorecardStoreError, UnknownVersionError
from kycc.scorecard.schema import (
    AUDIT_ACTIONS,
    activations_table,
    audit_table,
    calibrations_table,
    comparisons_table,
    create_schema,
    decisions_table,
    lock_table,
    overrides_table,
    versions_table,
)

logger = logging.getLogger(__name__)

__all__ = [
    "LOCK_TIMEOUT_S",
    "ActivationResult",
    "AuditEntry",
    "ScorecardStore",
    "VersionRecord",
    "default_actor",
    "redact_url",
]

#: Seconds a writer waits for another writer's transaction (sqlite busy timeout).
LOCK_TIMEOUT_S = 30


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
                create_schema(conn, redact_url(self.url))

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
        return governance.activation_stack(
            conn.execute(
                select(activations_table.c.action, activations_table.c.version).order_by(
                    activations_table.c.id
                )
            ).all()
        )

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
        governance.check_initial_version(initial_version, legacy)
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
                governance.bootstrap_version(initial_version, set(self._names(conn)), parsed)
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
            name = governance.new_version_name(definition.version, set(self._names(conn)))
            if name != definition.version:
                definition = definition.renamed(name)
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
            name = governance.next_ml_version(self._names(conn))
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
        reviewer = governance.require_person(reviewer, f"Activating scorecard {version!r}")
        with self._write() as conn:
            candidate = self._get(conn, version)
            active = self._active_name(conn)
            decision = governance.decide_activation(
                version,
                candidate.definition,
                active,
                self._latest_comparison(conn, active, version) if active is not None else None,
                reason,
                override_reason,
            )
            at = _now()
            conn.execute(
                insert(activations_table).values(
                    action="activate",
                    version=version,
                    previous_version=active,
                    reviewer=reviewer,
                    reason=decision.reason,
                    override=decision.override,
                    comparison_id=decision.comparison_id,
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
                    "comparison_id": decision.comparison_id,
                    "override": decision.override,
                    "failed_checks": [c["check"] for c in decision.failed],
                    "fingerprint": candidate.fingerprint,
                },
                decision.reason,
                at,
            )
            self._set_active(conn, version, active, reviewer, at)
        logger.info(
            "Scorecard %s activated by %s (previous: %s)%s",
            version,
            reviewer,
            active,
            " OVERRIDE" if decision.override else "",
        )
        return ActivationResult(
            "activate",
            version,
            active,
            reviewer,
            decision.reason,
            decision.override,
            decision.comparison_id,
            at,
        )

    def rollback(self, reviewer: str | None, reason: str | None) -> ActivationResult:
        """Restore the version that was active before the current one (named reviewer and reason required)."""
        reviewer = governance.require_person(reviewer, "Rolling back the scorecard")
        reason = governance.require_rollback_reason(reason)
        with self._write() as conn:
            active = self._active_name(conn)
            target = governance.rollback_target(active, self._activation_stack(conn))
            governance.check_can_decide(target, self._get(conn, target).definition)
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
            entries: Rows of :data:`kycc.scorecard.schema.decisions_table` without ``id`` (``kycc.scorecard.decision_log.log_entries``).
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
        who, why = governance.check_override_request(decision_id, decision, overridden_by, reason)
        with self._write() as conn:
            row = conn.execute(
                select(decisions_table.c.decision).where(decisions_table.c.id == int(decision_id))
            ).first()
            if row is None:
                raise ScorecardStoreError(f"No logged decision #{decision_id}")
            original = row[0]
            side = governance.override_side(decision_id, original, decision)
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
