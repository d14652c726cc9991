"""The one place where HTTP answers and transport failures become ``syncengine.errors``.

Every status of the API notes' error table is mapped here and nowhere else, so the
caller's choice (retry, skip the record, abort the run) follows from the exception type.

Errors carry the method, the URL *path* and the status. Never the host, never the query
string (Find puts an email there: personal data has no place in logs), never headers
(the token lives there), and bodies only as the server's short human message.
"""

from __future__ import annotations

import json
import re
import ssl
from typing import Any

import httpx

from syncengine.crm.ratelimit import parse_retry_after
from syncengine.domain.limits import MAX_DEPTH, too_deep
from syncengine.errors import (
    CrmAuthError,
    CrmBadAnswer,
    CrmDuplicateValue,
    CrmError,
    CrmNotFound,
    CrmRateLimited,
    CrmServerError,
    CrmTlsError,
    CrmTokenError,
    CrmUnreachable,
    CrmValidationError,
    FieldProblem,
)

# Server text quoted in an error message is cut here: a 500 may carry a whole HTML page.
_MAX_QUOTED = 200

# ASP.NET prefixes ``modelState`` keys with the name of the action's body parameter
# ("contact.isPrivate"). Only these names are stripped: "address.city" on a Contact is a
# real nested path and must survive, so a generic "drop the first segment" rule is wrong.
_MODEL_PREFIXES = frozenset(
    {
        "$",
        "body",
        "contact",
        "contactaddress",
        "contactindividual",
        "contactmethod",
        "model",
        "query",
        "request",
    }
)

_EMAIL = re.compile(r"[^\s'\"<>()\[\],;:]+@[^\s'\"<>()\[\],;:]+\.[A-Za-z]{2,}")
_QUOTED = re.compile(r"'([^']+)'|\"([^\"]+)\"")

# Transport failures that happen before a single byte of the request left: it surely did
# not reach the server, so even a non-idempotent request may be sent again.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# Failures that mean "no (complete) answer": worth another try after a pause.
_UNREACHABLE = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)


def field_path(key: str) -> str:
    """A ``modelState`` key as a field path, without the model prefix.

    ``"contact.isPrivate"`` -> ``"isPrivate"``; ``"contact.address.city"`` -> ``"address.city"``.
    """
    head, dot, rest = key.partition(".")
    if dot and head.lower() in _MODEL_PREFIXES:
        return rest
    if key.lower() in _MODEL_PREFIXES:
        return ""  # the complaint is about the whole body
    return key


