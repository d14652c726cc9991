"""Replays every row of the contract table against a live sandbox over loopback HTTP and
holds each answer to its status, X-RateLimit-* headers and body schema. Writes run under
both PUT semantics: the contract of an answer must not depend on them."""

from __future__ import annotations

import pytest

from syncengine.sandbox import PutSemantics, SandboxServer
from tests.fixtures.sandbox import SandboxFactory, client_for
from tests.sandbox.contract.case import Case
from tests.sandbox.contract.checker import answer_problems
from tests.sandbox.contract.replay import send
from tests.sandbox.contract.table import ROWS


def _runs() -> list[object]:
    runs: list[object] = []
    for case in ROWS:
        for each in case.semantics:
            deviates = case.deviates_under(each)
            marks = [pytest.mark.xfail(reason=case.deviation, strict=True)] if deviates else []
            runs.append(pytest.param(case, each, id=f"{case.name}-{each.value}", marks=marks))
    return runs


def _server(
    case: Case,
    semantics: PutSemantics,
    request: pytest.FixtureRequest,
    sandbox_factory: SandboxFactory,
) -> SandboxServer:
    if case.settings:
        return sandbox_factory(put_semantics=semantics, **case.settings)
    # The shared, freshly reset servers (tests/fixtures/sandbox.py).
    server: SandboxServer = request.getfixturevalue(f"sandbox_{semantics.value}")
    return server


@pytest.mark.parametrize(("case", "semantics"), _runs())
def test_the_sandbox_answers_as_the_reference_documents(
    case: Case,
    semantics: PutSemantics,
    request: pytest.FixtureRequest,
    sandbox_factory: SandboxFactory,
) -> None:
    with client_for(_server(case, semantics, request, sandbox_factory)) as client:
        response = send(client, case)
    problems = answer_problems(
        response, status=case.status, answer=case.answer, headers=case.headers
    )
    assert not problems, f"{case.method} {case.path}:\n" + "\n".join(problems)
