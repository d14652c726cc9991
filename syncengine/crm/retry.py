"""Which failed requests are tried again, and after how long.

Built on tenacity, which already gets the loop, the stop condition and the injected sleep
right; what is ours is the decision (``should_retry``) and the wait (``RetryWait``):

- Only transient errors (``CrmTransientError``: 429, 5xx, no answer) are retried.
- A request that may have been applied (``maybe_applied``: timeout, dropped response, 5xx
  on a write) is repeated only if repeating it is harmless (``idempotent``): a GET, a
  read-only query, a full-record PUT. Never a create: a second POST makes a second contact.
- A 429's ``Retry-After`` is honoured exactly, up to ``max_wait``; beyond it the error goes
  to the caller, who can stop the run instead of sleeping for most of an hour.
- Otherwise: exponential backoff with "equal jitter" (half fixed, half random), so clients
  that failed together do not come back together, yet never retry instantly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import structlog
import tenacity

from syncengine.errors import CrmRateLimited, CrmTransientError

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently failed requests are repeated.

    ``max_attempts``: attempts per call, the first included (1 = never retry).
    Backoff before attempt n+1: ``min(backoff_max, backoff_initial * backoff_multiplier**(n-1))``,
    half of it fixed and half random.
    """

    max_attempts: int = 4
    backoff_initial: float = 1.0
    backoff_multiplier: float = 2.0
    backoff_max: float = 30.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be >= 1")
        if self.backoff_initial < 0 or self.backoff_max < 0 or self.backoff_multiplier < 1:
            raise ValueError("backoff values must be >= 0 (multiplier >= 1)")

    def backoff(self, attempt: int, rand: float) -> float:
        """The pause after failed attempt number ``attempt`` (1-based); ``rand`` in [0, 1)."""
        base = min(
            self.backoff_max, self.backoff_initial * self.backoff_multiplier ** (attempt - 1)
        )
        return base / 2 + rand * base / 2


def should_retry(exc: BaseException, *, idempotent: bool, max_wait: float) -> bool:
    """Whether a failed attempt is worth another one."""
    if not isinstance(exc, CrmTransientError):
        return False  # a refusal (4xx) or a bug: the same request gets the same answer
    if exc.maybe_applied and not idempotent:
        return False  # the create may exist already: the caller must look it up first
    return not (
        isinstance(exc, CrmRateLimited)
        and exc.retry_after is not None
        and exc.retry_after > max_wait
    )


class RetryWait:
    """tenacity ``wait``: the server's ``Retry-After`` when it gave one, else jittered backoff."""

    def __init__(self, policy: RetryPolicy, rand: Callable[[], float]) -> None:
        self._policy = policy
        self._rand = rand

    def __call__(self, state: tenacity.RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, CrmRateLimited) and exc.retry_after is not None:
            return exc.retry_after
        return self._policy.backoff(state.attempt_number, self._rand())


def _log_retry(state: tenacity.RetryCallState) -> None:
    exc = state.outcome.exception() if state.outcome else None
    wait = state.next_action.sleep if state.next_action else None
    log.warning(
        "crm.retry",
        method=getattr(exc, "method", None),
        path=getattr(exc, "url_path", None),
        status=getattr(exc, "status", None),
        error=type(exc).__name__,
        attempt=state.attempt_number,
        wait_s=None if wait is None else round(wait, 3),
    )


def retrying(
    policy: RetryPolicy,
    *,
    idempotent: bool,
    max_wait: float,
    sleep: Callable[[float], None],
    rand: Callable[[], float],
) -> tenacity.Retrying:
    """A fresh retry controller for one call (tenacity controllers keep per-call state)."""
    return tenacity.Retrying(
        stop=tenacity.stop_after_attempt(policy.max_attempts),
        wait=RetryWait(policy, rand),
        retry=tenacity.retry_if_exception(
            lambda exc: should_retry(exc, idempotent=idempotent, max_wait=max_wait)
        ),
        sleep=sleep,
        before_sleep=_log_retry,
        # The caller sees our translated error, not tenacity's RetryError wrapper.
        reraise=True,
    )
