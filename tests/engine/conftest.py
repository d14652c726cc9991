"""End-to-end fixtures: the real engine, the real client over loopback HTTP to the sandbox,
and a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import copy
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path as FsPath
from typing import Any

import pytest

from syncengine.bootstrap import App, open_app
from syncengine.config import (
    CrmSettings,
    DatabaseSettings,
    LocalSettings,
    RateLimitSettings,
    RetrySettings,
    Settings,
    TimeoutSettings,
)
from syncengine.sandbox import SandboxServer
from tests.fixtures.sandbox import SANDBOX_TOKEN

AUDIT_KEYS = frozenset({"modifiedDateTimeUtc", "modifiedByUser"})
AN_HOUR_NS = 3_600 * 1_000_000_000


def household(contact_id: int) -> dict[str, Any]:
    """A plain household contact, as the sandbox's seed and as a platform document."""
    return {
        "id": contact_id,
        "contactType": "Household",
        "name": f"The {contact_id} Household",
        "informalName": f"Household {contact_id}",
    }


def write_settled(path: FsPath, document: dict[str, Any]) -> None:
    """``document`` written to ``path`` an hour ago: its time is settled (a time just
    written is looked at once more: tests/engine/test_racy_stamps.py)."""
    path.write_text(json.dumps(document), encoding="utf-8")
    then = time.time_ns() - AN_HOUR_NS
    os.utime(path, ns=(then, then))


def engine_settings(base_url: str, database_url: str, **crm: Any) -> Settings:
    return Settings(
        crm=CrmSettings(
            base_url=base_url,
            # Fast retries: the tests inject the faults, they need not wait for them.
            retry=RetrySettings(max_attempts=4, backoff_initial=0.01, backoff_max=0.05),
            timeouts=TimeoutSettings(read=5.0),
            rate_limit=RateLimitSettings(reserve=0, max_wait=5.0),
            **crm,
        ),
        database=DatabaseSettings(url=database_url),
    )


def files_engine_settings(base_url: str, database_url: str, folder: FsPath) -> Settings:
    """``engine_settings`` over a ``files`` platform: the documents in ``folder``."""
    return engine_settings(base_url, database_url).model_copy(
        update={"local": LocalSettings(adapter="files", path=str(folder))}
    )


@pytest.fixture
def app(sandbox: SandboxServer, database_url: str) -> Iterator[App]:
    settings = engine_settings(sandbox.base_url, database_url)
    with open_app(settings, {"CRMPLUS_API_TOKEN": SANDBOX_TOKEN}) as built:
        yield built


def strip_audit(value: Any) -> Any:
    """The record without the stamps every write moves (compared separately)."""
    if isinstance(value, dict):
        return {k: strip_audit(v) for k, v in value.items() if k not in AUDIT_KEYS}
    if isinstance(value, list):
        return [strip_audit(v) for v in value]
    return value


def snapshot(sandbox: SandboxServer, contact_id: int) -> Any:
    """Everything the sandbox holds for a contact (all addresses, archive state)."""
    return strip_audit(copy.deepcopy(sandbox.hooks.raw_contact(contact_id)))
