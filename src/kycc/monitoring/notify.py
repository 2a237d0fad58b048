"""Notifications of the action decisions: channels, payloads, de-duplication and delivery with a bounded retry.

* **Channels** (``actions.notifications.channels``): ``webhook`` (JSON POST; ``format: slack`` is a
  Slack-compatible ``{text, blocks}`` payload, ``format: pagerduty`` a PagerDuty Events v2 ``trigger`` event)
  and ``smtp`` (an e-mail through :mod:`smtplib`, STARTTLS optional). Secrets (webhook URLs, PagerDuty routing
  key, SMTP login) come from ``conf/local/credentials.yml`` under ``kycc_notifications.<section>`` (section =
  the channel's ``credentials`` key, default its name) through :class:`NotificationSecretsDataset`.
* **Levels** (``levels``): which channels each decision level uses.
* **De-duplication** (:func:`plan_alert`, pure): a model's level is sent on a channel when it is new, an
  escalation, a lowering (``notify_on_deescalation``), not yet delivered on that channel at this level (an
  earlier attempt failed), or a reminder is due (``repeat_every_months``); otherwise it is ``suppressed``. A
  month already ``sent`` on a channel is never sent again when the month is re-run.
* **Delivery** (:func:`deliver`, the side effect): each planned send is tried up to ``retry.attempts`` times;
  the outcome is one log row (``sent`` / ``failed`` with the error / ``not_configured`` / ``suppressed`` /
  ``disabled`` / ``no_channel``). A failed delivery never raises.

User documentation: ``docs/actions.md``.
"""

from __future__ import annotations

import json
import logging
import smtplib
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlsplit

import pandas as pd
from kedro.io import AbstractDataset, DatasetError

from kycc.credentials import placeholder_reason

__all__ = [
    "LOG_COLUMNS",
    "Channel",
    "NotificationSecretsDataset",
    "NotificationSettings",
    "deliver",
    "email_message",
    "notify",
    "pagerduty_payload",
    "plan_alert",
    "slack_payload",
]

logger = logging.getLogger(__name__)

LEVELS = ("monitor", "active_monitoring", "recalibrate", "retrain")  # rank order (kycc.monitoring.actions)
RANK = {level: i for i, level in enumerate(LEVELS)}
SEVERITY = {
    "monitor": "info",
    "active_monitoring": "warning",
    "recalibrate": "warning",
    "retrain": "critical",
}
PAGERDUTY_URL = "https://events.pagerduty.com/v2/enqueue"

#: The delivery log (``out_alert_delivery_log``): one row per alert × channel and run.
LOG_COLUMNS = [
    "snapshot_date",
    "model",
    "model_version",
    "level",
    "previous_level",
    "channel",
    "channel_type",
    "status",
    "reason",
    "attempts",
    "error",
    "response",
    "target",
    "dedup_key",
    "logged_at",
]

CHANNEL_KEYS = {
    "webhook": {"type", "format", "url", "credentials", "timeout_seconds"},
    "smtp": {
        "type",
        "host",
        "port",
        "starttls",
        "ca_file",
        "from_addr",
        "to",
        "credentials",
        "timeout_seconds",
    },
}
SECRET_KEYS = {
    "webhook": {"url", "routing_key"},
    "smtp": {"host", "port", "username", "password", "from_addr", "starttls", "ca_file"},
}
SETTING_KEYS = {
    "enabled",
    "channels",
    "levels",
    "repeat_every_months",
    "notify_on_deescalation",
    "retry",
    "timeout_seconds",
}


