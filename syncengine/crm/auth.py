"""Authentication for CRM+: a static API key, or the ``POST /Token`` password grant.

Both are ``httpx.Auth`` flows, so the client sends requests the same way whichever is
configured, and token requests go through the same transport (and the same tests' fake
server) as everything else.

Secrets are held in ``Secret``, whose repr and str are a mask: a token or password cannot
reach a log line, an exception message or a debugger's repr by accident. Only the auth
flow calls ``reveal()``, to write the header or the form.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass

import httpx
import structlog

from syncengine.crm.translate import error_for_status, read_json
from syncengine.errors import CrmAuthError, CrmTokenError

log = structlog.get_logger(__name__)

_MASK = "Secret('********')"


class Secret:
    """A string that never shows itself. ``reveal()`` is the one way to the value."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not value:
            raise ValueError("a secret must not be empty")
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return _MASK

    __str__ = __repr__

    def __reduce__(self) -> str:
        # Pickling would write the value somewhere nobody meant it to go.
        raise TypeError("a Secret cannot be pickled")


def _secret(value: str | Secret) -> Secret:
    return value if isinstance(value, Secret) else Secret(value)


def _sign(request: httpx.Request, token: Secret) -> None:
    # httpx masks Authorization in its Headers repr; we never log headers either way.
    request.headers["Authorization"] = f"Bearer {token.reveal()}"


class ApiKeyAuth(httpx.Auth):
    """``Authorization: Bearer <key>`` with a static API key (they last for years)."""

    def __init__(self, api_key: str | Secret) -> None:
        self._key = _secret(api_key)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        _sign(request, self._key)
        yield request

    def __repr__(self) -> str:
        return "ApiKeyAuth(api_key=<hidden>)"


@dataclass(frozen=True, repr=False)
class _Tokens:
    access: Secret
    refresh: Secret | None
    expires_at: float | None  # Unix seconds; None: the server did not say


TokenFlow = Generator[httpx.Request, httpx.Response, _Tokens]


class PasswordGrantAuth(httpx.Auth):
    """The ``POST /Token`` password grant, renewed by the refresh grant.

    - First request: ``grant_type=password`` (form). A ``202`` means the account has
      two-step verification: the form is sent again with ``otp`` from ``otp_provider``;
      without one, ``CrmTokenError`` says so.
    - Before a request, a token within ``refresh_margin`` seconds of ``expires_in`` is
      renewed with ``grant_type=refresh_token`` (falling back to the password grant when
      the refresh token is refused).
    - A ``401`` on a request renews the token once and resends; a second ``401`` reaches
      the client, which raises ``CrmAuthError``.

    ``token_url`` is resolved against each request's URL: a path ("/Token") stays on the
    API host, an absolute URL is used as it is.
    """

    # The flow reads the token answer's body.
    requires_response_body = True

    def __init__(
        self,
        username: str,
        password: str | Secret,
        *,
        otp_provider: Callable[[], str] | None = None,
        token_url: str = "/Token",
        clock: Callable[[], float] = time.time,
        refresh_margin: float = 60.0,
    ) -> None:
        self._username = username
        self._password = _secret(password)
        self._otp_provider = otp_provider
        self._token_url = token_url
        self._clock = clock
        self._refresh_margin = refresh_margin
        # One token renewal at a time when threads share the client.
        self._lock = threading.Lock()
        self._tokens: _Tokens | None = None

    def __repr__(self) -> str:
        state = "held" if self._tokens else "none"
        return f"PasswordGrantAuth(username={self._username!r}, token=<{state}>)"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        with self._lock:
            tokens = yield from self._usable_tokens(request)
        _sign(request, tokens.access)
        response = yield request
        if response.status_code != 401:
            return
        with self._lock:
            # Another thread may have renewed it while this request was out.
            if self._tokens is tokens:
                log.info("crm.token.renew", reason="401")
                tokens = yield from self._renew(request, tokens)
            elif self._tokens is not None:
                tokens = self._tokens
        _sign(request, tokens.access)
        yield request

    def _usable_tokens(self, request: httpx.Request) -> TokenFlow:
        tokens = self._tokens
        if tokens is None:
            return (yield from self._password_grant(request))
        if (
            tokens.expires_at is not None
            and self._clock() >= tokens.expires_at - self._refresh_margin
        ):
            log.info("crm.token.renew", reason="expiry")
            return (yield from self._renew(request, tokens))
        return tokens

    def _renew(self, request: httpx.Request, tokens: _Tokens) -> TokenFlow:
        if tokens.refresh is not None:
            form = {"grant_type": "refresh_token", "refresh_token": tokens.refresh.reveal()}
            try:
                return (yield from self._exchange(request, form, "refresh_token", tokens.refresh))
            except CrmAuthError:
                # The refresh token expired (365 days) or was revoked: log in afresh.
                log.info("crm.token.refresh_refused")
        return (yield from self._password_grant(request))

    def _password_grant(self, request: httpx.Request) -> TokenFlow:
        form = {
            "grant_type": "password",
            "username": self._username,
            "password": self._password.reveal(),
        }
        return (yield from self._exchange(request, form, "password", None))

    def _exchange(
        self,
        request: httpx.Request,
        form: dict[str, str],
        grant: str,
        previous_refresh: Secret | None,
    ) -> TokenFlow:
        token_request = self._token_request(request, form)
        response = yield token_request
        if response.status_code == 202:
            # Two-step verification: the same form again, with the one-time code.
            if self._otp_provider is None:
                raise CrmTokenError(
                    "the account uses two-step verification and no one-time-code provider "
                    "is configured",
                    method="POST",
                    url_path=token_request.url.path,
                    status=202,
                )
            response = yield self._token_request(request, {**form, "otp": self._otp_provider()})
            if response.status_code == 202:
                raise CrmTokenError(
                    "the one-time code was not accepted",
                    method="POST",
                    url_path=token_request.url.path,
                    status=202,
                )
        tokens = self._accept(response, previous_refresh)
        log.info("crm.token.issued", grant=grant, status=response.status_code)
        self._tokens = tokens
        return tokens

    def _token_request(self, request: httpx.Request, form: dict[str, str]) -> httpx.Request:
        return httpx.Request(
            "POST",
            request.url.join(self._token_url),
            data=form,
            headers={"Accept": "application/json"},
        )

    def _accept(self, response: httpx.Response, previous_refresh: Secret | None) -> _Tokens:
        now = self._clock()
        if not response.is_success:
            raise error_for_status(response, now=now, token_endpoint=True)
        body = read_json(response)
        access = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(access, str) or not access:
            # Never quote the body: it is exactly where a token would be.
            raise CrmTokenError(
                "the token answer has no access_token",
                method=response.request.method,
                url_path=response.request.url.path,
                status=response.status_code,
            )
        refresh = body.get("refresh_token")
        expires_in = body.get("expires_in")
        try:
            expires_at: float | None = now + float(expires_in)
        except (TypeError, ValueError):
            expires_at = None  # no expiry given: renewed on the first 401 instead
        return _Tokens(
            access=Secret(access),
            # A refresh answer may leave the refresh token out: the old one still holds.
            refresh=Secret(refresh) if isinstance(refresh, str) and refresh else previous_refresh,
            expires_at=expires_at,
        )
