"""The daemon's HTTP side: CRM+ webhooks, enqueue asks, ``/healthz`` and ``/metrics``.

An adapter that knows nothing about syncing: ``build_app`` is given callables (store
these contact ids, how healthy are we, render the metrics) and ``WebServer`` serves the
app in a thread. It imports ``syncengine.domain`` and ``syncengine.errors`` only.
"""

from syncengine.web.app import (
    DEFAULT_MAX_BODY,
    SECURITY_HEADERS,
    DeliveryResult,
    HealthReport,
    build_app,
)
from syncengine.web.deliveries import Delivery, MalformedRequest, parse_delivery, parse_enqueue
from syncengine.web.server import WebServer
from syncengine.web.signatures import sign_base64, sign_hex, signature_matches

__all__ = [
    "DEFAULT_MAX_BODY",
    "SECURITY_HEADERS",
    "Delivery",
    "DeliveryResult",
    "HealthReport",
    "MalformedRequest",
    "WebServer",
    "build_app",
    "parse_delivery",
    "parse_enqueue",
    "sign_base64",
    "sign_hex",
    "signature_matches",
]