@dataclass(frozen=True)
class Channel:
    """One configured channel, with its secrets merged in (never logged)."""

    name: str
    type: str
    format: str | None = None
    url: str | None = field(default=None, repr=False)
    routing_key: str | None = field(default=None, repr=False)
    host: str | None = None
    port: int = 25
    starttls: bool = False
    ca_file: str | None = None  # a CA bundle to verify the server's certificate (default: the system's)
    username: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)
    from_addr: str | None = None
    to: tuple[str, ...] = ()
    timeout_seconds: float = 10.0
    section: str = ""  # the credentials section (kycc_notifications.<section>), default the channel's name

    def missing(self) -> str | None:
        """What is missing to deliver (None when ready); names the credentials or parameter key to set."""
        section = f"conf/local/credentials.yml kycc_notifications.{self.section or self.name}"
        if self.type == "webhook":
            needs = [
                (self.url, f"no url ({section}.url or actions.notifications.channels.{self.name}.url)"),
                (
                    self.routing_key or self.format != "pagerduty",
                    f"no PagerDuty routing_key ({section}.routing_key)",
                ),
            ]
        else:
            needs = [
                (self.host, f"no SMTP host ({section}.host)"),
                (self.from_addr, f"no sender address ({section}.from_addr)"),
                (self.to, f"no recipients (actions.notifications.channels.{self.name}.to)"),
            ]
        return next((what for present, what in needs if not present), None)

    def target(self) -> str:
        """Where it goes, without secrets: the webhook's scheme://host (a Slack URL's path is its token)."""
        if self.type == "webhook":
            if not self.url:
                return ""
            parts = urlsplit(self.url)
            return f"{parts.scheme}://{parts.netloc}"
        return f"smtp://{self.host}:{self.port} to {', '.join(self.to)}" if self.host else ""


@dataclass(frozen=True)
class NotificationSettings:
    """``actions.notifications`` validated, with the channels' secrets merged in."""

    enabled: bool = True
    channels: Mapping[str, Channel] = field(default_factory=dict)
    levels: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    repeat_every_months: Mapping[str, int | None] = field(default_factory=dict)
    notify_on_deescalation: bool = True
    retry_attempts: int = 3
    retry_backoff_seconds: float = 1.0

    @classmethod
    def from_params(
        cls, params: Mapping[str, Any] | None, secrets: Mapping[str, Any] | None = None
    ) -> NotificationSettings:
        where = "actions.notifications"
        params = dict(params or {})
        unknown = set(params) - SETTING_KEYS
        if unknown:
            raise ValueError(f"Unknown keys in {where}: {sorted(unknown)}; allowed: {sorted(SETTING_KEYS)}")
        secrets = dict(secrets or {})
        timeout = _positive(params.get("timeout_seconds", 10.0), f"{where}.timeout_seconds")
        channels = {}
        for name, spec in dict(params.get("channels") or {}).items():
            channels[str(name)] = _channel(str(name), spec, secrets, timeout)
        levels = {}
        for level, listed in dict(params.get("levels") or {}).items():
            if level not in LEVELS:
                raise ValueError(f"{where}.levels: unknown level {level!r}; use {LEVELS}")
            names = list(listed or [])
            undefined = [n for n in names if n not in channels]
            if undefined:
                raise ValueError(
                    f"{where}.levels.{level}: channel(s) {undefined} are not defined in {where}.channels"
                )
            levels[level] = tuple(names)
        repeat = {}
        for level, months in dict(params.get("repeat_every_months") or {}).items():
            if level not in LEVELS:
                raise ValueError(f"{where}.repeat_every_months: unknown level {level!r}; use {LEVELS}")
            if months is not None and (isinstance(months, bool) or not isinstance(months, int) or months < 1):
                raise ValueError(
                    f"{where}.repeat_every_months.{level} must be a whole number of months >= 1 or null, "
                    f"got {months!r}"
                )
            repeat[level] = months
        retry = dict(params.get("retry") or {})
        if set(retry) - {"attempts", "backoff_seconds"}:
            raise ValueError(
                f"Unknown keys in {where}.retry: {sorted(set(retry) - {'attempts', 'backoff_seconds'})}"
            )
        attempts = retry.get("attempts", 3)
        if isinstance(attempts, bool) or not isinstance(attempts, int) or not 1 <= attempts <= 10:
            raise ValueError(f"{where}.retry.attempts must be a whole number in 1..10, got {attempts!r}")
        backoff = retry.get("backoff_seconds", 1.0)
        if isinstance(backoff, bool) or not isinstance(backoff, int | float) or not 0 <= backoff <= 60:
            raise ValueError(f"{where}.retry.backoff_seconds must be a number in 0..60, got {backoff!r}")
        return cls(
            enabled=bool(params.get("enabled", True)),
            channels=channels,
            levels=levels,
            repeat_every_months=repeat,
            notify_on_deescalation=bool(params.get("notify_on_deescalation", True)),
            retry_attempts=attempts,
            retry_backoff_seconds=float(backoff),
        )


