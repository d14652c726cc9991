"""Neither the secret nor a signature ever leaves the server: not in an answer, not in
a log line. And every delivery is logged: its event, how many ids, the outcome, why."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
import structlog
from structlog.testing import capture_logs

from syncengine.web import sign_base64, sign_hex
from tests.web.conftest import SECRET, SIGNATURE_HEADER, WEBHOOK_PATH, Serve, Served, signed

UPDATE = json.dumps({"event": "ContactUpdate", "models": [{"contact": {"id": 4821}}]}).encode()


@pytest.fixture
def rendered_log() -> Iterator[io.StringIO]:
    """structlog rendered as JSON lines into a buffer, as the daemon's ``--log-format
    json`` would, but WITHOUT the secret scrubber: what is checked is that nothing here
    hands a secret to the logger in the first place."""
    buffer = io.StringIO()
    structlog.configure(
        processors=[structlog.processors.add_log_level, structlog.processors.JSONRenderer()],
        logger_factory=structlog.PrintLoggerFactory(file=buffer),
        cache_logger_on_first_use=False,
    )
    yield buffer


def _requests_of_every_kind(served: Served) -> list[str]:
    """Sends accepted, refused, malformed and oversized requests; returns every text
    that came back (status line, headers and body)."""
    client = served.client
    wrong = sign_base64("whsec-wrong", UPDATE)
    bad_json = b'{"event": "ContactUpdate", "contact": {"id": "' + SECRET.encode() + b'"}}'
    responses = [
        client.post(WEBHOOK_PATH, content=UPDATE, headers=signed(UPDATE)),
        client.post(WEBHOOK_PATH, content=UPDATE, headers={SIGNATURE_HEADER: wrong}),
        client.post(WEBHOOK_PATH, content=UPDATE, headers={SIGNATURE_HEADER: SECRET}),
        client.post(WEBHOOK_PATH, content=UPDATE),
        client.post(WEBHOOK_PATH, content=bad_json, headers=signed(bad_json)),
        client.post("/enqueue", content=UPDATE, headers={SIGNATURE_HEADER: wrong}),
        client.post("/enqueue", content=b"x" * 10_000_000, headers=signed(b"x")),
        client.get("/healthz"),
        client.get("/metrics"),
    ]
    return [f"{r.status_code} {r.reason_phrase}\n{r.headers!r}\n{r.text}" for r in responses]


def test_no_answer_and_no_log_line_holds_the_secret_or_a_signature(
    served: Served, rendered_log: io.StringIO, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    answers = _requests_of_every_kind(served)

    log_text = rendered_log.getvalue() + caplog.text
    assert "web.delivery" in log_text  # the log was really captured
    secrets = [
        SECRET,
        sign_base64(SECRET, UPDATE),
        sign_hex(SECRET, UPDATE),
        sign_base64("whsec-wrong", UPDATE),
    ]
    for secret in secrets:
        assert secret not in log_text
        for answer in answers:
            assert secret not in answer


def test_an_accepted_delivery_is_logged_with_its_event_and_number_of_ids(
    served: Served,
) -> None:
    models = [{"contact": {"id": i}} for i in range(1, 26)]
    body = json.dumps({"event": "ContactUpdate", "models": models}).encode()
    with capture_logs() as logs:
        served.client.post(WEBHOOK_PATH, content=body, headers=signed(body))
    [entry] = [e for e in logs if e["event"] == "web.delivery"]
    assert entry["route"] == "webhook"
    assert entry["webhook_event"] == "ContactUpdate"
    assert entry["result"] == "accepted"
    assert entry["contacts"] == 25
    assert entry["contact_ids"] == list(range(1, 11))  # a few, never thousands
    assert entry["log_level"] == "info"


def test_a_refused_delivery_is_logged_with_why(served: Served) -> None:
    with capture_logs() as logs:
        served.client.post(
            WEBHOOK_PATH, content=UPDATE, headers={SIGNATURE_HEADER: "sig-NOT-RIGHT-1234"}
        )
    [entry] = [e for e in logs if e["event"] == "web.delivery"]
    assert entry["result"] == "unauthorized"
    assert entry["status"] == 401
    assert entry["why"] == "the signature does not match"
    assert entry["log_level"] == "warning"
    assert "sig-NOT-RIGHT-1234" not in json.dumps(logs, default=str)


def test_an_ignored_delivery_is_logged_as_ignored(served: Served) -> None:
    body = json.dumps({"event": "GiftCreate", "gift": {}}).encode()
    with capture_logs() as logs:
        served.client.post(WEBHOOK_PATH, content=body, headers=signed(body))
    [entry] = [e for e in logs if e["event"] == "web.delivery"]
    assert entry["result"] == "ignored" and entry["webhook_event"] == "GiftCreate"


def test_a_store_failure_is_logged_with_its_cause(serve: Serve) -> None:
    served = serve()
    served.daemon.enqueue_error = RuntimeError("database is locked")
    with capture_logs() as logs:
        served.client.post(WEBHOOK_PATH, content=UPDATE, headers=signed(UPDATE))
    [failure] = [e for e in logs if e["event"] == "web.enqueue_failed"]
    assert failure["error"] == "RuntimeError"
    assert failure["detail"] == "database is locked"
    assert "exc_info" not in failure  # no traceback with frame locals in the log
