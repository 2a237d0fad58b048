"""The four collectors on their recorded responses (httpx.MockTransport): parsing, pagination, rate limits."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import httpx
import pytest

from kycc.mining.collectors import (
    COLLECTORS,
    CollectorError,
    CollectorOffline,
    GitHubCollector,
    HackerNewsCollector,
    day_bounds,
)
from kycc.mining.items import to_bronze_rows
from kycc.mining.ratelimit import FakeClock, RateLimiter
from kycc.mining.replay import SAMPLES_DIR, Replay, available_days, load_recording
from kycc.mining.sources import SourceAccess, collect_sources, source_mode

RATES = {"github": 30, "stackexchange": 30, "reddit": 60, "hackernews": 100}
# The small daily recordings; 2026-11-23 is the day of volume (~2,000 items, tests/mining/test_corpus.py).
DAYS = [day for day in available_days(SAMPLES_DIR, "github") if day <= date(2026, 11, 20)]


def replay_collect(source: str, day: date):
    """Collect one recorded day through the real collector; return result, replay and clock."""
    recording = load_recording(SAMPLES_DIR / source / f"{day.isoformat()}.json")
    clock = FakeClock(start_epoch=datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() + 30 * 3600)
    replay = Replay(recording)
    creds = {"client_id": "id", "client_secret": "secret"} if source == "reddit" else {}
    with httpx.Client(transport=replay.transport()) as client:
        collector = COLLECTORS[source](
            client,
            RateLimiter(RATES[source], 60.0, clock),
            settings=recording.settings,
            credentials=creds,
            clock=clock,
        )
        result = collector.collect(day)
    return result, replay, clock


def test_samples_cover_four_sources_and_several_days():
    for source in COLLECTORS:
        assert len(available_days(SAMPLES_DIR, source)) >= 5, source
    assert DAYS[-1] == date(2026, 11, 20)


@pytest.mark.parametrize("source", sorted(COLLECTORS))
@pytest.mark.parametrize("day", DAYS, ids=str)
def test_collector_replays_its_recording_exactly(source, day):
    result, replay, _ = replay_collect(source, day)
    # Every recorded exchange was requested exactly once, in the recorded order: the collector paginates (and
    # retries) exactly as it did when recording.
    assert replay.served == list(range(len(replay.recording.exchanges)))
    assert 10 <= len(result.items) <= 25
    start, end = day_bounds(day)
    for item in result.items:
        assert item.source == source
        assert item.url and item.url.startswith("https://")
        assert start <= item.created_at.timestamp() < end
    titled = [i for i in result.items if i.title]
    assert len(titled) >= len(result.items) - 1  # one recorded HN story was deleted (no title)


def test_github_paginates_with_page_numbers_and_stops_on_a_short_page():
    _, replay, _ = replay_collect("github", date(2026, 11, 20))
    pages = [(r.url.params["q"], r.url.params["page"]) for r in replay.requests]
    queries = {q for q, _ in pages}
    assert len(queries) == 2 and all(q.endswith("created:2026-11-20") for q in queries)
    for query in queries:
        numbers = [int(p) for q, p in pages if q == query]
        assert numbers == list(range(1, len(numbers) + 1))
    assert max(int(p) for _, p in pages) >= 2


def test_github_honours_retry_after_of_a_secondary_rate_limit():
    result, replay, clock = replay_collect("github", date(2026, 11, 19))
    statuses = [replay.recording.exchanges[i]["response"]["status"] for i in replay.served]
    assert 403 in statuses and result.retries == 1
    assert 60.0 in clock.sleeps  # Retry-After: 60


def test_github_waits_for_the_reset_when_remaining_is_zero():
    result, replay, clock = replay_collect("github", date(2026, 11, 18))
    exhausted = [
        e for e in replay.recording.exchanges if e["response"]["headers"].get("x-ratelimit-remaining") == "0"
    ]
    assert exhausted
    assert result.retries == 0 and result.waited_seconds == pytest.approx(21.0)  # reset + 1 s


def test_stackexchange_honours_backoff_and_throttle_violation():
    result, _, _ = replay_collect("stackexchange", date(2026, 11, 20))
    assert result.waited_seconds == pytest.approx(10.0)  # "backoff": 10 in the body
    result, replay, clock = replay_collect("stackexchange", date(2026, 11, 17))
    assert replay.recording.exchanges[0]["response"]["json"]["error_name"] == "throttle_violation"
    assert result.retries == 1 and 12.0 in clock.sleeps  # "more requests available in 12 seconds"


def test_stackexchange_decodes_html_titles_and_bodies():
    result, _, _ = replay_collect("stackexchange", date(2026, 11, 20))
    assert not any("&quot;" in i.title or "&#39;" in i.title for i in result.items)
    assert not any("<p>" in i.body for i in result.items)


def test_reddit_authenticates_then_follows_the_after_cursor():
    result, replay, _ = replay_collect("reddit", date(2026, 11, 20))
    first = replay.requests[0]
    assert first.method == "POST" and first.url.path == "/api/v1/access_token"
    assert first.headers["authorization"].startswith("Basic ")
    searches = replay.requests[1:]
    assert all(r.headers["authorization"] == "Bearer recorded-sample-token" for r in searches)
    followed = [r for r in searches if "after" in r.url.params]
    assert followed, "no second page requested"
    # every `after` is the last post of the page before it
    for request in followed:
        index = replay.requests.index(request)
        previous = replay.recording.exchanges[replay.served[index - 1]]["response"]["json"]["data"]
        assert request.url.params["after"] == previous["children"][-1]["data"]["name"]
    assert all(i.url.startswith("https://www.reddit.com/r/") for i in result.items)


def test_reddit_honours_429_with_reset_header():
    result, _, clock = replay_collect("reddit", date(2026, 11, 17))
    assert result.retries == 1 and 7.0 in clock.sleeps


def test_hackernews_pages_by_time_window_and_deduplicates_the_boundary():
    result, replay, _ = replay_collect("hackernews", date(2026, 11, 20))
    filters = [r.url.params["numericFilters"] for r in replay.requests]
    uppers = [int(f.split("created_at_i<")[1]) for f in filters]
    assert len(uppers) >= 2 and uppers == sorted(uppers, reverse=True)
    first_page = replay.recording.exchanges[0]["response"]["json"]["hits"]
    assert uppers[1] == min(h["created_at_i"] for h in first_page) + 1
    ids = [i.external_id for i in result.items]
    assert len(ids) == len(set(ids))  # the re-read boundary second did not duplicate items


def test_hackernews_backs_off_on_503():
    result, _, clock = replay_collect("hackernews", date(2026, 11, 16))
    assert result.retries == 1 and clock.sleeps[:1] == [2.0]


def _github_page(items, status=200, headers=None):
    return httpx.Response(status, headers=headers or {}, json={"total_count": len(items), "items": items})


def _gh_item(url, number):
    return {
        "html_url": url,
        "id": number,
        "number": number,
        "title": f"Issue {number}",
        "body": "text",
        "created_at": "2026-11-20T10:00:00Z",
    }


def test_same_url_in_two_forms_is_one_item(clock):
    items = [
        _gh_item("https://github.com/Acme/Ledger/issues/7", 7),
        _gh_item("http://www.github.com/acme/ledger/issues/7/?utm_source=digest#issuecomment-9", 7),
        _gh_item("https://github.com/acme/ledger/issues/8", 8),
    ]
    transport = httpx.MockTransport(lambda request: _github_page(items))
    with httpx.Client(transport=transport) as client:
        result = GitHubCollector(
            client, RateLimiter(30, 60, clock), settings={"queries": ["kyc"]}, clock=clock
        ).collect(date(2026, 11, 20))
    rows, quarantined, counts = to_bronze_rows(result.items, date(2026, 11, 20))
    assert len(result.items) == 3 and len(rows) == 2 and counts["duplicates"] == 1 and not quarantined
    assert rows[0]["url"] == "https://github.com/acme/ledger/issues/7"


def test_token_is_sent_and_retries_are_bounded(clock):
    seen = []

    def handler(request):
        seen.append(request)
        return httpx.Response(502, text="bad gateway")

    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        collector = GitHubCollector(
            client,
            RateLimiter(30, 60, clock),
            settings={"queries": ["kyc"]},
            credentials={"token": "ghp_test"},
            clock=clock,
            max_retries=3,
        )
        with pytest.raises(CollectorError, match=r"github: .*failed after 4 attempts: HTTP 502"):
            collector.collect(date(2026, 11, 20))
    assert len(seen) == 4 and seen[0].headers["authorization"] == "Bearer ghp_test"
    assert clock.sleeps == [2.0, 4.0, 8.0]  # exponential back-off between attempts


def test_non_retryable_error_fails_at_once(clock):
    transport = httpx.MockTransport(lambda r: httpx.Response(422, json={"message": "Validation Failed"}))
    with httpx.Client(transport=transport) as client, pytest.raises(CollectorError, match="HTTP 422"):
        GitHubCollector(client, RateLimiter(30, 60, clock), settings={"queries": ["x"]}, clock=clock).collect(
            date(2026, 11, 20)
        )


def test_transport_errors_are_retried_then_reported(clock):
    def handler(request):
        raise httpx.ConnectError("no network", request=request)

    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        collector = HackerNewsCollector(
            client, RateLimiter(100, 60, clock), settings={"queries": ["x"]}, clock=clock, max_retries=2
        )
        with pytest.raises(CollectorError, match="ConnectError: no network"):
            collector.collect(date(2026, 11, 20))


def _collect_params(**overrides):
    recordings = {s: load_recording(SAMPLES_DIR / s / "2026-11-20.json") for s in COLLECTORS}
    params = {
        "mode": "auto",
        "sources": list(COLLECTORS),
        "rate_limits": RATES,
        "window_seconds": 60,
        "max_retries": 1,
        "backoff_seconds": 0.0,
        **{s: r.settings for s, r in recordings.items()},
    }
    params.update(overrides)
    return params, recordings


def test_live_mode_runs_the_clients_through_an_injected_transport(clock):
    params, recordings = _collect_params(mode="live")
    access = SourceAccess(
        credentials={"github": {"token": "t"}, "reddit": {"client_id": "i", "client_secret": "s"}},
        transport_factory=lambda source: Replay(recordings[source]).transport(),
        clock=clock,
    )
    items, report = collect_sources(access, date(2026, 11, 20), params)
    assert {info["mode"] for info in report.values()} == {"live"}
    assert len(items) == sum(info["items"] for info in report.values()) == 66


def test_auto_mode_falls_back_to_samples_when_the_network_fails(clock):
    def no_network(source):
        def handler(request):
            raise httpx.ConnectError("Name or service not known", request=request)

        return httpx.MockTransport(handler)

    params, _ = _collect_params()
    access = SourceAccess(credentials={"github": {"token": "t"}}, transport_factory=no_network, clock=clock)
    items, report = collect_sources(access, date(2026, 11, 20), params)
    assert report["github"]["used"] == "recorded (offline)"
    assert report["reddit"]["used"] == "recorded (no credentials)"  # never tried live
    assert len(items) == 66
    with pytest.raises(CollectorError):
        collect_sources(access, date(2026, 11, 20), {**params, "mode": "live", "sources": ["github"]})


def test_reddit_live_needs_client_credentials(clock):
    params, _ = _collect_params(mode="live", sources=["reddit"])
    access = SourceAccess(
        transport_factory=lambda s: httpx.MockTransport(lambda r: httpx.Response(500)), clock=clock
    )
    with pytest.raises(CollectorError, match="client_id and client_secret are required"):
        collect_sources(access, date(2026, 11, 20), params)


@pytest.mark.parametrize(
    ("source", "creds", "expected"),
    [
        ("github", {"token": "x"}, "live"),
        ("github", {}, "recorded"),
        ("github", {"token": ""}, "recorded"),
        ("reddit", {"client_id": "a"}, "recorded"),
        ("reddit", {"client_id": "a", "client_secret": "b"}, "live"),
        ("hackernews", {"enabled": True}, "live"),
        ("hackernews", {"enabled": False}, "recorded"),
        ("stackexchange", {"key": "k"}, "live"),
    ],
)
def test_auto_mode_goes_live_only_with_credentials(source, creds, expected):
    assert source_mode(source, "auto", creds) == expected
    assert source_mode(source, "recorded", creds) == source_mode(source, "samples", creds) == "recorded"


def test_unrecorded_day_replays_the_latest_earlier_recording():
    params, _ = _collect_params(mode="samples", sources=["hackernews"])
    items, report = collect_sources(SourceAccess(), date(2026, 11, 22), params)
    assert report["hackernews"]["recorded_for"] == "2026-11-20" and not report["hackernews"]["exact"]
    assert len(items) == 14


def test_recorded_headers_look_like_the_apis():
    github = json.loads((SAMPLES_DIR / "github" / "2026-11-20.json").read_text())
    headers = github["exchanges"][0]["response"]["headers"]
    assert {"x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"} <= set(headers)
    reddit = json.loads((SAMPLES_DIR / "reddit" / "2026-11-20.json").read_text())
    assert "x-ratelimit-remaining" in reddit["exchanges"][1]["response"]["headers"]
    stack = json.loads((SAMPLES_DIR / "stackexchange" / "2026-11-20.json").read_text())
    assert "quota_remaining" in stack["exchanges"][0]["response"]["json"]
    assert github["exchanges"][0]["request"]["params"]["q"].endswith("created:2026-11-20")


# -- offline is instant -------------------------------------------------------------------------------------------


def _refused_url() -> str:
    """A 127.0.0.1 port nothing listens on: a real "connection refused"."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_an_unreachable_api_falls_back_at_once(clock):
    sent = []

    def dns_failure(source):
        def handler(request):
            sent.append(request)
            raise httpx.ConnectError("[Errno -3] Temporary failure in name resolution", request=request)

        return httpx.MockTransport(handler)

    params, _ = _collect_params(max_retries=4, backoff_seconds=30.0, sources=["github", "hackernews"])
    access = SourceAccess(
        credentials={"github": {"token": "ghp_4f9KqL2mZ8aBcD"}, "hackernews": {"enabled": True}},
        transport_factory=dns_failure,
        clock=clock,
    )
    items, report = collect_sources(access, date(2026, 11, 20), params)
    assert len(sent) == 2  # one attempt per source, no retry
    assert clock.monotonic() == 0.0  # and no back-off waited
    assert {s: r["used"] for s, r in report.items()} == dict.fromkeys(params["sources"], "recorded (offline)")
    assert "name resolution" in report["github"]["error"] and len(items) == 32


