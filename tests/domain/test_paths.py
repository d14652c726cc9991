"""Change paths: parsing, rendering, resolving on records, reading and applying changes."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
from deepdiff import DeepDiff
from hypothesis import given
from hypothesis import strategies as st

from syncengine.domain.paths import (
    REMOVE,
    ROOT,
    Append,
    Item,
    Key,
    Path,
    Segment,
    apply_change,
    find_schema_field,
    get_value,
    identity_of,
    item_segment,
    item_selector,
    parse_path,
    resolve,
    schema_field,
)
from syncengine.domain.ports import Record
from syncengine.domain.schema import ARRAY_IDENTITY, Kind
from syncengine.errors import ForbiddenChange, PathError
from tests.domain.strategies import contacts


def contact() -> Record:
    """The reference contact.json, with a second individual, a reference, tags and
    custom fields so that every kind of array has items."""
    return {
        "id": 1,
        "contactType": "Organization",
        "isPrivate": True,
        "name": "Test Contact",
        "description": None,
        "address": {
            "id": 800,
            "label": "Test address",
            "address1": "123 test street",
            "city": None,
            "state": "",
            "country": "",
            "isPrimary": True,
        },
        "giftAskAmount": "$1,200",
        "contactIndividuals": [
            {
                "id": 2,
                "contactId": 1,
                "firstName": "Test",
                "lastName": "Individual",
                "isPrimary": True,
                "isDeceased": False,
                "deceasedDate": "",
                "contactMethods": [
                    {"id": 2081, "type": "Work Email", "value": "email@test.com"},
                    {"id": 2082, "type": "Home Email", "value": "home@test.com"},
                ],
                "customFields": [],
            },
            {
                "id": 9012,
                "contactId": 1,
                "firstName": "Second",
                "lastName": "Person",
                "isPrimary": False,
                "isDeceased": False,
                "contactMethods": [],
                "customFields": [{"name": "Dietary Needs", "value": None}],
            },
        ],
        "contactReferences": [{"source": "portal", "id": "42"}],
        "tags": ["Gala 2024", "Newsletter"],
        "organizationGroups": [],
        "customFields": [
            {"name": "Shirt Size", "value": "M", "displayName": "Shirt Size"},
            {"name": "A, B", "value": None, "displayName": "A, B"},
        ],
        "x_unknownFutureKey": {"kept": True},
    }


# -- parsing and rendering -----------------------------------------------------------------

REQUIRED_EXAMPLES = [
    "name",
    "address.address1",
    "contactIndividuals[id=9012].isDeceased",
    "contactIndividuals[isPrimary=true].contactMethods[type=Home Email].value",
    "customFields[name=Shirt Size].value",
    "contactReferences[+]",
    "tags[+]",
    "tags[=Gala 2024]",
    "contactIndividuals[id=2].contactMethods[+]",
    "contactReferences[source=portal,id=42]",
    "contactIndividuals[id=2]",
    "addresses[id=5].city",
    'customFields[name="A, B"].value',
]


@pytest.mark.parametrize("text", REQUIRED_EXAMPLES)
def test_documented_examples_parse_and_render_back_unchanged(text: str) -> None:
    assert parse_path(text).render() == text


def test_segments_are_keys_items_set_members_and_appends() -> None:
    assert parse_path("contactIndividuals[isPrimary=true].contactMethods[+]").segments == (
        Item("contactIndividuals", (("isPrimary", "true"),)),
        Append("contactMethods"),
    )
    assert parse_path("tags[=Gala 2024]").segments == (Item("tags", (("", "Gala 2024"),)),)
    assert parse_path("address.city").segments == (Key("address"), Key("city"))


def test_selector_whitespace_is_trimmed_and_rendered_canonically() -> None:
    path = parse_path("  contactReferences[ source = portal , id = 42 ] ")
    assert path.render() == "contactReferences[source=portal,id=42]"


def test_compound_selector_keeps_the_written_key_order() -> None:
    assert parse_path("r[id=1,source=a]").last == Item("r", (("id", "1"), ("source", "a")))


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ('customFields[name="A, B"]', "A, B"),
        ('customFields[name="x]y"]', "x]y"),
        ('customFields[name="a=b"]', "a=b"),
        (r'customFields[name="say \"hi\""]', 'say "hi"'),
        (r'customFields[name="back\\slash"]', "back\\slash"),
        ('customFields[name="  padded "]', "  padded "),
        ('customFields[name=""]', ""),
        ("contactMethods[value=a.b@example.org]", "a.b@example.org"),
    ],
)
def test_quoted_values_may_hold_grammar_characters(text: str, value: str) -> None:
    path = parse_path(text)
    assert path.last == Item(path.last.name, (("name" if "name" in text else "value", value),))
    assert parse_path(path.render()) == path


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "empty path"),
        ("   ", "empty path"),
        ("a..b", "empty name"),
        (".a", "empty name"),
        ("a.", "ends with '.'"),
        ("a b", "contains ' '"),
        ("a[", "unclosed '['"),
        ("a[id=1", "unclosed '['"),
        ("a[id=1,", "unclosed '['"),
        ("a[x]", "expected key=value"),
        ("a[]", "expected key=value"),
        ("a[+ x]", "expected ']' after '+'"),
        ("a[id=1]b", "expected '.'"),
        ("a[id=1][id=2]", "expected '.'"),
        ('a[k="x]', "unclosed '\"'"),
        ('a[k="x" y]', "expected ',' or ']'"),
        (r'a[k="\n"]', "may be escaped"),
        ("a[k=a=b]", "quote values containing '='"),
        ('a[k=a"b]', "quote values containing '\"'"),
        ("a[k=1,k=2]", "appears twice"),
        ("a[=x,k=1]", "cannot be combined"),
        ("tags[=x].y", "can only end a path"),
        ("a[b c=1]", "bad key"),
    ],
)
def test_bad_syntax_raises_path_error_naming_the_path_and_the_problem(
    text: str, problem: str
) -> None:
    with pytest.raises(PathError) as caught:
        parse_path(text)
    assert problem in caught.value.problem
    assert caught.value.path == text.strip()


def test_syntax_errors_point_at_a_column() -> None:
    with pytest.raises(PathError, match=r"column 3"):
        parse_path("a..b")


def test_parse_path_returns_a_path_unchanged() -> None:
    path = parse_path("name")
    assert parse_path(path) is path


def test_paths_are_built_from_code_with_concrete_item_identities() -> None:
    individual = contact()["contactIndividuals"][1]
    path = ROOT.item("contactIndividuals", individual).key("isDeceased")
    assert path.render() == "contactIndividuals[id=9012].isDeceased"
    assert str(ROOT.key("tags").parent.append("tags")) == "tags[+]"
    assert (parse_path("address") + parse_path("city")).render() == "address.city"


def test_segment_constructors_refuse_names_that_would_not_parse_back() -> None:
    with pytest.raises(PathError):
        Key("a.b")
    with pytest.raises(PathError):
        Item("tags", ())


# Explicit alphabets full of the characters the grammar cares about (and some it should
# not care about); they also keep Hypothesis from building Unicode tables on a cold cache.
_names = st.text(st.sampled_from("aZ09_$-:@é中"), min_size=1, max_size=6)
_values = st.text(st.sampled_from('aZ9 é中😀.,=[]+"\\\t\n\x1f\u00a0'), max_size=8)


@st.composite
def paths(draw: st.DrawFn) -> Path:
    """Any path the grammar allows, with values full of quotes, brackets and spaces."""
    segments: list[Segment] = []
    for _ in range(draw(st.integers(1, 4))):
        choice = draw(st.sampled_from(("key", "item", "append")))
        name = draw(_names)
        if choice == "key":
            segments.append(Key(name))
        elif choice == "append":
            segments.append(Append(name))
        else:
            keys = draw(st.lists(_names, min_size=1, max_size=3, unique=True))
            segments.append(Item(name, tuple((k, draw(_values)) for k in keys)))
    if draw(st.booleans()):
        segments.append(Item(draw(_names), (("", draw(_values)),)))
    return Path(tuple(segments))


@given(paths())
def test_parsing_a_rendered_path_gives_the_same_path(path: Path) -> None:
    assert parse_path(path.render()) == path


# -- identities ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("array", "item", "selector"),
    [
        ("contactIndividuals", {"id": 2, "firstName": "A"}, "[id=2]"),
        ("contactMethods", {"id": 7, "type": "Home Email", "value": "a@b"}, "[id=7]"),
        ("contactMethods", {"type": "Home Email", "value": "a@b"}, "[type=Home Email,value=a@b]"),
        ("contactMethods", {"id": None, "type": "Home Email", "value": None},
         "[type=Home Email,value=null]"),
        ("contactIndividuals", {"firstName": "Ana", "lastName": "Okafor"},
         "[firstName=Ana,lastName=Okafor]"),
        ("customFields", {"name": "A, B", "value": 1}, '[name="A, B"]'),
        ("contactReferences", {"source": "portal", "id": "42"}, "[source=portal,id=42]"),
        ("tags", "Gala 2024", "[=Gala 2024]"),
        ("somethingNew", {"id": 5}, "[id=5]"),
    ],
)  # fmt: skip
def test_items_are_named_by_identity_then_natural_key(array: str, item: Any, selector: str) -> None:
    assert item_selector(array, item) == selector
    assert item_segment(array, item).render() == array + selector


def test_identity_is_a_hashable_tuple_of_key_value_pairs() -> None:
    assert identity_of("contactReferences", {"source": "p", "id": "1"}) == (
        ("source", "p"),
        ("id", "1"),
    )
    assert identity_of("tags", "x") == (("", "x"),)
    assert hash(identity_of("contactMethods", {"type": "t", "value": None}))


@pytest.mark.parametrize(
    ("array", "item"),
    [
        ("contactReferences", {"id": "42"}),
        ("customFields", {"value": 1}),
        ("contactMethods", {"isPrimary": True}),
        ("contactIndividuals", "not an object"),
    ],
)
def test_an_item_without_identity_or_natural_key_is_refused(array: str, item: Any) -> None:
    with pytest.raises(PathError, match="no identity"):
        identity_of(array, item)


# -- resolving -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "concrete"),
    [
        ("name", "name"),
        ("contactIndividuals[isPrimary=true].isDeceased", "contactIndividuals[id=2].isDeceased"),
        (
            "contactIndividuals[isPrimary=TRUE].contactMethods[type=Home Email].value",
            "contactIndividuals[id=2].contactMethods[id=2082].value",
        ),
        ("contactIndividuals[firstName=Second]", "contactIndividuals[id=9012]"),
        ("customFields[name=Shirt Size].value", "customFields[name=Shirt Size].value"),
        ('customFields[name="A, B"].value', 'customFields[name="A, B"].value'),
        ("contactReferences[id=42]", "contactReferences[source=portal,id=42]"),
        ("tags[=Gala 2024]", "tags[=Gala 2024]"),
        (
            "contactIndividuals[id=2].contactMethods[+]",
            "contactIndividuals[id=2].contactMethods[+]",
        ),
        ("x_unknownFutureKey.kept", "x_unknownFutureKey.kept"),
    ],
)
def test_resolve_replaces_every_selector_by_the_items_identity(written: str, concrete: str) -> None:
    assert resolve(contact(), written).render() == concrete


def test_selector_values_match_natural_types() -> None:
    record = contact()
    assert get_value(record, "contactIndividuals[id=9012].lastName") == "Person"
    assert get_value(record, "contactIndividuals[isPrimary=false].id") == 9012
    # A reference id is text: "42" matches it exactly, as text.
    assert get_value(record, "contactReferences[source=portal,id=42].id") == "42"
    # 1 is not true: booleans are matched as booleans, not as numbers.
    with pytest.raises(PathError, match="no item"):
        resolve(record, "contactIndividuals[isPrimary=1]")
    with pytest.raises(PathError, match="no item"):
        resolve(record, "contactIndividuals[id=two]")


def test_null_in_a_selector_matches_a_null_field() -> None:
    record = contact()
    assert resolve(record, "customFields[value=null]").render() == 'customFields[name="A, B"]'


def test_no_matching_item_is_an_error_listing_the_items_there() -> None:
    with pytest.raises(PathError) as caught:
        resolve(contact(), "contactIndividuals[id=3].isDeceased")
    assert caught.value.path == "contactIndividuals[id=3].isDeceased"
    assert "no item of 'contactIndividuals' matches [id=3]" in caught.value.problem
    assert "[id=2], [id=9012]" in caught.value.problem


def test_several_matching_items_is_an_error_saying_how_many_and_which() -> None:
    with pytest.raises(
        PathError,
        match=r"2 items of 'contactIndividuals' match \[isDeceased=false\]: \[id=2\], \[id=9012\]",
    ):
        resolve(contact(), "contactIndividuals[isDeceased=false].firstName")


def test_a_typo_in_a_field_name_fails_with_a_suggestion() -> None:
    with pytest.raises(PathError, match=r"no field 'adress' on Contact \(did you mean 'address'"):
        apply_change(contact(), "adress.city", "Springfield")
    with pytest.raises(PathError, match=r"no field 'isDeceasd' on ContactIndividual"):
        resolve(contact(), "contactIndividuals[id=2].isDeceasd")


def test_a_field_the_schema_knows_but_the_record_lacks_reads_as_null() -> None:
    assert get_value(contact(), "website") is None
    assert apply_change(contact(), "website", "https://example.org")["website"] == (
        "https://example.org"
    )


def test_unknown_keys_on_the_record_can_be_read_and_set() -> None:
    record = contact()
    assert get_value(record, "x_unknownFutureKey.kept") is True
    changed = apply_change(record, "x_unknownFutureKey.kept", False)
    assert changed["x_unknownFutureKey"] == {"kept": False}


def test_a_field_below_a_null_object_is_an_error() -> None:
    record = contact() | {"address": None}
    with pytest.raises(PathError, match="'address' is null"):
        apply_change(record, "address.city", "Springfield")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("name.first", "'name' is a string: it has no fields"),
        ("name[id=1]", "'name' is a string, not an array"),
        ("contactIndividuals.id", "is an array: choose an item"),
        ("tags[id=3]", "'tags' is a set of values"),
        ("contactIndividuals[=Test]", "holds objects"),
        ("contactReferences[+].id", "must end the path"),
    ],
)
def test_a_path_that_contradicts_the_schema_is_an_error(text: str, problem: str) -> None:
    with pytest.raises(PathError, match=problem.replace("[", r"\[").replace("]", r"\]")):
        resolve(contact(), text)


def test_is_archived_is_not_a_field_and_points_to_the_archive_command() -> None:
    with pytest.raises(ForbiddenChange, match="archive"):
        apply_change(contact(), "isArchived", True)


def test_non_primary_addresses_are_typed_but_not_on_a_contact_get() -> None:
    with pytest.raises(PathError, match="ByContact"):
        resolve(contact(), "addresses[id=5].city")
    with_addresses = contact() | {"addresses": [{"id": 5, "city": "Austin"}]}
    assert get_value(with_addresses, "addresses[id=5].city") == "Austin"


def test_a_path_may_address_a_whole_item() -> None:
    item = get_value(contact(), "contactIndividuals[id=9012]")
    assert item["firstName"] == "Second"
    assert get_value(contact(), "tags[=Newsletter]") == "Newsletter"


def test_nothing_can_be_read_at_an_append() -> None:
    with pytest.raises(PathError, match="does not exist yet"):
        get_value(contact(), "tags[+]")


# -- applying changes ----------------------------------------------------------------------


def test_apply_change_sets_a_leaf_on_a_copy_and_leaves_the_input_alone() -> None:
    record = contact()
    before = copy.deepcopy(record)
    changed = apply_change(
        record, "contactIndividuals[isPrimary=true].contactMethods[type=Home Email].value", "x@y"
    )
    assert record == before
    assert changed["contactIndividuals"][0]["contactMethods"][1]["value"] == "x@y"


def test_appending_a_reference_adds_the_object() -> None:
    changed = apply_change(contact(), "contactReferences[+]", {"source": "events", "id": "7"})
    assert changed["contactReferences"] == [
        {"source": "portal", "id": "42"},
        {"source": "events", "id": "7"},
    ]


def test_appending_to_a_null_or_missing_array_creates_it() -> None:
    record = contact() | {"contactReferences": None}
    del record["organizationGroups"]
    changed = apply_change(record, "contactReferences[+]", {"source": "portal", "id": "1"})
    assert changed["contactReferences"] == [{"source": "portal", "id": "1"}]
    assert apply_change(record, "organizationGroups[+]", "Alumni")["organizationGroups"] == [
        "Alumni"
    ]


def test_appending_a_method_to_an_individual_makes_it_addressable_by_natural_key() -> None:
    changed = apply_change(
        contact(),
        "contactIndividuals[id=9012].contactMethods[+]",
        {"type": "Mobile Phone", "value": "555-0100"},
    )
    path = "contactIndividuals[id=9012].contactMethods[value=555-0100]"
    assert resolve(changed, path).render() == (
        "contactIndividuals[id=9012].contactMethods[type=Mobile Phone,value=555-0100]"
    )


def test_tags_are_appended_once_and_removed_by_member() -> None:
    record = contact()
    once = apply_change(record, "tags[+]", "Board")
    assert once["tags"] == ["Gala 2024", "Newsletter", "Board"]
    assert apply_change(once, "tags[+]", "Board") == once
    assert apply_change(once, "tags[=Gala 2024]", REMOVE)["tags"] == ["Newsletter", "Board"]


def test_appending_an_object_already_present_changes_nothing() -> None:
    record = contact()
    assert apply_change(record, "contactReferences[+]", {"source": "portal", "id": "42"}) == record


def test_appending_an_object_whose_identity_is_taken_by_another_is_refused() -> None:
    with pytest.raises(PathError, match=r"customFields\[name=Shirt Size\] already has"):
        apply_change(contact(), "customFields[+]", {"name": "Shirt Size", "value": "XL"})
    with pytest.raises(PathError, match=r"contactMethods\[id=2081\] already has"):
        apply_change(
            contact(),
            "contactIndividuals[id=2].contactMethods[+]",
            {"type": "Work Email", "value": "email@test.com", "isPrimary": False},
        )


def test_remove_deletes_an_item_by_identity() -> None:
    changed = apply_change(contact(), "contactIndividuals[id=2].contactMethods[id=2081]", REMOVE)
    assert [m["id"] for m in changed["contactIndividuals"][0]["contactMethods"]] == [2082]
    changed = apply_change(contact(), "contactReferences[source=portal,id=42]", REMOVE)
    assert changed["contactReferences"] == []


def test_changing_an_identity_key_renames_the_item() -> None:
    changed = apply_change(contact(), "contactReferences[source=portal,id=42].id", "43")
    assert resolve(changed, "contactReferences[id=43]").render() == (
        "contactReferences[source=portal,id=43]"
    )


def test_an_item_can_be_replaced_whole() -> None:
    new = {"name": "Shirt Size", "value": "L", "displayName": "Shirt Size"}
    changed = apply_change(contact(), "customFields[name=Shirt Size]", new)
    assert changed["customFields"][0] == new


def test_remove_on_an_object_field_is_refused_set_null_instead() -> None:
    with pytest.raises(ForbiddenChange, match="set a field to null"):
        apply_change(contact(), "address.city", REMOVE)


def test_replacing_a_whole_array_of_objects_is_refused() -> None:
    with pytest.raises(ForbiddenChange, match="would drop items"):
        apply_change(contact(), "contactIndividuals", [])


def test_replacing_a_whole_set_of_tags_is_allowed() -> None:
    assert apply_change(contact(), "tags", ["Board"])["tags"] == ["Board"]


@pytest.mark.parametrize(
    ("path", "value", "problem"),
    [
        ("tags[+]", {"name": "x"}, "single value"),
        ("contactReferences[+]", "portal:42", "must be an object"),
        ("customFields[name=Shirt Size]", "L", "must be an object"),
        ("tags[+]", REMOVE, "nothing to remove"),
        ("contactReferences[+]", {"id": "9"}, "no identity"),
    ],
)
def test_an_item_of_the_wrong_shape_is_refused(path: str, value: Any, problem: str) -> None:
    with pytest.raises(PathError, match=problem):
        apply_change(contact(), path, value)


def test_the_applied_value_is_copied_not_shared_with_the_caller() -> None:
    reference = {"source": "events", "id": "7"}
    changed = apply_change(contact(), "contactReferences[+]", reference)
    reference["id"] = "8"
    assert changed["contactReferences"][-1]["id"] == "7"


def test_the_whole_record_cannot_be_replaced_through_a_path() -> None:
    with pytest.raises(PathError, match="empty path"):
        apply_change(contact(), ROOT, {})


# -- schema types --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "shape", "name", "kind"),
    [
        ("name", "Contact", "name", Kind.STRING),
        ("address.address1", "ContactAddress", "address1", Kind.STRING),
        ("contactIndividuals[id=9012].isDeceased", "ContactIndividual", "isDeceased", Kind.BOOL),
        ("contactIndividuals[isPrimary=true].contactMethods[type=Home Email].value",
         "ContactMethod", "value", Kind.STRING),
        ("customFields[name=Shirt Size].value", "CustomField", "value", Kind.OPAQUE),
        ("contactIndividuals[id=2].customFields[name=T].value", "CustomField", "value",
         Kind.OPAQUE),
        ("contactReferences[source=portal,id=42].source", "ContactReference", "source",
         Kind.STRING),
        ("contactReferences[+]", "Contact", "contactReferences", Kind.OBJECT),
        ("contactIndividuals[id=2]", "Contact", "contactIndividuals", Kind.OBJECT),
        ("tags[+]", "Contact", "tags", Kind.STRING),
        ("tags[=Gala 2024]", "Contact", "tags", Kind.STRING),
        ("addresses[id=5].state", "ContactAddress", "state", Kind.STRING),
        ("contactIndividuals[id=2].birthYear", "ContactIndividual", "birthYear", Kind.INT),
        ("lastGiftDate", "Contact", "lastGiftDate", Kind.DATE),
    ],
)  # fmt: skip
def test_schema_field_types_the_leaf_of_a_path(
    text: str, shape: str, name: str, kind: Kind
) -> None:
    found_shape, found_name, field = schema_field(text)
    assert (found_shape, found_name, field.kind) == (shape, name, kind)


def test_an_item_path_is_typed_as_an_object_of_the_item_shape() -> None:
    _, _, field = schema_field("contactIndividuals[id=2].contactMethods[+]")
    assert field.shape == "ContactMethod"


def test_schema_field_refuses_unknown_keys_and_find_schema_field_returns_none() -> None:
    with pytest.raises(PathError, match=r"no field 'adress' on Contact"):
        schema_field("adress.city")
    assert find_schema_field("x_unknownFutureKey.kept") is None


def test_schema_field_can_start_from_another_shape() -> None:
    shape, name, field = schema_field("contactMethods[id=1].isOptedIn", shape="ContactIndividual")
    assert (shape, name, field.kind) == ("ContactMethod", "isOptedIn", Kind.BOOL)


# -- properties over realistic contacts ----------------------------------------------------


def leaf_paths(value: Any, at: Path = ROOT) -> Iterator[Path]:
    """Every scalar in a record, named by concrete path."""
    if isinstance(value, dict):
        for key, child in value.items():
            yield from leaf_paths(child, at.key(key))
    elif isinstance(value, list):
        name = at.last.name
        for item in value:
            yield from leaf_paths(item, at.parent.item(name, item))
    elif at.segments:
        yield at


def item_paths(record: Record) -> list[Path]:
    """Every item of every identity-matched array in a record."""
    found: list[Path] = []
    for path in {p.parent if isinstance(p.last, Key) else p for p in leaf_paths(record)}:
        while path.segments:
            if isinstance(path.last, Item) and path.last.name in ARRAY_IDENTITY:
                found.append(path)
            path = path.parent
    return sorted(set(found), key=Path.render)


@given(contacts(), st.data())
def test_concrete_paths_resolve_to_themselves(record: Record, data: st.DataObject) -> None:
    path = data.draw(st.sampled_from(list(leaf_paths(record))))
    assert resolve(record, path) == path
    assert resolve(record, path.render()) == path


def is_identity_key(path: Path) -> bool:
    """Is the leaf one of the keys its item is identified by, or a set member (changing
    it renames the item, so the old path no longer finds it)?"""
    if isinstance(path.last, Item):
        return True
    holder = path.parent.last if len(path.segments) > 1 else None
    return isinstance(holder, Item) and any(path.last.name == k for k, _ in holder.match)


@given(contacts(), st.data(), st.one_of(st.text(max_size=5), st.integers(), st.booleans()))
def test_apply_change_never_mutates_and_changes_only_the_addressed_leaf(
    record: Record, data: st.DataObject, new: Any
) -> None:
    leaves = [p for p in leaf_paths(record) if not is_identity_key(p)]
    path = data.draw(st.sampled_from(leaves))
    original = copy.deepcopy(record)
    old = get_value(record, path)
    changed = apply_change(record, path, new)
    assert record == original
    assert get_value(changed, path) == new
    # Putting the old value back gives the original: nothing else was touched.
    assert apply_change(changed, path, old) == original
    if new != old or type(new) is not type(old):
        assert len(DeepDiff(original, changed).affected_paths) == 1


@given(contacts(), st.data())
def test_removing_an_item_drops_exactly_that_item(record: Record, data: st.DataObject) -> None:
    items = item_paths(record)
    if not items:
        return
    path = data.draw(st.sampled_from(items))
    original = copy.deepcopy(record)
    changed = apply_change(record, path, REMOVE)
    assert record == original
    with pytest.raises(PathError, match="no item"):
        resolve(changed, path)
    holder = get_value(original, path.parent) if path.parent.segments else original
    remaining = get_value(changed, path.parent) if path.parent.segments else changed
    assert len(remaining[path.last.name]) == len(holder[path.last.name]) - 1


@given(contacts(), st.sampled_from(["tags", "organizationGroups"]), st.text(min_size=1))
def test_appending_to_a_set_then_removing_the_member_restores_the_set(
    record: Record, array: str, member: str
) -> None:
    if member in record[array]:
        return
    added = apply_change(record, ROOT.append(array), member)
    assert get_value(added, ROOT.item(array, member)) == member
    assert apply_change(added, ROOT.item(array, member), REMOVE) == record
