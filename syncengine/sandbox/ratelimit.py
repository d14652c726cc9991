"""The organisation's shared hourly request budget (X-RateLimit-* headers and 429s).

The window is an hour (``SandboxSettings.window_seconds``; shorter only to compress time
in a rehearsal), aligned to multiples of its length. ``X-RateLimit-Reset`` is the Unix
second the window ends, rounded up (a client must never believe a window over before it
is); ``Retry-After`` the whole seconds until then, at least 1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class RateStatus:
    limit: int
    remaining: int
    reset: int  # Unix seconds when the window ends (rounded up)
    allowed: bool
    retry_after: int  # seconds until the window ends (at least 1)

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset),
        }


HOUR = 3600.0


class RateLimiter:
    """Fixed windows aligned to multiples of ``window_seconds`` (an hour by default). Not
    locked itself: used under the state's lock."""

    def __init__(self) -> None:
        self._window_start = -1.0
        self._window = HOUR
        self._used = 0

    def consume(self, limit: int, now: float, window: float = HOUR) -> RateStatus:
        """Count one request; ``allowed`` is False once the window's budget is spent."""
        self._roll(now, window)
        allowed = self._used < limit
        if allowed:
            self._used += 1
        return self._status(limit, now, allowed)

    def peek(self, limit: int, now: float, window: float = HOUR) -> RateStatus:
        """The budget as it stands, without counting a request (for uncounted responses)."""
        self._roll(now, window)
        return self._status(limit, now, self._used < limit)

    def reset(self) -> None:
        self._window_start, self._used = -1.0, 0

    def _roll(self, now: float, window: float) -> None:
        if window <= 0:
            raise ValueError("the window must be longer than 0 s")
        start = (now // window) * window
        if start != self._window_start or window != self._window:
            self._window_start, self._window, self._used = start, window, 0

    def _status(self, limit: int, now: float, allowed: bool) -> RateStatus:
        reset = self._window_start + self._window
        return RateStatus(
            limit=limit,
            remaining=max(limit - self._used, 0),
            reset=math.ceil(reset),
            allowed=allowed,
            retry_after=max(math.ceil(reset - now), 1),
        )
