"""``wellformed.shape_problems``: it goes through the shapes' arrays and objects only,
and finds what a check of every field of the shape finds, in the same order."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from syncengine.domain.schema import SHAPES, Kind
from syncengine.domain.wellformed import _SCALARS, _kind, shape_problems


def reference(record: Any, shape: str = "Contact") -> list[str]:
    """The check as it was written first: every field of the shape, in its order."""
    if not isinstance(record, Mapping):
        return [f"a {shape} must be a JSON object, not {_kind(record)}"]
    return list(_every_field(record, shape, ""))


def _every_field(record: Mapping[str, Any], shape: str, where: str) -> Iterator[str]:
    for name, field in SHAPES[shape].items():
        if name not in record or record[name] is None:
            continue
        value = record[name]
        path = f"{where}.{name}" if where else name
        if field.kind is Kind.ARRAY:
            if not isinstance(value, list):
                yield f"{path} must be an array, not {_kind(value)}"
                continue
            for index, item in enumerate(value):
                at = f"{path}[{index}]"
                if field.shape:
                    if not isinstance(item, Mapping):
                        yield f"{at} must be an object, not {_kind(item)}"
                    else:
                        yield from _every_field(item, field.shape, at)
                elif not isinstance(item, _SCALARS):
                    yield f"{at} must be a single value, not {_kind(item)}"
        elif field.kind is Kind.OBJECT and field.shape:
            if not isinstance(value, Mapping):
                yield f"{path} must be an object or null, not {_kind(value)}"
            else:
                yield from _every_field(value, field.shape, path)


_SCALAR_VALUES = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=3))
_ANY = st.recursive(
    _SCALAR_VALUES,
    lambda inner: st.lists(inner, max_size=2) | st.dictionaries(st.text(max_size=2), inner),
    max_leaves=4,
)


def records(shape: str, depth: int = 3) -> st.SearchStrategy[Any]:
    """Records of ``shape`` whose fields hold anything: right or wrong, at any depth."""

    def value(name: str) -> st.SearchStrategy[Any]:
        field = SHAPES[shape][name]
        nested = records(field.shape, depth - 1) if field.shape and depth > 0 else st.just({})
        return st.one_of(
            _ANY,
            nested,
            st.lists(st.one_of(nested, _SCALAR_VALUES, _ANY), max_size=3),
        )

    names = st.lists(st.sampled_from(sorted(SHAPES[shape])), max_size=8, unique=True)
    return names.flatmap(
        lambda chosen: st.fixed_dictionaries({name: value(name) for name in chosen})
    )


@given(
    st.sampled_from(sorted(SHAPES)).flatmap(lambda shape: st.tuples(st.just(shape), records(shape)))
)
def test_the_arrays_and_objects_alone_find_what_every_field_finds(
    drawn: tuple[str, Any],
) -> None:
    shape, record = drawn
    assert shape_problems(record, shape) == reference(record, shape)


@given(_ANY)
def test_anything_else_is_judged_alike(value: Any) -> None:
    assert shape_problems(value) == reference(value)


def test_a_malformed_contact_is_named_where() -> None:
    record = {
        "tags": "Major Donor",
        "contactIndividuals": [{"contactMethods": {"value": "x"}}, 7],
        "address": ["1 Main Street"],
    }
    assert shape_problems(record) == reference(record) != []
