"""Serving the sandbox: in-process on a free loopback port, or in the foreground (CLI)."""

from __future__ import annotations

import secrets
import socket
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import uvicorn
from starlette.types import ASGIApp

from syncengine.domain.ports import Clock
from syncengine.sandbox.app import create_app
from syncengine.sandbox.hooks import SandboxHooks
from syncengine.sandbox.imports import ImportOperations
from syncengine.sandbox.operations import CrmOperations
from syncengine.sandbox.seed import load_seed_file
from syncengine.sandbox.settings import PutSemantics, SandboxSettings
from syncengine.sandbox.state import SandboxState

LOOPBACK = "127.0.0.1"
_STARTUP_TIMEOUT = 10.0


class SandboxServer:
    """A sandbox served by uvicorn in a background thread on ``127.0.0.1`` and a free port.

        with SandboxServer(SandboxSettings(token="t", test_hooks=True)) as sandbox:
            httpx.get(f"{sandbox.base_url}/api/Contact/4821",
                      headers={"Authorization": f"Bearer {sandbox.token}"})
            sandbox.hooks.add_fault(Fault("PUT", r"^/api/Contact/4821$", drop=True))

    ``state`` (or ``clock`` and ``seed`` to build one) is shared with the hook API, so
    tests may also inspect it directly; without ``settings`` the token is random.
    """

    def __init__(
        self,
        settings: SandboxSettings | None = None,
        *,
        state: SandboxState | None = None,
        clock: Clock | None = None,
        seed: Any = None,
        host: str = LOOPBACK,
    ) -> None:
        if state is not None and (clock is not None or seed is not None):
            raise ValueError("pass either a state, or the clock and seed to build one")
        self.settings = settings or SandboxSettings(token=secrets.token_urlsafe(24))
        self.state = state or SandboxState(clock=clock, seed=seed)
        self._host = host
        ops = CrmOperations(self.settings, self.state)
        imports = ImportOperations(ops, self.state, self.settings)
        self._hooks = SandboxHooks(ops, self.state, imports)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    @property
    def token(self) -> str:
        return self.settings.token

    @property
    def port(self) -> int:
        if self._socket is None:
            raise RuntimeError("the sandbox is not running")
        return int(self._socket.getsockname()[1])

    @property
    def base_url(self) -> str:
        return f"http://{self._host}:{self.port}"

    @property
    def hooks(self) -> SandboxHooks:
        """The test hook API; refused unless the sandbox runs with ``test_hooks=True``."""
        if not self.settings.test_hooks:
            raise RuntimeError("test hooks are off: run the sandbox with test_hooks=True")
        return self._hooks

    def start(self) -> Self:
        if self._thread is not None:
            raise RuntimeError("the sandbox is already running")
        # Binding port 0 ourselves and handing uvicorn the socket avoids the race of
        # picking a "free" port number that something else takes before uvicorn binds it.
        # IPPROTO_TCP explicitly: asyncio only turns Nagle off (TCP_NODELAY) on sockets whose
        # proto says TCP, and with Nagle on every keep-alive response waits ~40 ms for an ACK.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self._host, 0))
        server = uvicorn.Server(
            _uvicorn_config(create_app(self.settings, self.state), log_level="warning")
        )
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="crmplus-sandbox", daemon=True
        )
        self._server, self._thread, self._socket = server, thread, sock
        thread.start()
        deadline = time.monotonic() + _STARTUP_TIMEOUT
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the sandbox server did not start")
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=_STARTUP_TIMEOUT)
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


def serve(
    host: str,
    port: int,
    token: str,
    put_semantics: PutSemantics | str = PutSemantics.REPLACE,
    hourly_limit: int = 5000,
    test_hooks: bool = False,
    seed_path: Path | str | None = None,
    *,
    max_skip: int = 10_000,
    contact_subtypes: Sequence[str] = (),
    log_level: str = "info",
    window_seconds: float = 3600.0,
    import_delay_seconds: float = 86_400.0,
) -> None:
    """Serve a sandbox in the foreground until interrupted (Ctrl-C): for ``syncengine sandbox``.

    Raises ``ConfigError`` for a bad option and ``SeedError`` for an unreadable seed file
    (both ``UsageError``s), before anything listens.
    """
    settings = SandboxSettings(
        token=token,
        put_semantics=PutSemantics.parse(put_semantics),
        hourly_limit=hourly_limit,
        window_seconds=window_seconds,
        import_delay_seconds=import_delay_seconds,
        test_hooks=test_hooks,
        max_skip=max_skip,
        contact_subtypes=tuple(contact_subtypes),
    )
    state = SandboxState(seed=load_seed_file(seed_path) if seed_path is not None else None)
    app = create_app(settings, state)
    config = _uvicorn_config(app, host=host, port=port, log_level=log_level, access_log=True)
    uvicorn.Server(config).run()


def _uvicorn_config(app: ASGIApp, **options: Any) -> uvicorn.Config:
    # h11 (pure Python): a "drop" fault relies on it closing the connection when the app
    # leaves a response unfinished. No lifespan: the app has no startup work.
    options.setdefault("access_log", False)
    return uvicorn.Config(app, http="h11", lifespan="off", **options)