def _positive(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ValueError(f"{where} must be a number > 0, got {value!r}")
    return float(value)


def _channel(name: str, spec: Any, secrets: Mapping[str, Any], timeout: float) -> Channel:
    where = f"actions.notifications.channels.{name}"
    if not isinstance(spec, Mapping):
        raise TypeError(f"{where} must be a mapping with a type (webhook or smtp)")
    kind = spec.get("type")
    if kind not in CHANNEL_KEYS:
        raise ValueError(f"{where}.type must be one of {sorted(CHANNEL_KEYS)}, got {kind!r}")
    unknown = set(spec) - CHANNEL_KEYS[kind]
    if unknown:
        raise ValueError(f"Unknown keys in {where}: {sorted(unknown)}; allowed: {sorted(CHANNEL_KEYS[kind])}")
    section_name = str(spec.get("credentials") or name)
    section = secrets.get(section_name) or {}
    if not isinstance(section, Mapping):
        raise ValueError(f"credentials kycc_notifications.{section_name} must be a mapping")
    unknown = set(section) - SECRET_KEYS[kind]
    if unknown:
        raise ValueError(
            f"Unknown keys in credentials kycc_notifications.{section_name}: {sorted(unknown)}; allowed for a "
            f"{kind} channel: {sorted(SECRET_KEYS[kind])}"
        )
    merged = {k: v for k, v in spec.items() if k not in {"type", "credentials"}}
    merged.update({k: v for k, v in section.items() if placeholder_reason(v) is None})
    timeout_seconds = _positive(merged.pop("timeout_seconds", timeout), f"{where}.timeout_seconds")
    if kind == "webhook":
        fmt = merged.get("format", "slack")
        if fmt not in {"slack", "pagerduty"}:
            raise ValueError(f"{where}.format must be slack or pagerduty, got {fmt!r}")
        return Channel(name, kind, fmt, url=merged.get("url"), routing_key=merged.get("routing_key"),
                       timeout_seconds=timeout_seconds, section=section_name)  # fmt: skip
    to = merged.get("to") or []
    to = [to] if isinstance(to, str) else list(to)
    port = merged.get("port", 25)
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise ValueError(f"{where}.port must be a TCP port number, got {port!r}")
    return Channel(
        name,
        kind,
        None,
        host=merged.get("host"),
        port=port,
        starttls=bool(merged.get("starttls", False)),
        ca_file=merged.get("ca_file"),
        username=merged.get("username"),
        password=merged.get("password"),
        from_addr=merged.get("from_addr"),
        to=tuple(str(t) for t in to),
        timeout_seconds=timeout_seconds,
        section=section_name,
    )


# -- payloads ----------------------------------------------------------------------------------------------------


def _month(alert: Mapping[str, Any]) -> str:
    return str(alert["month"])[:7]


def _title(alert: Mapping[str, Any]) -> str:
    return (
        f"KYCC {alert['level'].upper()}: {alert['model']} v{alert.get('model_version')} — monitoring month "
        f"{_month(alert)}"
    )


def _evidence_lines(alert: Mapping[str, Any]) -> list[str]:
    lines = []
    for c in alert.get("evidence") or []:
        if not c.get("decides") or c.get("value") is None:
            continue
        interval = (
            f" [{c['lower']:.3f}, {c['upper']:.3f}]" if c.get("lower") is not None and c.get("upper") is not None
            else ""
        )  # fmt: skip
        lines.append(
            f"{c['priority']} {c['metric']} {c['value']:.4f}{interval} n={c.get('n')} "
            f"(business {c.get('business_threshold')}, data science {c.get('data_science_threshold')}): "
            f"{c['status']}"
        )
    cal = alert.get("calibration") or {}
    if cal.get("ae_ratio") is not None:
        lines.append(
            f"A/E {cal['ae_ratio']:.3f} [{cal['ae_lower']:.3f}, {cal['ae_upper']:.3f}] "
            f"({cal['actual_defaults']} / {cal['expected_defaults']:.1f} defaults): {cal['verdict']}"
        )
    return lines


def slack_payload(alert: Mapping[str, Any], why: str = "") -> dict[str, Any]:
    """A Slack-compatible incoming-webhook payload: ``text`` (fallback) and ``blocks``."""
    reasons = "\n".join(f"• {r}" for r in alert.get("reasons") or [])
    evidence = "\n".join(f"• {e}" for e in _evidence_lines(alert))
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": _title(alert)[:150]}},
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*Why*\n{reasons}"[:3000]}},
    ]
    if evidence:
        blocks.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": f"*Evidence*\n{evidence}"[:3000]}}
        )
    if why:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": f"Sent: {why}"[:3000]}]})
    return {"text": f"{_title(alert)}: {'; '.join(alert.get('reasons') or [])}", "blocks": blocks}


