"""``CrmClient``: the CRM+ contacts API over httpx, implementing ``CrmPort``.

Records stay plain JSON dicts both ways: what the server sends is returned as it came
(unknown keys included), and what the caller passes is sent as it is. Nothing is parsed
into classes and re-serialised, so nothing the API adds later can be lost on the way.

Every call goes the same way (``_send``): budget check, one HTTP attempt, translation of
the answer into a ``CrmError`` (``translate``), retry when safe (``retry``). Everything
from outside (URL, auth, timeouts, policies, transport, sleep, clock, randomness) is
injected: the composition root builds it from the config; tests fake the server.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import httpx
import structlog

from syncengine.crm.observe import RequestObserver, endpoint_template
from syncengine.crm.ratelimit import RateLimiter, RateLimitPolicy, parse_retry_after
from syncengine.crm.retry import RetryPolicy, retrying
from syncengine.crm.tls import client_context, trusts_environment
from syncengine.crm.translate import (
    error_for_status,
    error_for_transport,
    read_json,
    unexpected_shape,
    wrong_record,
)
from syncengine.domain.ports import BudgetLedger, QueryPage, RateBudget, Record
from syncengine.errors import CrmBudgetExhausted, CrmError, CrmNotFound, CrmRateLimited

log = structlog.get_logger(__name__)

# The API refuses pages larger than this; checked here so the mistake is ours to see.
MAX_TAKE = 1000


@dataclass(frozen=True)
class Timeouts:
    """Seconds allowed for each phase of one HTTP attempt."""

    connect: float = 5.0
    read: float = 30.0
    write: float = 30.0
    pool: float = 10.0

    def as_httpx(self) -> httpx.Timeout:
        return httpx.Timeout(connect=self.connect, read=self.read, write=self.write, pool=self.pool)


@dataclass(frozen=True)
class _Call:
    """One logical API call, however many attempts it takes."""

    method: str
    path: str
    params: Mapping[str, str | int] | None = None
    body: Any = None  # JSON body; None sends none
    writes: bool = False  # changes server state: an unknown outcome is "maybe applied"
    idempotent: bool = True  # repeating it after an unknown outcome is harmless


def _id(value: int) -> int:
    # Ids go into URL paths: refuse anything but a real int ("1/../x", True).
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"an id must be an int, not {type(value).__name__}")
    return value


class CrmClient:
    """The CRM+ endpoints a contact sync uses. Raises ``syncengine.errors.CrmError``s only.

    Read-only calls (GET, Find, Query) and full-record PUTs (idempotent by construction)
    are retried on 429, 5xx and missing answers. ``create_contact`` is retried only when
    the request surely did not reach the server (connection refused, 429); otherwise the
    error has ``maybe_applied=True`` and the caller looks the contact up before retrying.

    ``auth``: ``ApiKeyAuth`` or ``PasswordGrantAuth`` (any ``httpx.Auth`` works).
    ``transport``: ``None`` for real HTTP; tests pass an ``httpx.MockTransport``.
    ``sleep``/``clock``: every pause (backoff, ``Retry-After``, budget reset) goes through
    ``sleep(seconds)``; ``clock()`` is Unix seconds, the unit of ``X-RateLimit-Reset``.
    ``rand``: the jitter source, in [0, 1).
    ``observe``: called once per HTTP attempt with the method, the endpoint template
    (``/api/Contact/{id}``), the status (None when no answer came) and the seconds it
    took (a token request the auth flow made on the way included); for metrics. It runs
    on the calling thread and must be cheap; an exception from it is logged, never raised.
    ``ca_bundle``: CA certificates (PEM) trusted besides the bundled ones; certificates
    are verified whatever is given (``syncengine.crm.tls``).
    """

    def __init__(
        self,
        base_url: str,
        auth: httpx.Auth,
        *,
        timeouts: Timeouts | None = None,
        retry: RetryPolicy | None = None,
        rate_limit: RateLimitPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        rand: Callable[[], float] = random.random,
        user_agent: str = "syncengine",
        observe: RequestObserver | None = None,
        ledger: BudgetLedger | None = None,
        ca_bundle: str | Path | None = None,
    ) -> None:
        self._retry = retry or RetryPolicy()
        self._rate_limit = rate_limit or RateLimitPolicy()
        self._sleep = sleep
        self._clock = clock
        self._rand = rand
        self._observe = observe
        self._limiter = RateLimiter(self._rate_limit, clock=clock, sleep=sleep, ledger=ledger)
        self._count_lock = threading.Lock()
        self._requests_made = 0
        self._http = _CookielessClient(
            base_url=base_url,
            auth=auth,
            timeout=(timeouts or Timeouts()).as_httpx(),
            transport=transport,
            headers={"Accept": "application/json", "User-Agent": user_agent},
            # A redirect is not part of this API; following one could carry the token away.
            follow_redirects=False,
            # Certificates and host names always verified, against the bundled CAs and
            # ``ca_bundle`` only; nothing here (nor any setting or environment variable)
            # may turn that off, or anyone on the path could read the token (crm.tls).
            verify=client_context(base_url, ca_bundle),
            # Environment proxies over https only: one would get a plain-http token.
            trust_env=trusts_environment(base_url),
            # Hooks see every request and response, token requests of the auth flow and
            # the resends after a 401 included: the count and the budget stay true.
            event_hooks={"request": [self._count_request], "response": [self._observe_budget]},
        )

    def __repr__(self) -> str:
        return f"CrmClient(base_url={str(self._http.base_url)!r})"

    # -- lifecycle -------------------------------------------------------------------------

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- CrmPort: contacts -----------------------------------------------------------------

    def get_contact(self, contact_id: int) -> Record:
        return self._record(_Call("GET", f"/api/Contact/{_id(contact_id)}"), contact_id)

    def put_contact(self, contact_id: int, body: Record) -> Record:
        return self._record(
            _Call("PUT", f"/api/Contact/{_id(contact_id)}", body=body, writes=True), contact_id
        )

    def create_contact(self, body: Record) -> Record:
        # The API never de-duplicates: a create repeated after it may have landed makes a
        # second contact. Hence not idempotent, and never retried on an unknown outcome.
        return self._record(_Call("POST", "/api/Contact", body=body, writes=True, idempotent=False))

    def find_contact_by_email(self, email: str) -> Record | None:
        return self._find({"email": email})

    def find_contact_by_reference(self, source: str, reference_id: str) -> Record | None:
        return self._find({"referenceSource": source, "referenceId": reference_id})

    def query_full_contacts(
        self, query: Record, *, skip: int = 0, take: int = MAX_TAKE
    ) -> QueryPage:
        if not 1 <= take <= MAX_TAKE:
            raise ValueError(f"take must be between 1 and {MAX_TAKE}, got {take}")
        if skip < 0:
            raise ValueError(f"skip must be >= 0, got {skip}")
        # A POST, but it only reads: as safe to repeat as a GET.
        response = self._send(
            _Call(
                "POST",
                "/api/Contact/Query/FullContact",
                params={"skip": skip, "take": take},
                body=query,
            )
        )
        body = read_json(response)
        items = body.get("list") if isinstance(body, dict) else None
        total = body.get("total") if isinstance(body, dict) else None
        if (
            not isinstance(items, list)
            or not all(isinstance(item, dict) and _is_contact_id(item.get("id")) for item in items)
            or not isinstance(total, int)
            or isinstance(total, bool)
        ):
            raise unexpected_shape(
                response, 'an object {"list": [contacts, each with its id], "total": int}'
            )
        return QueryPage(items=items, total=total)

    def archive_contact(self, contact_id: int) -> None:
        # Archiving an archived contact leaves it archived: safe to repeat.
        self._send(_Call("PUT", f"/api/Contact/Archive/{_id(contact_id)}", writes=True))

    def unarchive_contact(self, contact_id: int) -> None:
        self._send(_Call("PUT", f"/api/Contact/Unarchive/{_id(contact_id)}", writes=True))

    # -- CrmPort: addresses and individuals ------------------------------------------------

    def get_address(self, address_id: int) -> Record:
        return self._record(_Call("GET", f"/api/ContactAddress/{_id(address_id)}"), address_id)

    def put_address(self, address_id: int, body: Record) -> Record:
        return self._record(
            _Call("PUT", f"/api/ContactAddress/{_id(address_id)}", body=body, writes=True),
            address_id,
        )

    def list_addresses(self, contact_id: int) -> list[Record]:
        response = self._send(_Call("GET", f"/api/ContactAddress/ByContact/{_id(contact_id)}"))
        body = read_json(response)
        if not isinstance(body, list) or not all(isinstance(item, dict) for item in body):
            raise unexpected_shape(response, "a list of addresses")
        return body

    def get_individual(self, individual_id: int) -> Record:
        return self._record(
            _Call("GET", f"/api/ContactIndividual/{_id(individual_id)}"), individual_id
        )

    def put_individual(self, individual_id: int, body: Record) -> Record:
        return self._record(
            _Call("PUT", f"/api/ContactIndividual/{_id(individual_id)}", body=body, writes=True),
            individual_id,
        )

    # -- CrmPort: accounting ---------------------------------------------------------------

    @property
    def requests_made(self) -> int:
        """HTTP attempts sent so far: retries, token requests and 401 resends included."""
        return self._requests_made

    @property
    def budget(self) -> RateBudget:
        """What the last response said about the organisation's hourly request budget."""
        return self._limiter.budget

    def admit(self, requests: int) -> AbstractContextManager[None]:
        """A unit of work (one contact) that may need up to ``requests`` requests: let in
        only if the budget can take it; ``CrmBudgetExhausted`` otherwise (see
        ``RateLimiter.admit``)."""
        return self._limiter.admit(requests)

    # -- the one way a call is made --------------------------------------------------------

    def _find(self, params: Mapping[str, str]) -> Record | None:
        try:
            return self._record(_Call("GET", "/api/Contact/Find", params=params))
        except CrmNotFound:
            return None  # Find answers 404 when nothing matches: an answer, not an error

    def _record(self, call: _Call, expected_id: int | None = None) -> Record:
        """The record a call answered. ``expected_id``: the id asked for; an answer that
        is another record, or none (``{}``), is refused: treated as the record asked for,
        it would overwrite the platform's copy with someone else's data, or build a PUT
        on nothing."""
        response = self._send(call)
        body = read_json(response)
        if not isinstance(body, dict):
            raise unexpected_shape(response, "a JSON object")
        if expected_id is not None and not _is_id(body.get("id"), expected_id):
            raise wrong_record(response, expected_id, body.get("id"))
        return body

    def _send(self, call: _Call) -> httpx.Response:
        """The successful response to ``call``, after the retries the policy allows."""
        controller = retrying(
            self._retry,
            idempotent=call.idempotent,
            max_wait=self._rate_limit.max_wait,
            sleep=self._sleep,
            rand=self._rand,
        )
        try:
            for attempt in controller:
                with attempt:
                    return self._attempt(call, attempt.retry_state.attempt_number)
        except CrmRateLimited as exc:
            raise self._as_exhausted(exc) from exc
        raise AssertionError("unreachable: tenacity returns or re-raises")  # pragma: no cover

    def _as_exhausted(self, exc: CrmRateLimited) -> CrmRateLimited:
        """A 429 whose ``Retry-After`` is beyond the max wait is the budget spent, as the
        local check would have said: the caller stops starting work. A shorter one that
        outlasted the retries is only a failed request."""
        wait = exc.retry_after
        if isinstance(exc, CrmBudgetExhausted) or wait is None:
            return exc
        if wait <= self._rate_limit.max_wait:
            return exc
        return CrmBudgetExhausted(
            f"{exc.message}; CRM+ asks to wait {wait:.0f}s, beyond the "
            f"{self._rate_limit.max_wait:.0f}s max wait",
            resets_at=self._clock() + wait,
            retry_after=wait,
            method=exc.method,
            url_path=exc.url_path,
            status=exc.status,
        )

    def _attempt(self, call: _Call, attempt: int) -> httpx.Response:
        """One HTTP attempt: a 2xx response, or the translated error."""
        self._limiter.before_request(call.method, call.path)
        try:
            response = self._exchange(call, attempt)
        finally:
            self._limiter.after_request()
        if response.is_success:
            return response
        error = error_for_status(response, now=self._clock(), writes=call.writes)
        if isinstance(error, CrmRateLimited):
            self._limiter.observe_refusal(error.retry_after)
        raise error

    def _exchange(self, call: _Call, attempt: int) -> httpx.Response:
        """Send one request: its response, whatever the status, or the transport error."""
        request = self._http.build_request(
            call.method, call.path, params=call.params, json=call.body
        )
        started = time.perf_counter()
        try:
            response = self._http.send(request)
        except httpx.HTTPError as exc:
            error = error_for_transport(exc, request, writes=call.writes)
            self._log_attempt(request, attempt, started, error=error)
            raise error from exc
        except CrmError as error:
            # Raised inside the auth flow: a token request was refused or failed.
            self._log_attempt(request, attempt, started, error=error)
            raise
        self._log_attempt(request, attempt, started, status=response.status_code)
        return response

    # -- accounting hooks ------------------------------------------------------------------

    def _count_request(self, request: httpx.Request) -> None:
        with self._count_lock:
            self._requests_made += 1

    def _observe_budget(self, response: httpx.Response) -> None:
        self._limiter.observe(response.headers)
        if response.status_code == 429:
            # The hold starts as the answer arrives, before this thread reads its body:
            # the other threads' requests stop at once (several contacts at once).
            retry_after = parse_retry_after(response.headers.get("Retry-After"), self._clock())
            self._limiter.observe_refusal(retry_after)

    def _log_attempt(
        self,
        request: httpx.Request,
        attempt: int,
        started: float,
        *,
        status: int | None = None,
        error: CrmError | None = None,
    ) -> None:
        # Method and path only: no host, no query (emails), no headers (the token).
        elapsed = time.perf_counter() - started
        if error is not None:
            status = error.status
        if self._observe is not None:
            _notify(self._observe, request.method, request.url.path, status, elapsed)
        fields: dict[str, Any] = {
            "method": request.method,
            "path": request.url.path,
            "status": status,
            "elapsed_ms": round(elapsed * 1000, 1),
            "attempt": attempt,
            "remaining": self._limiter.budget.remaining,
        }
        if error is None:
            emit = log.info if status is not None and status < 400 else log.warning
            emit("crm.request", **fields)
        else:
            log.warning(
                "crm.request",
                error=type(error).__name__,
                maybe_applied=error.maybe_applied,
                **fields,
            )


