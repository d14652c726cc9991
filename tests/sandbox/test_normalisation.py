"""The server normalises what it stores: trimmed strings, upper-case US state codes."""

from __future__ import annotations

import httpx
import pytest

from tests.sandbox.helpers import ELEANOR, SHOWCASE, WINTER_ADDRESS, by_id, contact, ok, put


def test_strings_come_back_trimmed_at_every_depth(sandbox_client: httpx.Client) -> None:
    body = contact(sandbox_client)
    body["name"] = "  The Whitfields \t"
    body["tags"] = [" Gala 2024 "]
    eleanor = by_id(body["contactIndividuals"], ELEANOR)
    eleanor["nickname"] = " Nell "
    eleanor["contactMethods"][0]["value"] = "  eleanor.whitfield@example.org "
    after = ok(put(sandbox_client, f"/api/Contact/{SHOWCASE}", body))
    eleanor = by_id(after["contactIndividuals"], ELEANOR)
    assert after["name"] == "The Whitfields"
    assert "Gala 2024" in after["tags"] and " Gala 2024 " not in after["tags"]
    assert eleanor["nickname"] == "Nell"
    assert eleanor["contactMethods"][0]["value"] == "eleanor.whitfield@example.org"


@pytest.mark.parametrize(
    ("state", "country", "stored"),
    [
        ("fl", "United States", "FL"),
        (" co ", "USA", "CO"),
        ("ny", "us", "NY"),
        ("wa", "", "WA"),
        ("wa", None, "WA"),
        ("on", "Canada", "on"),  # not a US address: left as written
        ("zz", "United States", "zz"),  # not a US state code
        ("Florida", "United States", "Florida"),  # free text stays free text
    ],
)
def test_us_state_codes_are_upper_cased(
    sandbox_client: httpx.Client, state: str, country: str | None, stored: str
) -> None:
    path = f"/api/ContactAddress/{WINTER_ADDRESS}"
    body = {**sandbox_client.get(path).json(), "state": state, "country": country}
    assert ok(put(sandbox_client, path, body))["state"] == stored
