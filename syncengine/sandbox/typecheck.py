"""Natural-type checking of a write body: the live API's model binding, made strict.

The spec types almost everything as ``string``; the live API expects natural JSON types,
and a client that sends ``"true"`` or ``"2010"`` gets a 400 whose ``modelState`` names the
field path the ASP.NET way (``contact.contactIndividuals[0].isDeceased``). Only writable
fields are checked: read-only and unknown keys are ignored on write, so a client echoing
a GET response back is never refused for them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from syncengine.domain.schema import Field, Kind
from syncengine.sandbox.api_errors import INVALID_REQUEST, BadRequestError
from syncengine.sandbox.timefmt import is_iso_date

ShapeTable = Mapping[str, Mapping[str, Field]]

# The .NET type names JSON.NET puts in its conversion errors.
_NET_TYPE = {
    Kind.STRING: "System.String",
    Kind.BOOL: "System.Boolean",
    Kind.INT: "System.Nullable`1[System.Int32]",
    Kind.DATE: "System.Nullable`1[System.DateTime]",
}


def check_types(body: Any, shape: str, shapes: ShapeTable, root: str) -> dict[str, Any]:
    """Return ``body`` as a dict if every writable field has its natural type, else 400.

    ``root`` is the action parameter name that prefixes modelState keys ("contact").
    """
    if not isinstance(body, dict):
        raise BadRequestError(
            INVALID_REQUEST,
            {root: [f"Cannot deserialize {_describe(body)} into type '{shape}'."]},
        )
    errors: dict[str, list[str]] = {}
    _check_object(body, shapes[shape], shapes, root, "", errors)
    if errors:
        raise BadRequestError(INVALID_REQUEST, errors)
    return body


def _check_object(
    value: Mapping[str, Any],
    fields: Mapping[str, Field],
    shapes: ShapeTable,
    root: str,
    path: str,
    errors: dict[str, list[str]],
) -> None:
    for key, field in fields.items():
        if not field.writable or key not in value:
            continue
        _check_value(value[key], field, shapes, root, _join(path, key), errors)


def _check_value(
    value: Any,
    field: Field,
    shapes: ShapeTable,
    root: str,
    path: str,
    errors: dict[str, list[str]],
) -> None:
    if field.kind is Kind.ARRAY:
        if value is None:
            return
        if not isinstance(value, list):
            _fail(errors, root, path, f"Cannot deserialize {_describe(value)} into an array.")
            return
        element = (
            Field(Kind.OBJECT, shape=field.shape)
            if field.shape
            else Field(field.item_kind or Kind.OPAQUE)
        )
        for index, item in enumerate(value):
            if item is None and element.kind is not Kind.OPAQUE:
                _fail(errors, root, f"{path}[{index}]", "A null item is not allowed here.")
            else:
                _check_value(item, element, shapes, root, f"{path}[{index}]", errors)
    elif field.kind is Kind.OBJECT:
        if value is None:
            return
        if not isinstance(value, dict):
            _fail(errors, root, path, f"Cannot deserialize {_describe(value)} into an object.")
        elif field.shape is not None:
            _check_object(value, shapes[field.shape], shapes, root, path, errors)
    elif not _scalar_ok(field.kind, value):
        net_type = _NET_TYPE.get(field.kind, "System.Object")
        _fail(
            errors,
            root,
            path,
            f"Error converting value {_shown(value)} to type '{net_type}'. Path '{path}'.",
        )


def _scalar_ok(kind: Kind, value: Any) -> bool:
    if kind is Kind.STRING:
        return value is None or isinstance(value, str)
    if kind is Kind.BOOL:
        # Not nullable: a null boolean is a binding error on the live API too.
        return isinstance(value, bool)
    if kind is Kind.INT:
        # bool is an int subclass in Python; JSON true is not a number.
        return value is None or (isinstance(value, int) and not isinstance(value, bool))
    if kind is Kind.DATE:
        return value is None or (isinstance(value, str) and (value == "" or is_iso_date(value)))
    return True  # OPAQUE values (custom field values) are whatever the org's field holds


def _fail(errors: dict[str, list[str]], root: str, path: str, message: str) -> None:
    errors.setdefault(f"{root}.{path}" if path else root, []).append(message)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _shown(value: Any) -> str:
    return "{null}" if value is None else json.dumps(value)


def _describe(value: Any) -> str:
    if isinstance(value, list):
        return "the current JSON array"
    if isinstance(value, dict):
        return "the current JSON object"
    return f"the JSON value {_shown(value)}"
