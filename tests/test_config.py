"""Loading config.yaml: defaults, environment overrides, and errors that name the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from syncengine.config import DEFAULT_DATABASE_URL, load_settings, read_secrets
from syncengine.errors import ConfigError

REPO = Path(__file__).parent.parent


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return path


def test_the_shipped_example_config_is_valid() -> None:
    settings = load_settings(REPO / "config.yaml", {})
    assert settings.crm.base_url == "http://127.0.0.1:8765"
    assert settings.database.url.startswith("sqlite:///")
    assert "isDeceased" in settings.update.high_stakes_fields


def test_no_file_means_the_built_in_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings(None, {})
    assert settings.database.url == DEFAULT_DATABASE_URL
    assert settings.crm.timestamp_zone == "UTC"
    assert settings.source == "defaults"


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "crm:\n  base_url: http://a.example\ndatabase:\n  url: sqlite:///a.db\n")
    settings = load_settings(
        path,
        {"CRMPLUS_BASE_URL": "http://b.example/", "SYNCENGINE_DATABASE_URL": "sqlite:///b.db"},
    )
    assert settings.crm.base_url == "http://b.example"
    assert settings.database.url == "sqlite:///b.db"


def test_config_path_from_the_environment(tmp_path: Path) -> None:
    path = write(tmp_path, "organization: acme\n")
    assert load_settings(None, {"SYNCENGINE_CONFIG": str(path)}).organization == "acme"


def test_a_missing_explicit_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.yaml", {})


def test_an_unknown_key_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, "crm:\n  retry:\n    max_atempts: 3\n")
    with pytest.raises(ConfigError) as info:
        load_settings(path, {})
    assert info.value.key == "crm.retry.max_atempts"
    assert "unknown setting" in str(info.value)


def test_a_wrong_type_is_named_with_the_value(tmp_path: Path) -> None:
    path = write(tmp_path, "crm:\n  timeouts:\n    read: soon\n")
    with pytest.raises(ConfigError) as info:
        load_settings(path, {})
    assert info.value.key == "crm.timeouts.read"
    assert "'soon'" in str(info.value)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("crm:\n  base_url: ftp://x\n", "crm.base_url"),
        ("crm:\n  timestamp_zone: Mars/Olympus\n", "crm.timestamp_zone"),
        ("crm:\n  retry:\n    max_attempts: 0\n", "crm.retry.max_attempts"),
        ("logging:\n  level: LOUD\n", "logging.level"),
    ],
)
def test_invalid_values_are_named(tmp_path: Path, text: str, key: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, text), {})
    assert info.value.key == key


def test_a_secret_in_the_file_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "crm:\n  token: abc123secret\n")
    with pytest.raises(ConfigError) as info:
        load_settings(path, {})
    assert info.value.key == "crm.token"
    assert "CRMPLUS_API_TOKEN" in str(info.value)
    assert "abc123secret" not in str(info.value)


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "crm:\n  base_url: [unclosed\n")
    with pytest.raises(ConfigError, match="line"):
        load_settings(path, {})


def test_secrets_come_from_the_environment_and_hide_in_repr() -> None:
    secrets = read_secrets({"CRMPLUS_API_TOKEN": "tok-very-secret"})
    assert secrets.token == "tok-very-secret"
    assert "tok-very-secret" not in repr(secrets)
