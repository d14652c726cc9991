"""The fault catalogue in docs/testing.md cannot rot: every test a row names exists.

A row is ``| fault | how it is injected | what the engine does | tests |``; the tests are
written `` `tests/path.py::test_name` `` (or ``::Class::test_name``). Each named module
must exist and define that test (found in its syntax tree, so nothing is imported and a
test that is only mentioned in a comment does not count).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent
DOC = REPO / "docs" / "testing.md"
SECTION = "## Fault catalogue"
REFERENCE = re.compile(r"`(tests/[\w/]+\.py)((?:::\w+)+)`")
COLUMNS = 4


@dataclass(frozen=True)
class Row:
    fault: str
    tests: tuple[str, ...]  # "tests/path.py::test_name"


def catalogue(text: str) -> list[Row]:
    """The rows of the table under ``SECTION`` (until the next ``## `` heading)."""
    start = text.index(SECTION)
    following = text.find("\n## ", start + len(SECTION))
    section = text[start : following if following != -1 else len(text)]
    rows: list[Row] = []
    for line in section.splitlines():
        if not line.startswith("|"):
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if cells[0] == "fault" or set(cells[0]) <= {"-", ":"}:
            continue  # the header and its rule
        assert len(cells) == COLUMNS, f"a row needs {COLUMNS} cells: {line[:80]}"
        assert all(cells), f"a row with an empty cell: {line[:80]}"
        tests = tuple(f"{path}{names}" for path, names in REFERENCE.findall(cells[3]))
        rows.append(Row(cells[0], tests))
    return rows


def missing(reference: str, root: Path = REPO) -> str | None:
    """Why ``reference`` names no test under ``root``, or None when it does."""
    path, *names = reference.split("::")
    module = root / path
    if not module.is_file():
        return f"{path} does not exist"
    scope: list[ast.stmt] = ast.parse(module.read_text(encoding="utf-8")).body
    for name in names:
        found = [
            node
            for node in scope
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
            and node.name == name
        ]
        if not found:
            return f"{path} defines no {name}"
        scope = found[0].body if isinstance(found[0], ast.ClassDef) else []
    if not names[-1].startswith("test"):
        return f"{names[-1]} is not a test (pytest collects test* only)"
    return None


def test_every_test_the_fault_catalogue_names_exists() -> None:
    rows = catalogue(DOC.read_text(encoding="utf-8"))
    assert len(rows) >= 30, "the catalogue lost rows"
    faults = [row.fault for row in rows]
    assert len(set(faults)) == len(faults), "a fault listed twice"
    assert not [row.fault for row in rows if not row.tests], "a fault backed by no test"
    problems = [
        f"{row.fault}: {problem}"
        for row in rows
        for reference in row.tests
        if (problem := missing(reference)) is not None
    ]
    assert not problems, "\n".join(problems)


def test_the_check_catches_a_row_naming_a_test_that_does_not_exist(tmp_path: Path) -> None:
    module = tmp_path / "tests" / "engine" / "test_example.py"
    module.parent.mkdir(parents=True)
    module.write_text(
        "def test_real() -> None: ...\n"
        "class TestGroup:\n    def test_inner(self) -> None: ...\n"
        "def helper() -> None: ...\n"
        "# def test_only_in_a_comment\n"
    )
    assert missing("tests/engine/test_example.py::test_real", tmp_path) is None
    assert missing("tests/engine/test_example.py::TestGroup::test_inner", tmp_path) is None
    assert missing("tests/engine/test_example.py::test_gone", tmp_path)
    assert missing("tests/engine/test_example.py::test_only_in_a_comment", tmp_path)
    assert missing("tests/engine/test_example.py::helper", tmp_path)
    assert missing("tests/engine/test_nowhere.py::test_real", tmp_path)

    doc = (
        "# Testing\n\n## Fault catalogue\n\n| fault | how | what | test(s) |\n|---|---|---|---|\n"
        "| a | b | c | `tests/engine/test_example.py::test_real`<br>`tests/x.py::test_y` |\n"
        "| d | e | f | none |\n\n## Next section\n\n| fault | not | this | table |\n"
    )
    rows = catalogue(doc)
    assert rows == [
        Row("a", ("tests/engine/test_example.py::test_real", "tests/x.py::test_y")),
        Row("d", ()),
    ]
