"""Serving: free loopback ports, clean stops, settings validated up front."""

from __future__ import annotations

import httpx
import pytest

from syncengine.errors import ConfigError
from syncengine.sandbox import SandboxServer, SandboxSettings, create_app
from tests.fixtures.sandbox import SandboxFactory, client_for


def test_two_sandboxes_run_side_by_side_on_free_loopback_ports(
    sandbox_factory: SandboxFactory,
) -> None:
    first, second = sandbox_factory(), sandbox_factory(token="other")
    assert first.port != second.port
    assert first.base_url.startswith("http://127.0.0.1:")
    with client_for(first) as one, client_for(second) as two:
        assert one.get("/api/Contact/4821").status_code == 200
        assert two.get("/api/Contact/4821").status_code == 200


def test_a_stopped_sandbox_no_longer_answers() -> None:
    with SandboxServer() as server:
        url = server.base_url
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/api/Contact/4821", verify=False)


def test_without_settings_the_token_is_random_and_hooks_are_off() -> None:
    server = SandboxServer()
    assert len(server.token) > 20 and server.token != SandboxServer().token
    assert server.settings.test_hooks is False and server.settings.put_semantics == "replace"


def test_a_sandbox_cannot_be_started_twice(sandbox_factory: SandboxFactory) -> None:
    with pytest.raises(RuntimeError):
        sandbox_factory().start()


@pytest.mark.parametrize(
    ("options", "key"),
    [
        ({"token": ""}, "token"),
        ({"put_semantics": "merge"}, "put_semantics"),
        ({"hourly_limit": 0}, "hourly_limit"),
        ({"window_seconds": 0.5}, "window_seconds"),
        ({"window_seconds": 86_401}, "window_seconds"),
    ],
)
def test_bad_settings_are_a_config_error_naming_the_option(
    options: dict[str, object], key: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        SandboxSettings(**{"token": "t", **options})  # type: ignore[arg-type]
    assert raised.value.key == key


def test_put_semantics_may_be_given_as_text() -> None:
    assert SandboxSettings(token="t", put_semantics="patch").put_semantics == "patch"  # type: ignore[arg-type]


def test_create_app_builds_an_asgi_app_on_the_default_seed() -> None:
    assert callable(create_app(SandboxSettings(token="t")))
