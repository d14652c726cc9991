"""Who may use the review page, and the protections every response carries.

- Exposure: with no users configured the page has no login, which is only acceptable on a
  loopback address; anywhere else it refuses to start.
- Passwords: Argon2id hashes (argon2-cffi); the configuration holds hashes only.
- Sessions: a signed cookie (Starlette's SessionMiddleware, itsdangerous) that expires
  after ``session_minutes``: the signature carries its time, checked on every request.
- CSRF: a random token per session, in a hidden field of every form, compared in
  constant time on every POST; the cookie is also SameSite=Strict.
- Headers: a Content-Security-Policy that allows the inline style and nothing else (no
  script at all), no framing, no sniffing, no referrer, no caching.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from collections.abc import Mapping, MutableMapping
from typing import Final

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from syncengine.errors import ConfigError

CSRF_FIELD: Final = "csrf_token"

SECURITY_HEADERS: Final = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}

_HASHER: Final = PasswordHasher()
# Verified when a name is unknown, so that "no such user" takes as long as "wrong
# password" and the page does not tell which names exist.
_DECOY: Final = _HASHER.hash(secrets.token_urlsafe(16))


def is_loopback(host: str) -> bool:
    if host.strip("[]").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve anywhere


def check_exposure(host: str, users: Mapping[str, str]) -> None:
    """Refuse to serve the page without a login anywhere but on loopback."""
    if not users and not is_loopback(host):
        raise ConfigError(
            "review.listen",
            f"{host} is not a loopback address, and review.users is empty: anyone who can "
            "reach it could decide conflicts. Add users (syncengine review hash-password) "
            "or listen on 127.0.0.1",
        )


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def password_matches(users: Mapping[str, str], name: str, password: str) -> bool:
    stored = users.get(name)
    try:
        return _HASHER.verify(stored if stored is not None else _DECOY, password) and (
            stored is not None
        )
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def csrf_token(session: MutableMapping[str, object]) -> str:
    """This session's CSRF token, made on first use."""
    token = session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


def csrf_valid(session: Mapping[str, object], submitted: object) -> bool:
    expected = session.get("csrf")
    return (
        isinstance(expected, str)
        and isinstance(submitted, str)
        and hmac.compare_digest(expected.encode(), submitted.encode())
    )
