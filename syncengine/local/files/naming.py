"""Which files in the folder are contact documents, and what their names say.

- ``<contactId>.json`` (``1001.json``): the platform's copy of CRM+ contact 1001 (an id
  in CRM+'s range: ``99999999999999999999.json`` names no contact and is a bad name);
- ``new-<key>.json`` (``new-ab12.json``): a platform contact not yet in CRM+, key ``ab12``;
- any other ``*.json`` not starting with a dot: a bad name, reported as malformed;
- everything else (README, notes, dot files such as our own temporary files, folders):
  not ours, ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from syncengine.domain.records import CONTACT_ID_RANGE, contact_id_problem

SUFFIX: Final = ".json"
NEW_PREFIX: Final = "new-"
# A canonical positive integer only: "0100.json" and "100.json" must not both claim
# contact 100.
_LINKED: Final = re.compile(r"[1-9][0-9]*", re.ASCII)
_KEY_FORBIDDEN: Final = frozenset("/\\\0")

BAD_NAME: Final = (
    f"the file name is neither <contactId>.json (a contact id from {CONTACT_ID_RANGE}) "
    "nor new-<key>.json"
)


@dataclass(frozen=True)
class DocumentName:
    """What a document's file name says: the contact id, or the key of a new contact."""

    contact_id: int | None
    key: str


def is_candidate(file_name: str) -> bool:
    """Whether a folder entry is meant to be a contact document at all."""
    return file_name.endswith(SUFFIX) and not file_name.startswith(".")


def parse_name(file_name: str) -> DocumentName | None:
    """The meaning of a candidate's name, or None for a bad name."""
    stem = file_name[: -len(SUFFIX)]
    if _LINKED.fullmatch(stem):
        contact_id = int(stem)
        # Out of CRM+'s range it names no contact: reported, never synced (a huge number
        # would otherwise reach the database and the API and stop the whole run).
        return DocumentName(contact_id, stem) if contact_id_problem(contact_id) is None else None
    if stem.startswith(NEW_PREFIX) and key_problem(stem[len(NEW_PREFIX) :]) is None:
        return DocumentName(None, stem[len(NEW_PREFIX) :])
    return None


def key_problem(key: str) -> str | None:
    """Why ``key`` cannot be the key of a new contact's file, or None."""
    if not key or key != key.strip():
        return "a key must be non-empty, without surrounding spaces"
    if _KEY_FORBIDDEN & set(key) or key in (".", ".."):
        # The key becomes part of a file name: it must not lead out of the folder.
        return f"the key {key!r} cannot be part of a file name"
    return None


def linked_name(contact_id: int) -> str:
    problem = contact_id_problem(contact_id)
    if problem:
        raise ValueError(f"{contact_id!r} is not a contact id: {problem}")
    return f"{contact_id}{SUFFIX}"


def new_name(key: str) -> str:
    problem = key_problem(key)
    if problem:
        raise ValueError(problem)
    return f"{NEW_PREFIX}{key}{SUFFIX}"
