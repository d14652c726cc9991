"""Authentication: static API key, and the POST /Token password grant with its renewals."""

from __future__ import annotations

from urllib.parse import parse_qs

import httpx
import pytest

from syncengine.crm import ApiKeyAuth, CrmClient, PasswordGrantAuth, RetryPolicy
from syncengine.errors import CrmAuthError, CrmRecordError, CrmTokenError
from tests.crm.conftest import MakeClient, respond
from tests.crm.fakeserver import FakeClock, FakeCrm

USER, PASSWORD = "sync@example.org", "pw-Sekr1t!"


def form_of(request: httpx.Request) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(request.content.decode()).items()}


def bearer(request: httpx.Request) -> str:
    return request.headers["Authorization"].removeprefix("Bearer ")


@pytest.fixture
def password_client(make_client: MakeClient, clock: FakeClock) -> CrmClient:
    return make_client(auth=PasswordGrantAuth(USER, PASSWORD, clock=clock.time))


def test_api_key_is_sent_as_a_bearer_token(client: CrmClient, server: FakeCrm) -> None:
    client.get_contact(1)
    assert server.received[0].headers["Authorization"] == f"Bearer {server.api_key}"


def test_a_refused_api_key_is_an_auth_error_and_is_not_retried(
    make_client: MakeClient, server: FakeCrm, clock: FakeClock
) -> None:
    client = make_client(auth=ApiKeyAuth("sk-wrong-key-000000"))
    with pytest.raises(CrmAuthError) as caught:
        client.get_contact(1)
    assert caught.value.message == "Authorization has been denied for this request."
    assert len(server.received) == 1
    assert clock.sleeps == []


def test_password_grant_gets_a_token_once_then_uses_it(
    password_client: CrmClient, server: FakeCrm
) -> None:
    password_client.get_contact(1)
    password_client.get_contact(1)

    token_requests = server.reaching("POST", "/Token")
    assert len(token_requests) == 1
    assert token_requests[0].headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert form_of(token_requests[0]) == {
        "grant_type": "password",
        "username": USER,
        "password": PASSWORD,
    }
    gets = server.reaching("GET", "/api/Contact/1")
    assert {bearer(r) for r in gets} == set(server.access_tokens)
    assert password_client.requests_made == 3  # the token request counts too


def test_two_step_verification_resends_the_grant_with_the_one_time_code(
    make_client: MakeClient, server: FakeCrm, clock: FakeClock
) -> None:
    server.otp = "123456"
    client = make_client(
        auth=PasswordGrantAuth(USER, PASSWORD, otp_provider=lambda: "123456", clock=clock.time)
    )
    client.get_contact(1)

    forms = [form_of(r) for r in server.reaching("POST", "/Token")]
    assert [f.get("otp") for f in forms] == [None, "123456"]
    assert forms[1]["grant_type"] == "password"


def test_two_step_verification_without_an_otp_provider_says_so(
    password_client: CrmClient, server: FakeCrm
) -> None:
    server.otp = "123456"
    with pytest.raises(CrmAuthError, match="two-step verification") as caught:
        password_client.get_contact(1)
    assert (caught.value.url_path, caught.value.status) == ("/Token", 202)
    assert server.reaching("GET", "/api/Contact/1") == []


def test_a_refused_one_time_code_is_an_auth_error(
    make_client: MakeClient, server: FakeCrm, clock: FakeClock
) -> None:
    server.otp = "123456"
    client = make_client(
        auth=PasswordGrantAuth(USER, PASSWORD, otp_provider=lambda: "000000", clock=clock.time)
    )
    with pytest.raises(CrmAuthError, match="one-time code"):
        client.get_contact(1)


def test_a_wrong_password_is_an_auth_error_and_is_not_retried(
    make_client: MakeClient, server: FakeCrm, clock: FakeClock
) -> None:
    client = make_client(auth=PasswordGrantAuth(USER, "wrong-password", clock=clock.time))
    with pytest.raises(CrmAuthError) as caught:
        client.get_contact(1)
    assert caught.value.message == "The user name or password is incorrect."
    assert (caught.value.method, caught.value.url_path, caught.value.status) == (
        "POST",
        "/Token",
        400,
    )
    assert len(server.received) == 1


