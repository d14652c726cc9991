"""The daemon's HTTP side: CRM+ webhooks, the platform's enqueue asks, health and metrics.

The app knows nothing about syncing. It is given callables: ``enqueue`` stores contact
ids durably in the work queue, ``health`` says whether the daemon works, ``metrics``
renders the Prometheus exposition. Everything slow (the queue write, the health check)
runs in a worker thread, so one slow database never stalls the other requests.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeVar

import structlog
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from syncengine.web.deliveries import MalformedRequest, parse_delivery, parse_enqueue
from syncengine.web.signatures import signature_matches

log = structlog.get_logger(__name__)

_T = TypeVar("_T")

DEFAULT_MAX_BODY = 1_048_576  # 1 MiB: a bulk delivery of thousands of contacts fits

ENQUEUE_PATH = "/enqueue"
HEALTH_PATH = "/healthz"
METRICS_PATH = "/metrics"
_RESERVED_PATHS = frozenset({ENQUEUE_PATH, HEALTH_PATH, METRICS_PATH})

# Set on every answer: nothing here may be cached by a proxy (health and queue answers
# are of the moment), and no browser may guess a type other than the one sent.
SECURITY_HEADERS: Mapping[str, str] = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
}

# How many ids a log line lists (the count is always there): a bulk delivery of
# thousands must not make a line of thousands.
_LOGGED_IDS = 10
_MAX_DETAIL = 500


@dataclass(frozen=True)
class HealthReport:
    """What ``GET /healthz`` answers: 200 when ``ok``, 503 otherwise, with ``details``
    (JSON-able; anything else is shown as its ``str``)."""

    ok: bool
    details: dict[str, Any] = field(default_factory=dict)


class DeliveryResult(StrEnum):
    """How a webhook delivery was answered (the ``result`` of the deliveries metric)."""

    ACCEPTED = "accepted"  # 202: its contacts are in the queue
    IGNORED = "ignored"  # 200: an event that is not about a contact's data
    UNAUTHORIZED = "unauthorized"  # 401: signature missing or wrong
    MALFORMED = "malformed"  # 400
    TOO_LARGE = "too_large"  # 413
    FAILED = "failed"  # 503: the queue could not store it; the sender should retry


Enqueue = Callable[[list[int], str], None]
HealthCheck = Callable[[], HealthReport]
RenderMetrics = Callable[[], tuple[bytes, str]]
DeliveryObserver = Callable[[str], None]


class _Refused(Exception):
    """A request answered with an error status; the message is safe to send back."""

    def __init__(self, status: int, result: DeliveryResult, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.result = result
        self.message = message


def build_app(
    *,
    webhook_path: str,
    signature_header: str,
    secret: str | None,
    enqueue: Enqueue,
    health: HealthCheck,
    metrics: RenderMetrics,
    max_body: int = DEFAULT_MAX_BODY,
    on_delivery: DeliveryObserver | None = None,
) -> Starlette:
    """The ASGI app. Routes:

    - ``POST {webhook_path}``: a CRM+ webhook delivery. The contact ids of a
      ``ContactCreate``/``ContactUpdate`` are passed to ``enqueue(ids, "webhook")`` and
      answered 202 ``{"queued": [ids]}`` at once (the sender times out quickly; the sync
      reads CRM+ later, never the payload). Other events: 200, ``"ignored"``.
    - ``POST /enqueue``: the platform asks for contacts, ``{"contacts": [ids]}`` or
      ``{"contact": id}``; ``enqueue(ids, "enqueue")``, 202 ``{"queued": [ids]}``.
    - ``GET /healthz``: ``health()``; 200 when ok, 503 otherwise (or when it raises).
    - ``GET /metrics``: the bytes and content type ``metrics()`` returns.

    Signatures: with a ``secret``, both POST routes need the HMAC-SHA256 of the raw body
    (Base64 or hex) in the ``signature_header``; a missing or wrong one is 401 and nothing
    is enqueued. With ``secret=None`` requests are accepted UNSIGNED: anyone who can reach
    the port can queue syncs. The daemon allows that only when it listens on a loopback
    address; this app does not check where it listens.

    ``enqueue`` must have stored the ids durably when it returns (the 2xx tells the
    sender not to send again); if it raises, the answer is 503 so the sender retries.
    Duplicates are harmless: the queue merges them. ``max_body``: bodies larger than
    this are refused with 413 and never buffered beyond it. ``on_delivery(result)``:
    called once per webhook delivery with its ``DeliveryResult`` value (for metrics).

    Every answer is sent with ``SECURITY_HEADERS``; errors are ``{"error": message}``.
    Neither the secret nor a signature is ever answered or logged.
    """
    if not webhook_path.startswith("/") or "{" in webhook_path or "}" in webhook_path:
        raise ValueError("webhook_path must be a plain path starting with '/'")
    if webhook_path in _RESERVED_PATHS:
        raise ValueError(f"webhook_path must not be one of {sorted(_RESERVED_PATHS)}")
    if not signature_header.strip():
        raise ValueError("signature_header must name a header")
    if secret is not None and not secret:
        # An empty key would make every signature computable by anyone: say so rather
        # than quietly run a signed endpoint that authenticates nothing.
        raise ValueError("secret is empty: pass None to accept unsigned requests")
    if max_body < 1:
        raise ValueError("max_body must be at least 1 byte")

    guard = _Guard(signature_header=signature_header, secret=secret, max_body=max_body)

    def count(result: DeliveryResult) -> None:
        if on_delivery is None:
            return
        try:
            on_delivery(result.value)
        except Exception as exc:
            # A metric must never turn a stored delivery into an error answer.
            log.warning("web.delivery_observer_failed", error=type(exc).__name__)

    async def webhook(request: Request) -> Response:
        event: str | None = None
        try:
            body = await guard.signed_body(request)
            delivery = _parse(parse_delivery, body)
            event = delivery.event
            if delivery.ignored:
                _log_request("webhook", request, result=DeliveryResult.IGNORED, event=event)
                count(DeliveryResult.IGNORED)
                return _json({"queued": [], "ignored": event}, status=200)
            ids = list(delivery.contact_ids)
            await _enqueue(enqueue, ids, "webhook")
        except _Refused as refused:
            _log_request("webhook", request, result=refused.result, event=event, why=refused)
            count(refused.result)
            return _error(refused)
        _log_request("webhook", request, result=DeliveryResult.ACCEPTED, event=event, ids=ids)
        count(DeliveryResult.ACCEPTED)
        return _json({"queued": ids}, status=202)

    async def enqueue_route(request: Request) -> Response:
        try:
            body = await guard.signed_body(request)
            ids = list(_parse(parse_enqueue, body))
            await _enqueue(enqueue, ids, "enqueue")
        except _Refused as refused:
            _log_request("enqueue", request, result=refused.result, why=refused)
            return _error(refused)
        _log_request("enqueue", request, result=DeliveryResult.ACCEPTED, ids=ids)
        return _json({"queued": ids}, status=202)

    async def healthz(request: Request) -> Response:
        try:
            report = await run_in_threadpool(health)
        except Exception as exc:
            log.error("web.health_failed", **_failure(exc))
            return _json({"ok": False, "error": "the health check failed"}, status=503)
        return _json({"ok": report.ok, "details": report.details}, status=200 if report.ok else 503)

    async def metrics_route(request: Request) -> Response:
        try:
            content, content_type = await run_in_threadpool(metrics)
        except Exception as exc:
            log.error("web.metrics_failed", **_failure(exc))
            return _json({"error": "the metrics could not be rendered"}, status=500)
        return Response(content, headers={"Content-Type": content_type})

    return Starlette(
        routes=[
            Route(webhook_path, webhook, methods=["POST"]),
            Route(ENQUEUE_PATH, enqueue_route, methods=["POST"]),
            Route(HEALTH_PATH, healthz, methods=["GET"]),
            Route(METRICS_PATH, metrics_route, methods=["GET"]),
        ],
        middleware=[Middleware(_SecurityHeaders)],
        exception_handlers={HTTPException: _http_error, Exception: _server_error},
    )


class _Guard:
    """The checks both POST routes share: signature present, body within the limit,
    signature right. In that order: a request that cannot be signed is refused before
    its body is read, and the signature is checked on the raw bytes, before parsing."""

    def __init__(self, *, signature_header: str, secret: str | None, max_body: int) -> None:
        self._header = signature_header
        self._secret = secret
        self._max_body = max_body

    async def signed_body(self, request: Request) -> bytes:
        signature = request.headers.get(self._header)
        if self._secret is not None and not (signature and signature.strip()):
            raise _Refused(401, DeliveryResult.UNAUTHORIZED, "the signature is missing")
        body = await _read_body(request, self._max_body)
        if self._secret is not None and not signature_matches(self._secret, body, signature):
            raise _Refused(401, DeliveryResult.UNAUTHORIZED, "the signature does not match")
        return body


async def _read_body(request: Request, limit: int) -> bytes:
    """The body, refused (413) as soon as it is known to be over ``limit`` bytes: from
    its Content-Length before reading, or while streaming a chunked one. What is kept
    never exceeds ``limit``: the chunk that would cross it is dropped, not appended."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            length = int(declared)
        except ValueError:
            raise _Refused(
                400, DeliveryResult.MALFORMED, "Content-Length is not a number"
            ) from None
        if length > limit:
            raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise _too_large(limit)
            chunks.append(chunk)
    except ClientDisconnect:
        # Nobody is left to read the answer; it still shows in the log.
        raise _Refused(400, DeliveryResult.MALFORMED, "the body did not arrive whole") from None
    return b"".join(chunks)


