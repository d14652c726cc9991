"""A create is never repeated once it may have reached the server: it would duplicate a contact."""

from __future__ import annotations

import httpx
import pytest

from syncengine.crm import CrmClient, PasswordGrantAuth
from syncengine.errors import CrmRateLimited, CrmServerError, CrmUnreachable
from tests.crm.conftest import MakeClient, respond
from tests.crm.fakeserver import FakeClock, FakeCrm, Fault

NEW = {"contactType": "Household", "name": "Only Once", "referenceSource": "p", "referenceId": "7"}


@pytest.mark.parametrize("fault", [Fault.TIMEOUT_AFTER_APPLY, Fault.DROP_AFTER_APPLY])
def test_create_is_not_retried_when_the_answer_was_lost(
    client: CrmClient, server: FakeCrm, clock: FakeClock, fault: Fault
) -> None:
    before = len(server.contacts)
    server.then("POST", "/api/Contact", fault)

    with pytest.raises(CrmUnreachable) as caught:
        client.create_contact(NEW)

    assert len(server.reaching("POST", "/api/Contact")) == 1
    assert len(server.contacts) == before + 1  # it did land: the caller must look it up
    assert caught.value.maybe_applied is True
    assert (caught.value.method, caught.value.url_path) == ("POST", "/api/Contact")
    assert clock.sleeps == []
    # ... and the lookup the caller should make finds it.
    assert client.find_contact_by_reference("p", "7") is not None


@pytest.mark.parametrize("status", [500, 503, 520])
def test_create_is_not_retried_after_a_server_error(
    client: CrmClient, server: FakeCrm, status: int
) -> None:
    server.then("POST", "/api/Contact", respond(status))
    with pytest.raises(CrmServerError) as caught:
        client.create_contact(NEW)
    assert len(server.reaching("POST", "/api/Contact")) == 1
    assert caught.value.maybe_applied is True


@pytest.mark.parametrize("fault", [Fault.CONNECT_REFUSED, Fault.CONNECT_TIMEOUT])
def test_create_is_retried_when_the_connection_was_never_made(
    client: CrmClient, server: FakeCrm, clock: FakeClock, fault: Fault
) -> None:
    before = len(server.contacts)
    server.then("POST", "/api/Contact", fault, fault)

    created = client.create_contact(NEW)

    assert len(server.reaching("POST", "/api/Contact")) == 1
    assert len(server.contacts) == before + 1
    assert created["name"] == "Only Once"
    assert clock.sleeps == [0.75, 1.5]
    assert client.requests_made == 3


def test_create_refused_with_429_is_retried_after_retry_after(
    client: CrmClient, server: FakeCrm, clock: FakeClock
) -> None:
    server.then("POST", "/api/Contact", respond(429, headers={"Retry-After": "5"}))
    client.create_contact(NEW)
    assert clock.sleeps == [5.0]
    assert len(server.reaching("POST", "/api/Contact")) == 2


def test_create_that_kept_failing_to_connect_is_surely_not_applied(
    client: CrmClient, server: FakeCrm
) -> None:
    server.then("POST", "/api/Contact", *[Fault.CONNECT_REFUSED] * 4)
    with pytest.raises(CrmUnreachable) as caught:
        client.create_contact(NEW)
    assert caught.value.maybe_applied is False
    assert isinstance(caught.value.__cause__, httpx.ConnectError)


def test_create_rate_limited_beyond_the_max_wait_is_not_applied(
    client: CrmClient, server: FakeCrm
) -> None:
    server.then("POST", "/api/Contact", respond(429, headers={"Retry-After": "900"}))
    with pytest.raises(CrmRateLimited) as caught:
        client.create_contact(NEW)
    assert caught.value.maybe_applied is False


def test_create_is_retried_when_only_the_token_request_failed(
    make_client: MakeClient, server: FakeCrm, clock: FakeClock
) -> None:
    # The token request timed out: the create itself was never sent, so sending it is safe.
    client = make_client(auth=PasswordGrantAuth("sync@example.org", "pw-Sekr1t!", clock=clock.time))
    server.then("POST", "/Token", Fault.TIMEOUT_AFTER_APPLY)

    client.create_contact(NEW)

    assert len(server.reaching("POST", "/api/Contact")) == 1
    assert len(server.reaching("POST", "/Token")) == 2
