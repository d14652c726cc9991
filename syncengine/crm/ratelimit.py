"""The shared hourly request budget: what the server last said, and the pause before a request.

CRM+ allows about 5,000 requests an hour per organisation, shared by EVERY integration of
that organisation. Running the budget to zero would starve the others (and then ourselves
with 429s), so the client keeps a reserve: once ``remaining`` is down to it, the next request
waits for the window to reset, or, if that is too far away, fails with ``CrmRateLimited``
so the caller can stop and come back later.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from email.utils import parsedate_to_datetime
from typing import TypeVar

import structlog

from syncengine.domain.ports import BudgetLedger, RateBudget
from syncengine.errors import CrmRateLimited

log = structlog.get_logger(__name__)

_N = TypeVar("_N", int, float)

# The shortest pause while waiting for a token: a clock must be seen to move.
_MIN_PACE_WAIT = 0.005


@dataclass(frozen=True)
class RateLimitPolicy:
    """How politely the client spends the shared budget.

    ``reserve``: requests left untouched for the organisation's other integrations.
    ``max_wait``: the longest single pause (seconds) the client takes on the rate limit's
    say-so, for a 429's ``Retry-After`` as for a budget reset. A longer one is not slept
    through: ``CrmRateLimited(retry_after=...)`` is raised instead.
    """

    reserve: int = 100
    max_wait: float = 120.0
    # Pacing (with a shared ledger, the daemon's): the hourly limit assumed until CRM+
    # says (X-RateLimit-Limit), and the share of an hour's budget that may go in a burst.
    hourly: int = 5000
    burst: float = 0.1

    def __post_init__(self) -> None:
        if self.reserve < 0:
            raise ValueError("reserve must be >= 0")
        if self.max_wait < 0:
            raise ValueError("max_wait must be >= 0")
        if self.hourly < 1:
            raise ValueError("hourly must be >= 1")
        if not 0 < self.burst <= 1:
            raise ValueError("burst must be in (0, 1]")


def _header(headers: Mapping[str, str], name: str, parse: Callable[[str], _N]) -> _N | None:
    try:
        return parse(headers[name])
    except (KeyError, ValueError):
        return None


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta seconds or an HTTP-date.

    ``None`` when absent or unreadable (the caller then falls back to its own backoff);
    a date in the past means "now" (0).
    """
    if value is None:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # an HTTP-date is GMT by definition
        return None
    return max(0.0, when.timestamp() - now)


class RateLimiter:
    """Tracks ``X-RateLimit-*`` and decides whether the next request must wait first.

    With a ``ledger`` (a token bucket shared by every process of the organisation, the
    daemon's), requests are also PACED: the budget left above the reserve is spent at the
    hourly rate, with bursts of ``policy.burst`` of an hour's worth, and CRM+'s own count
    caps the bucket. Several workers then share one budget instead of multiplying it.
    """

    def __init__(
        self,
        policy: RateLimitPolicy,
        *,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
        ledger: BudgetLedger | None = None,
    ) -> None:
        self._policy = policy
        self._clock = clock
        self._sleep = sleep
        self._ledger = ledger
        self._lock = threading.Lock()
        self._budget = RateBudget()

    @property
    def budget(self) -> RateBudget:
        return self._budget

    def observe(self, headers: Mapping[str, str]) -> None:
        """Record what a response says about the budget. Absent or garbled values keep the
        previous reading: one odd response is no reason to forget what we knew."""
        limit = _header(headers, "X-RateLimit-Limit", int)
        remaining = _header(headers, "X-RateLimit-Remaining", int)
        reset_at = _header(headers, "X-RateLimit-Reset", float)
        with self._lock:
            old = self._budget
            self._budget = RateBudget(
                limit=old.limit if limit is None else limit,
                remaining=old.remaining if remaining is None else remaining,
                reset_at=old.reset_at if reset_at is None else reset_at,
            )
        if self._ledger is not None and remaining is not None:
            self._ledger.correct(now=self._clock(), available=remaining - self._policy.reserve)

    def before_request(self, method: str, url_path: str) -> None:
        """Pause until the window resets if the budget is down to the reserve.

        Raises ``CrmRateLimited`` (with ``retry_after``) when the reset is further away than
        ``max_wait``: sleeping for up to an hour inside a sync is the caller's decision.
        """
        if self._ledger is not None:
            self._pace(method, url_path)
        budget = self._budget
        if budget.remaining is None or budget.reset_at is None:
            return  # nothing known yet: the first response will tell
        if budget.remaining > self._policy.reserve:
            return
        wait = budget.reset_at - self._clock()
        if wait <= 0:
            return  # the window has already rolled over; the next response says by how much
        if wait > self._policy.max_wait:
            raise CrmRateLimited(
                f"request budget down to {budget.remaining} (reserve {self._policy.reserve}); "
                f"it resets in {wait:.0f}s, beyond the {self._policy.max_wait:.0f}s max wait",
                retry_after=wait,
                method=method,
                url_path=url_path,
            )
        log.warning(
            "crm.budget.wait",
            method=method,
            path=url_path,
            remaining=budget.remaining,
            reserve=self._policy.reserve,
            wait_s=round(wait, 3),
        )
        self._sleep(wait)
        with self._lock:
            # After the reset the old count says nothing; the next response tells the new one.
            if self._budget.reset_at == budget.reset_at:
                self._budget = replace(self._budget, remaining=None)

    def _pace(self, method: str, url_path: str) -> None:
        """Wait for a token of the shared bucket (see the class docstring)."""
        assert self._ledger is not None
        limit = self._budget.limit or self._policy.hourly
        spendable = max(limit - self._policy.reserve, 1)
        rate = spendable / 3600.0
        capacity = max(1.0, spendable * self._policy.burst)
        while True:
            wait = self._ledger.take(now=self._clock(), rate=rate, capacity=capacity)
            if wait <= 0:
                return
            if wait > self._policy.max_wait:
                raise CrmRateLimited(
                    f"request budget paced: the next request may go in {wait:.0f}s, beyond "
                    f"the {self._policy.max_wait:.0f}s max wait",
                    retry_after=wait,
                    method=method,
                    url_path=url_path,
                )
            wait = max(wait, _MIN_PACE_WAIT)
            log.debug("crm.budget.paced", method=method, path=url_path, wait_s=round(wait, 3))
            self._sleep(wait)
