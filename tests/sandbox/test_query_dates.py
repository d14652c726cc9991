"""Relative date values ("Today", "30 Days Ago"...) resolve against the sandbox clock,
to whole days, on both date parameters and both query routes.

One sandbox for the module, its clock stopped on Wednesday 2026-12-09 15:30 UTC, seeded
with one contact per relative value, created and last modified at 10:00 on the day that
value names (the expected days are written out here, not computed).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from syncengine.sandbox import ManualClock, SandboxServer, SandboxSettings
from tests.fixtures.sandbox import SANDBOX_TOKEN, client_for
from tests.sandbox.query_helpers import QUERY_ROUTES, condition, ids, one_group

NOW = datetime(2026, 12, 9, 15, 30, tzinfo=UTC)  # a Wednesday

DAYS = {
    "Today": "2026-12-09",
    "Yesterday": "2026-12-08",
    "Tomorrow": "2026-12-10",
    "30 Days Ago": "2026-11-09",
    "60 Days Ago": "2026-10-10",
    "90 Days Ago": "2026-09-10",
    "180 Days Ago": "2026-06-12",
    "270 Days Ago": "2026-03-14",
    "One Year Ago": "2025-12-09",
    "Two Years Ago": "2024-12-09",
    "Last Sunday": "2026-12-06",
    "Start Of This Month": "2026-12-01",
    "This Calendar Year": "2026-01-01",
    "One week from now": "2026-12-16",
}
CONTACT_OF = {name: 100 + index for index, name in enumerate(DAYS)}
LEAP_DAY_YEAR_AGO, LEAP_DAY_TWO_YEARS_AGO = 200, 201  # 2027-02-28 and 2026-02-28


def _contact(contact_id: int, day: str, time: str = "10:00:00") -> dict[str, object]:
    stamp = f"{day}T{time}"
    return {
        "id": contact_id,
        "contactType": "Household",
        "name": f"Contact {contact_id}",
        "createDateTimeUtc": stamp,
        "modifiedDateTimeUtc": stamp,
    }


SEED = {
    "contacts": [_contact(CONTACT_OF[name], day) for name, day in DAYS.items()]
    + [_contact(LEAP_DAY_YEAR_AGO, "2027-02-28"), _contact(LEAP_DAY_TWO_YEARS_AGO, "2026-02-28")]
}


@pytest.fixture(scope="module")
def module_clock() -> ManualClock:
    return ManualClock(NOW)


@pytest.fixture(scope="module")
def dated(module_clock: ManualClock) -> Iterator[SandboxServer]:
    server = SandboxServer(SandboxSettings(token=SANDBOX_TOKEN), clock=module_clock, seed=SEED)
    with server:
        yield server


@pytest.fixture
def clock(module_clock: ManualClock) -> Iterator[ManualClock]:
    """The sandbox's clock, at NOW when each test starts (a test may move it)."""
    module_clock.set(NOW)
    yield module_clock
    module_clock.set(NOW)


@pytest.fixture
def client(dated: SandboxServer, clock: ManualClock) -> Iterator[httpx.Client]:
    with client_for(dated) as http:
        yield http


@pytest.mark.parametrize("route", QUERY_ROUTES)
@pytest.mark.parametrize("parameter", ["Create Date", "Last Modified Date"])
@pytest.mark.parametrize("name", list(DAYS))
def test_a_relative_date_names_one_day(
    client: httpx.Client, route: str, parameter: str, name: str
) -> None:
    assert ids(client, one_group(condition(parameter, "Is", name)), route) == [CONTACT_OF[name]]


def test_the_relative_and_the_absolute_day_are_the_same(client: httpx.Client) -> None:
    for name, day in DAYS.items():
        relative = one_group(condition("Last Modified Date", "OnOrAfter", name))
        absolute = one_group(condition("Last Modified Date", "OnOrAfter", day))
        assert ids(client, relative) == ids(client, absolute), name


def test_relative_dates_compare_whole_days(client: httpx.Client) -> None:
    # Modified at 10:00 today; the clock says 15:30: still "Today", not "After Yesterday"
    # by the hour.
    after_yesterday = one_group(condition("Last Modified Date", "After", "Yesterday"))
    expected = [CONTACT_OF[n] for n in ("Today", "Tomorrow", "One week from now")]
    assert ids(client, after_yesterday) == sorted([*expected, LEAP_DAY_YEAR_AGO])
    window = one_group(
        condition("Create Date", "Between", "Start Of This Month", "Today"),
    )
    this_month = ("Today", "Yesterday", "Last Sunday", "Start Of This Month")
    assert ids(client, window) == sorted(CONTACT_OF[n] for n in this_month)


def test_relative_dates_follow_the_clock(client: httpx.Client, clock: ManualClock) -> None:
    clock.set(datetime(2026, 12, 10, 0, 0, 1, tzinfo=UTC))
    assert ids(client, one_group(condition("Last Modified Date", "Is", "Yesterday"))) == [
        CONTACT_OF["Today"]
    ]


def test_last_sunday_on_a_sunday_is_that_day(client: httpx.Client, clock: ManualClock) -> None:
    clock.set(datetime(2026, 12, 6, 8, 0, tzinfo=UTC))
    assert ids(client, one_group(condition("Create Date", "Is", "Last Sunday"))) == [
        CONTACT_OF["Last Sunday"]
    ]


def test_years_ago_from_a_leap_day_is_the_28th(client: httpx.Client, clock: ManualClock) -> None:
    clock.set(datetime(2028, 2, 29, 12, 0, tzinfo=UTC))
    assert ids(client, one_group(condition("Create Date", "Is", "One Year Ago"))) == [
        LEAP_DAY_YEAR_AGO
    ]
    assert ids(client, one_group(condition("Create Date", "Is", "Two Years Ago"))) == [
        LEAP_DAY_TWO_YEARS_AGO
    ]
