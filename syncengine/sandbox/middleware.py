"""ASGI middleware: the transport behaviour of the live API, and injected trouble.

Outermost first: the request log sees every API request and its final status; the auth
and rate-limit layer answers 401/429 and puts the X-RateLimit-* headers on EVERY
response; the fault layer adds latency and misbehaves on purpose. Pure ASGI (not
BaseHTTPMiddleware) because a "drop" fault must control the raw response messages.
"""

from __future__ import annotations

import asyncio
import hmac
import json
from typing import Any
from urllib.parse import parse_qsl

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from syncengine.sandbox.requestlog import LoggedRequest
from syncengine.sandbox.settings import SandboxSettings
from syncengine.sandbox.state import SandboxState

API_PREFIX = "/api/"
UNAUTHORISED = {"message": "Authorization has been denied for this request."}


def _is_api(scope: Scope) -> bool:
    return scope["type"] == "http" and str(scope["path"]).startswith(API_PREFIX)


class RequestLogMiddleware:
    """Records method, path, query, JSON body and status of each API request (no headers:
    the log must never hold the token)."""

    def __init__(self, app: ASGIApp, *, state: SandboxState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not _is_api(scope):
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        status: int | None = None
        logged = False

        def log(dropped: bool) -> None:
            nonlocal logged
            entry = LoggedRequest(
                method=scope["method"],
                path=scope["path"],
                query=dict(parse_qsl(scope["query_string"].decode("latin-1"))),
                body=_parsed(body),
                status=status,
                dropped=dropped,
            )
            with self.state.lock:
                self.state.requests.append(entry)
            logged = True

        async def watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body" and not message.get("more_body", False):
                # Logged BEFORE the last byte leaves: a client that has its answer must
                # find its request in the log.
                log(dropped=False)
            await send(message)

        with self.state.lock:
            self.state.in_flight += 1
        try:
            await self.app(scope, _replay(body, receive), watch)
        finally:
            if not logged:  # started but never finished: a dropped response
                log(dropped=status is not None)
            with self.state.lock:
                self.state.in_flight -= 1


class AuthRateLimitMiddleware:
    """Bearer token check (401) and the shared hourly budget (429 with Retry-After).

    A refused token is not counted: the live budget is per organisation, and a request
    without a valid token belongs to none.
    """

    def __init__(self, app: ASGIApp, *, settings: SandboxSettings, state: SandboxState) -> None:
        self.app = app
        self.settings = settings
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit, now = self.settings.hourly_limit, self.state.clock.unix_now()
        window = self.settings.window_seconds
        counted = _is_api(scope) and self._authorised(scope)
        with self.state.lock:
            status = (
                self.state.limiter.consume(limit, now, window)
                if counted
                else self.state.limiter.peek(limit, now, window)
            )
        headers = status.headers()
        if _is_api(scope) and not counted:
            await JSONResponse(UNAUTHORISED, 401, headers)(scope, receive, send)
        elif counted and not status.allowed:
            body = {"message": f"API calls quota exceeded: at most {limit} per {_per(window)}."}
            headers["Retry-After"] = str(status.retry_after)
            await JSONResponse(body, 429, headers)(scope, receive, send)
        else:
            await self.app(scope, receive, _adding_headers(send, headers))

    def _authorised(self, scope: Scope) -> bool:
        scheme, _, token = Headers(scope=scope).get("authorization", "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            token.strip().encode(), self.settings.token.encode()
        )


class FaultMiddleware:
    """Simulated latency and the injected faults of ``state.faults``."""

    def __init__(self, app: ASGIApp, *, state: SandboxState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not _is_api(scope):
            await self.app(scope, receive, send)
            return
        with self.state.lock:
            latency = self.state.latency
            fault = self.state.faults.take(scope["method"], scope["path"])
        if latency > 0:
            await asyncio.sleep(latency)
        if fault is None:
            await self.app(scope, receive, send)
            return
        if fault.delay > 0:
            await asyncio.sleep(fault.delay)
        if fault.drop:
            await _process_then_drop(self.app, scope, receive, send)
        elif fault.status is not None:
            headers = {} if fault.retry_after is None else {"Retry-After": str(fault.retry_after)}
            response = (
                Response(status_code=fault.status, headers=headers)
                if fault.body is None
                else JSONResponse(fault.body, fault.status, headers)
            )
            await response(scope, receive, send)
        else:
            await self.app(scope, receive, send)


async def _process_then_drop(app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
    """Let the request be fully processed (a write IS applied), then cut the response off
    after its headers and half its body: the client sees a transport error, never the answer.
    Returning without finishing the body makes the server close the connection."""
    start: Message | None = None
    chunks: list[bytes] = []

    async def capture(message: Message) -> None:
        nonlocal start
        if message["type"] == "http.response.start":
            start = message
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, capture)
    if start is None:
        return
    body = b"".join(chunks)
    declared = max(len(body), 1)  # an empty answer must still promise a byte it never sends
    headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
    await send({**start, "headers": [*headers, (b"content-length", str(declared).encode())]})
    await send({"type": "http.response.body", "body": body[: declared // 2], "more_body": True})


def _per(window: float) -> str:
    return "hour" if window == 3600 else f"{window:g} s"


def _adding_headers(send: Send, headers: dict[str, str]) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            message.setdefault("headers", [])
            MutableHeaders(scope=message).update(headers)
        await send(message)

    return wrapped


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive that hands the already-read body to the app, then defers to the real one."""
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if replayed:
            return await receive()
        replayed = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


def _parsed(body: bytes) -> Any:
    if not body:
        return None
    try:
        return json.loads(body)
    except (ValueError, RecursionError):  # not JSON, or nested past the parser's stack
        return body.decode("utf-8", errors="replace")
