"""The error answers of the CRM+ API, as exceptions the endpoints raise and one renderer.

Each body copies the shape integrators recorded for that status (see crmplus-api.md,
"Errors"); the 422 details reuse ``syncengine.errors.FieldProblem`` so client and
sandbox speak of field complaints in the same terms.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from starlette.responses import JSONResponse, Response

from syncengine.errors import FieldProblem

INVALID_REQUEST = "The request is invalid."


class ApiError(Exception):
    """An answer other than success; ``status`` and ``body()`` are what the client sees."""

    status = 500

    def body(self) -> Any:
        return {"message": "An error has occurred."}

    def headers(self) -> Mapping[str, str]:
        return {}


class BadRequestError(ApiError):
    """400: malformed JSON, a value of the wrong type, an item id that is not the contact's."""

    status = 400

    def __init__(self, message: str, model_state: Mapping[str, Sequence[str]] | None = None):
        super().__init__(message)
        self.message = message
        self.model_state = {key: list(value) for key, value in (model_state or {}).items()}

    def body(self) -> Any:
        if not self.model_state:
            return {"message": self.message}
        # ASP.NET Web API style: keys name the field path ("contact.isPrivate").
        return {"message": self.message, "modelState": self.model_state}


class NotFoundError(ApiError):
    """404 with an EMPTY body, as the live API answers for an unknown id."""

    status = 404

    def body(self) -> Any:
        return None


class ConflictError(ApiError):
    """409: a unique value (an email) already belongs to another contact."""

    status = 409

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def body(self) -> Any:
        return {"message": self.message}


class UnprocessableError(ApiError):
    """422: well-typed values that are not valid (the newer error shape)."""

    status = 422

    def __init__(self, problems: Sequence[FieldProblem]) -> None:
        super().__init__("validation failed")
        self.problems = list(problems)

    def body(self) -> Any:
        return {
            "error": {
                "code": "ValidationFailed",
                "message": "One or more fields are invalid.",
                "details": [
                    {"field": p.field, "code": p.code, "message": p.message} for p in self.problems
                ],
            }
        }


class ServerError(ApiError):
    """500: what the live API answers for some requests it cannot serve (e.g. huge skips)."""


def error_response(error: ApiError) -> Response:
    body = error.body()
    if body is None:
        return Response(status_code=error.status, headers=dict(error.headers()))
    return JSONResponse(body, status_code=error.status, headers=dict(error.headers()))
