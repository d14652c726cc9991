"""Webhook signatures: HMAC-SHA256 of the raw body under a shared secret.

CRM+'s reference says the digest is sent Base64-encoded; other published descriptions
say hex. Both are accepted (hex in either case, Base64 with or without its ``=`` padding),
as is an optional ``sha256=`` prefix and whitespace around the value. Accepting several
encodings of the same 32 bytes costs no security: a match still needs the secret.

Pure functions, no I/O. The signature and the secret are never part of an exception,
a return value other than a bool, or a log line: callers log "bad signature", not which.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

_PREFIX = "sha256="


def digest(secret: str | bytes, body: bytes) -> bytes:
    """The raw HMAC-SHA256 of ``body`` under ``secret`` (a str is taken as UTF-8)."""
    key = secret.encode("utf-8") if isinstance(secret, str) else secret
    return hmac.new(key, body, hashlib.sha256).digest()


def sign_base64(secret: str | bytes, body: bytes) -> str:
    """The signature as CRM+ documents it: Base64 of the HMAC-SHA256 of ``body``."""
    return base64.b64encode(digest(secret, body)).decode("ascii")


def sign_hex(secret: str | bytes, body: bytes) -> str:
    """The signature as a lowercase hex digest (the other published reading)."""
    return digest(secret, body).hex()


def signature_matches(secret: str | bytes, body: bytes, header_value: str | None) -> bool:
    """Whether ``header_value`` is the signature of the raw ``body`` under ``secret``.

    ``body`` must be the bytes as received: a JSON re-serialisation changes them.
    A missing, empty or unreadable header is simply no match.
    """
    if not header_value:
        return False
    provided = header_value.strip()
    if provided[: len(_PREFIX)].lower() == _PREFIX:
        provided = provided[len(_PREFIX) :].strip()
    if not provided:
        return False
    # Bytes, not str: compare_digest refuses a str holding non-ASCII characters (a
    # garbage header can), and a refusal must be "no match", not an exception.
    given = provided.encode("utf-8", "replace")
    given_lower = provided.lower().encode("utf-8", "replace")
    mac = digest(secret, body)
    as_base64 = base64.b64encode(mac)
    as_hex = mac.hex().encode("ascii")
    # Every comparison runs whatever the others found (``|``, not ``or``), so the time
    # taken does not tell which encoding came close.
    return (
        hmac.compare_digest(given, as_base64)
        | hmac.compare_digest(given, as_base64.rstrip(b"="))
        | hmac.compare_digest(given_lower, as_hex)
    )
