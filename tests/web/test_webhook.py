"""POST {webhook_path} over loopback: signed deliveries are queued and answered 202 at
once; anything unsigned, mis-signed, malformed or too large changes nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from syncengine.web import sign_base64, sign_hex
from tests.web.conftest import (
    SECRET,
    SIGNATURE_HEADER,
    WEBHOOK_PATH,
    Serve,
    Served,
    signed,
)


def _body(document: Any) -> bytes:
    return json.dumps(document).encode()


UPDATE = _body({"event": "ContactUpdate", "contact": {"id": 4821, "contactMethods": None}})


def test_a_delivery_signed_in_base64_is_queued_and_answered_202(served: Served) -> None:
    response = served.client.post(WEBHOOK_PATH, content=UPDATE, headers=signed(UPDATE))
    assert response.status_code == 202
    assert response.json() == {"queued": [4821]}
    assert served.daemon.queued == [([4821], "webhook")]
    assert served.daemon.deliveries == ["accepted"]


def test_a_delivery_signed_as_a_hex_digest_is_queued(served: Served) -> None:
    headers = {SIGNATURE_HEADER: sign_hex(SECRET, UPDATE).upper()}
    response = served.client.post(WEBHOOK_PATH, content=UPDATE, headers=headers)
    assert response.status_code == 202
    assert served.daemon.queued == [([4821], "webhook")]


def test_a_prefixed_signature_is_accepted(served: Served) -> None:
    headers = {SIGNATURE_HEADER: f"sha256={sign_base64(SECRET, UPDATE)}"}
    assert served.client.post(WEBHOOK_PATH, content=UPDATE, headers=headers).status_code == 202


def test_the_signature_header_name_is_matched_without_regard_to_case(served: Served) -> None:
    headers = {SIGNATURE_HEADER.lower(): sign_base64(SECRET, UPDATE)}
    assert served.client.post(WEBHOOK_PATH, content=UPDATE, headers=headers).status_code == 202


def test_a_contact_create_is_queued_too(served: Served) -> None:
    body = _body({"event": "ContactCreate", "contact": {"id": 77, "contactAddresses": []}})
    assert served.client.post(WEBHOOK_PATH, content=body, headers=signed(body)).json() == {
        "queued": [77]
    }
    assert served.daemon.queued_ids == [77]


def test_a_bulk_delivery_queues_every_contact_once_in_one_call(served: Served) -> None:
    models = [{"contact": {"id": i, "customContactType": None}} for i in (3, 1, 3, 2)]
    body = _body({"event": "ContactUpdate", "models": models})
    response = served.client.post(WEBHOOK_PATH, content=body, headers=signed(body))
    assert response.status_code == 202
    assert response.json() == {"queued": [3, 1, 2]}
    assert served.daemon.queued == [([3, 1, 2], "webhook")]


def test_a_repeated_delivery_is_queued_again_and_the_queue_merges_it(served: Served) -> None:
    for _ in range(2):
        response = served.client.post(WEBHOOK_PATH, content=UPDATE, headers=signed(UPDATE))
        assert response.status_code == 202
    assert served.daemon.queued_ids == [4821, 4821]


@pytest.mark.parametrize("event", ["GiftCreate", "NoteUpdate", "EventAttendeeCreate"])
def test_an_event_not_about_contacts_is_answered_2xx_and_ignored(
    served: Served, event: str
) -> None:
    body = _body({"event": event, "gift": {"id": 5, "contactId": 4821}})
    response = served.client.post(WEBHOOK_PATH, content=body, headers=signed(body))
    assert response.status_code == 200
    assert response.json() == {"queued": [], "ignored": event}
    assert served.daemon.queued == []
    assert served.daemon.deliveries == ["ignored"]


# -- refused: nothing queued -------------------------------------------------------------


def test_an_unsigned_delivery_is_401_and_nothing_is_queued(served: Served) -> None:
    response = served.client.post(WEBHOOK_PATH, content=UPDATE)
    assert response.status_code == 401
    assert response.json() == {"error": "the signature is missing"}
    assert served.daemon.queued == []
    assert served.daemon.deliveries == ["unauthorized"]


@pytest.mark.parametrize(
    "signature",
    [
        pytest.param(sign_base64("whsec-wrong-secret", UPDATE), id="wrong-secret"),
        pytest.param(sign_base64(SECRET, UPDATE + b" "), id="other-body"),
        pytest.param("garbage", id="garbage"),
        pytest.param("", id="empty"),
    ],
)
def test_a_bad_signature_is_401_and_nothing_is_queued(served: Served, signature: str) -> None:
    response = served.client.post(
        WEBHOOK_PATH, content=UPDATE, headers={SIGNATURE_HEADER: signature}
    )
    assert response.status_code == 401
    assert "error" in response.json()
    assert served.daemon.queued == []


def test_a_signature_in_another_header_is_not_looked_at(served: Served) -> None:
    headers = {"X-Hub-Signature-256": sign_base64(SECRET, UPDATE)}
    assert served.client.post(WEBHOOK_PATH, content=UPDATE, headers=headers).status_code == 401
    assert served.daemon.queued == []


def test_a_body_changed_after_signing_is_401(served: Served) -> None:
    tampered = UPDATE.replace(b"4821", b"4822")
    response = served.client.post(WEBHOOK_PATH, content=tampered, headers=signed(UPDATE))
    assert response.status_code == 401
    assert served.daemon.queued == []


def test_a_bad_signature_is_401_even_when_the_body_is_malformed(served: Served) -> None:
    # The signature is checked first: an unsigned sender learns nothing about parsing.
    response = served.client.post(
        WEBHOOK_PATH, content=b"{not json", headers={SIGNATURE_HEADER: "x"}
    )
    assert response.status_code == 401


def test_without_a_secret_unsigned_deliveries_are_accepted(serve: Serve) -> None:
    served = serve(secret=None)
    response = served.client.post(WEBHOOK_PATH, content=UPDATE)
    assert response.status_code == 202
    assert served.daemon.queued == [([4821], "webhook")]


@pytest.mark.parametrize(
    ("body", "names"),
    [
        pytest.param(b"{not json", "not valid JSON", id="not-json"),
        pytest.param(b'"ContactUpdate"', "JSON object", id="a-string"),
        pytest.param(_body({"contact": {"id": 1}}), "'event'", id="no-event"),
        pytest.param(_body({"event": "ContactUpdate", "contact": {}}), "'id'", id="no-id"),
        pytest.param(
            _body({"event": "ContactUpdate", "models": [{"contact": {"id": 1}}, {"x": 1}]}),
            "models[1]",
            id="bulk-item-without-contact",
        ),
        pytest.param(
            _body({"event": "ContactUpdate", "contact": {"id": 0}}), "contact.id", id="zero"
        ),
        pytest.param(
            _body({"event": "ContactUpdate", "contact": {"id": 2_147_483_648}}),
            "outside",
            id="over-int32",
        ),
        pytest.param(
            _body({"event": "ContactUpdate", "contact": {"id": "4821"}}),
            "not a whole number",
            id="text",
        ),
    ],
)
def test_a_malformed_delivery_is_400_naming_the_problem_and_nothing_is_queued(
    served: Served, body: bytes, names: str
) -> None:
    response = served.client.post(WEBHOOK_PATH, content=body, headers=signed(body))
    assert response.status_code == 400
    assert names in response.json()["error"]
    assert served.daemon.queued == []
    assert served.daemon.deliveries == ["malformed"]


def test_a_store_failure_is_503_so_the_sender_retries(serve: Serve) -> None:
    served = serve()
    served.daemon.enqueue_error = RuntimeError("database is locked")
    response = served.client.post(WEBHOOK_PATH, content=UPDATE, headers=signed(UPDATE))
    assert response.status_code == 503
    assert "database" not in response.text  # the cause is for the log, not the sender
    assert served.daemon.deliveries == ["failed"]


def test_a_failing_delivery_observer_does_not_fail_the_delivery(serve: Serve) -> None:
    def broken(result: str) -> None:
        raise RuntimeError("metrics down")

    served = serve(on_delivery=broken)
    response = served.client.post(WEBHOOK_PATH, content=UPDATE, headers=signed(UPDATE))
    assert response.status_code == 202
    assert served.daemon.queued_ids == [4821]


# -- size limit --------------------------------------------------------------------------

LIMIT = 4096


def _padded_update(size: int) -> bytes:
    # A valid delivery, padded with a field the parser ignores, exactly ``size`` bytes.
    head = b'{"event":"ContactUpdate","contact":{"id":4821},"pad":"'
    tail = b'"}'
    return head + b"x" * (size - len(head) - len(tail)) + tail


def test_a_body_of_exactly_the_limit_is_accepted(serve: Serve) -> None:
    served = serve(max_body=LIMIT)
    body = _padded_update(LIMIT)
    response = served.client.post(WEBHOOK_PATH, content=body, headers=signed(body))
    assert response.status_code == 202


def test_a_body_declared_larger_than_the_limit_is_413(serve: Serve) -> None:
    served = serve(max_body=LIMIT)
    body = _padded_update(LIMIT + 1)
    response = served.client.post(WEBHOOK_PATH, content=body, headers=signed(body))
    assert response.status_code == 413
    assert response.json() == {"error": f"the body is larger than {LIMIT} bytes"}
    assert served.daemon.queued == []
    assert served.daemon.deliveries == ["too_large"]


def test_a_streamed_body_larger_than_the_limit_is_413(serve: Serve) -> None:
    served = serve(max_body=LIMIT)
    body = _padded_update(LIMIT * 16)
    sent: list[int] = []

    def chunks() -> Iterator[bytes]:
        # A generator: httpx sends it chunked, with no Content-Length to refuse up front.
        for start in range(0, len(body), 1024):
            sent.append(start)
            yield body[start : start + 1024]

    response = served.client.post(WEBHOOK_PATH, content=chunks(), headers=signed(body))
    assert response.status_code == 413
    assert served.daemon.queued == []
    # ... and the connection still serves: the rest of the body was read and dropped.
    ok = served.client.post(WEBHOOK_PATH, content=UPDATE, headers=signed(UPDATE))
    assert ok.status_code == 202


# -- routing -----------------------------------------------------------------------------


def test_a_get_on_the_webhook_is_405_with_allow(served: Served) -> None:
    response = served.client.get(WEBHOOK_PATH)
    assert response.status_code == 405
    assert response.json() == {"error": "method not allowed"}
    assert "POST" in response.headers["allow"]


def test_an_unknown_path_is_404_json(served: Served) -> None:
    response = served.client.post("/webhooks/other", content=UPDATE, headers=signed(UPDATE))
    assert response.status_code == 404
    assert response.json() == {"error": "not found"}
    assert served.daemon.queued == []


def test_the_webhook_path_is_a_setting(serve: Serve) -> None:
    served = serve(webhook_path="/hooks/org-a")
    assert served.client.post("/hooks/org-a", content=UPDATE, headers=signed(UPDATE)).json() == {
        "queued": [4821]
    }


def test_a_client_reading_the_answer_as_json_gets_json(served: Served) -> None:
    response = served.client.post(WEBHOOK_PATH, content=UPDATE, headers=signed(UPDATE))
    assert response.headers["content-type"] == "application/json"


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        ({"webhook_path": "webhooks"}, "webhook_path"),
        ({"webhook_path": "/hooks/{org}"}, "webhook_path"),
        ({"webhook_path": "/healthz"}, "webhook_path"),
        ({"signature_header": " "}, "signature_header"),
        ({"secret": ""}, "secret"),
        ({"max_body": 0}, "max_body"),
    ],
)
def test_bad_options_are_refused_before_anything_listens(
    options: dict[str, Any], problem: str
) -> None:
    from syncengine.web import HealthReport, build_app

    arguments: dict[str, Any] = {
        "webhook_path": WEBHOOK_PATH,
        "signature_header": SIGNATURE_HEADER,
        "secret": SECRET,
        "enqueue": lambda ids, reason: None,
        "health": lambda: HealthReport(True),
        "metrics": lambda: (b"", "text/plain"),
        **options,
    }
    with pytest.raises(ValueError, match=problem):
        build_app(**arguments)


def test_the_client_sees_a_real_server_over_loopback(served: Served) -> None:
    assert served.server.base_url.startswith("http://127.0.0.1:")
    assert served.server.port > 0
    assert isinstance(served.client, httpx.Client)
