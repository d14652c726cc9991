"""``syncengine sandbox``: its options reach the sandbox's settings (the server itself is
replaced by a stand-in that records what it was given, so nothing listens)."""

from __future__ import annotations

from typing import Any

import pytest
from click.testing import CliRunner, Result
from starlette.applications import Starlette

import syncengine.sandbox.server as server_module
from syncengine.cli.errors import ExitCode
from syncengine.cli.main import cli
from syncengine.sandbox.settings import SandboxSettings


class _NotListening:
    def __init__(self, config: Any) -> None:
        self.config = config

    def run(self) -> None:
        return None


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[SandboxSettings]:
    """The settings each ``serve`` built its app with."""
    built: list[SandboxSettings] = []
    real_create_app = server_module.create_app

    def create_app(settings: SandboxSettings, state: Any = None) -> Starlette:
        built.append(settings)
        return real_create_app(settings, state)

    monkeypatch.setattr(server_module, "create_app", create_app)
    monkeypatch.setattr(server_module.uvicorn, "Server", _NotListening)
    return built


def sandbox(*args: str) -> Result:
    return CliRunner().invoke(cli, ["sandbox", *args], env={"CRMPLUS_API_TOKEN": "t"})


def test_the_import_delay_is_an_option_with_help() -> None:
    result = sandbox("--help")
    assert result.exit_code == 0
    assert "--import-delay-seconds" in result.stdout
    assert "nightly" in result.stdout


def test_the_import_delay_reaches_the_settings(served: list[SandboxSettings]) -> None:
    assert sandbox("--import-delay-seconds", "5").exit_code == 0
    assert sandbox().exit_code == 0
    assert [s.import_delay_seconds for s in served] == [5.0, 86_400.0]  # default: a day


def test_a_negative_import_delay_is_refused_by_name(served: list[SandboxSettings]) -> None:
    result = sandbox("--import-delay-seconds", "-1")
    assert result.exit_code == ExitCode.USAGE
    assert "import_delay_seconds" in result.output
    assert served == []
