"""Sending one contract row to a running sandbox."""

from __future__ import annotations

import httpx

from tests.sandbox.contract.case import Auth, Case

WRONG_TOKEN = "not-the-sandbox-token"


def send(client: httpx.Client, case: Case) -> httpx.Response:
    """Run ``case.before``, build the body, and send the row's request. ``client`` carries
    the server's token; ``case.auth`` may take it away or replace it."""
    if case.before is not None:
        case.before(client)
    body = case.body(client) if case.body is not None else None
    if isinstance(body, bytes):  # sent as it is: malformed JSON must reach the server
        request = client.build_request(
            case.method,
            case.path,
            params=case.params,
            content=body,
            headers={"Content-Type": "application/json"},
        )
    else:  # ``json=None`` sends no body at all
        request = client.build_request(case.method, case.path, params=case.params, json=body)
    if case.auth is Auth.NONE:
        del request.headers["Authorization"]
    elif case.auth is Auth.WRONG:
        request.headers["Authorization"] = f"Bearer {WRONG_TOKEN}"
    return client.send(request)
