"""Serving the web app with uvicorn in a background thread (the daemon's HTTP side)."""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType
from typing import Self

import uvicorn
from starlette.types import ASGIApp

_STARTUP_TIMEOUT = 10.0
# After a graceful stop's timeout: how long the forced exit may take before we give up.
_FORCED_EXIT_WAIT = 2.0


class WebServer:
    """``app`` served on ``host:port`` by uvicorn in a daemon thread.

        server = WebServer(app, "127.0.0.1", 0).start()   # port 0: a free port
        httpx.get(f"{server.base_url}/healthz")
        server.stop()

    ``start()`` returns once the socket listens (the port is bound before uvicorn
    starts, so ``.port`` is known and no other process can take it in between);
    ``stop(timeout)`` stops accepting, lets requests in flight finish for up to
    ``timeout`` seconds, then closes what is left.
    """

    def __init__(self, app: ASGIApp, host: str, port: int, *, log_level: str = "warning") -> None:
        self._app = app
        self._host = host
        self._requested_port = port
        self._log_level = log_level
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    @property
    def host(self) -> str:
        return self._host

    @property
    def port(self) -> int:
        if self._socket is None:
            raise RuntimeError("the web server is not running")
        return int(self._socket.getsockname()[1])

    @property
    def base_url(self) -> str:
        host = f"[{self._host}]" if ":" in self._host else self._host  # an IPv6 literal
        return f"http://{host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, timeout: float = _STARTUP_TIMEOUT) -> Self:
        if self._thread is not None:
            raise RuntimeError("the web server is already running")
        sock = _listening_socket(self._host, self._requested_port)
        config = uvicorn.Config(
            self._app,
            # h11 (pure Python) and no lifespan: the app has no startup work, and the
            # same stack as the sandbox keeps one set of HTTP behaviours to know.
            http="h11",
            lifespan="off",
            log_level=self._log_level,
            access_log=False,  # the app logs each delivery itself, without headers
            server_header=False,
            proxy_headers=False,  # no proxy is trusted to say who the client is
            timeout_graceful_shutdown=None,  # stop() bounds the wait itself
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="syncengine-web", daemon=True
        )
        self._server, self._thread, self._socket = server, thread, sock
        thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                self.stop(timeout=0)
                raise RuntimeError(f"the web server did not start on {self._host}")
            time.sleep(0.005)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop gracefully: no new connections, requests in flight get up to ``timeout``
        seconds to finish, then uvicorn is told to exit at once. Safe to call twice."""
        server, thread = self._server, self._thread
        if server is not None:
            server.should_exit = True
        if thread is not None:
            thread.join(timeout=max(timeout, 0.0))
            if thread.is_alive() and server is not None:
                # Past the grace period: drop the connections still open.
                server.force_exit = True
                thread.join(timeout=_FORCED_EXIT_WAIT)
        if self._socket is not None:
            self._socket.close()
        self._server = self._thread = self._socket = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def _listening_socket(host: str, port: int) -> socket.socket:
    # Binding ourselves (rather than handing uvicorn host and port) gives port 0 a real
    # number before start() returns, with no window for another process to take it.
    # IPPROTO_TCP explicitly: asyncio only turns Nagle off on sockets whose proto says
    # TCP, and with Nagle on, every keep-alive answer waits ~40 ms for an ACK.
    infos = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP, flags=socket.AI_PASSIVE
    )
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError:
        sock.close()
        raise
    return sock
