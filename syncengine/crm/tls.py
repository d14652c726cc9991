"""How the CRM+ client checks who it talks to: the one place TLS is set up.

The bearer token (or the password grant's password) goes with every request, so whoever
can read the traffic owns the organisation's donor records. The rules:

- certificates and host names are always verified: there is no setting, argument or
  environment variable that turns this off (``crm.verify: false`` is an unknown setting);
- trusted: the CA list shipped with ``certifi`` (as httpx's default), plus the bundle
  ``crm.tls.ca_bundle`` names (a private CA, a TLS-inspecting proxy's CA): the one way to
  trust another certificate, and a visible one, in the config file;
- the environment cannot change that silently: ``SSL_CERT_FILE`` and ``SSL_CERT_DIR``
  (which httpx would take as the whole trust store) are ignored, with a warning, and so
  is ``SSLKEYLOGFILE`` (which would write the session keys that decrypt the token);
- plain ``http://`` is only accepted for loopback (``syncengine.config.base_url_problem``)
  and then no environment proxy is used either: ``HTTP_PROXY`` would carry the token,
  unencrypted, to another machine. Over https a proxy only relays the encrypted bytes, so
  the usual proxy variables are honoured there.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

import certifi
import structlog

log = structlog.get_logger(__name__)

# Environment variables that would change what the client trusts or where its keys go.
IGNORED_ENVIRONMENT = ("SSL_CERT_FILE", "SSL_CERT_DIR", "SSLKEYLOGFILE")


def client_context(
    base_url: str,
    ca_bundle: str | Path | None = None,
    *,
    environ: Mapping[str, str] | None = None,
) -> ssl.SSLContext:
    """The SSL context for a client of ``base_url``: verifying, always.

    ``ca_bundle``: a PEM file (or a folder prepared with ``c_rehash``) trusted in
    addition to the bundled CA list. ``ssl.SSLError``/``OSError`` if it cannot be read.
    For a plain-http (loopback) URL the context is never used (redirects are not
    followed), so it trusts nothing and costs nothing to build (no CA list is loaded).
    """
    if urlsplit(base_url).scheme != "https":
        # Still a verifying context: were it ever used, it would refuse every certificate.
        return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    _warn_ignored(os.environ if environ is None else environ)
    # Not ssl.create_default_context: it reads SSLKEYLOGFILE (and creates that file at
    # once). PROTOCOL_TLS_CLIENT verifies certificates and host names by default; the CA
    # list is loaded explicitly, so OpenSSL's default paths (where SSL_CERT_FILE and
    # SSL_CERT_DIR act) are never consulted.
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_verify_locations(cafile=certifi.where())
    if ca_bundle is not None:
        bundle = Path(ca_bundle).expanduser()
        if bundle.is_dir():
            context.load_verify_locations(capath=str(bundle))
        else:
            context.load_verify_locations(cafile=str(bundle))
    # What create_default_context promises, checked: a future change to the lines above
    # must not be able to weaken it quietly.
    if context.verify_mode != ssl.CERT_REQUIRED or not context.check_hostname:
        raise RuntimeError("the CRM+ TLS context must verify certificates and host names")
    return context


def trusts_environment(base_url: str) -> bool:
    """Whether httpx may take proxies from the environment (``trust_env``): over https
    only, where a proxy sees nothing but encrypted bytes."""
    return urlsplit(base_url).scheme == "https"


def check_ca_bundle(path: str) -> str | None:
    """Why ``path`` cannot be ``crm.tls.ca_bundle``, or None."""
    if not path.strip():
        return "is empty: remove the key to trust the bundled CA list only"
    bundle = Path(path).expanduser()
    if not bundle.exists():
        return f"{bundle} does not exist"
    try:
        client_context("https://example.invalid", bundle, environ={})
    except (ssl.SSLError, OSError, ValueError) as exc:
        return f"{bundle} is not a readable PEM certificate bundle ({exc})"
    return None


def _warn_ignored(environ: Mapping[str, str]) -> None:
    for name in IGNORED_ENVIRONMENT:
        if environ.get(name):
            log.warning(
                "environment variable ignored for CRM+ connections",
                variable=name,
                why="certificates are checked against the bundled CA list and "
                "crm.tls.ca_bundle only, and TLS keys are never written out",
            )
