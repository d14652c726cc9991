"""Plain-record helpers shared by every layer: canonical JSON and content hashes."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def canonical_json(record: Any) -> str:
    """One fixed rendering of a JSON value: sorted keys, no spaces, UTF-8 kept as is.

    Array order is kept: in CRM+ records it is the API's order and the diff matches
    array items by identity anyway, so reordering is not hidden from the hash.
    """
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def content_hash(record: Any) -> str:
    """SHA-256 (hex) of :func:`canonical_json` of ``record``."""
    return hashlib.sha256(canonical_json(record).encode("utf-8")).hexdigest()
