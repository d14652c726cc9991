"""What a request observer of ``CrmClient`` sees: one call per HTTP attempt.

The observer is how request latency reaches the metrics without the client knowing
about Prometheus: the composition root passes a callable, the client calls it.
"""

from __future__ import annotations

import re
from collections.abc import Callable

# (method, endpoint template, status or None when no answer came, seconds)
RequestObserver = Callable[[str, str, int | None, float], None]

ID_PLACEHOLDER = "{id}"

# A path segment that is an id: digits (a negative one too: ``_id`` lets any int through)
# or a GUID. Everything else in the client's paths is a fixed word of the API.
_ID_SEGMENT = re.compile(
    r"(?<=/)(?:-?\d+|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})"
    r"(?=/|$)"
)


def endpoint_template(path: str) -> str:
    """``/api/Contact/4821`` -> ``/api/Contact/{id}``: the endpoint without its ids.

    Metrics label requests by endpoint; a raw id per contact would make one time series
    per contact, which is what a metrics store must never be given.
    """
    return _ID_SEGMENT.sub(ID_PLACEHOLDER, path)
