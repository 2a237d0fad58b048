"""httpx clients for the four public APIs: search, pagination, retries and each API's rate-limit signals.

Each collector gets an ``httpx.Client`` (the real network, or ``httpx.MockTransport`` serving recorded
responses), a ``RateLimiter`` and a clock, so the same code runs live, from the recorded samples and in tests.

=============  ===============================  =====================================================
source         endpoint                         rate-limit signals honoured
=============  ===============================  =====================================================
github         ``GET /search/issues``           ``x-ratelimit-remaining``/``-reset``, ``Retry-After``
stackexchange  ``GET /2.3/search/advanced``     ``backoff`` and ``quota_remaining`` in the JSON body
reddit         ``GET /r/{sub}/search`` (OAuth)  ``X-Ratelimit-Remaining``/``-Reset``, 429
hackernews     ``GET /api/v1/search_by_date``   none (429 → exponential back-off); pages by time window
=============  ===============================  =====================================================
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, ClassVar

import httpx

from kycc.credentials import is_placeholder
from kycc.mining.items import RawItem, clean_markdown, html_to_text
from kycc.mining.ratelimit import Clock, RateLimiter, SystemClock, parse_retry_after

__all__ = [
    "COLLECTORS",
    "CollectionResult",
    "Collector",
    "CollectorError",
    "CollectorOffline",
    "GitHubCollector",
    "HackerNewsCollector",
    "RedditCollector",
    "StackExchangeCollector",
    "day_bounds",
]

logger = logging.getLogger(__name__)

_RETRYABLE_STATUS = {429, 500, 502, 503, 504}


class CollectorError(RuntimeError):
    """A source could not be collected (after retries), with the source and the last reply in the message.

    ``status`` is the HTTP status of the reply that failed it, when there was one.
    """

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class CollectorOffline(CollectorError):  # noqa: N818 - reads as the state of the source
    """The API's host cannot be reached (DNS failure, connection refused): not retried, nothing to wait for."""


@dataclass
class CollectionResult:
    """What one collector fetched for one day."""

    source: str
    items: list[RawItem] = field(default_factory=list)
    requests: int = 0
    pages: int = 0
    retries: int = 0
    waited_seconds: float = 0.0
    stopped_reason: str = "complete"


def day_bounds(day: date) -> tuple[int, int]:
    """Epoch seconds ``[start, end)`` of a UTC day."""
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return int(start.timestamp()), int((start + timedelta(days=1)).timestamp())