def test_connection_refused_is_offline_and_a_live_source_names_it(clock):
    params, _ = _collect_params(max_retries=4, backoff_seconds=30.0, sources=["hackernews"])
    access = SourceAccess(
        credentials={"hackernews": {"enabled": True}}, base_urls={"hackernews": _refused_url()}, clock=clock
    )
    _, report = collect_sources(access, date(2026, 11, 20), params)  # the real httpx transport, refused
    assert report["hackernews"]["used"] == "recorded (offline)" and clock.monotonic() == 0.0
    live = {**params, "hackernews": {**params["hackernews"], "mode": "live"}}  # per-source mode
    with pytest.raises(CollectorOffline, match="hackernews: GET .* unreachable"):
        collect_sources(access, date(2026, 11, 20), live)


def test_server_errors_of_a_reachable_api_are_still_retried(clock):
    replies = iter([httpx.Response(503), httpx.Response(502)])
    sent = []

    def flaky(source):
        def handler(request):
            sent.append(request)
            return next(replies, httpx.Response(500))

        return httpx.MockTransport(handler)

    params, _ = _collect_params(max_retries=2, backoff_seconds=1.0, sources=["hackernews"])
    access = SourceAccess(credentials={"hackernews": {"enabled": True}}, transport_factory=flaky, clock=clock)
    _, report = collect_sources(access, date(2026, 11, 20), params)
    assert len(sent) == 3 and clock.monotonic() >= 3.0  # 1 s + 2 s of back-off on the fake clock
    assert report["hackernews"]["used"] == "recorded (live failed)"


def test_per_source_mode_and_the_recorded_alias(clock):
    params, _ = _collect_params(mode="live", sources=["github", "hackernews"])
    params["hackernews"] = {**params["hackernews"], "mode": "recorded"}
    params["github"] = {**params["github"], "mode": "samples"}
    _, report = collect_sources(SourceAccess(clock=clock), date(2026, 11, 20), params)
    assert {s: r["used"] for s, r in report.items()} == dict.fromkeys(params["sources"], "recorded (mode)")