def pagerduty_payload(alert: Mapping[str, Any], routing_key: str, why: str = "") -> dict[str, Any]:
    """A PagerDuty Events API v2 ``trigger`` event (``dedup_key`` per model and level)."""
    return {
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": dedup_key(alert),
        "payload": {
            "summary": f"{_title(alert)}: {'; '.join(alert.get('reasons') or [])}"[:1024],
            "source": "kycc-monitoring",
            "severity": SEVERITY[alert["level"]],
            "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
            "component": str(alert["model"]),
            "group": str(alert.get("registered_model_name") or alert["model"]),
            "class": str(alert["level"]),
            "custom_details": {
                "month": str(alert["month"]),
                "model_version": alert.get("model_version"),
                "reasons": list(alert.get("reasons") or []),
                "evidence": _evidence_lines(alert),
                "sent_because": why,
            },
        },
    }


def email_message(alert: Mapping[str, Any], channel: Channel, why: str = "") -> EmailMessage:
    """The e-mail of one alert: subject = the title, body = the text report (and why it was sent)."""
    message = EmailMessage()
    message["Subject"] = _title(alert)
    message["From"] = channel.from_addr or ""
    message["To"] = ", ".join(channel.to)
    body = str(alert.get("text") or "\n".join(alert.get("reasons") or []))
    message.set_content(body + (f"\nSent: {why}\n" if why else ""))
    return message


def dedup_key(alert: Mapping[str, Any]) -> str:
    return f"kycc:{alert['model']}:{alert['level']}"


# -- de-duplication ----------------------------------------------------------------------------------------------


def _index(month: Any) -> int:
    ts = pd.Timestamp(month)
    return ts.year * 12 + ts.month


def _history_rows(history: pd.DataFrame | None) -> list[dict[str, Any]]:
    if history is None or history.empty:
        return []
    rows = history.to_dict("records")
    for r in rows:
        r["snapshot_date"] = pd.Timestamp(r["snapshot_date"])
    return rows


