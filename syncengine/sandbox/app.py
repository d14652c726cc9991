"""The Starlette application of one sandbox organisation."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from syncengine.sandbox.address_routes import address_routes
from syncengine.sandbox.addresses import AddressOperations
from syncengine.sandbox.api import api_routes
from syncengine.sandbox.api_errors import ApiError, error_response
from syncengine.sandbox.collection_routes import collection_routes
from syncengine.sandbox.custom_collections import CollectionOperations
from syncengine.sandbox.hook_routes import hook_routes
from syncengine.sandbox.hooks import SandboxHooks
from syncengine.sandbox.import_routes import DueImportsMiddleware, import_hook_routes, import_routes
from syncengine.sandbox.imports import ImportOperations
from syncengine.sandbox.lookup_routes import lookup_routes
from syncengine.sandbox.middleware import (
    AuthRateLimitMiddleware,
    FaultMiddleware,
    RequestLogMiddleware,
)
from syncengine.sandbox.operations import CrmOperations
from syncengine.sandbox.query_routes import query_routes
from syncengine.sandbox.settings import SandboxSettings
from syncengine.sandbox.state import SandboxState


def create_app(settings: SandboxSettings, state: SandboxState | None = None) -> Starlette:
    """The sandbox as an ASGI app; ``state`` defaults to the default seed on the system clock."""
    state = state if state is not None else SandboxState()
    ops = CrmOperations(settings, state)
    imports = ImportOperations(ops, state, settings)
    routes = api_routes(ops) + address_routes(AddressOperations(ops, state))
    routes += query_routes(ops) + import_routes(imports)
    routes += collection_routes(CollectionOperations(ops, state))
    routes += lookup_routes(ops, settings, state)
    if settings.test_hooks:
        hooks = SandboxHooks(ops, state, imports)
        routes += hook_routes(hooks) + import_hook_routes(hooks)
    return Starlette(
        routes=routes,
        middleware=[
            Middleware(RequestLogMiddleware, state=state),
            Middleware(AuthRateLimitMiddleware, settings=settings, state=state),
            Middleware(FaultMiddleware, state=state),
            Middleware(DueImportsMiddleware, imports=imports),
        ],
        exception_handlers={ApiError: _api_error, HTTPException: _http_error},
    )


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)  # registered for ApiError only
    return error_response(exc)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)  # registered for HTTPException only
    if exc.status_code == 404:
        return Response(status_code=404)  # the live API's 404s have an empty body
    if exc.status_code == 405:
        message = f"The requested resource does not support http method '{request.method}'."
        return JSONResponse({"message": message}, status_code=405, headers=exc.headers)
    return JSONResponse({"message": exc.detail}, status_code=exc.status_code, headers=exc.headers)
