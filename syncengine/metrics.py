"""The daemon's Prometheus metrics, in a registry of their own.

``Metrics`` never touches prometheus_client's global registry: two daemons in one test
process (or one daemon per organisation in one process) would otherwise collide on
metric names, and the global registry also carries process collectors nobody asked for.

Every metric carries an ``organization`` label, so one daemon serving several CRM+
organisations shows each one's numbers apart. Label values come from small fixed sets
(outcomes, jobs, results, endpoint templates, status codes): never a contact id, which
would make one time series per contact.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

# What happened to one contact in a sync (the ``outcome`` of syncengine_contacts_total).
CONTACT_OUTCOMES = (
    "pushed",
    "pulled",
    "synced",
    "created",
    "linked",
    "relinked",
    "merged",
    "unchanged",
    "conflict",
    "failed",
    "skipped",
    "deferred",
)

# How a webhook delivery was answered (syncengine.web.DeliveryResult's values).
WEBHOOK_RESULTS = ("accepted", "ignored", "unauthorized", "malformed", "too_large", "failed")

# The status label of a request that got no answer (timeout, refused, dropped).
NO_RESPONSE = "none"

# CRM+ answers in tens of milliseconds to a few seconds; a timeout is 30 s by default.
REQUEST_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class Metrics:
    """The daemon's metrics. Thread-safe (prometheus_client's metrics are).

    ``count_contacts()`` refuses an outcome outside ``CONTACT_OUTCOMES`` and
    ``count_webhook_delivery()`` a result outside ``WEBHOOK_RESULTS`` (ValueError): a typo
    must fail a test, not create a series no dashboard looks at.
    """

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        registry = self.registry
        self._contacts = Counter(
            "syncengine_contacts",
            "Contacts handled, by what happened to them.",
            ["organization", "outcome"],
            registry=registry,
        )
        self._conflicts_open = Gauge(
            "syncengine_conflicts_open",
            "Conflicts waiting for a decision.",
            ["organization"],
            registry=registry,
        )
        self._queue_depth = Gauge(
            "syncengine_queue_depth",
            "Contacts waiting in the work queue.",
            ["organization"],
            registry=registry,
        )
        self._budget_remaining = Gauge(
            "syncengine_budget_remaining",
            "Requests left in the CRM+ hourly budget, as last reported by CRM+.",
            ["organization"],
            registry=registry,
        )
        self._crm_request_seconds = Histogram(
            "syncengine_crm_request_seconds",
            "CRM+ HTTP attempts: time to the answer, by endpoint template and status.",
            ["organization", "method", "endpoint", "status"],
            buckets=REQUEST_BUCKETS,
            registry=registry,
        )
        self._runs = Counter(
            "syncengine_runs",
            "Daemon job runs, by job and outcome.",
            ["organization", "job", "outcome"],
            registry=registry,
        )
        self._webhook_deliveries = Counter(
            "syncengine_webhook_deliveries",
            "Webhook deliveries, by how they were answered.",
            ["organization", "result"],
            registry=registry,
        )
        self._known: set[str] = set()

    # -- recording -------------------------------------------------------------------------

    def count_contacts(self, organization: str, outcome: str, count: int = 1) -> None:
        """``count`` contacts had ``outcome`` (one of ``CONTACT_OUTCOMES``)."""
        if outcome not in CONTACT_OUTCOMES:
            raise ValueError(f"unknown contact outcome {outcome!r}: one of {CONTACT_OUTCOMES}")
        self._prepare(organization)
        self._contacts.labels(organization, outcome).inc(count)

    def set_conflicts_open(self, organization: str, count: int) -> None:
        self._prepare(organization)
        self._conflicts_open.labels(organization).set(count)

    def set_queue_depth(self, organization: str, depth: int) -> None:
        self._prepare(organization)
        self._queue_depth.labels(organization).set(depth)

    def set_budget_remaining(self, organization: str, remaining: int | None) -> None:
        """``None``: CRM+ has not said yet (no request answered so far). Shown as NaN,
        a gap in a graph, rather than 0, which would read as a spent budget."""
        self._prepare(organization)
        value = math.nan if remaining is None else float(remaining)
        self._budget_remaining.labels(organization).set(value)

    def observe_crm_request(
        self, organization: str, method: str, endpoint: str, status: int | None, seconds: float
    ) -> None:
        """One HTTP attempt. ``endpoint`` is a template (``/api/Contact/{id}``)."""
        self._prepare(organization)
        label = NO_RESPONSE if status is None else str(status)
        self._crm_request_seconds.labels(organization, method, endpoint, label).observe(seconds)

    def crm_observer(self, organization: str) -> Callable[[str, str, int | None, float], None]:
        """The ``observe`` callable of ``CrmClient`` for ``organization``'s client."""

        def observe(method: str, endpoint: str, status: int | None, seconds: float) -> None:
            self.observe_crm_request(organization, method, endpoint, status, seconds)

        return observe

    def count_run(self, organization: str, job: str, outcome: str) -> None:
        """A run of ``job`` (push, pull, reconcile, work) ended with ``outcome``."""
        self._prepare(organization)
        self._runs.labels(organization, job, outcome).inc()

    def webhook_observer(self, organization: str) -> Callable[[str], None]:
        """The ``on_delivery`` callable of ``syncengine.web.build_app``."""

        def observe(result: str) -> None:
            self.count_webhook_delivery(organization, result)

        return observe

    def count_webhook_delivery(self, organization: str, result: str) -> None:
        if result not in WEBHOOK_RESULTS:
            raise ValueError(f"unknown webhook result {result!r}: one of {WEBHOOK_RESULTS}")
        self._prepare(organization)
        self._webhook_deliveries.labels(organization, result).inc()

    # -- exposition ------------------------------------------------------------------------

    def render(self) -> tuple[bytes, str]:
        """The exposition and its content type, for ``GET /metrics``."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST

    def _prepare(self, organization: str) -> None:
        # Every outcome and result starts at 0 the first time an organisation shows up:
        # a rate() over a series that appears only at its first increment misses that one.
        if organization in self._known:
            return
        for outcome in CONTACT_OUTCOMES:
            self._contacts.labels(organization, outcome)
        for result in WEBHOOK_RESULTS:
            self._webhook_deliveries.labels(organization, result)
        self._known.add(organization)
