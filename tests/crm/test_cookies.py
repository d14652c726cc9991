"""The CRM+ client keeps no cookies: a ``Set-Cookie`` in an answer (a load balancer's
session affinity, say) is never sent back. Real HTTP on loopback: a tiny server that
sets a cookie on every answer and records the ``Cookie`` header of every request."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from syncengine.crm.auth import ApiKeyAuth
from syncengine.crm.client import CrmClient


class _CookieSetter(BaseHTTPRequestHandler):
    seen: list[str | None] = []

    def do_GET(self) -> None:
        _CookieSetter.seen.append(self.headers.get("Cookie"))
        body = json.dumps({"id": int(self.path.rsplit("/", 1)[-1]), "name": "x"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Set-Cookie", "ARRAffinity=abc123; Path=/")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture
def cookie_server() -> Iterator[str]:
    _CookieSetter.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _CookieSetter)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_cookie_the_server_sets_is_never_sent_back(cookie_server: str) -> None:
    with CrmClient(cookie_server, ApiKeyAuth("a-token-of-some-length")) as client:
        for contact_id in (1, 2, 3):
            assert client.get_contact(contact_id)["id"] == contact_id
    assert _CookieSetter.seen == [None, None, None]
    # A plain httpx client would have sent it back: the server does set one.
    with httpx.Client(base_url=cookie_server) as plain:
        plain.get("/api/Contact/1")
        plain.get("/api/Contact/2")
    assert _CookieSetter.seen[-1] == "ARRAffinity=abc123"


def test_no_cookie_can_be_put_on_the_client(cookie_server: str) -> None:
    with CrmClient(cookie_server, ApiKeyAuth("a-token-of-some-length")) as client:
        http = client._http  # the one way to reach it: the client hands it to no one
        with pytest.raises(TypeError, match="keeps no cookies"):
            http.cookies = {"a": "b"}
        with pytest.raises(TypeError, match="keeps no cookies"):
            http.cookies["a"] = "b"
        client.get_contact(4)
    assert _CookieSetter.seen == [None]