def _parse_iso(value: Any) -> datetime | None:
    if not value or not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _parse_epoch(value: Any) -> datetime | None:
    try:
        return datetime.fromtimestamp(float(value), tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


class Collector:
    """Base class: one source's search over one UTC day.

    Args:
        client: The httpx client (its transport decides live vs recorded).
        limiter: The source's request window.
        settings: Source settings: ``queries`` and the source's own keys (page size, pages, …).
        credentials: The source's credentials (token, key, client id/secret), possibly empty.
        clock: Time source shared with the limiter.
        max_retries: Retries of one request after a retryable reply or a transport error.
        backoff_seconds: First exponential back-off delay when the API gives none.
    """

    source: ClassVar[str] = ""
    default_base_url: ClassVar[str] = ""

    def __init__(
        self,
        client: httpx.Client,
        limiter: RateLimiter,
        *,
        settings: Mapping[str, Any] | None = None,
        credentials: Mapping[str, Any] | None = None,
        clock: Clock | None = None,
        base_url: str | None = None,
        max_retries: int = 4,
        backoff_seconds: float = 2.0,
    ) -> None:
        self.client = client
        self.limiter = limiter
        self.settings = dict(settings or {})
        self.credentials = {k: v for k, v in dict(credentials or {}).items() if not is_placeholder(v)}
        self.clock = clock or limiter.clock or SystemClock()
        self.base_url = (base_url or self.default_base_url).rstrip("/")
        self.max_retries = max_retries
        self.backoff_seconds = backoff_seconds
        self._result = CollectionResult(self.source)

    # -- request loop --------------------------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        return {"Accept": "application/json", "User-Agent": "kycc-issue-mining/0.1"}

    def _retry_delay(self, response: httpx.Response, attempt: int) -> float | None:
        """Seconds to wait before retrying ``response``; ``None`` when it is not retryable."""
        if response.status_code in _RETRYABLE_STATUS:
            retry_after = parse_retry_after(response.headers.get("retry-after"))
            return retry_after if retry_after is not None else self.backoff_seconds * 2**attempt
        return None

    def _observe(self, response: httpx.Response) -> None:
        """Read the API's rate-limit signals from a reply (headers) and tell the limiter."""

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """Send one request through the limiter, retrying retryable replies and transport errors.

        Raises:
            CollectorError: Retries exhausted, or a non-retryable error reply.
        """
        headers = {**self._headers(), **kwargs.pop("headers", {})}
        last: str = ""
        for attempt in range(self.max_retries + 1):
            self._result.waited_seconds += self.limiter.acquire()
            self._result.requests += 1
            try:
                response = self.client.request(method, url, headers=headers, **kwargs)
            except httpx.ConnectError as exc:  # DNS failure, connection refused: offline, retrying won't help
                raise CollectorOffline(
                    f"{self.source}: {method} {url} unreachable ({type(exc).__name__}: {exc})"
                ) from exc
            except httpx.TransportError as exc:
                last = f"{type(exc).__name__}: {exc}"
                if attempt < self.max_retries:
                    delay = self.backoff_seconds * 2**attempt
                    logger.warning("%s: %s, retry %d in %.0fs", self.source, last, attempt + 1, delay)
                    self._result.retries += 1
                    self.limiter.defer(delay)
                continue
            self._observe(response)
            delay = self._retry_delay(response, attempt)
            if delay is None:
                if response.is_error:
                    raise CollectorError(
                        f"{self.source}: {method} {response.request.url} -> HTTP {response.status_code}: "
                        f"{response.text[:300]}",
                        status=response.status_code,
                    )
                return response
            last = f"HTTP {response.status_code}: {response.text[:200]}"
            if attempt < self.max_retries:
                logger.warning("%s: %s, retry %d in %.0fs", self.source, last, attempt + 1, delay)
                self._result.retries += 1
                self.limiter.defer(delay)
        raise CollectorError(
            f"{self.source}: {method} {url} failed after {self.max_retries + 1} attempts: {last}"
        )

    def payload(self, response: httpx.Response) -> dict[str, Any]:
        """The reply's JSON object.

        Raises:
            CollectorError: The reply is not JSON (an HTML error page of a proxy or CDN, a truncated body) or
                not a JSON object; the message names the source, URL, status, content type and the reply's start.
        """
        try:
            payload = response.json()
        except ValueError as exc:
            raise CollectorError(
                f"{self.source}: {response.request.method} {response.request.url} -> HTTP "
                f"{response.status_code} replied with non-JSON ({response.headers.get('content-type', 'no type')}"
                f"): {response.text[:200]!r}",
                status=response.status_code,
            ) from exc
        if not isinstance(payload, dict):
            raise CollectorError(
                f"{self.source}: {response.request.method} {response.request.url} replied with a JSON "
                f"{type(payload).__name__}, not an object: {response.text[:200]!r}",
                status=response.status_code,
            )
        return payload

    # -- public API ----------------------------------------------------------------------------------------

    def collect(self, day: date) -> CollectionResult:
        """Every item created on ``day`` (UTC) matching the configured queries, pages followed."""
        self._result = CollectionResult(self.source)
        queries = list(self.settings.get("queries") or [])
        if not queries:
            raise ValueError(f"{self.source}: no queries configured")
        for query in queries:
            for page_items in self._pages(query, day):
                self._result.pages += 1
                self._result.items.extend(page_items)
            if self._result.stopped_reason != "complete":
                break
        logger.info(
            "%s: %d items in %d pages, %d requests (%d retries, %.0fs waited) for %s",
            self.source,
            len(self._result.items),
            self._result.pages,
            self._result.requests,
            self._result.retries,
            self._result.waited_seconds,
            day.isoformat(),
        )
        return self._result

    def _pages(self, query: str, day: date) -> Iterator[list[RawItem]]:
        raise NotImplementedError


class GitHubCollector(Collector):
    """GitHub issue search (``created:`` the day), ``page``/``per_page`` pagination, 1,000 results per query."""

    source = "github"
    default_base_url = "https://api.github.com"
    MAX_RESULTS = 1000

    def _headers(self) -> dict[str, str]:
        headers = {
            **super()._headers(),
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
        }
        if self.credentials.get("token"):
            headers["Authorization"] = f"Bearer {self.credentials['token']}"
        return headers

    def _observe(self, response: httpx.Response) -> None:
        remaining = response.headers.get("x-ratelimit-remaining")
        reset = response.headers.get("x-ratelimit-reset")
        if remaining is not None and reset is not None and remaining.strip() == "0":
            with contextlib.suppress(ValueError):
                self.limiter.defer_until_epoch(float(reset) + 1)

    def _retry_delay(self, response: httpx.Response, attempt: int) -> float | None:
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        if response.status_code in (403, 429):
            if retry_after is not None:
                return retry_after
            if response.headers.get("x-ratelimit-remaining", "").strip() == "0":
                return max(self.limiter.blocked_for, 1.0)  # _observe already deferred to the reset
            if response.status_code == 429 or "rate limit" in response.text.lower():
                return 60.0 * 2**attempt  # secondary limit without headers: wait at least a minute
            return None
        return super()._retry_delay(response, attempt)

    def _pages(self, query: str, day: date) -> Iterator[list[RawItem]]:
        per_page = int(self.settings.get("per_page", 100))
        max_pages = int(self.settings.get("max_pages", 10))
        q = f"{query} created:{day.isoformat()}"
        for page in range(1, max_pages + 1):
            response = self.request(
                "GET",
                f"{self.base_url}/search/issues",
                params={"q": q, "sort": "created", "order": "desc", "per_page": per_page, "page": page},
            )
            payload = self.payload(response)
            raw = payload.get("items") or []
            yield [self._parse(item, query) for item in raw]
            total = min(int(payload.get("total_count") or 0), self.MAX_RESULTS)
            has_next = "next" in response.links
            if not raw or (not has_next and page * per_page >= total) or len(raw) < per_page:
                return
        self._result.stopped_reason = "complete"

    def _parse(self, item: dict[str, Any], query: str) -> RawItem:
        return RawItem(
            source=self.source,
            external_id=str(item.get("id") or item.get("number") or ""),
            url=item.get("html_url"),
            title=item.get("title"),
            body=clean_markdown(item.get("body")),
            created_at=_parse_iso(item.get("created_at")),
            query=query,
            extra={
                "comments": item.get("comments"),
                "state": item.get("state"),
                "labels": [
                    label.get("name") for label in item.get("labels") or [] if isinstance(label, dict)
                ],
            },
        )


class StackExchangeCollector(Collector):
    """StackExchange ``/2.3/search/advanced`` (questions created in the day), ``has_more`` pagination."""

    source = "stackexchange"
    default_base_url = "https://api.stackexchange.com"
    _THROTTLE = re.compile(r"available in (\d+) seconds")

    def _observe(self, response: httpx.Response) -> None:
        try:
            payload = response.json()
        except ValueError:
            return
        if isinstance(payload, dict) and payload.get("backoff"):
            logger.info("stackexchange: backoff %ss requested", payload["backoff"])
            self.limiter.defer(float(payload["backoff"]))

    def _retry_delay(self, response: httpx.Response, attempt: int) -> float | None:
        if response.status_code in (400, 429, 503):
            try:
                payload = response.json()
            except ValueError:
                payload = {}
            if payload.get("error_name") == "throttle_violation" or response.status_code in (429, 503):
                match = self._THROTTLE.search(str(payload.get("error_message", "")))
                return float(match.group(1)) if match else self.backoff_seconds * 2**attempt
            return None
        return super()._retry_delay(response, attempt)

    def _pages(self, query: str, day: date) -> Iterator[list[RawItem]]:
        start, end = day_bounds(day)
        pagesize = int(self.settings.get("pagesize", 100))
        max_pages = int(self.settings.get("max_pages", 10))
        for page in range(1, max_pages + 1):
            params: dict[str, Any] = {
                "site": self.settings.get("site", "stackoverflow"),
                "q": query,
                "fromdate": start,
                "todate": end - 1,
                "sort": "creation",
                "order": "desc",
                "pagesize": pagesize,
                "page": page,
                "filter": "withbody",
            }
            if self.credentials.get("key"):
                params["key"] = self.credentials["key"]
            payload = self.payload(self.request("GET", f"{self.base_url}/2.3/search/advanced", params=params))
            yield [self._parse(item, query) for item in payload.get("items") or []]
            if payload.get("quota_remaining") == 0:
                logger.warning("stackexchange: daily quota exhausted, stopping")
                self._result.stopped_reason = "quota exhausted"
                return
            if not payload.get("has_more"):
                return

    def _parse(self, item: dict[str, Any], query: str) -> RawItem:
        return RawItem(
            source=self.source,
            external_id=str(item.get("question_id") or ""),
            url=item.get("link"),
            title=html_to_text(item.get("title")),
            body=html_to_text(item.get("body")),
            created_at=_parse_epoch(item.get("creation_date")),
            query=query,
            extra={"tags": item.get("tags") or [], "score": item.get("score")},
        )


class RedditCollector(Collector):
    """Reddit OAuth (client credentials) search per subreddit, newest first, ``after`` cursor pagination."""

    source = "reddit"
    default_base_url = "https://oauth.reddit.com"
    token_url = "https://www.reddit.com/api/v1/access_token"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._token: str | None = None
        self.tokens_requested = 0
        self.token_url = self.settings.get("token_url", self.token_url)

    def _headers(self) -> dict[str, str]:
        headers = {
            **super()._headers(),
            "User-Agent": self.credentials.get("user_agent", "kycc-issue-mining/0.1 (by u/kycc)"),
        }
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        return headers

    def _authenticate(self) -> None:
        client_id, secret = self.credentials.get("client_id"), self.credentials.get("client_secret")
        if not client_id or not secret:
            raise CollectorError(
                "reddit: client_id and client_secret are required (conf/local/credentials.yml)"
            )
        response = self.request(
            "POST", self.token_url, data={"grant_type": "client_credentials"}, auth=(client_id, secret)
        )
        self._token = self.payload(response).get("access_token")
        if not self._token:
            raise CollectorError(f"reddit: no access_token in the token reply: {response.text[:200]}")
        self.tokens_requested += 1

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """An API request; a 401 (the bearer token expired, Reddit's tokens last an hour) gets a new token once
        and the request is sent again. A second 401 fails the source."""
        if url == self.token_url:
            return super().request(method, url, **kwargs)
        try:
            return super().request(method, url, **kwargs)
        except CollectorError as exc:
            if exc.status != 401 or self._token is None:
                raise
            logger.info("reddit: %s %s -> 401 (token expired): requesting a new token", method, url)
            self._token = None
            self._authenticate()
        try:
            return super().request(method, url, **kwargs)
        except CollectorError as exc:
            if exc.status == 401:
                raise CollectorError(
                    f"reddit: {method} {url} -> HTTP 401 again with a new token: check the app's client_id, "
                    f"client_secret and scopes ({exc})",
                    status=401,
                ) from exc
            raise

    def _observe(self, response: httpx.Response) -> None:
        remaining = response.headers.get("x-ratelimit-remaining")
        reset = response.headers.get("x-ratelimit-reset")
        try:
            if remaining is not None and reset is not None and float(remaining) < 1:
                self.limiter.defer(float(reset))
        except ValueError:
            pass

    def _retry_delay(self, response: httpx.Response, attempt: int) -> float | None:
        if response.status_code == 429:
            reset = response.headers.get("x-ratelimit-reset") or response.headers.get("retry-after")
            seconds = parse_retry_after(reset)
            return seconds if seconds is not None else self.backoff_seconds * 2**attempt
        return super()._retry_delay(response, attempt)

    def _pages(self, query: str, day: date) -> Iterator[list[RawItem]]:
        if self._token is None:
            self._authenticate()
        start, end = day_bounds(day)
        limit = int(self.settings.get("limit", 100))
        max_pages = int(self.settings.get("max_pages", 10))
        # Reddit's search window must reach back to the day collected (newest first, paged back to it).
        age_days = (self.clock.time() - start) / 86_400
        window = (
            "week" if age_days <= 7 else "month" if age_days <= 31 else "year" if age_days <= 365 else "all"
        )
        for subreddit in self.settings.get("subreddits") or ["all"]:
            after: str | None = None
            for _ in range(max_pages):
                params: dict[str, Any] = {
                    "q": query,
                    "sort": "new",
                    "t": window,
                    "limit": limit,
                    "restrict_sr": 1,
                    "raw_json": 1,
                }
                if after:
                    params["after"] = after
                path = "/search" if subreddit == "all" else f"/r/{subreddit}/search"
                response = self.request("GET", f"{self.base_url}{path}", params=params)
                data = self.payload(response).get("data") or {}
                posts = [child.get("data") or {} for child in data.get("children") or []]
                in_day = [p for p in posts if start <= float(p.get("created_utc") or 0) < end]
                yield [self._parse(post, query) for post in in_day]
                oldest = min((float(p.get("created_utc") or 0) for p in posts), default=0.0)
                after = data.get("after")
                if not after or not posts or oldest < start:
                    break

    def _parse(self, post: dict[str, Any], query: str) -> RawItem:
        permalink = post.get("permalink")
        return RawItem(
            source=self.source,
            external_id=str(post.get("name") or post.get("id") or ""),
            url=f"https://www.reddit.com{permalink}" if permalink else None,
            title=post.get("title"),
            body=clean_markdown(post.get("selftext")),
            created_at=_parse_epoch(post.get("created_utc")),
            query=query,
            extra={
                "subreddit": post.get("subreddit"),
                "score": post.get("score"),
                "num_comments": post.get("num_comments"),
            },
        )


class HackerNewsCollector(Collector):
    """HN Algolia ``search_by_date``; pages by moving the time window's upper bound (no 1,000-hit cap)."""

    source = "hackernews"
    default_base_url = "https://hn.algolia.com"

    def _pages(self, query: str, day: date) -> Iterator[list[RawItem]]:
        start, upper = day_bounds(day)
        hits_per_page = int(self.settings.get("hits_per_page", 100))
        max_pages = int(self.settings.get("max_pages", 10))
        seen: set[str] = set()
        for _ in range(max_pages):
            params = {
                "query": query,
                "tags": self.settings.get("tags", "story"),
                "numericFilters": f"created_at_i>={start},created_at_i<{upper}",
                "hitsPerPage": hits_per_page,
            }
            payload = self.payload(
                self.request("GET", f"{self.base_url}/api/v1/search_by_date", params=params)
            )
            hits = payload.get("hits") or []
            fresh = [hit for hit in hits if str(hit.get("objectID")) not in seen]
            seen.update(str(hit.get("objectID")) for hit in hits)
            yield [self._parse(hit, query) for hit in fresh]
            if len(hits) < hits_per_page:
                return
            oldest = min(int(hit.get("created_at_i") or upper) for hit in hits)
            # ``< oldest + 1`` re-reads the oldest second (items sharing it), de-duplicated by objectID.
            next_upper = oldest + 1 if oldest + 1 < upper else upper - 1
            if next_upper <= start:
                return
            upper = next_upper

    def _parse(self, hit: dict[str, Any], query: str) -> RawItem:
        object_id = str(hit.get("objectID") or "")
        body = html_to_text(hit.get("story_text") or hit.get("comment_text"))
        if not body and hit.get("url"):
            body = f"Link: {hit['url']}"
        return RawItem(
            source=self.source,
            external_id=object_id,
            url=f"https://news.ycombinator.com/item?id={object_id}" if object_id else None,
            title=hit.get("title") or hit.get("story_title"),
            body=body,
            created_at=_parse_iso(hit.get("created_at")) or _parse_epoch(hit.get("created_at_i")),
            query=query,
            extra={
                "points": hit.get("points"),
                "num_comments": hit.get("num_comments"),
                "link": hit.get("url"),
            },
        )


COLLECTORS: dict[str, type[Collector]] = {
    cls.source: cls for cls in (GitHubCollector, StackExchangeCollector, RedditCollector, HackerNewsCollector)
}
