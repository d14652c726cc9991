"""Small helpers shared by the sandbox tests (plain functions, no fixtures)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

SHOWCASE = 4821  # The Whitfield Household (see syncengine/sandbox/seed.py)
ELEANOR, THOMAS = 48211, 48212
ELEANOR_HOME_EMAIL, ELEANOR_PHONE, ELEANOR_WORK_EMAIL = 482111, 482112, 482113
THOMAS_HOME_EMAIL = 482121
HOME_ADDRESS, WINTER_ADDRESS = 48215, 48216
ARCHIVED_CONTACT = 4822
LIVE_IDS = [4817, 4818, 4819, 4820, 4821, 4823, 4824]  # every seeded contact but the archived

# The real-shaped GET responses of ../shared/reference/virtuous-fixtures, copied into the
# repository so that a fresh clone tests against them too.
FIXTURES = Path(__file__).resolve().parents[1] / "data"
STAMP_KEYS = ("modifiedDateTimeUtc", "modifiedByUser")
# Contact keys live responses carry that the recorded fixture predates, with their default.
LIVE_ONLY_CONTACT_KEYS = {"isCurrentUserFollowing": False, "nameFieldsLocked": False}


def load_fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return data


def contact(client: httpx.Client, contact_id: int = SHOWCASE) -> dict[str, Any]:
    response = client.get(f"/api/Contact/{contact_id}")
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


def put(client: httpx.Client, path: str, body: Any) -> httpx.Response:
    return client.put(path, json=body)


def ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, f"{response.status_code}: {response.text}"
    return response.json()


def by_id(items: list[dict[str, Any]], item_id: int) -> dict[str, Any]:
    return next(item for item in items if item["id"] == item_id)


def custom_values(record: dict[str, Any]) -> dict[str, Any]:
    return {field["name"]: field["value"] for field in record["customFields"]}


def without_stamps(value: Any) -> Any:
    """``value`` with every modifiedDateTimeUtc/modifiedByUser removed, at any depth."""
    if isinstance(value, dict):
        return {k: without_stamps(v) for k, v in value.items() if k not in STAMP_KEYS}
    if isinstance(value, list):
        return [without_stamps(v) for v in value]
    return value


def problems(response: httpx.Response) -> set[tuple[str, str]]:
    """(field, code) of a 422 answer."""
    assert response.status_code == 422, response.text
    return {(d["field"], d["code"]) for d in response.json()["error"]["details"]}


def model_state(response: httpx.Response) -> dict[str, list[str]]:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["message"]
    state: dict[str, list[str]] = body["modelState"]
    return state
