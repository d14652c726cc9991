"""No token, key or password ever shows in a repr, an error or a log line."""

from __future__ import annotations

import logging
import pickle
from collections.abc import Callable, Iterator

import pytest
from structlog.testing import capture_logs

from syncengine.crm import ApiKeyAuth, CrmClient, PasswordGrantAuth, RetryPolicy, Secret
from syncengine.errors import CrmError
from tests.crm.conftest import MakeClient, respond
from tests.crm.fakeserver import FakeClock, FakeCrm, Fault

USER, PASSWORD = "sync@example.org", "pw-Sekr1t!"


def secrets_of(server: FakeCrm) -> set[str]:
    return (
        {server.api_key, PASSWORD, *server.access_tokens, *server.refresh_tokens}
        | {f"at-{n:03d}-SECRET-ACCESS-TOKEN-6f1c0e" for n in range(1, 10)}
        | {f"rt-{n:03d}-SECRET-REFRESH-TOKEN-9a2b7d" for n in range(1, 10)}
    )


def texts_of(error: BaseException) -> Iterator[str]:
    """Everything an error would show: its str and repr, its attributes, its whole chain."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield str(current)
        yield repr(current)
        yield repr(vars(current))
        current = current.__cause__ or current.__context__


def assert_clean(texts: Iterator[str] | list[str], server: FakeCrm) -> None:
    for text in texts:
        for secret in secrets_of(server):
            assert secret not in text


def test_secret_masks_itself_everywhere() -> None:
    secret = Secret("hunter2-very-secret")
    for shown in (repr(secret), str(secret), f"{secret}", f"{secret!r}", repr([secret])):
        assert "hunter2" not in shown
    assert secret.reveal() == "hunter2-very-secret"


def test_secret_refuses_to_be_pickled() -> None:
    with pytest.raises(TypeError):
        pickle.dumps(Secret("hunter2-very-secret"))


def test_auth_reprs_hide_key_password_and_tokens(
    make_client: MakeClient, server: FakeCrm, clock: FakeClock
) -> None:
    api = ApiKeyAuth(server.api_key)
    grant = PasswordGrantAuth(USER, PASSWORD, clock=clock.time)
    client = make_client(auth=grant)
    client.get_contact(1)  # so the grant holds tokens

    texts = [repr(api), str(api), repr(grant), str(grant), repr(vars(grant)), repr(client)]
    assert_clean(texts, server)
    assert "token=<held>" in repr(grant)


Scenario = Callable[[FakeCrm, CrmClient], object]

SCENARIOS: list[tuple[str, Scenario]] = [
    ("401", lambda s, c: s.then("GET", "/api/Contact/1", respond(401), respond(401))),
    ("500", lambda s, c: s.then("GET", "/api/Contact/1", respond(500, text="boom"))),
    ("timeout", lambda s, c: s.then("GET", "/api/Contact/1", Fault.TIMEOUT_AFTER_APPLY)),
    ("dropped", lambda s, c: s.then("GET", "/api/Contact/1", Fault.DROP_AFTER_APPLY)),
    ("refused", lambda s, c: s.then("GET", "/api/Contact/1", Fault.CONNECT_REFUSED)),
    ("not json", lambda s, c: s.then("GET", "/api/Contact/1", respond(200, text="<html>"))),
    ("token 400", lambda s, c: s.then("POST", "/Token", respond(400, json={"error": "x"}))),
    ("token 202", lambda s, c: setattr(s, "otp", "123456")),
    (
        "token not json",
        lambda s, c: s.then(
            "POST",
            "/Token",
            respond(200, text="access_token=at-001-SECRET-ACCESS-TOKEN-6f1c0e"),
        ),
    ),
    (
        "token without access_token",
        lambda s, c: s.then(
            "POST",
            "/Token",
            respond(200, json={"refresh_token": "rt-001-SECRET-REFRESH-TOKEN-9a2b7d"}),
        ),
    ),
]


@pytest.mark.parametrize("use_password", [False, True], ids=["api-key", "password-grant"])
@pytest.mark.parametrize(("name", "arrange"), SCENARIOS, ids=[n for n, _ in SCENARIOS])
def test_no_secret_in_any_error_or_log_line(
    make_client: MakeClient,
    server: FakeCrm,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
    use_password: bool,
    name: str,
    arrange: Scenario,
) -> None:
    auth = (
        PasswordGrantAuth(USER, PASSWORD, clock=clock.time)
        if use_password
        else ApiKeyAuth(server.api_key)
    )
    client = make_client(auth=auth, retry=RetryPolicy(max_attempts=1))
    caplog.set_level(logging.DEBUG)
    with capture_logs() as logs:
        if use_password and not name.startswith("token"):
            client.get_contact(1)  # hold a token first, so there is one to leak
        arrange(server, client)
        try:
            client.get_contact(1)
        except CrmError as error:
            assert_clean(texts_of(error), server)

    assert_clean([repr(entry) for entry in logs], server)
    assert_clean([record.getMessage() for record in caplog.records], server)
    assert_clean([repr(auth), repr(client)], server)
