"""Contact documents as JSON text: parsing with precise complaints, and stable rendering.

Shared by the files adapter (one document per file) and the sql adapter's
``document_column``. A document that cannot be read exactly is malformed: it is
reported (``LocalDataError``) and never rewritten, because rewriting it would lose
whatever the platform meant.
"""

from __future__ import annotations

import json
from typing import Any

from syncengine.domain.limits import MAX_DEPTH, too_deep
from syncengine.domain.ports import Record
from syncengine.errors import LocalDataError, UnreadableDocumentError

__all__ = ["id_problem", "parse_document", "render_document"]


class _NotPlainJsonError(ValueError):
    pass


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # json.loads keeps the last of two equal keys silently; the first one would be lost on
    # the next write, so a document with a repeated key is malformed instead.
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _NotPlainJsonError(f"the key {key!r} appears twice in one object")
        result[key] = value
    return result


def _no_constant(name: str) -> Any:
    raise _NotPlainJsonError(f"{name} is not valid JSON")


def parse_document(raw: str | bytes, where: str) -> Record:
    """The JSON object in ``raw``; LocalDataError naming ``where`` and the problem
    (``UnreadableDocumentError`` where the bytes are not JSON text at all)."""
    if isinstance(raw, bytes):
        try:
            # utf-8-sig: a byte order mark (some Windows editors write one) is harmless.
            raw = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise UnreadableDocumentError(where, f"not UTF-8 text (byte {exc.start})") from None
    try:
        document = json.loads(raw, object_pairs_hook=_unique_keys, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise UnreadableDocumentError(
            where, f"invalid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None
    except _NotPlainJsonError as exc:
        raise LocalDataError(where, f"invalid JSON: {exc}") from None
    except RecursionError:
        raise LocalDataError(where, "invalid JSON: nested too deeply to read") from None
    if not isinstance(document, dict):
        raise LocalDataError(where, f"the document is {_json_kind(document)}, not a JSON object")
    if too_deep(document):
        raise LocalDataError(where, f"invalid contact: nested more than {MAX_DEPTH} levels deep")
    return document


def _json_kind(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return "a string"
    return "a number"


def id_problem(document: Record, contact_id: int | None) -> str | None:
    """Why the document's ``id`` contradicts where it is stored, or None if it does not.

    An absent or null ``id`` says nothing (the field is simply not managed).
    """
    value = document.get("id")
    if value is None:
        return None
    if contact_id is None:
        return f"it is not linked to a CRM+ contact yet but its 'id' is {value!r}"
    # bool is an int in Python: ``"id": true`` must not pass as contact 1.
    if type(value) is not int or value != contact_id:
        return f"its 'id' {value!r} disagrees with contact id {contact_id}"
    return None


def render_document(document: Record) -> str:
    """Pretty-printed, keys in the order given, UTF-8 characters kept, trailing newline."""
    return json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
