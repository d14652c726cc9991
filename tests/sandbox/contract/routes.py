"""Which registered route serves a row, and which routes no row reaches.

Asks the Starlette app itself (``Route.matches``, first full match wins, as its router
does), so a row counts for the route the request really lands on, not for one whose
template merely looks alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from starlette.routing import BaseRoute, Match, Route

from syncengine.sandbox import SandboxSettings, create_app
from tests.sandbox.contract.case import Case

# Starlette answers HEAD on every GET route by itself; the API documents no HEAD.
_IMPLICIT_METHODS = frozenset({"HEAD"})


def api_routes() -> list[BaseRoute]:
    """Every route of the sandbox app as partners get it: test hooks off."""
    return list(create_app(SandboxSettings(token="contract", test_hooks=False)).routes)


def served_by(routes: Sequence[BaseRoute], method: str, path: str) -> BaseRoute | None:
    scope = {"type": "http", "method": method, "path": path, "root_path": ""}
    return next((r for r in routes if r.matches(scope)[0] is Match.FULL), None)


def uncovered(routes: Sequence[BaseRoute], rows: Iterable[Case]) -> list[str]:
    """ "METHOD /template" of each route method no row reaches; a route that is not a plain
    ``Route`` (a Mount, a WebSocket route) is listed too: rows cannot be checked against it."""
    reached = {
        (case.method, id(route))
        for case in rows
        if (route := served_by(routes, case.method, case.path)) is not None
    }
    missing = []
    for route in routes:
        if not isinstance(route, Route):
            missing.append(f"{route!r} (not a Route: the contract test cannot map rows to it)")
            continue
        for method in sorted(set(route.methods or ()) - _IMPLICIT_METHODS):
            if (method, id(route)) not in reached:
                missing.append(f"{method} {route.path}")
    return missing
