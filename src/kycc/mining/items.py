"""Raw items as the collectors return them, their validation and the bronze rows built from them.

Every item a collector parses either becomes a ``bronze.raw_items`` row or is quarantined with a reason
(``bronze.quarantine``); duplicates within one collection and items already stored under an earlier
collection date are counted, so ``fetched = stored + duplicates + already_seen + quarantined``.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from html.parser import HTMLParser
from typing import Any

from kycc.mining.urls import normalize_url, url_hash

__all__ = [
    "BRONZE_COLUMNS",
    "QUARANTINE_COLUMNS",
    "RawItem",
    "html_to_text",
    "item_text",
    "to_bronze_rows",
    "utc_naive",
]

BRONZE_COLUMNS = [
    "url_hash",
    "source",
    "collection_date",
    "url",
    "title",
    "body",
    "created_at",
    "external_id",
    "query",
]
QUARANTINE_COLUMNS = ["collection_date", "source", "external_id", "reason", "payload"]
SOURCES = ("github", "stackexchange", "reddit", "hackernews")
MAX_TITLE_CHARS = 300


@dataclass
class RawItem:
    """One issue, question or post as parsed from an API reply (before validation)."""

    source: str
    external_id: str
    url: str | None
    title: str | None
    body: str | None
    created_at: datetime | None
    query: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_payload(self) -> str:
        """The item as JSON (for the quarantine table)."""
        data = asdict(self)
        data["created_at"] = self.created_at.isoformat() if self.created_at else None
        return json.dumps(data, default=str, ensure_ascii=False)[:20_000]


class _TextExtractor(HTMLParser):
    _BLOCK = {"p", "br", "li", "pre", "div", "h1", "h2", "h3", "h4", "blockquote", "tr"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def html_to_text(value: str | None) -> str:
    """Plain text from an HTML fragment (StackExchange bodies, HN ``story_text``), entities decoded."""
    if not value:
        return ""
    parser = _TextExtractor()
    parser.feed(value)
    parser.close()
    return _squeeze("".join(parser.parts))


def _squeeze(text: str) -> str:
    text = html.unescape(text).replace("\r\n", "\n")
    text = re.sub(r"[ \t\f\v]+", " ", text)
    text = re.sub(r"\n\s*\n+", "\n\n", text)
    return text.strip()


def clean_markdown(value: str | None) -> str:
    """Whitespace-normalised Markdown (GitHub bodies, Reddit ``selftext``); HTML comments dropped."""
    if not value:
        return ""
    return _squeeze(re.sub(r"<!--.*?-->", "", value, flags=re.DOTALL))


def utc_naive(value: datetime) -> datetime:
    """The same instant as a naive UTC datetime (what DuckDB ``TIMESTAMP`` columns hold)."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


def item_text(title: str | None, body: str | None, max_chars: int = 2000) -> str:
    """The text that is embedded: title, a blank line, the start of the body."""
    title = (title or "").strip()
    body = (body or "").strip()
    text = f"{title}\n\n{body}" if body else title
    return text[:max_chars]


def _reason(item: RawItem) -> str | None:
    if item.source not in SOURCES:
        return f"unknown source {item.source!r}"
    if not item.url:
        return "missing url"
    try:
        normalize_url(item.url)
    except ValueError as exc:
        return str(exc)
    if not item.title or not item.title.strip():
        return "missing title"
    if item.created_at is None:
        return "missing or unparseable created_at"
    return None


def to_bronze_rows(
    items: list[RawItem],
    collection_date: date,
    seen_elsewhere: set[str] | frozenset[str] = frozenset(),
    max_body_chars: int = 8000,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, int]]:
    """Validate, normalise and deduplicate parsed items into bronze rows.

    Args:
        items: Items from one or more collectors.
        collection_date: The run date the rows belong to.
        seen_elsewhere: url_hashes already stored under another collection date (first seen wins).
        max_body_chars: Bodies are cut to this length.

    Returns:
        ``(rows, quarantined, counts)`` where counts has ``fetched``, ``stored``, ``duplicates``,
        ``already_seen`` and ``quarantined``.
    """
    rows: list[dict[str, Any]] = []
    quarantined: list[dict[str, Any]] = []
    seen: set[str] = set()
    counts = {"fetched": len(items), "stored": 0, "duplicates": 0, "already_seen": 0, "quarantined": 0}
    for item in items:
        reason = _reason(item)
        if reason is not None:
            quarantined.append(
                {
                    "collection_date": collection_date,
                    "source": item.source,
                    "external_id": str(item.external_id),
                    "reason": reason,
                    "payload": item.to_payload(),
                }
            )
            counts["quarantined"] += 1
            continue
        key = url_hash(item.url)  # type: ignore[arg-type]
        if key in seen:
            counts["duplicates"] += 1
            continue
        seen.add(key)
        if key in seen_elsewhere:
            counts["already_seen"] += 1
            continue
        rows.append(
            {
                "url_hash": key,
                "source": item.source,
                "collection_date": collection_date,
                "url": normalize_url(item.url),  # type: ignore[arg-type]
                "title": item.title.strip()[:MAX_TITLE_CHARS],  # type: ignore[union-attr]
                "body": (item.body or "")[:max_body_chars],
                "created_at": utc_naive(item.created_at),  # type: ignore[arg-type]
                "external_id": str(item.external_id),
                "query": item.query,
            }
        )
        counts["stored"] += 1
    return rows, quarantined, counts
