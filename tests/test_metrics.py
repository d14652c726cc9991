"""Metrics: an own registry, an organization label on everything, small label sets."""

from __future__ import annotations

import math

import pytest
from prometheus_client import REGISTRY, Metric
from prometheus_client.parser import text_string_to_metric_families

from syncengine.metrics import CONTACT_OUTCOMES, NO_RESPONSE, WEBHOOK_RESULTS, Metrics


def _families(metrics: Metrics) -> dict[str, Metric]:
    content, content_type = metrics.render()
    assert content_type.startswith("text/plain")
    return {f.name: f for f in text_string_to_metric_families(content.decode())}


def _value(metrics: Metrics, sample_name: str, **labels: str) -> float:
    for family in _families(metrics).values():
        for sample in family.samples:
            if sample.name == sample_name and sample.labels == labels:
                return sample.value
    raise AssertionError(f"no sample {sample_name}{labels}")


def test_contacts_are_counted_by_organization_and_outcome() -> None:
    metrics = Metrics()
    metrics.count_contacts("org-a", "pushed", 2)
    metrics.count_contacts("org-a", "pushed")
    metrics.count_contacts("org-b", "failed")
    assert _value(metrics, "syncengine_contacts_total", organization="org-a", outcome="pushed") == 3
    assert _value(metrics, "syncengine_contacts_total", organization="org-b", outcome="failed") == 1


def test_every_outcome_of_an_organization_starts_at_zero_once_it_shows_up() -> None:
    metrics = Metrics()
    metrics.set_queue_depth("org-a", 0)
    for outcome in CONTACT_OUTCOMES:
        value = _value(metrics, "syncengine_contacts_total", organization="org-a", outcome=outcome)
        assert value == 0
    for result in WEBHOOK_RESULTS:
        labels = {"organization": "org-a", "result": result}
        assert _value(metrics, "syncengine_webhook_deliveries_total", **labels) == 0


def test_an_unknown_outcome_or_result_is_refused() -> None:
    metrics = Metrics()
    with pytest.raises(ValueError, match="outcome"):
        metrics.count_contacts("org-a", "pushd")
    with pytest.raises(ValueError, match="result"):
        metrics.count_webhook_delivery("org-a", "ok")


def test_gauges_hold_the_latest_value_per_organization() -> None:
    metrics = Metrics()
    metrics.set_conflicts_open("org-a", 4)
    metrics.set_conflicts_open("org-a", 2)
    metrics.set_queue_depth("org-b", 11)
    metrics.set_budget_remaining("org-a", 4321)
    assert _value(metrics, "syncengine_conflicts_open", organization="org-a") == 2
    assert _value(metrics, "syncengine_queue_depth", organization="org-b") == 11
    assert _value(metrics, "syncengine_budget_remaining", organization="org-a") == 4321


def test_an_unknown_budget_is_nan_not_zero() -> None:
    metrics = Metrics()
    metrics.set_budget_remaining("org-a", None)
    assert math.isnan(_value(metrics, "syncengine_budget_remaining", organization="org-a"))


def test_crm_requests_are_timed_by_endpoint_template_and_status() -> None:
    metrics = Metrics()
    observe = metrics.crm_observer("org-a")
    observe("GET", "/api/Contact/{id}", 200, 0.04)
    observe("GET", "/api/Contact/{id}", 200, 0.06)
    observe("PUT", "/api/Contact/{id}", None, 30.0)
    get = {"organization": "org-a", "method": "GET", "endpoint": "/api/Contact/{id}"}
    assert _value(metrics, "syncengine_crm_request_seconds_count", **get, status="200") == 2
    assert _value(
        metrics, "syncengine_crm_request_seconds_sum", **get, status="200"
    ) == pytest.approx(0.1)
    put = {**get, "method": "PUT", "status": NO_RESPONSE}
    assert _value(metrics, "syncengine_crm_request_seconds_count", **put) == 1


def test_runs_and_webhook_deliveries_are_counted() -> None:
    metrics = Metrics()
    metrics.count_run("org-a", "pull", "ok")
    metrics.count_run("org-a", "pull", "failed")
    metrics.count_run("org-a", "pull", "ok")
    metrics.webhook_observer("org-b")("accepted")
    labels = {"organization": "org-a", "job": "pull"}
    assert _value(metrics, "syncengine_runs_total", **labels, outcome="ok") == 2
    assert _value(metrics, "syncengine_runs_total", **labels, outcome="failed") == 1
    assert (
        _value(
            metrics,
            "syncengine_webhook_deliveries_total",
            organization="org-b",
            result="accepted",
        )
        == 1
    )


def test_every_metric_carries_the_organization_label() -> None:
    metrics = Metrics()
    metrics.count_contacts("org-a", "synced")
    metrics.set_conflicts_open("org-a", 1)
    metrics.set_queue_depth("org-a", 1)
    metrics.set_budget_remaining("org-a", 1)
    metrics.observe_crm_request("org-a", "GET", "/api/Contact/{id}", 200, 0.1)
    metrics.count_run("org-a", "push", "ok")
    metrics.count_webhook_delivery("org-a", "accepted")
    families = _families(metrics)
    assert set(families) >= {
        "syncengine_contacts",
        "syncengine_conflicts_open",
        "syncengine_queue_depth",
        "syncengine_budget_remaining",
        "syncengine_crm_request_seconds",
        "syncengine_runs",
        "syncengine_webhook_deliveries",
    }
    for family in families.values():
        for sample in family.samples:
            assert sample.labels.get("organization") == "org-a", sample


def test_two_instances_do_not_share_values_nor_touch_the_global_registry() -> None:
    before = {m.name for m in REGISTRY.collect()}
    one, two = Metrics(), Metrics()  # the same metric names twice: no clash
    one.count_contacts("org-a", "pulled", 5)
    assert "org-a" not in two.render()[0].decode()
    assert {m.name for m in REGISTRY.collect()} == before
