"""Building query bodies and reading answers, for the query-language tests."""

from __future__ import annotations

from typing import Any

import httpx

FULL = "/api/Contact/Query/FullContact"
ABBREVIATED = "/api/Contact/Query"
OPTIONS = "/api/Contact/QueryOptions"
QUERY_ROUTES = (FULL, ABBREVIATED)


def condition(
    parameter: str | None,
    operator: str | None,
    value: Any = None,
    secondary: Any = None,
    values: list[Any] | None = None,
) -> dict[str, Any]:
    """One condition as clients send it: every key present, unused ones null or empty."""
    return {
        "parameter": parameter,
        "operator": operator,
        "value": value,
        "secondaryValue": secondary,
        "values": values if values is not None else [],
    }


def one_group(*conditions: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"groups": [{"conditions": list(conditions)}], **extra}


def ids(client: httpx.Client, body: dict[str, Any], route: str = FULL, **params: Any) -> list[int]:
    """The ids a query answers (take 1000 unless given), asserting a 200."""
    response = client.post(route, json=body, params={"take": 1000, **params})
    assert response.status_code == 200, response.text
    return [c["id"] for c in response.json()["list"]]


def refused(client: httpx.Client, body: Any, route: str = FULL) -> str:
    """The message of a 400 answer to a query (asserting it is one)."""
    response = client.post(route, json=body)
    assert response.status_code == 400, response.text
    message: str = response.json()["message"]
    return message
