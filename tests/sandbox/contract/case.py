"""One row of the contract table: a request as the reference documents it, and the answer
it must get. Rows are data; ``test_contract`` replays every row the same way."""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import httpx

from syncengine.sandbox import PutSemantics
from tests.sandbox.contract.schemas import Schema

# Makes the request body, given a client with a valid token on the fresh sandbox (a
# builder may GET the record it edits). Bytes are sent as they are (malformed JSON).
BodyBuilder = Callable[[httpx.Client], Any]
Step = Callable[[httpx.Client], None]


class Auth(Enum):
    TOKEN = "the server's token"
    NONE = "no Authorization header"
    WRONG = "a token the server does not know"


@dataclass(frozen=True)
class Case:
    """``answer`` is the JSON Schema of the body; ``None`` means the body must be EMPTY.

    ``name`` is the test id (unique). Writes (any method but GET) run under both PUT
    semantics. ``settings`` start a dedicated sandbox (``SandboxSettings`` keywords, e.g.
    ``hourly_limit``); ``before`` runs first with a valid client (e.g. to spend the budget);
    ``headers`` are integer headers required besides X-RateLimit-* (``Retry-After``).
    ``deviation`` names a known way the sandbox breaks this row (under the semantics of
    ``deviation_under``): those runs are strict xfails, so a fix turns them red until the
    row's deviation is removed.
    """

    name: str
    method: str
    path: str
    status: int
    answer: Schema | None
    body: BodyBuilder | None = None
    params: Mapping[str, str] = field(default_factory=dict)
    auth: Auth = Auth.TOKEN
    headers: tuple[str, ...] = ()
    settings: Mapping[str, Any] = field(default_factory=dict)
    before: Step | None = None
    deviation: str = ""
    deviation_under: tuple[PutSemantics, ...] = tuple(PutSemantics)

    @property
    def semantics(self) -> list[PutSemantics]:
        """Under which PUT semantics the row runs: both for a write, one for a GET."""
        return list(PutSemantics) if self.method != "GET" else [PutSemantics.REPLACE]

    @property
    def succeeds(self) -> bool:
        return 200 <= self.status < 300

    def deviates_under(self, semantics: PutSemantics) -> bool:
        return bool(self.deviation) and semantics in self.deviation_under


# -- body builders ----------------------------------------------------------------------


def fixed(body: Any) -> BodyBuilder:
    """The same body every time (a fresh copy: a request must not alter the table)."""
    return lambda client: copy.deepcopy(body)


def raw(content: bytes) -> BodyBuilder:
    return lambda client: content


def echo(path: str, edit: Callable[[dict[str, Any]], None] | None = None) -> BodyBuilder:
    """What GET ``path`` answers, optionally edited in place: the documented pattern of
    "GET the current record, apply the changes, PUT the complete record"."""

    def build(client: httpx.Client) -> Any:
        response = client.get(path)
        assert response.status_code == 200, f"GET {path}: {response.status_code}"
        body: dict[str, Any] = response.json()
        if edit is not None:
            edit(body)
        return body

    return build


def changed(path: str, **changes: Any) -> BodyBuilder:
    """What GET ``path`` answers, with some top-level keys changed."""
    return echo(path, lambda body: body.update(changes))
