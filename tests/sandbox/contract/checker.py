"""Holds one HTTP answer to its expected status, headers and body schema.

Returns the list of what is wrong (empty when the answer conforms) rather than asserting,
so that ``test_checker`` can feed it deliberately wrong answers and see each one caught.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import httpx
from jsonschema import Draft202012Validator, validators
from jsonschema.protocols import Validator

from tests.sandbox.contract.schemas import Schema

# On EVERY answer, errors included (crmplus-api.md, "Transport").
RATE_LIMIT_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")


def _strict_integer(checker: Any, instance: Any) -> bool:
    # JSON Schema counts 4821.0 as an integer, and Python counts True as one: the
    # reference's "integers as numbers" means neither.
    return isinstance(instance, int) and not isinstance(instance, bool)


# types-jsonschema leaves ``extend`` untyped.
_StrictValidator = validators.extend(  # type: ignore[no-untyped-call]
    Draft202012Validator,
    type_checker=Draft202012Validator.TYPE_CHECKER.redefine("integer", _strict_integer),
)


def schema_problems(schema: Schema, instance: Any) -> list[str]:
    """Each place where ``instance`` breaks ``schema``, as "path: message"."""
    validator: Validator = _StrictValidator(schema)
    found = []
    for error in validator.iter_errors(instance):
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
        found.append(f"body{where}: {error.message[:200]}")
    return sorted(found)


# X-RateLimit-Reset is a moment in Unix seconds, not a delay: anything before 2001 is one.
_UNIX_SECONDS_FLOOR = 1_000_000_000


def _header_problems(headers: httpx.Headers, names: Iterable[str]) -> list[str]:
    found, values = [], {}
    for name in names:
        value = headers.get(name)
        if value is None or not value.isdigit():
            found.append(f"header {name} is {value!r}, expected a non-negative integer")
        else:
            values[name] = int(value)
    limit, remaining, reset = (values.get(name) for name in RATE_LIMIT_HEADERS)
    if limit is not None and remaining is not None and remaining > limit:
        found.append(f"X-RateLimit-Remaining {remaining} is above X-RateLimit-Limit {limit}")
    if reset is not None and reset < _UNIX_SECONDS_FLOOR:
        found.append(f"X-RateLimit-Reset {reset} is not a Unix time in seconds")
    return found


def answer_problems(
    response: httpx.Response,
    *,
    status: int,
    answer: Schema | None,
    headers: Iterable[str] = (),
) -> list[str]:
    """What is wrong with ``response``; ``answer`` None means the body must be empty and
    ``headers`` are integer-valued headers required besides the X-RateLimit-* ones."""
    found: list[str] = []
    if response.status_code != status:
        found.append(f"status {response.status_code}, expected {status}: {response.text[:300]}")
    found += _header_problems(response.headers, (*RATE_LIMIT_HEADERS, *headers))
    if answer is None:
        if response.content:
            found.append(f"expected an empty body, got {response.content[:300]!r}")
        return found
    content_type = response.headers.get("content-type", "")
    if not content_type.startswith("application/json"):
        found.append(f"content-type {content_type!r}, expected application/json")
    try:
        body = json.loads(response.content)
    except ValueError:
        return [*found, f"the body is not JSON: {response.content[:300]!r}"]
    return [*found, *schema_problems(answer, body)]
