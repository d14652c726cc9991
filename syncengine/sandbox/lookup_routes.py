"""The lookup endpoints over HTTP: thin adapters from requests to ``ContactLookups``.

``GET /api/Contact/{referenceSource}/{referenceId}`` is all parameters, so it would also
match paths other routes own for other methods (``GET /api/Contact/Archive/5``,
``GET /api/Contact/Query/FullContact``) and turn their 405 into a lookup. It is a
``_YieldingRoute``: it steps aside whenever another route knows the path, whatever the
order the routes were registered in.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Match, Route
from starlette.types import Scope

from syncengine.sandbox.api import read_json
from syncengine.sandbox.lookups import ContactLookups
from syncengine.sandbox.operations import CrmOperations
from syncengine.sandbox.settings import SandboxSettings
from syncengine.sandbox.state import SandboxState


class _YieldingRoute(Route):
    """A route that matches only paths no other route of the app matches."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child_scope = super().matches(scope)
        if match is Match.NONE:
            return match, child_scope
        router = scope.get("router")
        others = [r for r in getattr(router, "routes", []) if not isinstance(r, _YieldingRoute)]
        if any(route.matches(scope)[0] is not Match.NONE for route in others):
            return Match.NONE, {}
        return match, child_scope


def lookup_routes(
    ops: CrmOperations, settings: SandboxSettings, state: SandboxState
) -> list[BaseRoute]:
    lookups = ContactLookups(ops, settings, state)

    async def by_reference(request: Request) -> Response:
        params = request.path_params
        return JSONResponse(lookups.by_reference(params["source"], params["reference"]))

    async def by_reference_id(request: Request) -> Response:
        return JSONResponse(lookups.by_reference_id(request.path_params["reference"]))

    async def search(request: Request) -> Response:
        params = request.query_params
        body = await read_json(request)
        return JSONResponse(lookups.search(body, params.get("skip"), params.get("take")))

    async def contact_types(request: Request) -> Response:
        return JSONResponse(lookups.contact_types())

    async def find_individual(request: Request) -> Response:
        return JSONResponse(lookups.individual_by_email(request.query_params.get("email")))

    async def individuals_of(request: Request) -> Response:
        return JSONResponse(lookups.individuals_of(int(request.path_params["id"])))

    async def organizations(request: Request) -> Response:
        return JSONResponse(lookups.organizations())

    return [
        Route("/api/Contact/ByReference/{reference}", by_reference_id, methods=["GET"]),
        Route("/api/Contact/Search", search, methods=["POST"]),
        Route("/api/Contact/Types", contact_types, methods=["GET"]),
        Route("/api/ContactIndividual/Find", find_individual, methods=["GET"]),
        Route("/api/ContactIndividual/ByContact/{id:int}", individuals_of, methods=["GET"]),
        Route("/api/Organization", organizations, methods=["GET"]),
        _YieldingRoute("/api/Contact/{source}/{reference}", by_reference, methods=["GET"]),
    ]
