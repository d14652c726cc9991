"""Structured logging: structlog to stderr, console or JSON lines, secrets scrubbed.

Configured once by the composition root; modules only call ``structlog.get_logger``.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, MutableMapping
from typing import Any

import structlog

from syncengine.safe_text import escape_controls

REDACTED = "***"


class SecretScrubber:
    """Replaces any known secret value found in a log event by ``***``.

    Defence in depth: no code path is supposed to log a token, but if one ever does
    (an exception text from a third-party library, say), the secret still stays out.
    """

    def __init__(self, secrets: Iterable[str | None]) -> None:
        # Very short values would blank out ordinary words: they are not worth scrubbing.
        self._secrets = tuple(s for s in secrets if s and len(s) >= 6)

    def scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return text

    def __call__(
        self, _logger: Any, _method: str, event: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        if not self._secrets:
            return event
        for key, value in list(event.items()):
            if isinstance(value, str):
                event[key] = self.scrub(value)
            elif not isinstance(value, int | float | bool | type(None)):
                event[key] = self.scrub(repr(value))
        return event


def escape_for_terminal(
    _logger: Any, _method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Console logs: a value from CRM+ or the platform (a key, an error quoting a value)
    must not reach the terminal with its escape sequences live. JSON logs escape anyway."""
    for key, value in list(event.items()):
        if isinstance(value, str):
            event[key] = escape_controls(value)
        elif not isinstance(value, int | float | bool | type(None)):
            event[key] = escape_controls(repr(value))
    return event


def configure_logging(level: str, fmt: str, secrets: Iterable[str | None] = ()) -> None:
    numeric = logging.getLevelName(level.upper())
    console = fmt != "json"
    renderer: Any = (
        structlog.dev.ConsoleRenderer(colors=False)
        if console
        else structlog.processors.JSONRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            SecretScrubber(secrets),
            *([escape_for_terminal] if console else []),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
    # Third-party libraries log through the standard library: keep them quiet and on stderr.
    logging.basicConfig(level=max(numeric, logging.WARNING), stream=sys.stderr)
    logging.getLogger("httpx").setLevel(logging.WARNING)
