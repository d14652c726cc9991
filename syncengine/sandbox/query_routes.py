"""The contact query routes besides Query/FullContact (which ``api`` serves): the
abbreviated ``POST /api/Contact/Query`` and ``GET /api/Contact/QueryOptions``."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from syncengine.sandbox.api import read_json
from syncengine.sandbox.operations import CrmOperations
from syncengine.sandbox.query_options import query_options


def query_routes(ops: CrmOperations) -> list[BaseRoute]:
    async def query_abbreviated(request: Request) -> Response:
        params = request.query_params
        body = await read_json(request)
        answer = ops.query_contacts(body, params.get("skip"), params.get("take"), abbreviated=True)
        return JSONResponse(answer)

    async def get_query_options(request: Request) -> Response:
        return JSONResponse(query_options(ops.query_context()))

    return [
        Route("/api/Contact/Query", query_abbreviated, methods=["POST"]),
        Route("/api/Contact/QueryOptions", get_query_options, methods=["GET"]),
    ]