def _quote(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MAX_QUOTED else text[: _MAX_QUOTED - 1] + "…"


def _decoded(response: httpx.Response) -> Any:
    """The body as JSON, or ``None`` when it is empty or not JSON (error bodies vary)."""
    if not response.content:
        return None
    try:
        return json.loads(response.content)
    except (ValueError, RecursionError):
        return None


def _server_message(body: Any, response: httpx.Response) -> str | None:
    """The human message of an error body, whatever shape it came in."""
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return _quote(error["message"])
        for key in ("message", "Message", "error_description"):
            if isinstance(body.get(key), str):
                return _quote(body[key])
        if isinstance(error, str):
            return _quote(error)
        return None
    if isinstance(body, str):
        return _quote(body)
    text = response.text.strip() if response.content else ""
    # A JSON body of another shape (a list, a number) is not a message; plain text is.
    return _quote(text) if text and body is None else None


def _problems(body: Any) -> list[FieldProblem]:
    """Per-field complaints: 400 ``modelState`` and 422 ``error.details``, whichever is there."""
    if not isinstance(body, dict):
        return []
    problems: list[FieldProblem] = []
    model_state = body.get("modelState") or body.get("ModelState")
    if isinstance(model_state, dict):
        for key, messages in model_state.items():
            listed = messages if isinstance(messages, list) else [messages]
            problems.extend(FieldProblem(field_path(str(key)), str(m)) for m in listed)
    error = body.get("error")
    details = error.get("details") if isinstance(error, dict) else None
    if isinstance(details, list):
        for item in details:
            if not isinstance(item, dict):
                continue
            code = item.get("code")
            problems.append(
                FieldProblem(
                    field_path(str(item.get("field") or "")),
                    str(item.get("message") or ""),
                    code=None if code is None else str(code),
                )
            )
    return problems


def _duplicate_value(message: str | None) -> str | None:
    """The colliding value of a 409, when the message names it (an email, or a quoted value)."""
    if not message:
        return None
    email = _EMAIL.search(message)
    if email:
        return email.group(0)
    quoted = _QUOTED.search(message)
    if quoted:
        return quoted.group(1) or quoted.group(2)
    return None


def error_for_status(
    response: httpx.Response,
    *,
    now: float,
    writes: bool = False,
    token_endpoint: bool = False,
) -> CrmError:
    """The exception for a non-2xx answer.

    ``writes``: the request changes server state; with a 5xx (or any non-4xx surprise) its
    outcome is unknown, so the error is marked ``maybe_applied``. A 4xx is a refusal.
    ``token_endpoint``: the answer of ``POST /Token``. Whatever it says (400 ``invalid_grant``
    or 401: bad credentials; 404: no such endpoint at this base URL) is a ``CrmTokenError``
    that aborts the run: read as a contact's 404 it would send the user looking for a
    merged contact. Only 429 and 5xx stay what they are, to be retried.
    """
    status = response.status_code
    where: dict[str, Any] = {
        "method": response.request.method,
        "url_path": response.request.url.path,
        "status": status,
    }
    body = _decoded(response)
    message = _server_message(body, response)

    if token_endpoint and status != 429 and not 500 <= status <= 599:
        return CrmTokenError(message or "no token was issued", **where)
    if status == 400:
        return CrmValidationError(
            message or "the request was malformed", problems=_problems(body), **where
        )
    if status == 401:
        return CrmAuthError(message or "the token was refused", **where)
    if status == 404:
        return CrmNotFound(
            message or "no such record (it may have been merged or deleted)", **where
        )
    if status == 409:
        return CrmDuplicateValue(
            message or "a unique value already belongs to another record",
            value=_duplicate_value(message),
            **where,
        )
    if status == 422:
        return CrmValidationError(message or "validation failed", problems=_problems(body), **where)
    if status == 429:
        retry_after = parse_retry_after(response.headers.get("Retry-After"), now)
        return CrmRateLimited(message or "rate limit exceeded", retry_after=retry_after, **where)
    if 500 <= status <= 599:  # 500/502/503/504, the edge's 520, and any other 5xx
        return CrmServerError(message or "server error", maybe_applied=writes, **where)
    return CrmError(
        message or "unexpected HTTP status",
        maybe_applied=writes and not 400 <= status <= 499,
        **where,
    )


def _failed_request(exc: httpx.HTTPError, fallback: httpx.Request) -> httpx.Request:
    # httpx attaches the request that failed; inside an auth flow that may be a token
    # request rather than ours.
    try:
        return exc.request
    except RuntimeError:
        return fallback


def error_for_transport(
    exc: httpx.HTTPError, request: httpx.Request, *, writes: bool = False
) -> CrmError:
    """The exception for a request that got no usable answer.

    ``request``: the request the client meant to send. When the failure hit another one
    (a token request of the auth flow), ours was not (re)sent, so it cannot have applied.
    """
    failed = _failed_request(exc, request)
    where: dict[str, Any] = {"method": failed.method, "url_path": failed.url.path}
    reason = type(exc).__name__
    tls = _tls_failure(exc) if isinstance(exc, httpx.ConnectError) else None
    if tls is not None:
        # The handshake comes before the request: nothing was sent, and retrying cannot
        # make a certificate valid. The host is named: it is what the user must check.
        verification = isinstance(tls, ssl.SSLCertVerificationError)
        told = tls.verify_message if isinstance(tls, ssl.SSLCertVerificationError) else None
        detail = told or tls.reason or reason
        return CrmTlsError(str(detail), host=failed.url.host, verification=verification, **where)
    if isinstance(exc, _UNREACHABLE):
        maybe_applied = writes and failed is request and not isinstance(exc, _NOT_SENT)
        return CrmUnreachable(f"no answer ({reason})", maybe_applied=maybe_applied, **where)
    if isinstance(exc, httpx.DecodingError):
        # An answer came but could not be decoded: the server did act on the request.
        maybe_applied = writes and failed is request
        return CrmError(f"undecodable answer ({reason})", maybe_applied=maybe_applied, **where)
    # Anything else (an unsupported URL, a local protocol violation) is a bug, not weather.
    return CrmError(f"request failed ({reason})", **where)


def _tls_failure(exc: BaseException) -> ssl.SSLError | None:
    """The ``ssl`` error behind a connection failure, if TLS is what failed.

    httpx and httpcore re-raise their own exception types ``from`` the original one.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, ssl.SSLError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def read_json(response: httpx.Response) -> Any:
    """The decoded body of a successful answer; ``CrmError`` naming the endpoint if it is
    not JSON, or nested deeper than any endpoint documents (a Contact is five levels deep)
    and than recursive code can safely walk."""
    try:
        body = json.loads(response.content)
    except RecursionError:
        raise _too_deep(response) from None
    except ValueError as exc:
        if isinstance(exc, json.JSONDecodeError):
            # The decoder keeps the whole body in ``doc``, and a /Token body is where the
            # token lives: keep the position for debugging, drop the text from the chain.
            exc.doc = ""
        kind = response.headers.get("Content-Type") or "no content type"
        raise CrmError(
            f"expected a JSON body, got {len(response.content)} bytes of {kind}",
            method=response.request.method,
            url_path=response.request.url.path,
            status=response.status_code,
        ) from exc
    if too_deep(body):
        raise _too_deep(response)
    return body


def _too_deep(response: httpx.Response) -> CrmError:
    return CrmError(
        f"the JSON body is nested more than {MAX_DEPTH} levels deep",
        method=response.request.method,
        url_path=response.request.url.path,
        status=response.status_code,
    )


def wrong_record(response: httpx.Response, expected: int, got: Any) -> CrmBadAnswer:
    """A 2xx answer holding another record than the one asked for (or none at all)."""
    what = "a record without an id" if got is None else f"the record of id {got!r}"
    return CrmBadAnswer(
        f"asked for id {expected}, CRM+ answered {what}; nothing was taken from it",
        method=response.request.method,
        url_path=response.request.url.path,
        status=response.status_code,
    )


def unexpected_shape(response: httpx.Response, expected: str) -> CrmError:
    """A JSON body that is not the shape the endpoint documents."""
    return CrmError(
        f"expected {expected} in the response body",
        method=response.request.method,
        url_path=response.request.url.path,
        status=response.status_code,
    )
