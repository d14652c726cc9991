"""Fixtures for the web adapter: a real server on 127.0.0.1, a free port, and fakes for
the callables the daemon passes in (an in-memory queue, a health check, metrics)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from syncengine.web import HealthReport, WebServer, build_app, sign_base64

SECRET = "whsec-Test-SECRET-5f0c9a7e"
SIGNATURE_HEADER = "X-Virtuous-Signature"
WEBHOOK_PATH = "/webhooks/crmplus"
METRICS_BODY = b"# a fixed exposition for the tests\n"
METRICS_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@dataclass
class FakeDaemon:
    """What the daemon would pass to ``build_app``, recording every call."""

    queued: list[tuple[list[int], str]] = field(default_factory=list)
    health_report: HealthReport = field(default_factory=lambda: HealthReport(True, {}))
    enqueue_error: Exception | None = None
    deliveries: list[str] = field(default_factory=list)

    def enqueue(self, ids: list[int], reason: str) -> None:
        if self.enqueue_error is not None:
            raise self.enqueue_error
        self.queued.append((list(ids), reason))

    def health(self) -> HealthReport:
        return self.health_report

    def metrics(self) -> tuple[bytes, str]:
        return METRICS_BODY, METRICS_TYPE

    def reset(self) -> None:
        self.queued.clear()
        self.deliveries.clear()
        self.health_report = HealthReport(True, {})
        self.enqueue_error = None

    @property
    def queued_ids(self) -> list[int]:
        return [contact for ids, _ in self.queued for contact in ids]


@dataclass
class Served:
    """A running server with its fake daemon and a client on it."""

    server: WebServer
    daemon: FakeDaemon
    client: httpx.Client


Serve = Callable[..., Served]


def _start(*, daemon: FakeDaemon | None = None, **options: Any) -> Served:
    daemon = daemon or FakeDaemon()
    options.setdefault("secret", SECRET)
    options.setdefault("webhook_path", WEBHOOK_PATH)
    options.setdefault("signature_header", SIGNATURE_HEADER)
    options.setdefault("enqueue", daemon.enqueue)
    options.setdefault("health", daemon.health)
    options.setdefault("metrics", daemon.metrics)
    options.setdefault("on_delivery", daemon.deliveries.append)
    server = WebServer(build_app(**options), "127.0.0.1", 0).start()
    # verify=False: plain HTTP on loopback, and no CA bundle load (~40 ms) per client.
    client = httpx.Client(base_url=server.base_url, timeout=5.0, verify=False)
    return Served(server=server, daemon=daemon, client=client)


def _stop(served: Served) -> None:
    served.client.close()
    served.server.stop()


@pytest.fixture
def serve() -> Iterator[Serve]:
    """``serve(secret=..., max_body=..., daemon=..., **build_app options)``: a started
    server on 127.0.0.1, port 0 (secret defaults to ``SECRET``; None for unsigned),
    stopped after the test."""
    started: list[Served] = []

    def start(**options: Any) -> Served:
        served = _start(**options)
        started.append(served)
        return served

    yield start
    for served in started:
        _stop(served)


@pytest.fixture(scope="session")
def _shared() -> Iterator[Served]:
    served = _start()
    yield served
    _stop(served)


@pytest.fixture
def served(_shared: Served) -> Served:
    """The shared server with ``SECRET`` set and the default options; its fake daemon
    starts every test empty (nothing queued, healthy)."""
    _shared.daemon.reset()
    return _shared


def signed(body: bytes, *, secret: str = SECRET) -> dict[str, str]:
    """Headers for a request signed as CRM+ documents it (Base64)."""
    return {SIGNATURE_HEADER: sign_base64(secret, body), "Content-Type": "application/json"}
