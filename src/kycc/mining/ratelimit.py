"""Per-API request windows that also honour the APIs' own back-off replies.

The seed's rule is strict batching: send N requests, then wait until the window (60 s) that the first of them
opened has passed, then send the next N. On top of that an API can push the next request out: GitHub's
``Retry-After`` and ``x-ratelimit-reset``, StackExchange's ``backoff`` field, Reddit's ``X-Ratelimit-Reset``.
Time comes from an injected clock so tests (and the replay of recorded samples) never sleep for real.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Protocol

__all__ = ["Clock", "FakeClock", "RateLimiter", "SystemClock", "parse_retry_after"]


class Clock(Protocol):
    """What the limiter and the collectors need from time."""

    def monotonic(self) -> float: ...

    def time(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real clock."""

    def monotonic(self) -> float:
        return time.monotonic()

    def time(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


@dataclass
class FakeClock:
    """A clock whose ``sleep`` only advances it (tests, replay of recorded responses).

    Attributes:
        start_epoch: The wall-clock time (``time()``) at monotonic 0.
        now: Monotonic seconds since the clock was made.
        sleeps: Every sleep requested, in order.
    """

    start_epoch: float = 1_795_132_800.0  # 2026-11-20T00:00:00Z
    now: float = 0.0
    sleeps: list[float] = field(default_factory=list)

    def monotonic(self) -> float:
        return self.now

    def time(self) -> float:
        return self.start_epoch + self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        if seconds > 0:
            self.now += seconds

    def advance(self, seconds: float) -> None:
        """Let time pass without anybody sleeping."""
        self.now += seconds


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header given as a number of seconds (HTTP dates are not used by these APIs)."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return max(seconds, 0.0)


class RateLimiter:
    """At most ``max_requests`` per ``window_seconds``, strict windows, plus server-imposed pauses.

    Args:
        max_requests: Requests allowed in one window (GitHub 30, StackExchange 30, Reddit 60, HN 100).
        window_seconds: Window length in seconds (60 for all four APIs).
        clock: Time source; ``SystemClock()`` by default.
    """

    def __init__(self, max_requests: int, window_seconds: float = 60.0, clock: Clock | None = None) -> None:
        if not isinstance(max_requests, int) or max_requests < 1:
            raise ValueError(f"max_requests must be a positive int, got {max_requests!r}")
        if window_seconds <= 0:
            raise ValueError(f"window_seconds must be > 0, got {window_seconds!r}")
        self.max_requests = max_requests
        self.window_seconds = float(window_seconds)
        self.clock: Clock = clock or SystemClock()
        self._lock = threading.Lock()
        self._window_start: float | None = None
        self._count = 0
        self._blocked_until = 0.0
        self.requests_ = 0
        self.waited_seconds_ = 0.0

    def acquire(self) -> float:
        """Wait until one more request may be sent and count it.

        Returns:
            The seconds waited.
        """
        waited = 0.0
        with self._lock:
            while True:
                now = self.clock.monotonic()
                if self._blocked_until > now:
                    delay = self._blocked_until - now
                elif self._window_start is None or now >= self._window_start + self.window_seconds:
                    self._window_start, self._count = now, 0
                    delay = 0.0
                elif self._count >= self.max_requests:
                    delay = self._window_start + self.window_seconds - now
                else:
                    delay = 0.0
                if delay <= 0:
                    break
                self.clock.sleep(delay)
                waited += delay
            self._count += 1
            self.requests_ += 1
            self.waited_seconds_ += waited
        return waited

    def defer(self, seconds: float) -> None:
        """No request before ``seconds`` from now (``Retry-After``, StackExchange ``backoff``)."""
        if seconds and seconds > 0:
            with self._lock:
                self._blocked_until = max(self._blocked_until, self.clock.monotonic() + float(seconds))

    def defer_until_epoch(self, epoch_seconds: float) -> None:
        """No request before the wall-clock time ``epoch_seconds`` (GitHub ``x-ratelimit-reset``)."""
        self.defer(float(epoch_seconds) - self.clock.time())

    @property
    def blocked_for(self) -> float:
        """Seconds until a server-imposed pause ends (0 when none)."""
        return max(0.0, self._blocked_until - self.clock.monotonic())
