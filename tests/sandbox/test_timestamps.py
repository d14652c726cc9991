"""modifiedDateTimeUtc: .NET format, strictly increasing, only on what changed."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import httpx
import pytest

from syncengine.sandbox import ManualClock
from syncengine.sandbox.timefmt import parse_timestamp, render_timestamp
from tests.fixtures.sandbox import SandboxFactory, client_for
from tests.sandbox.helpers import (
    ELEANOR,
    ELEANOR_HOME_EMAIL,
    ELEANOR_PHONE,
    SHOWCASE,
    THOMAS,
    by_id,
    contact,
    ok,
    put,
)

NET_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{0,6}[1-9])?")
CONTACT = f"/api/Contact/{SHOWCASE}"


def _timestamps(value: Any) -> list[str]:
    if isinstance(value, dict):
        found = [v for k, v in value.items() if k.endswith("DateTimeUtc")]
        return found + [t for v in value.values() for t in _timestamps(v)]
    if isinstance(value, list):
        return [t for v in value for t in _timestamps(v)]
    return []


@pytest.mark.parametrize(
    "text",
    [
        "2023-11-30T14:20:56.3533333",
        "2023-11-30T14:20:56.34",
        "2023-11-30T14:20:56",
        "2023-11-30T14:20:56.0000001",
    ],
)
def test_timestamps_render_as_dotnet_does(text: str) -> None:
    assert render_timestamp(parse_timestamp(text)) == text


def test_trailing_zeros_are_dropped() -> None:
    assert (
        render_timestamp(parse_timestamp("2023-11-30T14:20:56.3400000")) == "2023-11-30T14:20:56.34"
    )
    assert render_timestamp(parse_timestamp("2023-11-30T14:20:56.0")) == "2023-11-30T14:20:56"


def test_every_timestamp_served_has_no_zone_and_at_most_7_fraction_digits(
    sandbox_client: httpx.Client,
) -> None:
    ok(put(sandbox_client, CONTACT, contact(sandbox_client)))  # include a fresh stamp
    stamps = _timestamps(contact(sandbox_client))
    assert len(stamps) > 10
    for stamp in stamps:
        assert NET_TIMESTAMP.fullmatch(stamp), stamp


def test_stamps_strictly_increase_even_when_the_clock_stands_still(
    sandbox_factory: SandboxFactory,
) -> None:
    server = sandbox_factory(clock=ManualClock(datetime(2024, 5, 1, 12, 0, 0)))
    with client_for(server) as client:
        stamps = [
            ok(put(client, CONTACT, contact(client)))["modifiedDateTimeUtc"] for _ in range(3)
        ]
    assert stamps == [
        "2024-05-01T12:00:00",
        "2024-05-01T12:00:00.0000001",
        "2024-05-01T12:00:00.0000002",
    ]


def test_stamps_follow_the_clock_when_it_moves(sandbox_factory: SandboxFactory) -> None:
    clock = ManualClock(datetime(2024, 5, 1, 12, 0, 0))
    server = sandbox_factory(clock=clock)
    with client_for(server) as client:
        ok(put(client, CONTACT, contact(client)))
        clock.advance(1.5)
        assert (
            ok(put(client, CONTACT, contact(client)))["modifiedDateTimeUtc"]
            == "2024-05-01T12:00:01.5"
        )


def test_a_write_stamps_the_contact_and_only_the_items_that_changed(
    sandbox_client: httpx.Client,
) -> None:
    before = contact(sandbox_client)
    body = contact(sandbox_client)
    by_id(by_id(body["contactIndividuals"], ELEANOR)["contactMethods"], ELEANOR_PHONE)["value"] = (
        "303-555-0199"
    )
    after = ok(put(sandbox_client, CONTACT, body))
    now = after["modifiedDateTimeUtc"]
    assert now > before["modifiedDateTimeUtc"]
    assert after["modifiedByUser"] == "Sandbox API User"
    eleanor_methods = by_id(after["contactIndividuals"], ELEANOR)["contactMethods"]
    assert by_id(eleanor_methods, ELEANOR_PHONE)["modifiedDateTimeUtc"] == now
    assert by_id(eleanor_methods, ELEANOR_PHONE)["modifiedByUser"] == "Sandbox API User"
    unchanged = [
        by_id(eleanor_methods, ELEANOR_HOME_EMAIL),
        by_id(after["contactIndividuals"], ELEANOR),  # its own fields did not change
        by_id(after["contactIndividuals"], THOMAS),
        after["address"],
    ]
    old = [
        by_id(by_id(before["contactIndividuals"], ELEANOR)["contactMethods"], ELEANOR_HOME_EMAIL),
        by_id(before["contactIndividuals"], ELEANOR),
        by_id(before["contactIndividuals"], THOMAS),
        before["address"],
    ]
    assert [i["modifiedDateTimeUtc"] for i in unchanged] == [i["modifiedDateTimeUtc"] for i in old]


def test_archiving_is_a_write_and_restamps_the_contact(sandbox_client: httpx.Client) -> None:
    before = contact(sandbox_client)["modifiedDateTimeUtc"]
    sandbox_client.put(f"/api/Contact/Archive/{SHOWCASE}")
    assert contact(sandbox_client)["modifiedDateTimeUtc"] > before
