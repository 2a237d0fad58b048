"""Live collectors against a real HTTP server on 127.0.0.1 speaking the APIs' protocols (Reddit OAuth + search,
HN Algolia): an expired Reddit token is renewed once, a non-JSON reply is a recorded failure, not a crash."""

from __future__ import annotations

import base64
import json
import threading
from datetime import UTC, date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from kycc.mining.collectors import CollectorError, RedditCollector
from kycc.mining.ratelimit import FakeClock, RateLimiter
from kycc.mining.sources import SourceAccess, collect_sources

DAY = date(2026, 11, 20)
START = int(datetime(2026, 11, 20, tzinfo=UTC).timestamp())
CLIENT_ID, CLIENT_SECRET = "app-id", "app-secret"


def _post(n: int, subreddit: str) -> dict:
    return {
        "kind": "t3",
        "data": {
            "name": f"t3_{subreddit}{n}",
            "id": f"{subreddit}{n}",
            "title": f"How do you reconcile payouts number {n}?",
            "selftext": "We reconcile by hand every week.",
            "permalink": f"/r/{subreddit}/comments/{subreddit}{n}/post_{n}/",
            "subreddit": subreddit,
            "created_utc": START + 3600 + n,
            "score": 3,
            "num_comments": 1,
        },
    }


class FakeApis:
    """Reddit's ``/api/v1/access_token`` (client credentials, Basic auth) and ``/r/<sub>/search`` (bearer token,
    Listing with an ``after`` cursor), plus HN's ``/api/v1/search_by_date``. Tokens expire after ``token_uses``
    requests (401 with ``WWW-Authenticate: Bearer error="invalid_token"``, as Reddit does)."""

    def __init__(self, token_uses: int = 1, html_for: set[str] | None = None) -> None:
        self.token_uses = token_uses
        self.html_for = html_for or set()
        self.tokens: dict[str, int] = {}  # token -> requests left
        self.log: list[tuple[str, str, int]] = []  # (method, path, status)
        apis = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def _send(self, status, body, content_type="application/json", headers=None):
                raw = body.encode() if isinstance(body, str) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(raw)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(raw)
                apis.log.append((self.command, urlsplit(self.path).path, status))

            def do_POST(self):  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length") or 0)
                form = parse_qs(self.rfile.read(length).decode())
                expected = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
                if urlsplit(self.path).path != "/api/v1/access_token":
                    return self._send(404, {"message": "Not Found", "error": 404})
                if self.headers.get("Authorization") != expected:
                    return self._send(401, {"message": "Unauthorized", "error": 401})
                if form.get("grant_type") != ["client_credentials"]:
                    return self._send(200, {"error": "unsupported_grant_type"})
                token = f"token-{len(apis.tokens) + 1}"
                apis.tokens[token] = apis.token_uses
                return self._send(
                    200, {"access_token": token, "token_type": "bearer", "expires_in": 3600, "scope": "*"}
                )

            def do_GET(self):  # noqa: N802
                url = urlsplit(self.path)
                query = parse_qs(url.query)
                if url.path == "/api/v1/search_by_date":  # HN Algolia behind a broken proxy: HTML
                    return self._send(200, "<html><body>502 Bad Gateway</body></html>", "text/html")
                parts = url.path.strip("/").split("/")
                if len(parts) != 3 or parts[0] != "r" or parts[2] != "search":
                    return self._send(404, {"message": "Not Found", "error": 404})
                subreddit = parts[1]
                auth = self.headers.get("Authorization", "")
                token = auth.removeprefix("Bearer ").removeprefix("bearer ")
                if apis.tokens.get(token, 0) <= 0:
                    return self._send(
                        401,
                        {"message": "Unauthorized", "error": 401},
                        headers={"WWW-Authenticate": 'Bearer realm="reddit", error="invalid_token"'},
                    )
                apis.tokens[token] -= 1
                if subreddit in apis.html_for:
                    return self._send(
                        200, "<html><body>Our CDN was unable to reach our servers</body></html>", "text/html"
                    )
                page = 2 if query.get("after") == [f"t3_{subreddit}1"] else 1
                children = [_post(1, subreddit)] if page == 1 else [_post(2, subreddit)]
                after = f"t3_{subreddit}1" if page == 1 else None
                return self._send(200, {"kind": "Listing", "data": {"after": after, "children": children}})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeApis:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join()