def plan_alert(
    alert: Mapping[str, Any], log: Sequence[Mapping[str, Any]], settings: NotificationSettings
) -> list[dict[str, Any]]:
    """Which channels one alert goes to, and why (or why not). Pure: no delivery.

    Args:
        alert: One model and month (``model``, ``month``, ``level``, ``model_version``, ``reasons`` …).
        log: The delivery log rows so far (``snapshot_date`` as timestamps), this run's earlier months included.
        settings: The notification settings.

    Returns:
        One plan row per channel of the level (a ``no_channel`` / ``disabled`` row when the level has none or
        notifications are off, so the log holds every month's level): the log columns with ``status`` ``send``
        (to deliver) or ``suppressed``, ``reason``, and the ``alert`` itself.
    """
    month, model, level = pd.Timestamp(alert["month"]), str(alert["model"]), str(alert["level"])
    if level not in RANK:
        raise ValueError(f"alert of {model} {month:%Y-%m}: unknown level {level!r}; use {LEVELS}")
    mine = [r for r in log if r["model"] == model]
    before = sorted((r for r in mine if r["snapshot_date"] < month), key=lambda r: r["snapshot_date"])
    previous = str(before[-1]["level"]) if before else ""
    episode = []  # the log rows of the months in a row at this level just before `month`
    for r in reversed(before):
        if r["level"] != level:
            break
        episode.append(r)
    episode_start = min((r["snapshot_date"] for r in episode), default=month)
    this_month = [r for r in mine if r["snapshot_date"] == month and r["level"] == level]
    base = {
        "snapshot_date": month,
        "model": model,
        "model_version": alert.get("model_version"),
        "level": level,
        "previous_level": previous,
        "dedup_key": dedup_key(alert),
        "alert": alert,
    }
    channels = settings.levels.get(level, ())
    if not settings.enabled or not channels:
        if not settings.enabled:
            status, reason = "disabled", "actions.notifications.enabled is false"
        else:
            status, reason = "no_channel", f"no channel configured for {level} (actions.notifications.levels)"
        return [{**base, "channel": "", "channel_type": "", "status": status, "reason": reason}]
    planned = []
    for name in channels:
        channel = settings.channels[name]
        sent_here = [r for r in this_month if r["channel"] == name and r["status"] == "sent"]
        sent_before = [r for r in episode if r["channel"] == name and r["status"] == "sent"]
        repeat = settings.repeat_every_months.get(level)
        if sent_here:
            status, reason = "suppressed", f"already sent for {month:%Y-%m} (a re-run of the month)"
        elif not previous:
            status, reason = "send", f"first notification of {model}"
        elif RANK[level] > RANK[previous]:
            status, reason = "send", f"escalation from {previous}"
        elif RANK[level] < RANK[previous]:
            status, reason = (
                ("send", f"level lowered from {previous}")
                if settings.notify_on_deescalation
                else ("suppressed", f"level lowered from {previous} (notify_on_deescalation is false)")
            )
        elif not sent_before:
            status, reason = "send", f"{level} since {episode_start:%Y-%m}, not delivered on {name} yet"
        else:
            last = max(r["snapshot_date"] for r in sent_before)
            if repeat is not None and _index(month) - _index(last) >= repeat:
                status, reason = (
                    "send",
                    f"reminder: {level} since {episode_start:%Y-%m}, last sent {last:%Y-%m}",
                )
            else:
                status, reason = (
                    "suppressed",
                    f"already sent {last:%Y-%m} ({level} since {episode_start:%Y-%m}); sent again when the level "
                    "changes",
                )
        planned.append({**base, "channel": name, "channel_type": channel.type, "status": status,
                        "reason": reason, "target": channel.target()})  # fmt: skip
    return planned


def notify(
    alerts: Iterable[Mapping[str, Any]],
    history: pd.DataFrame | None,
    settings: NotificationSettings,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> pd.DataFrame:
    """Plan and deliver every alert in month order (each month sees the earlier months' deliveries).

    Returns:
        The new log rows (``LOG_COLUMNS``), one per alert × channel.
    """
    log = _history_rows(history)
    frames = []
    for alert in sorted(alerts, key=lambda a: (pd.Timestamp(a["month"]), str(a["model"]))):
        delivered = deliver(plan_alert(alert, log, settings), settings, sleep=sleep)
        log.extend(_history_rows(delivered))
        frames.append(delivered)
    if not frames:
        return pd.DataFrame(columns=LOG_COLUMNS)
    return pd.concat(frames, ignore_index=True)


# -- delivery (the side effect) ----------------------------------------------------------------------------------


def _post_json(url: str, payload: Mapping[str, Any], timeout: float) -> str:
    body = json.dumps(payload, default=str).encode("utf-8")
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "User-Agent": "kycc-alerts"},
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - a configured URL
        return f"HTTP {response.status}"


def _send_email(channel: Channel, message: EmailMessage) -> str:
    with smtplib.SMTP(channel.host, channel.port, timeout=channel.timeout_seconds) as smtp:
        if channel.starttls:
            smtp.starttls(context=ssl.create_default_context(cafile=channel.ca_file))
        if channel.username:
            smtp.login(channel.username, channel.password or "")
        refused = smtp.send_message(message)
        if refused:
            raise smtplib.SMTPRecipientsRefused(refused)
    return f"accepted for {len(channel.to)} recipient(s)"


