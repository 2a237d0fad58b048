"""Recorded API responses: replayed through ``httpx.MockTransport`` so the real collector code runs offline.

A recording is one JSON file per source and day, ``samples/<source>/<YYYY-MM-DD>.json``::

    {"source": "github", "recorded_for": "2026-11-20",
     "settings": {"queries": [...], "per_page": 10, ...},      # the collector settings of the recording
     "exchanges": [{"request": {"method": "GET", "path": "/search/issues", "params": {...}},
                    "response": {"status": 200, "headers": {...}, "json": {...}}}, ...]}

Replay matches a request on method, path and query parameters (credentials such as ``key`` ignored) and serves
the first recorded exchange not served yet, so a recorded 429 is followed by the recorded success on retry.
``RecordingTransport`` wraps a live transport and writes such files (credentials redacted).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import httpx

__all__ = [
    "SAMPLES_DIR",
    "Recording",
    "RecordingError",
    "RecordingTransport",
    "Replay",
    "available_days",
    "load_recording",
    "pick_recording",
]

logger = logging.getLogger(__name__)

SAMPLES_DIR = Path(__file__).resolve().parent / "samples"
IGNORED_PARAMS = frozenset({"key", "access_token", "client_secret"})
_REDACTED_HEADERS = frozenset({"authorization", "set-cookie", "cookie"})


class RecordingError(ValueError):
    """A recording file is missing, unreadable or malformed (the message names the file and the problem)."""


@dataclass
class Recording:
    """One source's recorded collection of one day."""

    source: str
    recorded_for: date
    settings: dict[str, Any]
    exchanges: list[dict[str, Any]]
    path: Path | None = None


def _require(condition: bool, path: Path, problem: str) -> None:
    if not condition:
        raise RecordingError(f"{path}: {problem}")


def load_recording(path: Path | str) -> Recording:
    """Read and validate one recording file.

    Raises:
        RecordingError: The file is not valid JSON or lacks a required field (one error naming file and field).
    """
    path = Path(path)
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise RecordingError(f"{path}: no such recording") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RecordingError(f"{path}: not valid JSON ({exc})") from exc
    _require(isinstance(payload, dict), path, "expected a JSON object")
    for key in ("source", "recorded_for", "settings", "exchanges"):
        _require(key in payload, path, f"missing field {key!r}")
    try:
        day = date.fromisoformat(str(payload["recorded_for"]))
    except ValueError as exc:
        raise RecordingError(f"{path}: field 'recorded_for' is not a YYYY-MM-DD date") from exc
    _require(isinstance(payload["settings"], dict), path, "field 'settings' must be an object")
    _require(isinstance(payload["exchanges"], list), path, "field 'exchanges' must be a list")
    for i, exchange in enumerate(payload["exchanges"]):
        request, response = exchange.get("request"), exchange.get("response")
        _require(
            isinstance(request, dict) and "path" in request, path, f"exchanges[{i}].request.path missing"
        )
        _require(
            isinstance(response, dict) and isinstance(response.get("status"), int),
            path,
            f"exchanges[{i}].response.status missing or not an integer",
        )
    return Recording(str(payload["source"]), day, payload["settings"], payload["exchanges"], path)


def available_days(samples_dir: Path | str, source: str) -> list[date]:
    """The days recorded for ``source``, sorted."""
    folder = Path(samples_dir) / source
    days = []
    for file in folder.glob("*.json"):
        try:
            days.append(date.fromisoformat(file.stem))
        except ValueError:
            continue
    return sorted(days)


def pick_recording(samples_dir: Path | str, source: str, day: date) -> tuple[Recording, bool]:
    """The recording of ``day`` or, when there is none, of the latest recorded day before it (else the first).

    Returns:
        ``(recording, exact)``.

    Raises:
        RecordingError: No recording at all for ``source``.
    """
    days = available_days(samples_dir, source)
    if not days:
        raise RecordingError(f"{Path(samples_dir) / source}: no recorded samples for source {source!r}")
    if day in days:
        return load_recording(Path(samples_dir) / source / f"{day.isoformat()}.json"), True
    earlier = [d for d in days if d < day]
    chosen = earlier[-1] if earlier else days[0]
    return load_recording(Path(samples_dir) / source / f"{chosen.isoformat()}.json"), False


def _params(url: httpx.URL) -> dict[str, str]:
    return {k: v for k, v in url.params.multi_items() if k not in IGNORED_PARAMS}


@dataclass
class Replay:
    """Serve a recording's exchanges to an ``httpx.Client`` (use ``.transport()``).

    Attributes:
        served: Indexes of the exchanges served, in order (tests assert pagination with it).
        requests: Every request received.
    """

    recording: Recording
    served: list[int] = field(default_factory=list)
    requests: list[httpx.Request] = field(default_factory=list)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        params = _params(request.url)
        candidates = [
            i
            for i, exchange in enumerate(self.recording.exchanges)
            if exchange["request"].get("method", "GET").upper() == request.method
            and exchange["request"]["path"] == request.url.path
            and {
                k: str(v)
                for k, v in (exchange["request"].get("params") or {}).items()
                if k not in IGNORED_PARAMS
            }
            == params
        ]
        if not candidates:
            return httpx.Response(
                404,
                json={
                    "error": "not recorded",
                    "method": request.method,
                    "path": request.url.path,
                    "params": params,
                    "recording": str(self.recording.path),
                },
            )
        unused = [i for i in candidates if i not in self.served]
        index = unused[0] if unused else candidates[-1]
        self.served.append(index)
        response = self.recording.exchanges[index]["response"]
        headers = dict(response.get("headers") or {})
        if "json" in response:
            return httpx.Response(response["status"], headers=headers, json=response["json"])
        return httpx.Response(response["status"], headers=headers, text=response.get("text", ""))


class RecordingTransport(httpx.BaseTransport):
    """Wrap a live transport and keep every exchange (credentials redacted) for ``save``.

    Args:
        inner: The transport that talks to the API (``httpx.HTTPTransport()``).
    """

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.exchanges: list[dict[str, Any]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        response.read()
        try:
            body: dict[str, Any] = {"json": response.json()}
        except ValueError:
            body = {"text": response.text}
        self.exchanges.append(
            {
                "request": {
                    "method": request.method,
                    "path": request.url.path,
                    "params": _params(request.url),
                },
                "response": {
                    "status": response.status_code,
                    "headers": {
                        k: v
                        for k, v in response.headers.items()
                        if k.lower() not in _REDACTED_HEADERS
                        and (
                            k.lower().startswith(("x-ratelimit", "retry-after", "link"))
                            or k.lower() == "content-type"
                        )
                    },
                    **body,
                },
            }
        )
        headers = [
            (k, v)
            for k, v in response.headers.multi_items()
            if k.lower() not in {"content-encoding", "transfer-encoding", "content-length"}
        ]
        return httpx.Response(
            response.status_code, headers=headers, content=response.content, request=request
        )

    def save(self, path: Path | str, source: str, day: date, settings: dict[str, Any]) -> Path:
        """Write the exchanges as a recording file."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            json.dumps(
                {
                    "source": source,
                    "recorded_for": day.isoformat(),
                    "settings": settings,
                    "exchanges": self.exchanges,
                },
                indent=1,
                ensure_ascii=False,
            ),
            encoding="utf-8",
        )
        logger.info("recorded %d exchanges to %s", len(self.exchanges), path)
        return path
