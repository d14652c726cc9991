"""POST /enqueue: the platform asks for contacts, under the webhook's signature rule."""

from __future__ import annotations

import json
from typing import Any

import pytest

from syncengine.web import sign_hex
from tests.web.conftest import SECRET, SIGNATURE_HEADER, Serve, Served, signed


def _body(document: Any) -> bytes:
    return json.dumps(document).encode()


def test_a_signed_list_of_contacts_is_queued_with_reason_enqueue(served: Served) -> None:
    body = _body({"contacts": [4821, 12, 4821]})
    response = served.client.post("/enqueue", content=body, headers=signed(body))
    assert response.status_code == 202
    assert response.json() == {"queued": [4821, 12]}
    assert served.daemon.queued == [([4821, 12], "enqueue")]


def test_one_contact_may_be_asked_for_alone(served: Served) -> None:
    body = _body({"contact": 4821})
    headers = {SIGNATURE_HEADER: sign_hex(SECRET, body)}
    assert served.client.post("/enqueue", content=body, headers=headers).json() == {
        "queued": [4821]
    }
    assert served.daemon.queued == [([4821], "enqueue")]


def test_an_unsigned_ask_is_401_when_a_secret_is_set(served: Served) -> None:
    response = served.client.post("/enqueue", json={"contact": 4821})
    assert response.status_code == 401
    assert served.daemon.queued == []


def test_an_ask_signed_with_another_secret_is_401(served: Served) -> None:
    body = _body({"contact": 4821})
    response = served.client.post("/enqueue", content=body, headers=signed(body, secret="nope"))
    assert response.status_code == 401
    assert served.daemon.queued == []


def test_an_unsigned_ask_is_queued_when_no_secret_is_set(serve: Serve) -> None:
    served = serve(secret=None)
    response = served.client.post("/enqueue", json={"contacts": [1, 2]})
    assert response.status_code == 202
    assert served.daemon.queued == [([1, 2], "enqueue")]


def test_an_ask_for_no_contacts_queues_nothing(served: Served) -> None:
    body = _body({"contacts": []})
    response = served.client.post("/enqueue", content=body, headers=signed(body))
    assert response.status_code == 202
    assert response.json() == {"queued": []}
    assert served.daemon.queued == []  # the queue is not even asked


@pytest.mark.parametrize(
    ("document", "names"),
    [
        ({"contacts": [1, 0]}, "contacts[1]"),
        ({"contacts": [2_147_483_648]}, "contacts[0]"),
        ({"contacts": ["4821"]}, "not a whole number"),
        ({"contact": True}, "contact is not a contact id"),
        ({"ids": [1]}, "'contacts'"),
    ],
)
def test_a_malformed_ask_is_400_naming_the_problem(
    served: Served, document: dict[str, Any], names: str
) -> None:
    body = _body(document)
    response = served.client.post("/enqueue", content=body, headers=signed(body))
    assert response.status_code == 400
    assert names in response.json()["error"]
    assert served.daemon.queued == []


def test_an_ask_is_not_counted_as_a_webhook_delivery(served: Served) -> None:
    body = _body({"contact": 1})
    served.client.post("/enqueue", content=body, headers=signed(body))
    assert served.daemon.deliveries == []


def test_an_oversized_ask_is_413(serve: Serve) -> None:
    served = serve(max_body=64)
    body = _body({"contacts": list(range(1, 100))})
    response = served.client.post("/enqueue", content=body, headers=signed(body))
    assert response.status_code == 413
    assert served.daemon.queued == []
