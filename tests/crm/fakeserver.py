"""A tiny stateful CRM+ server for the client's tests, served through ``httpx.MockTransport``.

It keeps contacts, addresses and individuals, issues tokens, sends ``X-RateLimit-*`` on
every answer and can be told to misbehave on the next matching request:

- ``Fault.CONNECT_REFUSED``: the request never arrives (not in ``received``, not applied).
- ``Fault.TIMEOUT_AFTER_APPLY`` / ``Fault.DROP_AFTER_APPLY``: the server handles the request
  (state changes) and the answer is lost, as a read timeout or a dropped connection.
- an ``httpx.Response``: answered as it is, before any handling (nothing applied).

The client is never patched: everything it experiences comes through this transport.
"""

from __future__ import annotations

import copy
import enum
import itertools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx

DATA = Path(__file__).parent.parent / "data"  # the shared real-shaped fixtures

Record = dict[str, Any]


def load_fixture(name: str) -> Record:
    loaded: Record = json.loads((DATA / f"{name}.json").read_text())
    return loaded


class FakeClock:
    """Unix time that moves only when someone sleeps: waits are recorded, never spent."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class Fault(enum.Enum):
    CONNECT_REFUSED = "connect refused"
    CONNECT_TIMEOUT = "connect timeout"
    TIMEOUT_AFTER_APPLY = "read timeout after applying"
    DROP_AFTER_APPLY = "connection dropped after applying"


@dataclass
class _Scripted:
    method: str
    path: str
    action: Fault | httpx.Response


@dataclass
class FakeCrm:
    clock: FakeClock
    api_key: str = "sk-live-0123456789abcdef-APIKEY"
    users: dict[str, str] = field(default_factory=lambda: {"sync@example.org": "pw-Sekr1t!"})
    otp: str | None = None  # set: the password grant needs this one-time code (202 without)
    token_lifetime: float = 1_295_999.0
    limit: int = 5000
    remaining: int = 4999
    reset_in: float = 3600.0
    send_rate_headers: bool = True

    contacts: dict[int, Record] = field(default_factory=dict)
    addresses: dict[int, Record] = field(default_factory=dict)
    individuals: dict[int, Record] = field(default_factory=dict)
    archived: set[int] = field(default_factory=set)
    received: list[httpx.Request] = field(default_factory=list)
    token_grants: list[str] = field(default_factory=list)
    access_tokens: dict[str, float] = field(default_factory=dict)  # token -> expires at
    refresh_tokens: set[str] = field(default_factory=set)
    script: list[_Scripted] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1000))

    def __post_init__(self) -> None:
        self.reset_at = self.clock.time() + self.reset_in

    # -- test controls -------------------------------------------------------------------

    def seed(self) -> Record:
        """Put the recorded fixture contact (id 1), its address and its individual in."""
        contact = load_fixture("contact")
        self.contacts[contact["id"]] = contact
        address = copy.deepcopy(contact["address"])
        address["contactId"] = contact["id"]
        self.addresses[address["id"]] = address
        individual = load_fixture("individual")
        self.individuals[individual["id"]] = individual
        return copy.deepcopy(contact)

    def then(self, method: str, path: str, *actions: Fault | httpx.Response) -> None:
        """Misbehave on the next requests matching ``method`` and ``path`` (one action each)."""
        self.script.extend(_Scripted(method, path, action) for action in actions)

    def reaching(self, method: str, path: str) -> list[httpx.Request]:
        return [r for r in self.received if r.method == method and r.url.path == path]

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    # -- the server ----------------------------------------------------------------------

    def handle(self, request: httpx.Request) -> httpx.Response:
        action = self._next_action(request)
        if action is Fault.CONNECT_REFUSED:
            raise httpx.ConnectError("[Errno 111] Connection refused", request=request)
        if action is Fault.CONNECT_TIMEOUT:
            raise httpx.ConnectTimeout("timed out", request=request)
        self.received.append(request)
        self.remaining = max(0, self.remaining - 1)
        response = action if isinstance(action, httpx.Response) else self._route(request)
        if action is Fault.TIMEOUT_AFTER_APPLY:
            raise httpx.ReadTimeout("The read operation timed out", request=request)
        if action is Fault.DROP_AFTER_APPLY:
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a response.", request=request
            )
        if not self.send_rate_headers:
            return response
        response.headers.update(
            {
                "X-RateLimit-Limit": str(self.limit),
                "X-RateLimit-Remaining": str(self.remaining),
                "X-RateLimit-Reset": str(int(self.reset_at)),
            }
        )
        return response

    def _next_action(self, request: httpx.Request) -> Fault | httpx.Response | None:
        for i, scripted in enumerate(self.script):
            if scripted.method == request.method and scripted.path == request.url.path:
                del self.script[i]
                return scripted.action
        return None

    def _route(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if request.method == "POST" and path == "/Token":
            return self._token(request)
        if not self._authorised(request):
            return httpx.Response(
                401, json={"message": "Authorization has been denied for this request."}
            )
        for method, pattern, handler in self._routes():
            match = re.fullmatch(pattern, path)
            if match and request.method == method:
                return handler(request, *[int(g) for g in match.groups()])
        return httpx.Response(404)

    def _routes(self) -> list[tuple[str, str, Callable[..., httpx.Response]]]:
        return [
            ("GET", r"/api/Contact/Find", self._find),
            ("POST", r"/api/Contact/Query/FullContact", self._query),
            ("PUT", r"/api/Contact/Archive/(\d+)", self._archive),
            ("PUT", r"/api/Contact/Unarchive/(\d+)", self._unarchive),
            ("GET", r"/api/Contact/(\d+)", lambda r, i: self._get(self.contacts, i)),
            ("PUT", r"/api/Contact/(\d+)", lambda r, i: self._put(self.contacts, r, i)),
            ("POST", r"/api/Contact", self._create),
            ("GET", r"/api/ContactAddress/ByContact/(\d+)", self._addresses_of),
            ("GET", r"/api/ContactAddress/(\d+)", lambda r, i: self._get(self.addresses, i)),
            ("PUT", r"/api/ContactAddress/(\d+)", lambda r, i: self._put(self.addresses, r, i)),
            ("GET", r"/api/ContactIndividual/(\d+)", lambda r, i: self._get(self.individuals, i)),
            (
                "PUT",
                r"/api/ContactIndividual/(\d+)",
                lambda r, i: self._put(self.individuals, r, i),
            ),
        ]

    def _authorised(self, request: httpx.Request) -> bool:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            return False
        token = header.removeprefix("Bearer ")
        if token == self.api_key:
            return True
        expires_at = self.access_tokens.get(token)
        return expires_at is not None and self.clock.time() < expires_at

    # -- endpoints -----------------------------------------------------------------------

    @staticmethod
    def _get(table: dict[int, Record], record_id: int) -> httpx.Response:
        if record_id not in table:
            return httpx.Response(404)  # empty body, as the API does
        return httpx.Response(200, json=table[record_id])

    def _put(
        self, table: dict[int, Record], request: httpx.Request, record_id: int
    ) -> httpx.Response:
        if record_id not in table:
            return httpx.Response(404)
        body = json.loads(request.content)
        stored = {**table[record_id], **body, "id": record_id}
        stored["modifiedDateTimeUtc"] = "2024-01-02T03:04:05.67"
        table[record_id] = stored
        return httpx.Response(200, json=stored)

    def _create(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        contact_id = next(self._ids)
        stored = {**body, "id": contact_id}
        if "referenceSource" in body:
            stored["contactReferences"] = [
                {"source": body["referenceSource"], "id": body["referenceId"]}
            ]
        self.contacts[contact_id] = stored
        return httpx.Response(200, json=stored)

    def _find(self, request: httpx.Request) -> httpx.Response:
        params = request.url.params
        for contact in self.contacts.values():
            if "email" in params and params["email"].lower() in _emails(contact):
                return httpx.Response(200, json=contact)
            refs = {(r.get("source"), r.get("id")) for r in contact.get("contactReferences", [])}
            if (params.get("referenceSource"), params.get("referenceId")) in refs:
                return httpx.Response(200, json=contact)
        return httpx.Response(404)

    def _query(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        skip = int(request.url.params.get("skip", 0))
        take = int(request.url.params.get("take", 10))
        if take > 1000:
            return httpx.Response(400, json={"message": "take must be at most 1000"})
        found = [
            c
            for cid, c in sorted(self.contacts.items())
            if body.get("includeArchived") or cid not in self.archived
        ]
        return httpx.Response(200, json={"list": found[skip : skip + take], "total": len(found)})

    def _archive(self, request: httpx.Request, contact_id: int) -> httpx.Response:
        if contact_id not in self.contacts:
            return httpx.Response(404)
        self.archived.add(contact_id)
        return httpx.Response(200)

    def _unarchive(self, request: httpx.Request, contact_id: int) -> httpx.Response:
        if contact_id not in self.contacts:
            return httpx.Response(404)
        self.archived.discard(contact_id)
        return httpx.Response(200)

    def _addresses_of(self, request: httpx.Request, contact_id: int) -> httpx.Response:
        if contact_id not in self.contacts:
            return httpx.Response(404)
        found = [a for a in self.addresses.values() if a.get("contactId") == contact_id]
        return httpx.Response(200, json=found)

    def _token(self, request: httpx.Request) -> httpx.Response:
        form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
        grant = form.get("grant_type", "")
        self.token_grants.append(grant)
        if grant == "password":
            if self.users.get(form.get("username", "")) != form.get("password"):
                return _invalid_grant("The user name or password is incorrect.")
            if self.otp is not None and form.get("otp") != self.otp:
                return httpx.Response(202, json={"message": "Two-step verification required."})
            return self._issue()
        if grant == "refresh_token":
            refresh = form.get("refresh_token", "")
            if refresh not in self.refresh_tokens:
                return _invalid_grant("The refresh token is invalid or expired.")
            self.refresh_tokens.discard(refresh)
            return self._issue()
        return httpx.Response(400, json={"error": "unsupported_grant_type"})

    def _issue(self) -> httpx.Response:
        n = len(self.token_grants)
        access = f"at-{n:03d}-SECRET-ACCESS-TOKEN-6f1c0e"
        refresh = f"rt-{n:03d}-SECRET-REFRESH-TOKEN-9a2b7d"
        self.access_tokens[access] = self.clock.time() + self.token_lifetime
        self.refresh_tokens.add(refresh)
        return httpx.Response(
            200,
            json={
                "access_token": access,
                "token_type": "bearer",
                "expires_in": self.token_lifetime,
                "refresh_token": refresh,
            },
        )

    def expire_access_tokens(self) -> None:
        """Server-side revocation: every issued access token now gets a 401."""
        self.access_tokens.clear()


def _invalid_grant(description: str) -> httpx.Response:
    return httpx.Response(400, json={"error": "invalid_grant", "error_description": description})


def _emails(contact: Record) -> set[str]:
    return {
        str(method.get("value", "")).lower()
        for person in contact.get("contactIndividuals") or []
        for method in person.get("contactMethods") or []
        if "email" in str(method.get("type", "")).lower()
    }
