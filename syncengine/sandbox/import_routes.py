"""The import endpoints over HTTP, their test hooks, and the middleware that runs due imports.

POST /api/Contact/Transaction   one flat transaction      200, empty body (no id: not yet a contact)
POST /api/Contact/Batch         {referenceSource, contacts} 200, empty body
GET  /_sandbox/imports          (test hooks) every accepted transaction and its fate
POST /_sandbox/imports/apply    (test hooks) apply every pending one now; answers those
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from syncengine.sandbox.api import read_json
from syncengine.sandbox.hook_routes import HOOKS_PREFIX
from syncengine.sandbox.hooks import SandboxHooks
from syncengine.sandbox.imports import ImportOperations
from syncengine.sandbox.middleware import API_PREFIX


def import_routes(imports: ImportOperations) -> list[BaseRoute]:
    async def transaction(request: Request) -> Response:
        imports.accept_transaction(await read_json(request))
        return Response(status_code=200)

    async def batch(request: Request) -> Response:
        imports.accept_batch(await read_json(request))
        return Response(status_code=200)

    return [
        Route("/api/Contact/Transaction", transaction, methods=["POST"]),
        Route("/api/Contact/Batch", batch, methods=["POST"]),
    ]


def import_hook_routes(hooks: SandboxHooks) -> list[BaseRoute]:
    # Through the hook API, as every /_sandbox route: HTTP and Python do the same thing.
    async def listed(request: Request) -> Response:
        return JSONResponse([entry.to_json() for entry in hooks.imports()])

    async def apply(request: Request) -> Response:
        return JSONResponse([entry.to_json() for entry in hooks.apply_imports()])

    return [
        Route(f"{HOOKS_PREFIX}/imports", listed, methods=["GET"]),
        Route(f"{HOOKS_PREFIX}/imports/apply", apply, methods=["POST"]),
    ]


class DueImportsMiddleware:
    """Before each API request is answered, apply the imports that have come due: time in
    the sandbox only shows when someone asks, so this is when the "nightly batch" runs."""

    def __init__(self, app: ASGIApp, *, imports: ImportOperations) -> None:
        self.app = app
        self.imports = imports

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and str(scope["path"]).startswith(API_PREFIX):
            self.imports.apply_due()
        await self.app(scope, receive, send)
