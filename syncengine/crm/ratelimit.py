"""The shared hourly request budget: what the server last said, and the pause before a request.

CRM+ allows about 5,000 requests an hour per organisation, shared by EVERY integration of
that organisation. Running the budget to zero would starve the others (and then ourselves
with 429s), so the client keeps a reserve: once ``remaining`` is down to it, the next request
waits for the window to reset, or, if that is too far away, fails with
``CrmBudgetExhausted`` so the caller can stop and come back later.

A unit of work (one contact's sync, one push) is let in with ``admit(requests)`` only
when the budget above the reserve still holds the requests it may need, beside those the
units already in flight (on other threads) may still make: so a run stops between
contacts, not in the middle of one. Inside an admitted unit a request may go down to
the hard limit: a contact that has started is finished even if other integrations
spent the rest meanwhile; the reserve is never touched by a unit that was not let in.

A 429 holds back every request of this client (all threads) until its ``Retry-After``
has passed: one thread's refusal is the organisation's.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from email.utils import parsedate_to_datetime
from typing import TypeVar

import structlog

from syncengine.domain.ports import BudgetLedger, RateBudget
from syncengine.errors import CrmBudgetExhausted

log = structlog.get_logger(__name__)

_N = TypeVar("_N", int, float)

# CRM+'s window; the limiter follows what the resets in its answers say instead once it
# has seen two (a rehearsal's sandbox may compress time).
_HOUR = 3600.0

# The shortest pause while waiting for a token: a clock must be seen to move.
_MIN_PACE_WAIT = 0.005


@dataclass(eq=False)
class _Admitted:
    """A unit of work let in by ``RateLimiter.admit``: the requests it may still make."""

    limiter: RateLimiter
    requests: int
    # Let in before any answer told the budget (a command's first request): checked
    # again once one has, before its next request.
    blind: bool = False


# The unit the current thread works in (a context variable: each thread has its own).
_admitted: ContextVar[_Admitted | None] = ContextVar("syncengine_admitted", default=None)


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


# How far apart the sleep's clock and the deadline's may drift over one wait (seconds).
_CLOCK_SLACK = 0.5


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
    window's rate (an hour's, or the window the ``X-RateLimit-Reset`` steps show), with
    bursts of ``policy.burst`` of a window's worth, and CRM+'s own count caps the bucket.
    When to wait for a reset is always read from ``X-RateLimit-Reset``, never assumed.
    Several workers then share one budget instead of multiplying it.

    Thread-safe: one limiter serves every thread of a client (``sync.concurrency``).
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
        # Notified when an admitted unit leaves: what it promised and did not spend is free.
        self._left = threading.Condition(self._lock)
        self._budget = RateBudget()
        self._units: list[_Admitted] = []  # admitted, in flight
        self._unanswered = 0  # requests sent whose answer has not been read yet
        self._held_until = 0.0  # a 429's Retry-After: no request before this moment
        # The window's length as CRM+'s resets show it (the step between two successive
        # X-RateLimit-Reset values); an hour until two have been seen.
        self._window: float | None = None

    @property
    def budget(self) -> RateBudget:
        return self._budget

    def observe(self, headers: Mapping[str, str]) -> None:
        """Record what a response says about the budget. Absent or garbled values keep the
        previous reading: one odd response is no reason to forget what we knew. Within one
        window the count only goes down: with several requests in flight, an answer read
        late must not bring back a count a later answer already lowered."""
        limit = _header(headers, "X-RateLimit-Limit", int)
        remaining = _header(headers, "X-RateLimit-Remaining", int)
        reset_at = _header(headers, "X-RateLimit-Reset", float)
        with self._lock:
            old = self._budget
            if reset_at is not None and old.reset_at is not None and reset_at > old.reset_at:
                step = reset_at - old.reset_at  # a window (or more, if one went unseen)
                self._window = step if self._window is None else min(self._window, step)
            if (
                remaining is not None
                and old.remaining is not None
                and reset_at is not None
                and reset_at == old.reset_at
            ):
                remaining = min(remaining, old.remaining)
            self._budget = RateBudget(
                limit=old.limit if limit is None else limit,
                remaining=old.remaining if remaining is None else remaining,
                reset_at=old.reset_at if reset_at is None else reset_at,
            )
        if self._ledger is not None and remaining is not None:
            self._ledger.correct(now=self._clock(), available=remaining - self._policy.reserve)

    def observe_refusal(self, retry_after: float | None) -> None:
        """A 429 came back: hold every request of this client until ``Retry-After`` ends
        (the thread that got it sleeps through it before its retry; the others must not
        keep sending meanwhile)."""
        if retry_after is None:
            return
        with self._lock:
            self._held_until = max(self._held_until, self._clock() + retry_after)

    # -- units of work ---------------------------------------------------------------------

    @contextmanager
    def admit(self, requests: int) -> Iterator[None]:
        """Let a unit of work in that may need up to ``requests`` requests (see the module
        docstring). Waits up to ``max_wait`` for the budget to reset; raises
        ``CrmBudgetExhausted`` (nothing sent) when the reset is further away. Nested
        admissions on one thread are covered by the outer one."""
        if _admitted.get() is not None:
            yield
            return
        unit = self._let_in(requests)
        token = _admitted.set(unit)
        try:
            yield
        finally:
            _admitted.reset(token)
            with self._lock:
                self._units.remove(unit)
                self._left.notify_all()

    def _let_in(self, requests: int) -> _Admitted:
        while True:
            with self._lock:
                budget = self._budget
                wait = self._wait_for(budget, requests)
                if wait <= 0:
                    unit = _Admitted(self, requests, blind=budget.remaining is None)
                    self._units.append(unit)
                    return unit
                if self._units and self._fits_without_units(budget, requests):
                    # Only what the units in flight may still spend is in the way, and
                    # each spends less than it was let in for, as a rule (a contact is let
                    # in for 3 and pushes with 2): wait for one to leave and look again,
                    # rather than stop (or wait for the reset) with budget left over. So
                    # several at once let in as many units as one after the other would.
                    self._left.wait(timeout=1.0)
                    continue
            self._wait_or_stop(
                budget,
                wait,
                f"{requests} request(s) for the next unit of work do not fit in the budget "
                f"left ({budget.remaining}, reserve {self._policy.reserve})",
            )

    def _wait_for(self, budget: RateBudget, requests: int) -> float:
        """Seconds until ``requests`` fit above the reserve (under the lock); 0 if now."""
        if budget.remaining is None or budget.reset_at is None:
            return 0.0  # nothing known yet: the first response will tell
        promised = sum(u.requests for u in self._units) + self._unanswered
        if budget.remaining - self._policy.reserve - promised >= requests:
            return 0.0
        return max(budget.reset_at - self._clock(), 0.0)

    def _fits_without_units(self, budget: RateBudget, requests: int) -> bool:
        """Whether ``requests`` fit above the reserve once the units in flight are done,
        counting only the requests already sent (under the lock)."""
        assert budget.remaining is not None
        return budget.remaining - self._policy.reserve - self._unanswered >= requests

    # -- each request ----------------------------------------------------------------------

    def before_request(self, method: str, url_path: str) -> None:
        """Pause until a 429's ``Retry-After`` has passed, and until the window resets if
        the budget is down to the reserve (to the hard limit inside an admitted unit).

        Raises ``CrmBudgetExhausted`` (with ``retry_after``) when that is further away than
        ``max_wait``: sleeping for up to an hour inside a sync is the caller's decision.
        Every call is to be followed by ``after_request`` once the answer (or the error)
        is in.
        """
        self._honour_refusal(method, url_path)
        if self._ledger is not None:
            self._pace(method, url_path)
        unit = _admitted.get()
        if unit is not None and unit.limiter is not self:
            unit = None  # another client's unit (tests run several)
        if unit is not None and unit.blind:
            self._admit_seen(unit, method, url_path)
        floor = 0 if unit is not None else self._policy.reserve
        with self._lock:
            budget = self._budget
            known = budget.remaining is not None and budget.reset_at is not None
            if not known or (budget.remaining or 0) - self._unanswered > floor:
                self._sent(unit)
                return
        assert budget.reset_at is not None
        wait = budget.reset_at - self._clock()
        if wait <= 0:
            with self._lock:
                self._sent(unit)
            return  # the window has already rolled over; the next response says by how much
        self._wait_or_stop(
            budget,
            wait,
            f"request budget down to {budget.remaining} (reserve {self._policy.reserve})",
            method=method,
            url_path=url_path,
        )
        with self._lock:
            self._sent(unit)

    def _admit_seen(self, unit: _Admitted, method: str, url_path: str) -> None:
        """A unit let in blind: now that an answer told the budget, do the requests it
        may still make fit above the reserve, beside the other units'? (Its own count is
        among the promised ones, hence 0 more.)"""
        with self._lock:
            budget = self._budget
            if budget.remaining is None:
                return
            wait = self._wait_for(budget, 0)
            if wait <= 0:
                unit.blind = False
                return
        self._wait_or_stop(
            budget,
            wait,
            f"the request budget left ({budget.remaining}, reserve {self._policy.reserve}) "
            f"cannot take the {unit.requests} request(s) this work may still need",
            method=method,
            url_path=url_path,
        )
        unit.blind = False

    def after_request(self) -> None:
        with self._lock:
            self._unanswered = max(self._unanswered - 1, 0)

    def _sent(self, unit: _Admitted | None) -> None:
        """Count a request that goes now (under the lock)."""
        self._unanswered += 1
        if unit is not None:
            unit.requests = max(unit.requests - 1, 0)

    def _honour_refusal(self, method: str, url_path: str) -> None:
        wait = self._held_until - self._clock()
        if wait <= 0:
            return
        if wait > self._policy.max_wait:
            raise self._exhausted(
                f"CRM+ refused requests (429) for {wait:.0f}s more", wait, method, url_path
            )
        log.info("crm.retry_after.wait", method=method, path=url_path, wait_s=round(wait, 3))
        self._sleep(wait)
        # The sleep runs on the monotonic clock, the deadline on this one: a slewed wall
        # clock can leave the sleep a few milliseconds short of it (10 ms of 28 s was
        # measured), and a request sent then is inside the Retry-After. What is left is
        # slept too (only a sliver: a clock that did not move at all is a test's).
        short = self._held_until - self._clock()
        if 0 < short < _CLOCK_SLACK:
            self._sleep(short)

    def _wait_or_stop(
        self,
        budget: RateBudget,
        wait: float,
        why: str,
        *,
        method: str | None = None,
        url_path: str | None = None,
    ) -> None:
        """Sleep ``wait`` seconds for the window to reset, or raise if that is too long."""
        if wait > self._policy.max_wait:
            raise self._exhausted(f"{why}; it resets in {wait:.0f}s", wait, method, url_path)
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

    def _exhausted(
        self, why: str, wait: float, method: str | None, url_path: str | None
    ) -> CrmBudgetExhausted:
        return CrmBudgetExhausted(
            f"{why}, beyond the {self._policy.max_wait:.0f}s max wait",
            resets_at=self._clock() + wait,
            retry_after=wait,
            method=method,
            url_path=url_path,
        )

    def _pace(self, method: str, url_path: str) -> None:
        """Wait for a token of the shared bucket (see the class docstring)."""
        assert self._ledger is not None
        limit = self._budget.limit or self._policy.hourly
        spendable = max(limit - self._policy.reserve, 1)
        rate = spendable / (self._window or _HOUR)
        capacity = max(1.0, spendable * self._policy.burst)
        while True:
            wait = self._ledger.take(now=self._clock(), rate=rate, capacity=capacity)
            if wait <= 0:
                return
            if wait > self._policy.max_wait:
                raise self._exhausted(
                    f"request budget paced: the next request may go in {wait:.0f}s",
                    wait,
                    method,
                    url_path,
                )
            wait = max(wait, _MIN_PACE_WAIT)
            log.debug("crm.budget.paced", method=method, path=url_path, wait_s=round(wait, 3))
            self._sleep(wait)
