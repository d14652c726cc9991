"""TLS verification cannot be switched off by accident (``syncengine.crm.tls``).

Real TLS on loopback (``tests.fixtures.tls``: a server whose self-signed certificate names
localhost and 127.0.0.1), the client built the way every command builds it: settings
loaded from a config file and the environment, then ``bootstrap.build_crm``.

- https is required, except for loopback; a plain-http token never goes through a proxy;
- a private CA is trusted only through ``crm.tls.ca_bundle``, and host names are still
  checked then;
- no config value turns verification off (each is refused, naming the key);
- no environment variable changes what is trusted (SSL_CERT_FILE, SSL_CERT_DIR...) or
  writes the TLS keys out (SSLKEYLOGFILE); each is ignored with a warning.
"""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from structlog.testing import capture_logs

from syncengine.bootstrap import build_crm
from syncengine.config import Secrets, Settings, load_settings
from syncengine.crm import CrmClient
from syncengine.errors import ConfigError, CrmTlsError
from syncengine.sandbox import SandboxServer
from tests.fixtures.sandbox import SANDBOX_TOKEN
from tests.fixtures.tls import CERTIFICATE, TLS_DATA, self_signed_https_server

TOKEN = "sk-tls-test-0123456789abcdef"

# What would change trust or leak keys if the client read the environment as httpx and
# the ssl module do by default; and the names other HTTP stacks use (requests, curl).
TRUST_VARIABLES = ("SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")
PROXY_VARIABLES = ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")


def settings_for(tmp_path: Path, base_url: str, config: str = "") -> Settings:
    file = tmp_path / "config.yaml"
    file.write_text(config)
    return load_settings(file, {"CRMPLUS_BASE_URL": base_url})


def client(settings: Settings) -> CrmClient:
    return build_crm(settings, Secrets(TOKEN, None, None))


