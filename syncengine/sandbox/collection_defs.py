"""The custom collections an organisation defines, and the instances records carry.

A custom collection is an org-defined, repeatable group of named fields ("Volunteer
Shifts": Role, Hours). Contacts and individuals carry instances of them in
``customCollections``, in the read shape public clients type as
``{customCollectionId, customCollectionName, collectionInstanceId, fields: [{name, value}]}``
(animalaidunlimited/virtuous-ts, ``CustomCollectionRead``).

Definitions come from seed data, beside the custom field definitions:

    {"customCollectionDefinitions": {
        "Contact": [{"customCollectionId": 101, "name": "Volunteer Shifts",
                     "fields": [{"name": "Role", "dataType": "Text"}, ...]}],
        "ContactIndividual": [...]}}

Collections found on seeded records but not declared are defined from them, as custom
fields are. Instances are stored on the records in the read shape (the schema passes
``customCollections`` through untouched), so GET and the raw state show them as they are.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from syncengine.domain.ports import Record
from syncengine.errors import FieldProblem
from syncengine.sandbox.seed import SeedError

COLLECTIONS = "customCollections"
DEFINITIONS_KEY = "customCollectionDefinitions"
COLLECTION_OWNERS = ("Contact", "ContactIndividual")


@dataclass(frozen=True)
class CollectionFieldDef:
    name: str
    data_type: str = "Text"


@dataclass(frozen=True)
class CollectionDef:
    """One custom collection the organisation defined for one owner shape."""

    collection_id: int
    name: str
    fields: tuple[CollectionFieldDef, ...]

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    def to_json(self) -> Record:
        return {
            "customCollectionId": self.collection_id,
            "customCollectionName": self.name,
            "fields": [{"name": f.name, "dataType": f.data_type} for f in self.fields],
        }


@dataclass
class CollectionBook:
    """Every collection definition of the organisation, and the next instance id."""

    definitions: dict[str, list[CollectionDef]] = field(
        default_factory=lambda: {owner: [] for owner in COLLECTION_OWNERS}
    )
    next_instance_id: int = 1

    def by_id(self, owner: str, collection_id: int) -> CollectionDef | None:
        return next((d for d in self.definitions[owner] if d.collection_id == collection_id), None)

    def by_name(self, owner: str, name: str) -> CollectionDef | None:
        return next((d for d in self.definitions[owner] if d.name == name), None)

    def new_instance_id(self) -> int:
        allocated = self.next_instance_id
        self.next_instance_id += 1
        return allocated

    def to_json(self) -> Record:
        """The seed format of the definitions (so a raw state loads back the same)."""
        return {owner: [d.to_json() for d in defs] for owner, defs in self.definitions.items()}


def load_collections(seed: Any, contacts: Sequence[Record]) -> CollectionBook:
    """The definitions declared in ``seed`` (raw seed data) plus any found on ``contacts``
    (stored records); instance ids continue after the highest one seeded.
    Raises ``SeedError`` for a malformed definition."""
    try:
        return _load(seed, contacts)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise SeedError(f"invalid custom collection data: {exc!r}") from exc


def _load(seed: Any, contacts: Sequence[Record]) -> CollectionBook:
    book = CollectionBook()
    declared = seed.get(DEFINITIONS_KEY) if isinstance(seed, Mapping) else None
    for owner in COLLECTION_OWNERS:
        for item in (declared or {}).get(owner, []):
            _define(book, owner, _definition(item))
    highest = 0
    for owner, instance in _seeded_instances(contacts):
        _define(book, owner, _definition(instance))
        highest = max(highest, int(instance["collectionInstanceId"]))
    book.next_instance_id = highest + 1
    return book


def instance_fields(definition: CollectionDef, values: Mapping[str, Any]) -> list[Record]:
    """Every field the collection defines, in its order, ``null`` when unset (as custom
    fields are listed on a record)."""
    return [{"name": name, "value": values.get(name)} for name in definition.field_names]


def field_values(
    definition: CollectionDef, fields: Iterable[Mapping[str, Any]], path: str
) -> tuple[dict[str, Any], list[FieldProblem]]:
    """``{name: value}`` of a write's ``fields``, and a 422 problem per unknown or
    repeated field name (``path`` is the modelState-style prefix of ``fields``)."""
    values: dict[str, Any] = {}
    problems: list[FieldProblem] = []
    for index, item in enumerate(fields):
        name = item.get("name")
        where = f"{path}[{index}].name"
        if name not in definition.field_names:
            message = f"The collection {definition.name!r} has no field named {name!r}."
            problems.append(FieldProblem(where, message, "UnknownCustomCollectionField"))
        elif name in values:
            message = f"The field {name!r} is given more than once."
            problems.append(FieldProblem(where, message, "DuplicateField"))
        else:
            values[name] = item.get("value")
    return values, problems


def unknown_collection(path: str, wanted: object) -> FieldProblem:
    return FieldProblem(
        path, f"The organisation has no custom collection {wanted!r}.", "UnknownCustomCollection"
    )


def _definition(item: Mapping[str, Any]) -> CollectionDef:
    collection_id = item["customCollectionId"]
    name = item.get("name", item.get("customCollectionName"))
    if isinstance(collection_id, bool) or not isinstance(collection_id, int):
        raise ValueError(f"a custom collection needs an integer id, got {collection_id!r}")
    if not isinstance(name, str) or not name:
        raise ValueError(f"a custom collection needs a name, got {name!r}")
    fields = tuple(
        CollectionFieldDef(str(f["name"]), str(f.get("dataType") or "Text"))
        for f in item.get("fields") or []
    )
    return CollectionDef(collection_id, name, fields)


def _define(book: CollectionBook, owner: str, definition: CollectionDef) -> None:
    if book.by_id(owner, definition.collection_id) is None:
        book.definitions[owner].append(definition)


def _seeded_instances(contacts: Sequence[Record]) -> Iterator[tuple[str, Record]]:
    for contact in contacts:
        for instance in contact.get(COLLECTIONS) or []:
            yield "Contact", instance
        for individual in contact.get("contactIndividuals") or []:
            for instance in individual.get(COLLECTIONS) or []:
                yield "ContactIndividual", instance