def _too_large(limit: int) -> _Refused:
    return _Refused(413, DeliveryResult.TOO_LARGE, f"the body is larger than {limit} bytes")


def _parse(parser: Callable[[bytes], _T], body: bytes) -> _T:
    try:
        return parser(body)
    except MalformedRequest as exc:
        raise _Refused(400, DeliveryResult.MALFORMED, str(exc)) from None


async def _enqueue(enqueue: Enqueue, ids: list[int], reason: str) -> None:
    if not ids:
        return  # an empty bulk delivery: nothing to store
    try:
        await run_in_threadpool(enqueue, ids, reason)
    except Exception as exc:
        # The cause goes to the log for the operator; the sender only learns to retry.
        log.error("web.enqueue_failed", reason=reason, contacts=len(ids), **_failure(exc))
        raise _Refused(
            503, DeliveryResult.FAILED, "the contacts could not be queued; try again"
        ) from None


def _log_request(
    route: str,
    request: Request,
    *,
    result: DeliveryResult,
    event: str | None = None,
    ids: list[int] | None = None,
    why: _Refused | None = None,
) -> None:
    # Never the headers (the signature) nor the body: the event, the ids, the outcome.
    fields: dict[str, Any] = {
        "route": route,
        "result": result.value,
        "client": request.client.host if request.client is not None else None,
    }
    if event is not None:
        fields["webhook_event"] = event
    if ids is not None:
        fields["contacts"] = len(ids)
        fields["contact_ids"] = ids[:_LOGGED_IDS]
    if why is None:
        log.info("web.delivery", **fields)
    else:
        log.warning("web.delivery", status=why.status, why=why.message, **fields)