@pytest.fixture
def https_url() -> Iterator[str]:
    with self_signed_https_server() as url:
        yield url


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """None of the variables these tests set, whatever the machine has."""
    for name in (*TRUST_VARIABLES, *PROXY_VARIABLES, "SSLKEYLOGFILE", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_a_private_ca_is_trusted_through_crm_tls_ca_bundle_only(
    tmp_path: Path, https_url: str, clean_environment: pytest.MonkeyPatch
) -> None:
    with client(settings_for(tmp_path, https_url)) as plain, pytest.raises(CrmTlsError):
        plain.get_contact(1)
    trusting = settings_for(tmp_path, https_url, f"crm:\n  tls:\n    ca_bundle: {CERTIFICATE}\n")
    with client(trusting) as crm:
        assert crm.get_contact(1)["name"] == "Reachable"


def test_a_trusted_ca_still_has_the_host_name_checked(
    tmp_path: Path, clean_environment: pytest.MonkeyPatch
) -> None:
    # The same certificate, served from 127.0.0.2: a name it was not issued for.
    with self_signed_https_server("127.0.0.2") as url:
        trusting = settings_for(tmp_path, url, f"crm:\n  tls:\n    ca_bundle: {CERTIFICATE}\n")
        with client(trusting) as crm, pytest.raises(CrmTlsError) as caught:
            crm.get_contact(1)
    assert caught.value.verification and caught.value.host == "127.0.0.2"
    assert "127.0.0.2" in caught.value.message


@pytest.mark.parametrize(
    "config",
    [
        "crm:\n  verify: false\n",
        "crm:\n  verify: 'false'\n",
        "crm:\n  verify: 0\n",
        "crm:\n  verify_ssl: no\n",
        "crm:\n  ssl_verify: false\n",
        "crm:\n  insecure: true\n",
        "crm:\n  tls:\n    verify: false\n",
        "crm:\n  tls:\n    insecure_skip_verify: true\n",
        "crm:\n  tls:\n    check_hostname: false\n",
        "crm:\n  tls: false\n",
        "crm:\n  tls:\n    ca_bundle: ''\n",
        "crm:\n  tls:\n    ca_bundle: /dev/null\n",
        "crm:\n  tls:\n    ca_bundle: /no/such/bundle.pem\n",
    ],
)
def test_no_config_value_turns_verification_off(tmp_path: Path, config: str) -> None:
    with pytest.raises(ConfigError) as caught:
        settings_for(tmp_path, "https://crm.example.org", config)
    assert caught.value.key.startswith("crm.")


def test_an_organisation_cannot_turn_verification_off_for_itself(tmp_path: Path) -> None:
    settings = settings_for(
        tmp_path,
        "https://crm.example.org",
        "organizations:\n  - {name: north, token_env: NORTH_TOKEN, crm: {tls: {verify: false}}}\n",
    )
    with pytest.raises(ConfigError) as caught:
        settings.for_organization(settings.organizations[0])
    assert caught.value.key == "organizations[north].crm.tls.verify"
    assert "cannot be turned off" in caught.value.problem


def test_the_refusal_says_verification_cannot_be_turned_off(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        settings_for(tmp_path, "https://crm.example.org", "crm:\n  verify: false\n")
    assert caught.value.key == "crm.verify"
    assert "cannot be turned off" in caught.value.problem
    assert "crm.tls.ca_bundle" in caught.value.problem


def test_no_environment_variable_changes_what_is_trusted(
    tmp_path: Path, https_url: str, clean_environment: pytest.MonkeyPatch
) -> None:
    keys = tmp_path / "tls-keys.log"
    for name in ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        clean_environment.setenv(name, str(CERTIFICATE))
    clean_environment.setenv("SSL_CERT_DIR", str(TLS_DATA))
    clean_environment.setenv("SSLKEYLOGFILE", str(keys))
    # The variables are live in this process: httpx's own default obeys SSL_CERT_FILE...
    assert httpx.get(f"{https_url}/api/Contact/1").status_code == 200
    # ...and the ssl module's default context writes the session keys out.
    assert ssl.create_default_context().keylog_filename == str(keys)
    keys.unlink(missing_ok=True)

    with (
        capture_logs() as logs,
        client(settings_for(tmp_path, https_url)) as crm,
        pytest.raises(CrmTlsError),
    ):
        crm.get_contact(1)
    ignored = {e["variable"] for e in logs if e["event"].startswith("environment variable")}
    assert ignored == {"SSL_CERT_FILE", "SSL_CERT_DIR", "SSLKEYLOGFILE"}

    # Trusted through the config, the handshake completes: and still no keys written.
    trusting = settings_for(tmp_path, https_url, f"crm:\n  tls:\n    ca_bundle: {CERTIFICATE}\n")
    with client(trusting) as crm:
        assert crm.get_contact(1)["id"] == 1
    assert not keys.exists()


@pytest.mark.parametrize(
    "url",
    [
        "http://api.virtuoussoftware.com",
        "http://crm.example.org:8765",
        "http://localhost.example.org",
        "http://127.0.0.1.nip.io",
        "http://0x7f000001",
        "http://2130706433",
        "http://10.0.0.1",
        "http://[fe80::1]",
        "ftp://127.0.0.1",
        "127.0.0.1:8765",
    ],
)
def test_plain_http_is_refused_off_this_machine(tmp_path: Path, url: str) -> None:
    with pytest.raises(ConfigError) as caught:
        settings_for(tmp_path, url)
    assert caught.value.key == "crm.base_url"
    assert "CRMPLUS_BASE_URL" in (caught.value.source or "")


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8765", "http://127.9.9.9", "http://localhost:1", "http://[::1]:1"]
)
def test_plain_http_is_accepted_on_loopback(tmp_path: Path, url: str) -> None:
    assert settings_for(tmp_path, url).crm.base_url == url


@contextmanager
def recording_proxy() -> Iterator[tuple[str, list[bytes]]]:
    """A "proxy" on loopback that records what it is sent and answers 502: where a
    plain-http request would go if the client took HTTP_PROXY from the environment."""
    received: list[bytes] = []
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            with connection:
                connection.settimeout(2)
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = connection.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                received.append(data)
                connection.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}", received
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()


def test_a_plain_http_token_never_goes_through_an_environment_proxy(
    tmp_path: Path, sandbox_replace: SandboxServer, clean_environment: pytest.MonkeyPatch
) -> None:
    with recording_proxy() as (proxy, received):
        for name in PROXY_VARIABLES:
            clean_environment.setenv(name, proxy)
        # The proxy variables are live: a client that trusts the environment uses them.
        assert httpx.get(f"{sandbox_replace.base_url}/api/Contact/4821").status_code == 502
        assert len(received) == 1
        received.clear()

        settings = settings_for(tmp_path, sandbox_replace.base_url)
        with build_crm(settings, Secrets(SANDBOX_TOKEN, None, None)) as crm:
            assert crm.get_contact(4821)["id"] == 4821
    assert received == []
