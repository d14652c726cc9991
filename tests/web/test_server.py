"""WebServer: a free loopback port, a graceful stop that lets a request in flight
finish, and a bounded one when a request will not."""

from __future__ import annotations

import json
import threading
import time

import httpx
import pytest
from starlette.applications import Starlette

from syncengine.web import HealthReport, WebServer, build_app
from tests.web.conftest import SIGNATURE_HEADER, WEBHOOK_PATH

UPDATE = json.dumps({"event": "ContactUpdate", "contact": {"id": 4821}}).encode()


class SlowQueue:
    """An enqueue that waits until released (a database write taking its time)."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self.stored: list[int] = []

    def enqueue(self, ids: list[int], reason: str) -> None:
        self.entered.set()
        self.release.wait(timeout=10)
        self.stored.extend(ids)


def _app(queue: SlowQueue | None = None) -> Starlette:
    return build_app(
        webhook_path=WEBHOOK_PATH,
        signature_header=SIGNATURE_HEADER,
        secret=None,  # unsigned: these tests are about serving, not signatures
        enqueue=queue.enqueue if queue is not None else lambda ids, reason: None,
        health=lambda: HealthReport(True, {}),
        metrics=lambda: (b"", "text/plain"),
    )


def _server(queue: SlowQueue | None = None) -> WebServer:
    return WebServer(_app(queue), "127.0.0.1", 0)


def test_port_zero_listens_on_a_free_port_known_once_started() -> None:
    first, second = _server(), _server()
    with first, second:
        assert first.port > 0 and first.port != second.port
        assert first.base_url == f"http://127.0.0.1:{first.port}"
        assert first.running
        assert httpx.get(f"{first.base_url}/healthz").status_code == 200


def test_the_port_is_unknown_before_start_and_after_stop() -> None:
    server = _server()
    with pytest.raises(RuntimeError):
        _ = server.port
    server.start()
    server.stop()
    with pytest.raises(RuntimeError):
        _ = server.port
    assert not server.running


def test_a_stopped_server_no_longer_answers_and_stopping_twice_is_harmless() -> None:
    server = _server().start()
    url = server.base_url
    server.stop()
    server.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/healthz")


def test_a_server_cannot_be_started_twice() -> None:
    with _server() as server, pytest.raises(RuntimeError):
        server.start()


def test_a_busy_port_is_an_error_at_start() -> None:
    with _server() as busy, pytest.raises(OSError):
        WebServer(_app(), "127.0.0.1", busy.port).start()


def test_stop_lets_a_request_in_flight_finish_and_its_contact_is_stored() -> None:
    queue = SlowQueue()
    server = _server(queue).start()
    answers: list[httpx.Response] = []
    sender = threading.Thread(
        target=lambda: answers.append(
            httpx.post(f"{server.base_url}{WEBHOOK_PATH}", content=UPDATE, timeout=10)
        )
    )
    sender.start()
    assert queue.entered.wait(timeout=5)
    threading.Timer(0.2, queue.release.set).start()  # the write ends during the stop

    server.stop(timeout=5)
    sender.join(timeout=5)

    assert [a.status_code for a in answers] == [202]
    assert queue.stored == [4821]


def test_stop_gives_up_on_a_request_that_outlasts_the_timeout() -> None:
    queue = SlowQueue()
    server = _server(queue).start()
    sender = threading.Thread(
        target=lambda: httpx.post(f"{server.base_url}{WEBHOOK_PATH}", content=UPDATE, timeout=10),
        daemon=True,
    )
    sender.start()
    assert queue.entered.wait(timeout=5)
    started = time.monotonic()
    try:
        server.stop(timeout=0.3)
        assert time.monotonic() - started < 3.0
        assert not server.running
    finally:
        queue.release.set()  # let the worker thread of the abandoned request end
        sender.join(timeout=5)