def _failure(exc: Exception) -> dict[str, str]:
    # The type and message, never ``exc_info``: the console renderer shows tracebacks
    # with every frame's local variables, and it runs after the secret scrubber, so a
    # traceback could carry a credential held by some frame into the log unscrubbed.
    return {"error": type(exc).__name__, "detail": str(exc)[:_MAX_DETAIL]}


def _json(payload: Any, *, status: int, headers: Mapping[str, str] | None = None) -> Response:
    # default=str: health details may hold datetimes; an answer must not fail over that.
    content = json.dumps(payload, default=str, ensure_ascii=False, separators=(",", ":"))
    return Response(content, status_code=status, media_type="application/json", headers=headers)


def _error(refused: _Refused) -> Response:
    return _json({"error": refused.message}, status=refused.status)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)  # registered for HTTPException only
    messages = {404: "not found", 405: "method not allowed"}
    message = messages.get(exc.status_code, "the request cannot be served")
    # exc.headers carries Allow on a 405.
    return _json({"error": message}, status=exc.status_code, headers=exc.headers)


async def _server_error(request: Request, exc: Exception) -> Response:
    # Starlette answers this from outside the middleware stack: set the headers here too.
    # The exception itself is logged by the server (uvicorn), which Starlette re-raises to.
    return _json({"error": "internal error"}, status=500, headers=SECURITY_HEADERS)


class _SecurityHeaders:
    """Adds ``SECURITY_HEADERS`` to every answer the app sends (the router's 404s too)."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers[name] = value
            await send(message)

        await self._app(scope, receive, send_with_headers)