class _NoCookies(httpx.Cookies):
    """A cookie store that keeps nothing: every answer's ``Set-Cookie`` is dropped, so no
    cookie is ever sent back. The API authenticates each request by its token alone; a
    cookie set by the service or a load balancer in front of it (session affinity) is
    not needed, and replayed it would be one more credential-like value travelling with
    every request, across organisations sharing a process."""

    def extract_cookies(self, response: httpx.Response) -> None:
        return None

    def set(self, name: str, value: str, domain: str = "", path: str = "/") -> None:
        raise TypeError("the CRM+ client keeps no cookies")


class _CookielessClient(httpx.Client):
    """``httpx.Client`` with ``_NoCookies``. httpx reads the client's cookies through this
    property on every request, and extracting them from each answer (wrapping it for
    ``http.cookiejar``) was half of the client's CPU per request, the largest single
    cost of a push after the merge (docs/benchmarks.md, "CPU per pushed contact")."""

    _no_cookies = _NoCookies()

    @property
    def cookies(self) -> httpx.Cookies:
        return self._no_cookies

    @cookies.setter
    def cookies(self, cookies: Any) -> None:
        raise TypeError("the CRM+ client keeps no cookies")


def _notify(
    observe: RequestObserver, method: str, path: str, status: int | None, elapsed: float
) -> None:
    try:
        observe(method, endpoint_template(path), status, elapsed)
    except Exception as exc:
        # Metrics must never fail a call: after a PUT that landed, an exception here
        # would read as a failed write and send the caller after a change that is done.
        log.warning("crm.observer_failed", error=type(exc).__name__)


def _is_id(value: Any, expected: int) -> bool:
    """Whether a record's ``id`` names ``expected`` (a number, or its digits as text)."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return value == expected
    return isinstance(value, str) and value.strip() == str(expected)


def _is_contact_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0
