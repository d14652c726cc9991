"""The body limit, seen from inside the server: a body over ``max_body`` is refused
without ever holding more than ``max_body`` bytes of it, and an unsigned one is refused
before a byte is read. Driven through the ASGI interface, to count what the app reads."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from starlette.types import Message

from syncengine.web import HealthReport, build_app, sign_base64
from tests.web.conftest import SECRET, SIGNATURE_HEADER, WEBHOOK_PATH

CHUNK = 1024


class EndlessBody:
    """An ASGI ``receive`` that streams 1 KiB chunks for ever, counting those taken."""

    def __init__(self) -> None:
        self.taken = 0

    async def __call__(self) -> Message:
        self.taken += 1
        return {"type": "http.request", "body": b"x" * CHUNK, "more_body": True}


def _post(app: Any, receive: Any, headers: dict[str, str]) -> tuple[int, bytes]:
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": WEBHOOK_PATH,
        "raw_path": WEBHOOK_PATH.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8766),
    }
    asyncio.run(app(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], body


def _app(queued: list[list[int]], max_body: int) -> Any:
    return build_app(
        webhook_path=WEBHOOK_PATH,
        signature_header=SIGNATURE_HEADER,
        secret=SECRET,
        enqueue=lambda ids, reason: queued.append(ids),
        health=lambda: HealthReport(True),
        metrics=lambda: (b"", "text/plain"),
        max_body=max_body,
    )


def test_an_endless_chunked_body_is_refused_after_reading_just_past_the_limit() -> None:
    queued: list[list[int]] = []
    receive = EndlessBody()
    status, body = _post(_app(queued, max_body=8 * CHUNK), receive, {SIGNATURE_HEADER: "anything"})
    assert status == 413
    assert json.loads(body) == {"error": f"the body is larger than {8 * CHUNK} bytes"}
    # Eight chunks fit; the ninth crosses the limit and is dropped, not kept.
    assert receive.taken == 9
    assert queued == []


def test_an_unsigned_request_is_refused_before_its_body_is_read() -> None:
    queued: list[list[int]] = []
    receive = EndlessBody()
    status, _ = _post(_app(queued, max_body=8 * CHUNK), receive, {})
    assert status == 401
    assert receive.taken == 0
    assert queued == []


def test_a_declared_length_over_the_limit_is_refused_before_its_body_is_read() -> None:
    receive = EndlessBody()
    headers = {SIGNATURE_HEADER: sign_base64(SECRET, b""), "Content-Length": str(9 * CHUNK)}
    status, _ = _post(_app([], max_body=8 * CHUNK), receive, headers)
    assert status == 413
    assert receive.taken == 0
