"""The ContactAddress write endpoints over HTTP: thin adapters to ``AddressOperations``.

POST /api/ContactAddress                       body: the address and ``contactId``
PUT  /api/ContactAddress/{id}                  body: the address (``setAsPrimary``)
PUT  /api/ContactAddress/Archive/{id}          no body; 200, empty
PUT  /api/ContactAddress/Unarchive/{id}        no body; 200, empty
(GET /api/ContactAddress/{id} and /ByContact/{id} are reads, in api.py.)
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from syncengine.sandbox.addresses import AddressOperations
from syncengine.sandbox.api import read_json


def _id(request: Request) -> int:
    return int(request.path_params["id"])


def address_routes(addresses: AddressOperations) -> list[BaseRoute]:
    async def create(request: Request) -> Response:
        return JSONResponse(addresses.create(await read_json(request)))

    async def update(request: Request) -> Response:
        return JSONResponse(addresses.update(_id(request), await read_json(request)))

    async def archive(request: Request) -> Response:
        addresses.set_archived(_id(request), True)
        return Response(status_code=200)

    async def unarchive(request: Request) -> Response:
        addresses.set_archived(_id(request), False)
        return Response(status_code=200)

    return [
        Route("/api/ContactAddress", create, methods=["POST"]),
        Route("/api/ContactAddress/Archive/{id:int}", archive, methods=["PUT"]),
        Route("/api/ContactAddress/Unarchive/{id:int}", unarchive, methods=["PUT"]),
        Route("/api/ContactAddress/{id:int}", update, methods=["PUT"]),
    ]
