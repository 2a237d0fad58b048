"""The request window: N requests per window, then a wait; server back-off replies push requests out."""

import pytest

from kycc.mining.ratelimit import FakeClock, RateLimiter, parse_retry_after


def test_n_requests_per_window_then_wait_for_the_window(clock):
    limiter = RateLimiter(30, 60.0, clock)
    waits = [limiter.acquire() for _ in range(30)]
    assert waits == [0.0] * 30 and clock.now == 0.0
    assert limiter.acquire() == pytest.approx(60.0)  # the 31st waits for the window the 1st opened
    assert clock.now == pytest.approx(60.0)
    assert [limiter.acquire() for _ in range(29)] == [0.0] * 29  # 30 in the new window
    assert limiter.acquire() == pytest.approx(60.0)
    assert limiter.requests_ == 61 and limiter.waited_seconds_ == pytest.approx(120.0)


def test_a_window_that_has_passed_needs_no_wait(clock):
    limiter = RateLimiter(2, 60.0, clock)
    limiter.acquire()
    limiter.acquire()
    clock.advance(75)
    assert limiter.acquire() == 0.0


def test_retry_after_pushes_the_next_request_out(clock):
    limiter = RateLimiter(100, 60.0, clock)
    limiter.acquire()
    limiter.defer(parse_retry_after("17"))  # e.g. GitHub's Retry-After or StackExchange's backoff
    assert limiter.blocked_for == pytest.approx(17.0)
    assert limiter.acquire() == pytest.approx(17.0)
    assert limiter.acquire() == 0.0


def test_reset_epoch_header_is_honoured(clock):
    limiter = RateLimiter(30, 60.0, clock)
    limiter.defer_until_epoch(clock.time() + 42)  # x-ratelimit-reset
    assert limiter.acquire() == pytest.approx(42.0)


def test_a_later_backoff_never_shortens_an_earlier_one(clock):
    limiter = RateLimiter(30, 60.0, clock)
    limiter.defer(30)
    limiter.defer(5)
    assert limiter.acquire() == pytest.approx(30.0)


def test_back_off_and_window_combine(clock):
    limiter = RateLimiter(2, 60.0, clock)
    limiter.acquire()
    limiter.acquire()
    limiter.defer(10)
    # blocked 10 s, and the window of the first two requests still runs until t=60
    assert limiter.acquire() == pytest.approx(60.0)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("12", 12.0), (" 0 ", 0.0), ("-3", 0.0), ("soon", None), (None, None), ("1.5", 1.5)],
)
def test_parse_retry_after(value, expected):
    assert parse_retry_after(value) == expected


@pytest.mark.parametrize(("n", "window"), [(0, 60), (-1, 60), (3, 0)])
def test_invalid_limits_are_rejected(n, window):
    with pytest.raises(ValueError):
        RateLimiter(n, window, FakeClock())
