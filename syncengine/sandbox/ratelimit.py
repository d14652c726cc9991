"""The organisation's shared hourly request budget (X-RateLimit-* headers and 429s)."""

from __future__ import annotations

import math
from dataclasses import dataclass

_WINDOW_SECONDS = 3600


@dataclass(frozen=True)
class RateStatus:
    limit: int
    remaining: int
    reset: int  # Unix seconds when the window ends
    allowed: bool
    retry_after: int  # seconds until the window ends (at least 1)

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset),
        }


class RateLimiter:
    """Fixed hour-aligned windows. Not locked itself: used under the state's lock."""

    def __init__(self) -> None:
        self._window_start = -1
        self._used = 0

    def consume(self, limit: int, now: float) -> RateStatus:
        """Count one request; ``allowed`` is False once the window's budget is spent."""
        self._roll(now)
        allowed = self._used < limit
        if allowed:
            self._used += 1
        return self._status(limit, now, allowed)

    def peek(self, limit: int, now: float) -> RateStatus:
        """The budget as it stands, without counting a request (for uncounted responses)."""
        self._roll(now)
        return self._status(limit, now, self._used < limit)

    def reset(self) -> None:
        self._window_start, self._used = -1, 0

    def _roll(self, now: float) -> None:
        start = int(now // _WINDOW_SECONDS) * _WINDOW_SECONDS
        if start != self._window_start:
            self._window_start, self._used = start, 0

    def _status(self, limit: int, now: float, allowed: bool) -> RateStatus:
        reset = self._window_start + _WINDOW_SECONDS
        return RateStatus(
            limit=limit,
            remaining=max(limit - self._used, 0),
            reset=reset,
            allowed=allowed,
            retry_after=max(math.ceil(reset - now), 1),
        )
