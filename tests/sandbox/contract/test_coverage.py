"""Every route the sandbox serves has at least one contract row: a route added without
one fails here, naming it."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from tests.sandbox.contract.case import Case
from tests.sandbox.contract.routes import api_routes, served_by, uncovered
from tests.sandbox.contract.table import ROWS


def test_every_sandbox_route_has_a_contract_row() -> None:
    missing = uncovered(api_routes(), ROWS)
    assert not missing, "routes without a row in tests/sandbox/contract: " + ", ".join(missing)


def test_every_sandbox_route_has_a_success_row() -> None:
    # Error rows alone would leave the route's answer shape unchecked, and no 401 row
    # would be derived for it (table.with_a_wrong_token).
    successes = [case for case in ROWS if case.succeeds]
    missing = uncovered(api_routes(), successes)
    assert not missing, "routes without a 2xx row in tests/sandbox/contract: " + ", ".join(missing)


def test_a_route_without_a_row_is_reported() -> None:
    async def endpoint(request: object) -> Response:
        return Response()

    extra = Route("/api/Contact/Unrowed/{id:int}", endpoint, methods=["GET", "DELETE"])
    missing = uncovered([*api_routes(), extra], ROWS)
    assert missing == ["DELETE /api/Contact/Unrowed/{id:int}", "GET /api/Contact/Unrowed/{id:int}"]


def test_a_row_counts_for_the_route_its_request_lands_on() -> None:
    routes = api_routes()
    # "Find" is no int: the row reaches the Find route, not GET /api/Contact/{id:int}.
    find = served_by(routes, "GET", "/api/Contact/Find")
    assert isinstance(find, Route) and find.path == "/api/Contact/Find"
    # A row whose method the path does not serve reaches nothing (Starlette answers 405).
    only_wrong_method = [Case("x", "DELETE", "/api/Contact/Find", 405, None)]
    assert "GET /api/Contact/Find" in uncovered(routes, only_wrong_method)


def test_row_names_are_unique() -> None:
    names = [case.name for case in ROWS]
    assert sorted(n for n in names if names.count(n) > 1) == []
