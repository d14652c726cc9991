"""The review page's Starlette application: routes, sessions, login, CSRF, headers.

Handlers are plain functions run in Starlette's thread pool (``def`` endpoints would be,
but the middleware needs ``async``): the stores and the CRM+ client block.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from syncengine.domain.ports import ConflictQuery, ConflictStatus, SuggestedSide
from syncengine.domain.records import CONTACT_ID_RANGE, MAX_CONTACT_ID, MIN_CONTACT_ID
from syncengine.errors import SyncEngineError
from syncengine.reports.model import AGE_BUCKETS
from syncengine.review import pages
from syncengine.review.access import (
    CSRF_FIELD,
    SECURITY_HEADERS,
    check_exposure,
    csrf_token,
    csrf_valid,
    password_matches,
)
from syncengine.review.decisions import (
    Decider,
    DecisionRefused,
    chosen_value,
    decide,
    take_suggestions,
)
from syncengine.review.flatten import side_by_side
from syncengine.review.services import ReviewOptions, ReviewServices

log = structlog.get_logger(__name__)

# The rules a conflict can carry, for the queue's filter (engine and merge spell them).
RULES = (
    "manual",
    "newest",
    "crm",
    "platform",
    "duplicate-value",
    "duplicate-natural-key",
    "removed-vs-edited",
    "held",
    "merged",
    "merged-away",
    "push",
)
_PUBLIC = frozenset({"/login", "/healthz"})
# Conflict ids are the database's BIGINT keys; a larger number names none (and would be
# a database error on PostgreSQL, not a "no such conflict").
MAX_ID = 2**63 - 1
# Far beyond any queue, and its offset far inside BIGINT.
MAX_PAGE = 1_000_000
_ANONYMOUS = "anonymous"


def build_review_app(services: ReviewServices, options: ReviewOptions) -> Starlette:
    """The review application. Refuses (``ConfigError``) to be built for a non-loopback
    address without users: the page would be open to anyone who can reach it."""
    check_exposure(options.host, options.users)
    review = _Review(services, options)
    routes = [
        Route("/", review.queue, methods=["GET"]),
        Route("/contacts/{contact_id:int}", review.contact, methods=["GET"]),
        Route("/conflicts/{conflict_id:int}/resolve", review.resolve, methods=["POST"]),
        Route("/bulk", review.bulk, methods=["POST"]),
        Route("/login", review.login_form, methods=["GET"]),
        Route("/login", review.login, methods=["POST"]),
        Route("/logout", review.logout, methods=["POST"]),
        Route("/healthz", review.health, methods=["GET"]),
    ]
    middleware = [
        Middleware(BaseHTTPMiddleware, dispatch=_security_headers),
        Middleware(
            SessionMiddleware,
            secret_key=options.session_secret or secrets.token_urlsafe(32),
            session_cookie="syncengine_review",
            max_age=options.session_minutes * 60,
            same_site="strict",
            https_only=False,  # loopback or behind a TLS proxy; the cookie is signed
        ),
        Middleware(BaseHTTPMiddleware, dispatch=review.guard),
    ]
    return Starlette(
        routes=routes,
        middleware=middleware,
        exception_handlers={SyncEngineError: review.failure},
    )


async def _security_headers(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    response = await call_next(request)
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


class _Review:
    def __init__(self, services: ReviewServices, options: ReviewOptions) -> None:
        self._services = services
        self._options = options
        # One sync at a time from this page: a data manager's double click must not start
        # two (the claims would make the second wait, holding a request thread).
        self._syncing = threading.Lock()

    # -- access --------------------------------------------------------------------------

    async def guard(
        self, request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        """Login (when users are configured), session expiry, and CSRF on every POST."""
        session = request.session
        now = self._options.clock()
        seen = session.get("seen_at")
        if isinstance(seen, int | float) and now - seen > self._options.session_minutes * 60:
            session.clear()  # expired: a new session, and a new login where needed
        session["seen_at"] = now
        if request.method == "POST":
            form = await _form(request)
            if not csrf_valid(session, form.get(CSRF_FIELD)):
                return self._refuse(
                    request,
                    403,
                    "The form was not sent by this page "
                    "(its CSRF token is missing or stale). Reload and try again.",
                )
        if self._options.users and request.url.path not in _PUBLIC and not _user(session):
            if request.method == "GET":
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                return RedirectResponse(f"/login?next={_quote_path(target)}", status_code=303)
            return self._refuse(request, 401, "Sign in first.")
        return await call_next(request)

    def _refuse(self, request: Request, status: int, text: str) -> Response:
        title = "Forbidden" if status == 403 else "Sign in needed"
        body = pages.message_page(title, self._chrome(request), text)
        return HTMLResponse(body, status_code=status)

    async def login_form(self, request: Request) -> Response:
        next_path = _local_path(request.query_params.get("next", "/"))
        return HTMLResponse(pages.login_page(self._chrome(request), next_path=next_path))

    async def login(self, request: Request) -> Response:
        form = await _form(request)
        name, password = _text(form, "name"), _text(form, "password")
        next_path = _local_path(_text(form, "next") or "/")
        matches = await run_in_threadpool(password_matches, self._options.users, name, password)
        if not matches:
            log.warning("review.login_refused", user=name, client=_client(request))
            chrome = self._chrome(request, error="Wrong name or password.")
            return HTMLResponse(
                pages.login_page(chrome, next_path=next_path, name=name), status_code=401
            )
        request.session.clear()  # a new session on login: no fixation
        request.session.update({"user": name, "seen_at": self._options.clock()})
        log.info("review.login", user=name, client=_client(request))
        return RedirectResponse(next_path, status_code=303)

    async def logout(self, request: Request) -> Response:
        request.session.clear()
        return RedirectResponse("/login" if self._options.users else "/", status_code=303)

    async def failure(self, request: Request, exc: Exception) -> Response:
        """The database or CRM+ failed under a page: say so (without any secret), 503."""
        log.error("review.failed", path=request.url.path, error=self._scrub(str(exc)))
        text = f"This page could not be made: {self._scrub(str(exc))}. Try again shortly."
        body = pages.message_page("Not available", self._chrome(request), text)
        return HTMLResponse(body, status_code=503)

    async def health(self, request: Request) -> Response:
        return PlainTextResponse("ok")

    # -- pages ---------------------------------------------------------------------------

    async def queue(self, request: Request) -> Response:
        params = request.query_params
        try:
            query, filters, page_number = _queue_query(params, self._options.page_size)
        except ValueError as exc:
            return HTMLResponse(
                pages.message_page("Bad filter", self._chrome(request), str(exc)), status_code=400
            )
        conflicts = self._services.conflicts
        found, fields = await run_in_threadpool(lambda: (conflicts.page(query), conflicts.fields()))
        size = self._options.page_size
        view = pages.QueueView(
            conflicts=found.items,
            total=found.total,
            page_number=page_number,
            pages=(found.total + size - 1) // size,
            filters=filters,
            fields=sorted(fields.items()),
            rules=RULES,
            now=datetime.now(UTC),
        )
        return HTMLResponse(pages.queue_page(view, self._chrome(request, pop_flash=True)))

    async def contact(self, request: Request) -> Response:
        contact_id = int(request.path_params["contact_id"])
        if not MIN_CONTACT_ID <= contact_id <= MAX_CONTACT_ID:
            text = f"No contact {contact_id}: CRM+ contact ids run from {CONTACT_ID_RANGE}."
            return HTMLResponse(
                pages.message_page("No such contact", self._chrome(request), text),
                status_code=404,
            )
        view = await run_in_threadpool(self._contact_view, contact_id, {})
        return HTMLResponse(pages.contact_page(view, self._chrome(request, pop_flash=True)))

    def _contact_view(self, contact_id: int, typed: Mapping[int, str]) -> pages.ContactView:
        services = self._services
        sides = services.contact_sides(contact_id)
        everything = services.conflicts.list(contact_id=contact_id)
        return pages.ContactView(
            sides=sides,
            open_conflicts=[c for c in everything if c.status is ConflictStatus.OPEN],
            decided=[c for c in everything if c.status is not ConflictStatus.OPEN],
            writes=services.history(contact_id),
            problems=services.problems.list(contact_id=contact_id),
            rows=side_by_side(sides.platform, sides.mirror, sides.crm, sides.platform_leaves),
            typed=typed,
        )

    # -- decisions -----------------------------------------------------------------------

    async def resolve(self, request: Request) -> Response:
        conflict_id = int(request.path_params["conflict_id"])
        form = await _form(request)
        choice, typed = _text(form, "choice"), _text(form, "value")
        conflict = (
            await run_in_threadpool(self._services.conflicts.get, conflict_id)
            if 1 <= conflict_id <= MAX_ID
            else None
        )
        if conflict is None:
            return HTMLResponse(
                pages.message_page(
                    "No such conflict", self._chrome(request), f"No conflict #{conflict_id}."
                ),
                status_code=404,
            )
        decider = self._decider(request)
        try:
            value = chosen_value(conflict, choice, typed)
            await run_in_threadpool(
                decide, self._services.conflicts, conflict_id, value, decider, datetime.now(UTC)
            )
        except DecisionRefused as exc:
            return await self._contact_with_error(
                request, conflict.contact_id, conflict_id, typed, str(exc)
            )
        except SyncEngineError as exc:
            # Someone decided it meanwhile (their choice stands), or the store failed.
            return await self._contact_with_error(
                request, conflict.contact_id, conflict_id, typed, self._scrub(str(exc))
            )
        log.info(
            "review.decided",
            conflict_id=conflict_id,
            contact_id=conflict.contact_id,
            path=conflict.path,
            user=decider.user,
            client=decider.origin,
        )
        message = f"Decided #{conflict_id} ({conflict.path})."
        if _text(form, "apply_now"):
            message += " " + await run_in_threadpool(self._sync, [conflict.contact_id])
        else:
            await run_in_threadpool(self._services.decided, conflict.contact_id)
            message += " It is applied on the contact's next sync."
        request.session["flash"] = message
        return RedirectResponse(f"/contacts/{conflict.contact_id}", status_code=303)

    async def _contact_with_error(
        self, request: Request, contact_id: int, conflict_id: int, typed: str, error: str
    ) -> Response:
        view = await run_in_threadpool(self._contact_view, contact_id, {conflict_id: typed})
        chrome = self._chrome(request, error=error)
        return HTMLResponse(pages.contact_page(view, chrome), status_code=400)

    async def bulk(self, request: Request) -> Response:
        form = await _form(request)
        try:
            ids = [int(raw) for raw in form.getlist("ids") if isinstance(raw, str)]
            if not all(1 <= n <= MAX_ID for n in ids):
                raise ValueError("out of range")
        except ValueError:
            return HTMLResponse(
                pages.message_page(
                    "Bad selection", self._chrome(request), "Conflict ids are numbers."
                ),
                status_code=400,
            )
        if not ids:
            request.session["flash"] = "Nothing selected."
            return RedirectResponse("/", status_code=303)
        decider = self._decider(request)
        outcome = await run_in_threadpool(
            take_suggestions, self._services.conflicts, ids, decider, datetime.now(UTC)
        )
        log.info(
            "review.bulk_decided",
            conflict_ids=[c.id for c in outcome.decided],
            user=decider.user,
            client=decider.origin,
        )
        message = outcome.summary() + "."
        contacts = sorted({c.contact_id for c in outcome.decided})
        if _text(form, "apply_now") and contacts:
            message += " " + await run_in_threadpool(self._sync, contacts)
        else:
            for contact_id in contacts:
                await run_in_threadpool(self._services.decided, contact_id)
        request.session["flash"] = message
        return RedirectResponse("/", status_code=303)

    def _sync(self, contact_ids: Sequence[int]) -> str:
        said = []
        with self._syncing:
            for contact_id in contact_ids:
                try:
                    said.append(f"Contact {contact_id}: {self._services.sync_now(contact_id)}.")
                except SyncEngineError as exc:
                    said.append(
                        f"Contact {contact_id} could not be synced now: {self._scrub(str(exc))}."
                    )
        return " ".join(said)

    # -- helpers -------------------------------------------------------------------------

    def _decider(self, request: Request) -> Decider:
        return Decider(_user(request.session) or _ANONYMOUS, f"review {_client(request)}")

    def _chrome(
        self, request: Request, *, error: str | None = None, pop_flash: bool = False
    ) -> pages.Chrome:
        session = request.session
        flash = session.pop("flash", None) if pop_flash else None
        return pages.Chrome(
            organization=self._services.organization,
            user=_user(session) if self._options.users else None,
            csrf=csrf_token(session),
            flash=flash if isinstance(flash, str) else None,
            error=error,
        )

    def _scrub(self, text: str) -> str:
        """A message without any secret in it (a driver or server may echo one)."""
        for secret in self._options.secrets:
            if secret:
                text = text.replace(secret, "***")
        return text


def _queue_query(
    params: Mapping[str, str], page_size: int
) -> tuple[ConflictQuery, dict[str, str], int]:
    """The conflict query a queue URL asks for; ValueError naming a bad parameter."""
    filters = {
        name: params.get(name, "").strip()
        for name in ("field", "contact", "age", "rule", "suggests", "sort", "order")
    }
    contact = filters["contact"]
    if contact and not (contact.isdigit() and MIN_CONTACT_ID <= int(contact) <= MAX_CONTACT_ID):
        raise ValueError(f"contact must be a contact id ({CONTACT_ID_RANGE}), not {contact!r}")
    sort = filters["sort"] or "id"
    if sort not in pages.SORTS:
        raise ValueError(f"sort must be one of {', '.join(pages.SORTS)}, not {sort!r}")
    suggests = filters["suggests"] or None
    if suggests is not None and suggests not in pages.SUGGESTS:
        raise ValueError(f"suggests must be platform, crm or other, not {suggests!r}")
    page_text = params.get("page", "1")
    if not page_text.isdigit() or not 1 <= int(page_text) <= MAX_PAGE:
        raise ValueError(f"page must be a number from 1 to {MAX_PAGE}, not {page_text!r}")
    page_number = int(page_text)
    after, before = _age_window(filters["age"], datetime.now(UTC))
    query = ConflictQuery(
        status=ConflictStatus.OPEN,
        contact_id=int(contact) if contact else None,
        field=filters["field"] or None,
        rule=filters["rule"] or None,
        suggests=_side(suggests),
        created_after=after,
        created_before=before,
        sort=sort,  # type: ignore[arg-type]  # checked against pages.SORTS above
        descending=filters["order"] == "desc",
        offset=(page_number - 1) * page_size,
        limit=page_size,
    )
    return query, filters, page_number


def _side(value: str | None) -> SuggestedSide | None:
    if value == "platform":
        return "platform"
    if value == "crm":
        return "crm"
    if value == "other":
        return "other"
    return None


def _age_window(label: str, now: datetime) -> tuple[datetime | None, datetime | None]:
    """``(created_after, created_before)`` of an age bucket's label: "1-7 days" is created
    between 7 days and 1 day ago."""
    if not label:
        return None, None
    younger_than: timedelta | None = timedelta(0)
    for bucket, bound in AGE_BUCKETS:
        if bucket == label:
            after = now - bound if bound is not None else None
            before = now - younger_than if younger_than else None
            return after, before
        younger_than = bound
    raise ValueError(f"age must be one of {', '.join(b for b, _ in AGE_BUCKETS)}, not {label!r}")


_FORM_KEY = "syncengine.review.form"


async def _form(request: Request) -> FormData:
    """The POSTed form, read once: the guard reads it for the CSRF token before the
    handler runs, and a request body can only be read once (kept in the ASGI scope,
    which the guard's request and the handler's share)."""
    cached = request.scope.get(_FORM_KEY)
    if isinstance(cached, FormData):
        return cached
    form = await request.form()
    request.scope[_FORM_KEY] = form
    return form


def _user(session: Mapping[str, Any]) -> str | None:
    user = session.get("user")
    return user if isinstance(user, str) else None


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _local_path(target: str) -> str:
    """Only a path on this site: a login link must not send anyone elsewhere."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _quote_path(target: str) -> str:
    from urllib.parse import quote

    return quote(target, safe="")
