"""The request observer: one call per HTTP attempt, with the endpoint as a template."""

from __future__ import annotations

import pytest
from structlog.testing import capture_logs

from syncengine.crm.observe import endpoint_template
from syncengine.errors import CrmNotFound, CrmRateLimited, CrmUnreachable
from tests.crm.conftest import MakeClient, respond
from tests.crm.fakeserver import FakeCrm, Fault

Seen = list[tuple[str, str, int | None, float]]


@pytest.mark.parametrize(
    ("path", "template"),
    [
        ("/api/Contact/4821", "/api/Contact/{id}"),
        ("/api/Contact/2147483647", "/api/Contact/{id}"),
        ("/api/Contact/-3", "/api/Contact/{id}"),
        ("/api/Contact/Archive/4821", "/api/Contact/Archive/{id}"),
        ("/api/ContactAddress/ByContact/12", "/api/ContactAddress/ByContact/{id}"),
        ("/api/ContactIndividual/48212", "/api/ContactIndividual/{id}"),
        (
            "/api/Thing/0b7a3c1e-9f2d-4c5b-8a6e-1d2f3a4b5c6d/Part/7",
            "/api/Thing/{id}/Part/{id}",
        ),
        ("/api/Contact/Find", "/api/Contact/Find"),
        ("/api/Contact/Query/FullContact", "/api/Contact/Query/FullContact"),
        ("/api/Contact", "/api/Contact"),
        ("/api/Contact/v2", "/api/Contact/v2"),  # digits inside a word are not an id
        ("/Token", "/Token"),
    ],
)
def test_ids_in_a_path_become_a_placeholder(path: str, template: str) -> None:
    assert endpoint_template(path) == template


def test_each_attempt_is_observed_with_method_template_status_and_time(
    make_client: MakeClient,
) -> None:
    seen: Seen = []
    client = make_client(observe=lambda *args: seen.append(args))
    client.get_contact(1)
    record = client.get_contact(1)
    client.put_contact(1, record)
    assert [s[:3] for s in seen] == [
        ("GET", "/api/Contact/{id}", 200),
        ("GET", "/api/Contact/{id}", 200),
        ("PUT", "/api/Contact/{id}", 200),
    ]
    assert all(isinstance(s[3], float) and 0 <= s[3] < 5 for s in seen)


def test_retried_attempts_are_each_observed(make_client: MakeClient, server: FakeCrm) -> None:
    seen: Seen = []
    client = make_client(observe=lambda *args: seen.append(args))
    server.then("GET", "/api/Contact/1", respond(503), respond(429))
    client.get_contact(1)
    assert [s[2] for s in seen] == [503, 429, 200]


def test_an_error_answer_is_observed_with_its_status(make_client: MakeClient) -> None:
    seen: Seen = []
    client = make_client(observe=lambda *args: seen.append(args))
    with pytest.raises(CrmNotFound):
        client.get_contact(999)
    assert [s[:3] for s in seen] == [("GET", "/api/Contact/{id}", 404)]


def test_an_attempt_without_an_answer_is_observed_with_no_status(
    make_client: MakeClient, server: FakeCrm
) -> None:
    seen: Seen = []
    client = make_client(observe=lambda *args: seen.append(args))
    server.then("GET", "/api/Contact/1", *[Fault.CONNECT_REFUSED] * 4)
    with pytest.raises(CrmUnreachable):
        client.get_contact(1)
    assert [s[:3] for s in seen] == [("GET", "/api/Contact/{id}", None)] * 4


def test_a_failing_observer_never_fails_the_call(make_client: MakeClient) -> None:
    def broken(method: str, endpoint: str, status: int | None, seconds: float) -> None:
        raise RuntimeError("metrics down")

    client = make_client(observe=broken)
    with capture_logs() as logs:
        record = client.put_contact(1, client.get_contact(1))
    assert record["id"] == 1
    assert [e["error"] for e in logs if e["event"] == "crm.observer_failed"] == [
        "RuntimeError",
        "RuntimeError",
    ]


def test_a_request_the_local_budget_stops_is_not_observed(
    make_client: MakeClient, server: FakeCrm
) -> None:
    # Nothing was sent, so there is no attempt to time: only what went on the wire counts.
    seen: Seen = []
    client = make_client(observe=lambda *args: seen.append(args))
    server.remaining = 50  # under the client's reserve of 100, reset an hour away
    client.get_contact(1)
    with pytest.raises(CrmRateLimited):
        client.get_contact(1)
    assert len(seen) == 1 == len(server.reaching("GET", "/api/Contact/1"))
