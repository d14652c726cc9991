"""``limits.oversized_values``: its quick bound (the length of the record's ASCII JSON)
never hides a value the full walk finds, whatever the characters (escapes, two-, three-
and four-byte UTF-8, lone surrogates) and the keys."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from syncengine.domain.limits import Oversized, _walk, oversized_values

# Every kind of character: ASCII (escaped or not), two-, three- and four-byte UTF-8, and
# the lone surrogates a JSON "\ud800" escape decodes to.
_TEXT = st.text(st.characters(codec=None, categories=None), max_size=12)
_KEYS = st.one_of(_TEXT, st.integers(-1000, 1000), st.booleans(), st.none(), st.floats())
_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), _TEXT)
_JSON: st.SearchStrategy[Any] = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_KEYS, inner, max_size=4),
    max_leaves=20,
)


@given(_JSON, st.integers(0, 60))
def test_the_quick_bound_finds_what_the_walk_finds(record: Any, limit: int) -> None:
    assert oversized_values(record, limit) == list(_walk(record, "", limit))


def test_a_value_over_the_limit_is_found_with_its_place() -> None:
    record = {"name": "x" * 10, "contactIndividuals": [{"notes": "é" * 30}]}
    assert oversized_values(record, 40) == [Oversized("contactIndividuals[0].notes", 60)]
    assert oversized_values(record, 60) == []


def test_what_is_not_plain_json_is_walked() -> None:
    class Text(str):
        pass

    record = {"when": object(), "notes": Text("y" * 50)}
    assert oversized_values(record, 10) == [Oversized("notes", 50)]
