"""docs/sandbox.md's route tables list exactly the routes the app registers: the first
table under "## Routes" every API route, the second every test hook. A route added,
renamed or dropped without its row fails here, naming it."""

from __future__ import annotations

import re
from pathlib import Path

from starlette.routing import Route

from syncengine.sandbox import SandboxSettings, create_app

DOC = Path(__file__).resolve().parents[2] / "docs" / "sandbox.md"
# "`GET /api/Contact/{id}`", "`GET /api/Contact/Find?email=`", "`POST /_sandbox/seed`"
_ROUTE = re.compile(r"`(GET|PUT|POST|DELETE|PATCH) (/[^`?\s]*)[^`]*`")
# A path parameter, named as the doc names it ({id}) or as Starlette does ({id:int}).
_PARAMETER = re.compile(r"\{[^}]*\}")
# Starlette answers HEAD on every GET route by itself; the API documents no HEAD.
_IMPLICIT = frozenset({"HEAD"})


def _key(method: str, path: str) -> str:
    return f"{method} {_PARAMETER.sub('{}', path)}"


def registered(*, test_hooks: bool) -> set[str]:
    app = create_app(SandboxSettings(token="docs", test_hooks=test_hooks))
    keys: set[str] = set()
    for route in app.routes:
        assert isinstance(route, Route), route  # a Mount would hide routes from this test
        keys |= {_key(m, route.path) for m in set(route.methods or ()) - _IMPLICIT}
    return keys


def route_tables(text: str) -> list[set[str]]:
    """The routes named in the first cell of each table's rows, table by table, in the
    "## Routes" section."""
    section = text.split("\n## Routes\n", 1)[1].split("\n## ", 1)[0]
    tables: list[set[str]] = []
    in_table = False
    for line in section.splitlines():
        is_row = line.startswith("|")
        if is_row and not in_table:
            tables.append(set())
        in_table = is_row
        if is_row:
            first_cell = line.split("|")[1]
            tables[-1] |= {_key(m, p) for m, p in _ROUTE.findall(first_cell)}
    return tables


def test_the_route_table_lists_every_api_route_and_no_other() -> None:
    api, _hooks = route_tables(DOC.read_text(encoding="utf-8"))
    served = registered(test_hooks=False)
    assert sorted(served - api) == [], "routes missing from docs/sandbox.md"
    assert sorted(api - served) == [], "routes docs/sandbox.md lists that the app has not"


def test_the_hook_table_lists_every_test_hook_and_no_other() -> None:
    _api, hooks = route_tables(DOC.read_text(encoding="utf-8"))
    served = registered(test_hooks=True) - registered(test_hooks=False)
    assert sorted(served - hooks) == [], "test hooks missing from docs/sandbox.md"
    assert sorted(hooks - served) == [], "test hooks docs/sandbox.md lists that the app has not"


def test_a_route_is_read_from_each_form_the_table_uses() -> None:
    table = """
## Routes

| route | what |
|---|---|
| `GET /api/Contact/Find?email=`<br>`PUT /api/Contact/{id}` | x |
| `POST /api/Contact/{id}/Collection/{customCollectionId}` | y |

| route | Python |
|---|---|
| `PUT /_sandbox/latency` `{"seconds": 0.2}` | `set_latency(s)` |

## Next
| `GET /api/Elsewhere` | not in the section |
"""
    assert route_tables(table) == [
        {"GET /api/Contact/Find", "PUT /api/Contact/{}", "POST /api/Contact/{}/Collection/{}"},
        {"PUT /_sandbox/latency"},
    ]
