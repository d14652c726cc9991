"""The test hooks over HTTP, under ``/_sandbox`` (mounted only with test hooks on).

POST   /_sandbox/seed                   body: seed data        replace all CRM data
POST   /_sandbox/reset                                         back to the initial state
PUT    /_sandbox/latency                {"seconds": 0.2}
GET    /_sandbox/faults                                        pending faults
POST   /_sandbox/faults                 {"method", "path", "count", "status",
                                         "retryAfter", "delay", "drop", "body"}
DELETE /_sandbox/faults
GET    /_sandbox/requests                                      the request log
DELETE /_sandbox/requests
POST   /_sandbox/contacts/{id}/ui-edit  partial Contact        edit as the CRM UI would
POST   /_sandbox/contacts/{id}/merge    {"into": id, "mode": "pointer"|"gone"}
GET    /_sandbox/contacts/{id}                                 raw contact
GET    /_sandbox/state                                         raw state (seed format)
POST   /_sandbox/rate-limit/reset
"""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from syncengine.sandbox.api import read_json
from syncengine.sandbox.api_errors import BadRequestError
from syncengine.sandbox.faults import Fault
from syncengine.sandbox.hooks import SandboxHooks
from syncengine.sandbox.seed import SeedError

HOOKS_PREFIX = "/_sandbox"


def _done() -> Response:
    return Response(status_code=204)


def _id(request: Request) -> int:
    return int(request.path_params["id"])


def _field(body: Any, key: str) -> Any:
    if not isinstance(body, dict) or key not in body:
        raise BadRequestError(f"The body needs '{key}'.")
    return body[key]


def hook_routes(hooks: SandboxHooks) -> list[BaseRoute]:
    async def seed(request: Request) -> Response:
        try:
            hooks.seed(await read_json(request))
        except SeedError as exc:
            raise BadRequestError(str(exc)) from exc
        return _done()

    async def reset(request: Request) -> Response:
        hooks.reset()
        return _done()

    async def latency(request: Request) -> Response:
        seconds = _field(await read_json(request), "seconds")
        if isinstance(seconds, bool) or not isinstance(seconds, int | float):
            raise BadRequestError("'seconds' must be a number.")
        hooks.set_latency(seconds)
        return _done()

    async def list_faults(request: Request) -> Response:
        return JSONResponse([f.to_json() for f in hooks.pending_faults()])

    async def add_fault(request: Request) -> Response:
        body = await read_json(request)
        try:
            fault = Fault.from_json(body)
        except (KeyError, TypeError, ValueError, AttributeError, re.error) as exc:
            raise BadRequestError(f"Not a fault: {exc!r}.") from exc
        return JSONResponse(hooks.add_fault(fault).to_json(), status_code=201)

    async def clear_faults(request: Request) -> Response:
        hooks.clear_faults()
        return _done()

    async def list_requests(request: Request) -> Response:
        return JSONResponse([r.to_json() for r in hooks.requests()])

    async def clear_requests(request: Request) -> Response:
        hooks.clear_requests()
        return _done()

    async def ui_edit(request: Request) -> Response:
        return JSONResponse(hooks.ui_edit(_id(request), await read_json(request)))

    async def merge(request: Request) -> Response:
        body = await read_json(request)
        into, mode = _field(body, "into"), body.get("mode", "pointer")
        if isinstance(into, bool) or not isinstance(into, int) or mode not in ("pointer", "gone"):
            raise BadRequestError("Merge needs an integer 'into' and a 'mode' of pointer or gone.")
        hooks.merge(_id(request), into, mode)
        return _done()

    async def raw_contact(request: Request) -> Response:
        return JSONResponse(hooks.raw_contact(_id(request)))

    async def raw_state(request: Request) -> Response:
        return JSONResponse(hooks.raw_state())

    async def reset_rate_limit(request: Request) -> Response:
        hooks.reset_rate_limit()
        return _done()

    p = HOOKS_PREFIX
    return [
        Route(f"{p}/seed", seed, methods=["POST"]),
        Route(f"{p}/reset", reset, methods=["POST"]),
        Route(f"{p}/latency", latency, methods=["PUT"]),
        Route(f"{p}/faults", list_faults, methods=["GET"]),
        Route(f"{p}/faults", add_fault, methods=["POST"]),
        Route(f"{p}/faults", clear_faults, methods=["DELETE"]),
        Route(f"{p}/requests", list_requests, methods=["GET"]),
        Route(f"{p}/requests", clear_requests, methods=["DELETE"]),
        Route(f"{p}/contacts/{{id:int}}/ui-edit", ui_edit, methods=["POST"]),
        Route(f"{p}/contacts/{{id:int}}/merge", merge, methods=["POST"]),
        Route(f"{p}/contacts/{{id:int}}", raw_contact, methods=["GET"]),
        Route(f"{p}/state", raw_state, methods=["GET"]),
        Route(f"{p}/rate-limit/reset", reset_rate_limit, methods=["POST"]),
    ]
