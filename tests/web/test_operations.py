"""GET /healthz and GET /metrics, and the headers every answer carries."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from syncengine.metrics import Metrics
from syncengine.web import SECURITY_HEADERS, HealthReport
from tests.web.conftest import METRICS_BODY, METRICS_TYPE, WEBHOOK_PATH, Serve, Served, signed


def test_healthz_is_200_with_the_details_when_healthy(served: Served) -> None:
    served.daemon.health_report = HealthReport(True, {"jobs": "running", "database": "ok"})
    response = served.client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"ok": True, "details": {"jobs": "running", "database": "ok"}}


def test_healthz_is_503_with_the_details_when_not_healthy(served: Served) -> None:
    served.daemon.health_report = HealthReport(False, {"database": "unreachable"})
    response = served.client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"ok": False, "details": {"database": "unreachable"}}


def test_healthz_is_503_when_the_health_check_itself_fails(serve: Serve) -> None:
    def broken() -> HealthReport:
        raise RuntimeError("no database")

    served = serve(health=broken)
    response = served.client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"ok": False, "error": "the health check failed"}


def test_health_details_that_are_not_json_are_shown_as_text(served: Served) -> None:
    at = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    served.daemon.health_report = HealthReport(True, {"last_run": at})
    assert served.client.get("/healthz").json()["details"] == {"last_run": str(at)}


def test_metrics_answers_the_exposition_and_content_type_given(served: Served) -> None:
    response = served.client.get("/metrics")
    assert response.status_code == 200
    assert response.content == METRICS_BODY
    assert response.headers["content-type"] == METRICS_TYPE


def test_metrics_exposition_parses_and_shows_recorded_values(serve: Serve) -> None:
    metrics = Metrics()
    served = serve(metrics=metrics.render, on_delivery=metrics.webhook_observer("org-a"))
    metrics.count_contacts("org-a", "pushed", 3)
    metrics.set_queue_depth("org-a", 7)
    metrics.observe_crm_request("org-a", "GET", "/api/Contact/{id}", 200, 0.042)
    served.client.post(WEBHOOK_PATH, content=b"{}")  # unsigned: refused, and counted

    response = served.client.get("/metrics")
    assert response.status_code == 200
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }
    assert (
        samples[("syncengine_contacts_total", (("organization", "org-a"), ("outcome", "pushed")))]
        == 3
    )
    assert samples[("syncengine_queue_depth", (("organization", "org-a"),))] == 7
    assert (
        samples[
            (
                "syncengine_webhook_deliveries_total",
                (("organization", "org-a"), ("result", "unauthorized")),
            )
        ]
        == 1
    )
    count_key = (
        "syncengine_crm_request_seconds_count",
        (
            ("endpoint", "/api/Contact/{id}"),
            ("method", "GET"),
            ("organization", "org-a"),
            ("status", "200"),
        ),
    )
    assert samples[count_key] == 1


def test_metrics_is_500_json_when_rendering_fails(serve: Serve) -> None:
    def broken() -> tuple[bytes, str]:
        raise RuntimeError("registry broken")

    served = serve(metrics=broken)
    response = served.client.get("/metrics")
    assert response.status_code == 500
    assert response.json() == {"error": "the metrics could not be rendered"}


# -- headers on every answer -------------------------------------------------------------


def _every_kind_of_answer(client: httpx.Client) -> list[httpx.Response]:
    body = json.dumps({"event": "ContactUpdate", "contact": {"id": 1}}).encode()
    return [
        client.post(WEBHOOK_PATH, content=body, headers=signed(body)),  # 202
        client.post(WEBHOOK_PATH, content=body),  # 401
        client.post(WEBHOOK_PATH, content=b"[]", headers=signed(b"[]")),  # 400
        client.post("/enqueue", content=b"x" * 2_000_000),  # 401 (unsigned, before reading)
        client.get("/healthz"),
        client.get("/metrics"),
        client.get("/nowhere"),  # 404
        client.delete("/healthz"),  # 405
    ]


def test_every_answer_forbids_caching_and_type_sniffing(served: Served) -> None:
    for response in _every_kind_of_answer(served.client):
        for name, value in SECURITY_HEADERS.items():
            assert response.headers.get(name) == value, (response.request.url, name)


def test_an_unexpected_failure_is_a_json_500_with_the_headers_too(serve: Serve) -> None:
    served = serve(health=lambda: "not a report")  # a bug in the caller: .ok is missing
    response = served.client.get("/healthz")
    assert response.status_code == 500
    assert response.json() == {"error": "internal error"}
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value


@pytest.mark.parametrize("path", ["/healthz", "/metrics"])
def test_head_is_answered_like_get(served: Served, path: str) -> None:
    assert served.client.head(path).status_code == 200
