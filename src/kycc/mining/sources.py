"""Which sources are collected live and which from the recorded samples, and one day's collection of them all.

``mode`` (parameter ``issue_mining.collect.mode``, or per source ``issue_mining.collect.<source>.mode``):

- ``recorded`` (alias ``samples``): the source replays its recorded responses (``samples/``) through the real
  collector code.
- ``live``: the source calls its API; a failure stops the run.
- ``auto`` (default): a source is collected live when its credentials are present in
  ``conf/local/credentials.yml`` (key ``issue_mining``; placeholders count as missing), from the recordings
  otherwise, at once. A live source whose host cannot be reached (DNS failure, connection refused) falls back
  to its recordings after that one attempt (no back-off); one that fails otherwise (an error reply after the
  retries for 429/5xx) falls back with a warning too.

The report says per source which was used and why: ``live``, ``recorded (no credentials)``,
``recorded (offline)``, ``recorded (live failed)``, ``recorded (mode)``.

Credentials that make a source live: ``github.token``, ``stackexchange.key``,
``reddit.client_id`` + ``reddit.client_secret``, ``hackernews.enabled: true`` (the HN API needs no secret).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx

from kycc.credentials import is_placeholder
from kycc.mining.collectors import COLLECTORS, CollectionResult, CollectorError, CollectorOffline
from kycc.mining.items import RawItem
from kycc.mining.ratelimit import Clock, FakeClock, RateLimiter, SystemClock
from kycc.mining.replay import SAMPLES_DIR, Replay, pick_recording

__all__ = ["MODES", "SourceAccess", "collect_sources", "source_mode"]

logger = logging.getLogger(__name__)

MODES = ("auto", "live", "recorded", "samples")  # "samples" = "recorded" (the earlier name)
_LIVE_KEYS: dict[str, tuple[str, ...]] = {
    "github": ("token",),
    "stackexchange": ("key",),
    "reddit": ("client_id", "client_secret"),
    "hackernews": ("enabled",),
}


@dataclass
class SourceAccess:
    """How to reach the APIs: what the ``issue_mining.api_access`` catalog dataset loads.

    Attributes:
        credentials: Per source (``github``, ``stackexchange``, ``reddit``, ``hackernews``), possibly empty.
        base_urls: Per source API root, when not the public default.
        samples_dir: Folder of the recorded responses.
        transport_factory: For tests: ``source -> httpx transport`` used instead of the network in live mode.
        clock: Time source for live mode (``SystemClock`` by default).
        timeout_seconds: httpx timeout of one request.
    """

    credentials: dict[str, dict[str, Any]] = field(default_factory=dict)
    base_urls: dict[str, str] = field(default_factory=dict)
    samples_dir: Path = SAMPLES_DIR
    transport_factory: Callable[[str], httpx.BaseTransport] | None = None
    clock: Clock | None = None
    timeout_seconds: float = 20.0


def source_mode(source: str, mode: str, credentials: Mapping[str, Any] | None) -> str:
    """``"live"`` or ``"recorded"`` for one source under ``mode``."""
    return _choose(source, mode, credentials)[0]


def _choose(source: str, mode: str, credentials: Mapping[str, Any] | None) -> tuple[str, str]:
    """``(mode, reason)``: ``("live", "")``, ``("recorded", "mode")`` or ``("recorded", "no credentials")``."""
    if mode not in MODES:
        raise ValueError(f"collect.mode must be one of {MODES}, got {mode!r}")
    if mode == "live":
        return "live", ""
    if mode in {"recorded", "samples"}:
        return "recorded", "mode"
    creds = credentials or {}
    # Placeholders of the credentials template (ghp_xxx, xxx, change-me…) count as missing.
    live = all(
        creds.get(key) is not False and not is_placeholder(creds.get(key)) for key in _LIVE_KEYS[source]
    )
    return ("live", "") if live else ("recorded", "no credentials")


def _settings(params: Mapping[str, Any], source: str) -> dict[str, Any]:
    settings = dict(params.get(source) or {})
    if not settings.get("queries"):
        raise ValueError(f"issue_mining.collect.{source}.queries is empty")
    return settings


def _collect_samples(
    access: SourceAccess, source: str, day: date, params: Mapping[str, Any]
) -> tuple[CollectionResult, dict[str, Any]]:
    recording, exact = pick_recording(access.samples_dir, source, day)
    if not exact:
        logger.warning(
            "%s: no recording for %s, replaying the one of %s", source, day, recording.recorded_for
        )
    recorded = recording.recorded_for
    clock = FakeClock(
        start_epoch=datetime(recorded.year, recorded.month, recorded.day, tzinfo=UTC).timestamp() + 30 * 3600
    )
    replay = Replay(recording)
    limiter = RateLimiter(int(params["rate_limits"][source]), float(params.get("window_seconds", 60)), clock)
    with httpx.Client(transport=replay.transport()) as client:
        collector = COLLECTORS[source](
            client,
            limiter,
            settings=recording.settings,
            credentials=_real(access.credentials.get(source)) or _replay_credentials(source),
            clock=clock,
            max_retries=int(params.get("max_retries", 4)),
            backoff_seconds=float(params.get("backoff_seconds", 2.0)),
        )
        result = collector.collect(recorded)
    return result, {
        "recording": recording.path.name if recording.path else None,
        "recorded_for": str(recorded),
        "exact": exact,
    }


def _real(credentials: Mapping[str, Any] | None) -> dict[str, Any]:
    """The credentials without empty and placeholder values."""
    return {k: v for k, v in (credentials or {}).items() if not is_placeholder(v)}


def _replay_credentials(source: str) -> dict[str, str]:
    # The recorded Reddit exchanges start with the OAuth token request, which needs a client id to be sent.
    return {"client_id": "replay", "client_secret": "replay"} if source == "reddit" else {}


def _collect_live(
    access: SourceAccess, source: str, day: date, params: Mapping[str, Any]
) -> CollectionResult:
    clock = access.clock or SystemClock()
    limiter = RateLimiter(int(params["rate_limits"][source]), float(params.get("window_seconds", 60)), clock)
    transport = access.transport_factory(source) if access.transport_factory else None
    with httpx.Client(transport=transport, timeout=access.timeout_seconds, follow_redirects=True) as client:
        collector = COLLECTORS[source](
            client,
            limiter,
            settings=_settings(params, source),
            credentials=access.credentials.get(source),
            clock=clock,
            base_url=access.base_urls.get(source),
            max_retries=int(params.get("max_retries", 4)),
            backoff_seconds=float(params.get("backoff_seconds", 2.0)),
        )
        return collector.collect(day)


def collect_sources(
    access: SourceAccess, day: date, params: Mapping[str, Any]
) -> tuple[list[RawItem], dict[str, dict[str, Any]]]:
    """Collect every configured source for ``day``.

    Args:
        access: Credentials, API roots, samples folder (from the catalog).
        day: The UTC day to collect.
        params: ``issue_mining.collect``.

    Returns:
        ``(items, report)``; report per source: mode (``live``/``recorded``), reason, ``used`` (both, e.g.
        ``recorded (no credentials)``), items, requests, retries, waited seconds, stop reason.

    Raises:
        CollectorError: A source failed in ``live`` mode.
        RecordingError: A recording is missing or malformed.
    """
    default_mode = params.get("mode", "auto")
    items: list[RawItem] = []
    report: dict[str, dict[str, Any]] = {}
    for source in params.get("sources") or list(COLLECTORS):
        if source not in COLLECTORS:
            raise ValueError(f"unknown source {source!r}; known: {sorted(COLLECTORS)}")
        mode = (params.get(source) or {}).get("mode") or default_mode
        chosen, reason = _choose(source, mode, access.credentials.get(source))
        extra: dict[str, Any] = {}
        if chosen == "live":
            try:
                result = _collect_live(access, source, day, params)
            except (CollectorError, httpx.HTTPError) as exc:
                if mode == "live":
                    raise
                offline = isinstance(exc, CollectorOffline | httpx.ConnectError)
                reason = "offline" if offline else "live failed"
                logger.warning("%s: %s (%s); using the recorded samples", source, reason, exc)
                chosen = "recorded"
                result, extra = _collect_samples(access, source, day, params)
                extra["error"] = str(exc)[:300]
        else:
            result, extra = _collect_samples(access, source, day, params)
        items.extend(result.items)
        report[source] = {
            "mode": chosen,
            "reason": reason,
            "used": f"{chosen} ({reason})" if reason else chosen,
            "items": len(result.items),
            "requests": result.requests,
            "pages": result.pages,
            "retries": result.retries,
            "waited_seconds": round(result.waited_seconds, 1),
            "stopped": result.stopped_reason,
            **extra,
        }
    return items, report
