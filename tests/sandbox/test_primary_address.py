"""Every reader of "the primary address" agrees: the Contact's ``address``, the Query
address parameters and the abbreviated list item all use ``records.primary_address``."""

from __future__ import annotations

import httpx

from tests.sandbox.helpers import HOME_ADDRESS, SHOWCASE, WINTER_ADDRESS, ok
from tests.sandbox.query_helpers import ABBREVIATED, FULL, condition, one_group


def primary_as_each_reader_sees_it(client: httpx.Client) -> tuple[int, list[int], str]:
    """(GET's address id, the contacts Query finds in Naples, the list item's address)."""
    address_id = ok(client.get(f"/api/Contact/{SHOWCASE}"))["address"]["id"]
    in_naples = one_group(condition("City", "Is", "Naples"))
    found = ok(client.post(FULL, json=in_naples, params={"take": 1000}))["list"]
    showcase_only = one_group(condition("Contact Id", "Is", SHOWCASE))
    (item,) = ok(client.post(ABBREVIATED, json=showcase_only))["list"]
    return address_id, [c["id"] for c in found], item["address"]


def test_the_readers_follow_the_primary_when_it_moves(sandbox_client: httpx.Client) -> None:
    assert primary_as_each_reader_sees_it(sandbox_client) == (HOME_ADDRESS, [], "Boulder, CO")
    winter = ok(sandbox_client.get(f"/api/ContactAddress/{WINTER_ADDRESS}"))
    ok(
        sandbox_client.put(
            f"/api/ContactAddress/{WINTER_ADDRESS}", json={**winter, "setAsPrimary": True}
        )
    )
    assert primary_as_each_reader_sees_it(sandbox_client) == (
        WINTER_ADDRESS,
        [SHOWCASE],
        "Naples, FL",
    )
