"""The custom collection endpoints over HTTP: thin adapters to ``CollectionOperations``."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from syncengine.sandbox.api import read_json
from syncengine.sandbox.api_errors import BadRequestError
from syncengine.sandbox.collection_defs import COLLECTION_OWNERS
from syncengine.sandbox.custom_collections import CollectionOperations


def _int(request: Request, name: str) -> int:
    return int(request.path_params[name])


def _instance_id(request: Request) -> int:
    raw = request.query_params.get("collectionInstanceId")
    if raw is None or not raw.strip().isdigit():
        raise BadRequestError("The request is invalid: collectionInstanceId must be given.")
    return int(raw)


def collection_routes(collections: CollectionOperations) -> list[BaseRoute]:
    routes: list[BaseRoute] = []
    for owner in COLLECTION_OWNERS:
        routes += _owner_routes(collections, owner)
    return routes


def _owner_routes(collections: CollectionOperations, owner: str) -> list[BaseRoute]:
    async def definitions(request: Request) -> Response:
        return JSONResponse(collections.definitions(owner))

    async def add(request: Request) -> Response:
        body = await read_json(request)
        return JSONResponse(collections.add(owner, _int(request, "id"), _int(request, "cid"), body))

    async def update(request: Request) -> Response:
        body = await read_json(request)
        # The vendor's client sends the INSTANCE id in this position for an update.
        return JSONResponse(
            collections.update(owner, _int(request, "id"), _int(request, "cid"), body)
        )

    async def delete(request: Request) -> Response:
        owner_id, collection_id = _int(request, "id"), _int(request, "cid")
        collections.delete(owner, owner_id, collection_id, _instance_id(request))
        return Response(status_code=200)

    instance = f"/api/{owner}/{{id:int}}/Collection/{{cid:int}}"
    return [
        Route(f"/api/{owner}/CustomCollections", definitions, methods=["GET"]),
        Route(instance, add, methods=["POST"]),
        Route(instance, update, methods=["PUT"]),
        Route(instance, delete, methods=["DELETE"]),
    ]