def _reddit(apis: FakeApis, clock: FakeClock, client: httpx.Client, subreddits: list[str]) -> RedditCollector:
    return RedditCollector(
        client,
        RateLimiter(60, 60.0, clock),
        settings={
            "queries": ["reconcile"],
            "subreddits": subreddits,
            "limit": 1,
            "max_pages": 5,
            "token_url": f"{apis.url}/api/v1/access_token",
        },
        credentials={"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
        clock=clock,
        base_url=apis.url,
        max_retries=0,
        backoff_seconds=0.0,
    )


def _clock() -> FakeClock:
    return FakeClock(start_epoch=START + 30 * 3600)


def test_an_expired_reddit_token_is_renewed_once_and_the_request_sent_again():
    with FakeApis(token_uses=1) as apis, httpx.Client(timeout=10) as client:
        result = _reddit(apis, _clock(), client, ["fintech"]).collect(DAY)
    assert [item.external_id for item in result.items] == ["t3_fintech1", "t3_fintech2"]
    assert apis.log == [
        ("POST", "/api/v1/access_token", 200),
        ("GET", "/r/fintech/search", 200),  # token-1, now used up
        ("GET", "/r/fintech/search", 401),  # page 2: expired
        ("POST", "/api/v1/access_token", 200),  # token-2
        ("GET", "/r/fintech/search", 200),  # page 2 again, with token-2
    ]


def test_a_token_refused_right_after_renewal_fails_the_source_naming_it():
    with FakeApis(token_uses=0) as apis, httpx.Client(timeout=10) as client:
        collector = _reddit(apis, _clock(), client, ["fintech"])
        with pytest.raises(CollectorError, match="401 again with a new token") as error:
            collector.collect(DAY)
    assert error.value.status == 401
    assert [entry[:2] for entry in apis.log].count(("POST", "/api/v1/access_token")) == 2  # renewed once only


def test_a_non_json_reply_is_a_recorded_failure_of_that_source_not_a_crash():
    params = {
        "mode": "auto",
        "sources": ["reddit", "hackernews"],
        "rate_limits": {"github": 30, "stackexchange": 30, "reddit": 60, "hackernews": 100},
        "window_seconds": 60,
        "max_retries": 0,
        "backoff_seconds": 0.0,
        "reddit": {
            "queries": ["reconcile"],
            "subreddits": ["fintech"],
            "limit": 1,
            "max_pages": 2,
            "token_url": None,
        },
        "hackernews": {"queries": ["ask hn"], "tags": "story", "hits_per_page": 100, "max_pages": 1},
    }
    with FakeApis(token_uses=10, html_for={"fintech"}) as apis:
        params["reddit"]["token_url"] = f"{apis.url}/api/v1/access_token"
        access = SourceAccess(
            credentials={
                "reddit": {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
                "hackernews": {"enabled": True},
            },
            base_urls={"reddit": apis.url, "hackernews": apis.url},
            clock=_clock(),
        )
        items, report = collect_sources(access, DAY, params)
        for source in ("reddit", "hackernews"):
            info = report[source]
            assert info["used"] == "recorded (live failed)", info
            assert "non-JSON" in info["error"] and "text/html" in info["error"] and apis.url in info["error"]
        assert items  # the recordings were used instead
        # in live mode the same reply fails the run with that message (no JSONDecodeError traceback)
        with pytest.raises(CollectorError, match="hackernews: GET .* replied with non-JSON"):
            collect_sources(access, DAY, {**params, "mode": "live", "sources": ["hackernews"]})