def test_a_token_near_expiry_is_renewed_with_the_refresh_grant(
    password_client: CrmClient, server: FakeCrm, clock: FakeClock
) -> None:
    password_client.get_contact(1)
    first = bearer(server.received[-1])
    clock.now += server.token_lifetime - 30  # inside the 60 s margin

    password_client.get_contact(1)

    assert server.token_grants == ["password", "refresh_token"]
    refresh_form = form_of(server.reaching("POST", "/Token")[1])
    assert refresh_form["refresh_token"].startswith("rt-001")
    assert bearer(server.received[-1]) != first


def test_a_401_renews_the_token_once_and_resends_the_request(
    password_client: CrmClient, server: FakeCrm
) -> None:
    password_client.get_contact(1)
    server.expire_access_tokens()  # revoked server-side before its announced expiry

    assert password_client.get_contact(1)["id"] == 1
    assert server.token_grants == ["password", "refresh_token"]
    assert len(server.reaching("GET", "/api/Contact/1")) == 3  # ok, 401, resent


def test_a_refused_refresh_token_falls_back_to_the_password_grant(
    password_client: CrmClient, server: FakeCrm
) -> None:
    password_client.get_contact(1)
    server.expire_access_tokens()
    server.refresh_tokens.clear()

    password_client.get_contact(1)

    assert server.token_grants == ["password", "refresh_token", "password"]


def test_a_second_401_after_renewal_is_an_auth_error(
    password_client: CrmClient, server: FakeCrm
) -> None:
    server.then("GET", "/api/Contact/1", respond(401, text="Unauthorized"), respond(401))
    with pytest.raises(CrmAuthError) as caught:
        password_client.get_contact(1)
    assert caught.value.status == 401
    assert len(server.reaching("GET", "/api/Contact/1")) == 2
    assert server.token_grants == ["password", "refresh_token"]


def test_a_rate_limited_token_request_is_retried_after_retry_after(
    password_client: CrmClient, server: FakeCrm, clock: FakeClock
) -> None:
    server.then("POST", "/Token", respond(429, headers={"Retry-After": "9"}))
    password_client.get_contact(1)
    assert clock.sleeps == [9.0]
    assert server.token_grants == ["password"]  # the 429 was answered before handling


def test_a_token_answer_without_access_token_is_an_auth_error(
    make_client: MakeClient, server: FakeCrm, clock: FakeClock
) -> None:
    client = make_client(
        auth=PasswordGrantAuth(USER, PASSWORD, clock=clock.time),
        retry=RetryPolicy(max_attempts=1),
    )
    server.then("POST", "/Token", respond(200, json={"token_type": "bearer"}))
    with pytest.raises(CrmAuthError, match="access_token"):
        client.get_contact(1)


def test_token_url_may_point_to_another_host(
    make_client: MakeClient, server: FakeCrm, clock: FakeClock
) -> None:
    auth = PasswordGrantAuth(
        USER, PASSWORD, token_url="https://login.example.org/Token", clock=clock.time
    )
    make_client(auth=auth).get_contact(1)
    assert server.reaching("POST", "/Token")[0].url.host == "login.example.org"


@pytest.mark.parametrize("status", [403, 404, 405, 410])
def test_a_token_endpoint_that_is_not_there_is_a_token_error_never_a_missing_contact(
    password_client: CrmClient, server: FakeCrm, clock: FakeClock, status: int
) -> None:
    # An organisation without password login, or a base URL that is not the API's.
    server.then("POST", "/Token", respond(status, json={"message": "No resource was found"}))
    with pytest.raises(CrmTokenError) as caught:
        password_client.get_contact(1)
    assert not isinstance(caught.value, CrmRecordError)
    assert (caught.value.method, caught.value.url_path, caught.value.status) == (
        "POST",
        "/Token",
        status,
    )
    assert not server.reaching("GET", "/api/Contact/1")
    assert clock.sleeps == []  # not retried: asking again gives the same answer