def _send(channel: Channel, alert: Mapping[str, Any], why: str) -> str:
    if channel.type == "smtp":
        return _send_email(channel, email_message(alert, channel, why))
    if channel.format == "pagerduty":
        payload = pagerduty_payload(alert, channel.routing_key or "", why)
    else:
        payload = slack_payload(alert, why)
    return _post_json(channel.url or "", payload, channel.timeout_seconds)


def _error(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        return f"URLError: {exc.reason}"
    return f"{type(exc).__name__}: {exc}"


def deliver(
    planned: Sequence[Mapping[str, Any]],
    settings: NotificationSettings,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> pd.DataFrame:
    """Deliver the planned sends (each tried up to ``retry_attempts`` times) and return the log rows.

    A channel that is not configured is ``not_configured`` (no attempt); a send that fails every attempt is
    ``failed`` with its last error. Nothing raises: a failed delivery must never fail the cycle.
    """
    rows = []
    for plan in planned:
        row = {k: v for k, v in plan.items() if k != "alert"}
        row.update(
            attempts=0, error="", response="", logged_at=datetime.now(UTC).isoformat(timespec="seconds")
        )
        if plan["status"] == "send":
            channel = settings.channels[plan["channel"]]
            missing = channel.missing()
            if missing:
                row.update(status="not_configured", error=missing)
            else:
                for attempt in range(1, settings.retry_attempts + 1):
                    row["attempts"] = attempt
                    try:
                        row.update(
                            status="sent", response=_send(channel, plan["alert"], plan["reason"]), error=""
                        )
                        break
                    except Exception as exc:  # noqa: BLE001 - every failure is logged, none fails the run
                        row.update(status="failed", error=_error(exc))
                        if attempt < settings.retry_attempts:
                            sleep(settings.retry_backoff_seconds * 2 ** (attempt - 1))
                if row["status"] == "failed":
                    logger.warning(
                        "alert delivery failed: %s %s %s via %s after %d attempt(s): %s", plan["model"],
                        f"{plan['snapshot_date']:%Y-%m}", plan["level"], plan["channel"], row["attempts"],
                        row["error"],
                    )  # fmt: skip
        rows.append(row)
    frame = pd.DataFrame(rows).reindex(columns=LOG_COLUMNS)
    for column in LOG_COLUMNS:
        if column == "snapshot_date":
            frame[column] = pd.to_datetime(frame[column])
        elif column in {"attempts", "model_version"}:
            frame[column] = pd.to_numeric(frame[column], errors="coerce").fillna(-1).astype("int64")
        else:
            frame[column] = frame[column].fillna("").astype(str)
    return frame


class NotificationSecretsDataset(AbstractDataset[None, dict[str, Any]]):
    """Loads the notification secrets (``credentials: kycc_notifications``) for the delivery node; read-only.

    Placeholder values (``xxx``, ``change-me`` …) are dropped as not set. Never describes the secrets, only which
    sections are set.
    """

    def __init__(
        self, credentials: dict[str, Any] | None = None, metadata: dict[str, Any] | None = None
    ) -> None:
        self._credentials = dict(credentials or {})
        self.metadata = metadata

    def load(self) -> dict[str, Any]:
        out = {}
        for name, section in self._credentials.items():
            if not isinstance(section, Mapping):
                raise DatasetError(
                    f"credentials kycc_notifications.{name} must be a mapping, got {type(section).__name__}"
                )
            out[name] = {}
            for key, value in section.items():
                reason = placeholder_reason(value)
                if reason is None:
                    out[name][key] = value
                elif reason != "empty":  # a copied template is no secret: never sent anywhere
                    logger.warning(
                        "credentials kycc_notifications.%s.%s is %s: treated as not set", name, key, reason
                    )
        return out

    def save(self, data: Any) -> None:
        raise DatasetError("NotificationSecretsDataset is read-only")

    def _describe(self) -> dict[str, Any]:
        return {"credentials_set": sorted(k for k, v in self._credentials.items() if v)}
