"""The CRM+ endpoints over HTTP: thin adapters from requests to ``CrmOperations``."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from syncengine.domain.limits import MAX_DEPTH, too_deep
from syncengine.sandbox.api_errors import BadRequestError
from syncengine.sandbox.operations import CrmOperations


async def read_json(request: Request) -> Any:
    """The request body as JSON; malformed or empty -> 400 ``{"message": ...}``."""
    raw = await request.body()
    if not raw.strip():
        raise BadRequestError("The request is invalid: the body is empty.")
    try:
        body = json.loads(raw, parse_constant=_reject_constant)
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise BadRequestError(
            f"The request is invalid: the body is not valid JSON ({exc})."
        ) from exc
    except RecursionError:
        body = None
        too_deep_body = True
    else:
        too_deep_body = too_deep(body)
    if too_deep_body:
        # Refused where it enters: the recursive checks behind would run out of stack
        # (a 500), and no CRM+ body nests anywhere near this deep.
        raise BadRequestError(
            f"The request is invalid: the body nests more than {MAX_DEPTH} levels deep."
        )
    return body


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _id(request: Request) -> int:
    return int(request.path_params["id"])


def api_routes(ops: CrmOperations) -> list[BaseRoute]:
    async def get_contact(request: Request) -> Response:
        return JSONResponse(ops.get_contact(_id(request)))

    async def put_contact(request: Request) -> Response:
        return JSONResponse(ops.put_contact(_id(request), await read_json(request)))

    async def create_contact(request: Request) -> Response:
        return JSONResponse(ops.create_contact(await read_json(request)))

    async def find_contact(request: Request) -> Response:
        params = request.query_params
        found = ops.find_contact(
            email=params.get("email"),
            reference_source=params.get("referenceSource"),
            reference_id=params.get("referenceId"),
        )
        return JSONResponse(found)

    async def query_contacts(request: Request) -> Response:
        params = request.query_params
        body = await read_json(request)
        return JSONResponse(ops.query_contacts(body, params.get("skip"), params.get("take")))

    async def archive(request: Request) -> Response:
        ops.set_archived(_id(request), True)
        return Response(status_code=200)

    async def unarchive(request: Request) -> Response:
        ops.set_archived(_id(request), False)
        return Response(status_code=200)

    async def get_address(request: Request) -> Response:
        return JSONResponse(ops.get_address(_id(request)))

    async def list_addresses(request: Request) -> Response:
        return JSONResponse(ops.list_addresses(_id(request)))

    async def get_individual(request: Request) -> Response:
        return JSONResponse(ops.get_individual(_id(request)))

    async def put_individual(request: Request) -> Response:
        return JSONResponse(ops.put_individual(_id(request), await read_json(request)))

    return [
        Route("/api/Contact/Find", find_contact, methods=["GET"]),
        Route("/api/Contact/Query/FullContact", query_contacts, methods=["POST"]),
        Route("/api/Contact/Archive/{id:int}", archive, methods=["PUT"]),
        Route("/api/Contact/Unarchive/{id:int}", unarchive, methods=["PUT"]),
        Route("/api/Contact/{id:int}", get_contact, methods=["GET"]),
        Route("/api/Contact/{id:int}", put_contact, methods=["PUT"]),
        Route("/api/Contact", create_contact, methods=["POST"]),
        Route("/api/ContactAddress/ByContact/{id:int}", list_addresses, methods=["GET"]),
        Route("/api/ContactAddress/{id:int}", get_address, methods=["GET"]),
        Route("/api/ContactIndividual/{id:int}", get_individual, methods=["GET"]),
        Route("/api/ContactIndividual/{id:int}", put_individual, methods=["PUT"]),
    ]
