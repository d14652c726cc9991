"""TLS: certificates are verified, and a failed handshake is named as what it is."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from syncengine.crm import ApiKeyAuth, CrmClient, RetryPolicy
from syncengine.errors import CrmTlsError
from tests.fixtures.tls import self_signed_https_server, trusting_context


@pytest.fixture
def https_url() -> Iterator[str]:
    with self_signed_https_server() as url:
        yield url


def test_an_https_client_refuses_a_certificate_it_cannot_verify_and_names_the_host(
    https_url: str,
) -> None:
    # The server works: a client that trusts its certificate gets an answer...
    trusted = httpx.get(f"{https_url}/api/Contact/1", verify=trusting_context())
    assert trusted.status_code == 200

    # ...and the CRM+ client, built with nothing but a URL and a key, refuses it.
    with CrmClient(
        https_url, ApiKeyAuth("sk-live-0123456789"), retry=RetryPolicy(max_attempts=3)
    ) as client:
        with pytest.raises(CrmTlsError) as caught:
            client.get_contact(1)
        assert client.requests_made == 1  # a certificate does not get better on retry

    error = caught.value
    assert (error.host, error.verification) == ("127.0.0.1", True)
    assert (error.method, error.url_path, error.status) == ("GET", "/api/Contact/1", None)
    assert "certificate" in error.message or "self" in error.message
    assert not error.maybe_applied
