"""Loading config.yaml: defaults, environment overrides, and errors that name the key."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel

from syncengine.config import (
    DEFAULT_DATABASE_URL,
    Settings,
    TlsSettings,
    load_settings,
    read_secrets,
)
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
    path = write(
        tmp_path, "crm:\n  base_url: https://a.example\ndatabase:\n  url: sqlite:///a.db\n"
    )
    settings = load_settings(
        path,
        {"CRMPLUS_BASE_URL": "https://b.example/", "SYNCENGINE_DATABASE_URL": "sqlite:///b.db"},
    )
    assert settings.crm.base_url == "https://b.example"
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
        ("local:\n  stamp_resolution: 0\n", "local.stamp_resolution"),
        ("local:\n  stamp_resolution: 61\n", "local.stamp_resolution"),
        ("local:\n  stamp_resolution: soon\n", "local.stamp_resolution"),
        ("local:\n  stamp_resolution: true\n", "local.stamp_resolution"),
        ("crm:\n  retry:\n    max_attempts: yes\n", "crm.retry.max_attempts"),
        ("sync:\n  claims:\n    ttl: on\n", "sync.claims.ttl"),
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


# -- the CRM+ base URL: no token in clear ------------------------------------------------


LOOPBACK_OR_HTTPS = [
    "http://localhost:8765",
    "http://LOCALHOST:8765",
    "http://127.0.0.1:8765",
    "http://127.8.9.10",
    "http://[::1]:8765",
    "https://api.virtuoussoftware.com",
]


@pytest.mark.parametrize(
    "url",
    ["http://192.0.2.2:18811", "http://api.virtuoussoftware.com", "http://localhost.example.org"],
)
def test_plain_http_is_refused_off_loopback_from_the_file_or_the_environment(
    tmp_path: Path, url: str
) -> None:
    with pytest.raises(ConfigError) as in_file:
        load_settings(write(tmp_path, f"crm:\n  base_url: {url}\n"), {})
    assert in_file.value.key == "crm.base_url"
    assert "https://" in in_file.value.problem

    with pytest.raises(ConfigError) as in_env:
        load_settings(write(tmp_path, "organization: acme\n"), {"CRMPLUS_BASE_URL": url})
    assert in_env.value.key == "crm.base_url"
    assert "CRMPLUS_BASE_URL" in str(in_env.value)
    # ... while https and loopback addresses (the sandbox) stay usable.
    for usable in LOOPBACK_OR_HTTPS:
        assert load_settings(None, {"CRMPLUS_BASE_URL": usable}).crm.base_url == usable


def test_a_base_url_is_refused_without_quoting_it(tmp_path: Path) -> None:
    path = write(tmp_path, "crm:\n  base_url: http://sync:hunter2-secret@192.0.2.2/\n")
    with pytest.raises(ConfigError) as info:
        load_settings(path, {})
    assert "hunter2-secret" not in str(info.value)


@pytest.mark.parametrize(
    "key", ["verify", "tls_verify", "ssl_verify", "verify_ssl", "insecure", "ca_bundle"]
)
def test_no_setting_can_turn_tls_verification_off(tmp_path: Path, key: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, f"crm:\n  {key}: false\n"), {})
    assert info.value.key == f"crm.{key}"
    assert "unknown setting" in str(info.value)

    def names(model: type[BaseModel]) -> set[str]:
        found = set(model.model_fields)
        for field in model.model_fields.values():
            if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel):
                found |= names(field.annotation)
        return found

    every = names(Settings)
    assert "base_url" in every  # the walk reaches the nested sections
    assert not [n for n in every if any(w in n for w in ("verify", "ssl", "insecure"))]
    # crm.tls holds one thing: a CA bundle to trust more, never less (tests/security).
    assert set(TlsSettings.model_fields) == {"ca_bundle"}


# -- the database URL --------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "notadb://foo",
        "mysql://sync:hunter2-secret@db/sync",
        "postgresql://sync:hunter2-secret@db:notaport/sync",
        "not a url at all",
    ],
)
def test_an_unsupported_or_unparseable_database_url_is_a_config_error_without_its_password(
    tmp_path: Path, url: str
) -> None:
    with pytest.raises(ConfigError) as in_file:
        load_settings(write(tmp_path, f"database:\n  url: '{url}'\n"), {})
    assert in_file.value.key == "database.url"
    assert "hunter2-secret" not in str(in_file.value)

    with pytest.raises(ConfigError) as in_env:
        load_settings(None, {"SYNCENGINE_DATABASE_URL": url})
    assert in_env.value.key == "database.url"
    assert "SYNCENGINE_DATABASE_URL" in str(in_env.value)
    assert "hunter2-secret" not in str(in_env.value)
    # ... while what the store supports stays accepted.
    for usable in ["sqlite:///x.db", "sqlite://", "postgresql://u@h/db", "postgres://u@h/db"]:
        assert load_settings(None, {"SYNCENGINE_DATABASE_URL": usable}).database.url == usable


# -- secrets from the environment --------------------------------------------------------


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("CRMPLUS_API_TOKEN", "   "),
        ("CRMPLUS_API_TOKEN", "\n"),
        ("CRMPLUS_API_TOKEN", "sk-live-half\nsk-live-other-half"),
        ("CRMPLUS_API_TOKEN", "sk-live token"),
        ("CRMPLUS_API_TOKEN", "sk-live-tökén"),
        ("CRMPLUS_USERNAME", " \t "),
        ("CRMPLUS_USERNAME", "sync@example.org\x1b[31m"),
        ("CRMPLUS_PASSWORD", "\r\n"),
        ("CRMPLUS_PASSWORD", "pw-Sek\nr1t"),
    ],
)
def test_a_blank_or_unsendable_secret_is_refused_naming_the_variable_not_the_value(
    variable: str, value: str
) -> None:
    with pytest.raises(ConfigError) as info:
        read_secrets({variable: value})
    assert info.value.key == variable
    for part in value.split():
        assert part not in str(info.value)


def test_surrounding_whitespace_of_a_pasted_secret_is_taken_off() -> None:
    secrets = read_secrets(
        {
            "CRMPLUS_API_TOKEN": "  sk-live-0123456789\n",
            "CRMPLUS_USERNAME": " sync@example.org\n",
            "CRMPLUS_PASSWORD": "pw ends in a space \n",
        }
    )
    assert secrets.token == "sk-live-0123456789"
    assert secrets.username == "sync@example.org"
    assert secrets.password == "pw ends in a space "  # a space may be meant; a newline not


def test_review_settings_take_users_with_hashes_only(tmp_path: Path) -> None:
    hashed = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"
    path = write(
        tmp_path,
        "review:\n  listen: 0.0.0.0:9000\n  session_minutes: 15\n"
        f"  users:\n    - name: ann\n      password_hash: '{hashed}'\n",
    )
    review = load_settings(path, {}).review
    assert (review.host, review.port, review.session_minutes) == ("0.0.0.0", 9000, 15)
    assert [(u.name, u.password_hash) for u in review.users] == [("ann", hashed)]


def test_a_password_in_place_of_its_hash_is_refused_without_being_shown(
    tmp_path: Path,
) -> None:
    path = write(
        tmp_path, "review:\n  users:\n    - name: ann\n      password_hash: hunter2hunter2\n"
    )
    with pytest.raises(ConfigError) as info:
        load_settings(path, {})
    assert "review.users.0.password_hash" in str(info.value)
    assert "hunter2" not in str(info.value)
    plain = write(tmp_path, "review:\n  users:\n    - name: ann\n      password: hunter2\n")
    with pytest.raises(ConfigError, match="secrets are not read from files") as refused:
        load_settings(plain, {})
    assert "review.users[0].password" in str(refused.value)
    assert "hash-password" in str(refused.value)
    assert "hunter2" not in str(refused.value)


@pytest.mark.parametrize("listen", ["8767", "localhost:", ":8767", "host:99999"])
def test_a_bad_review_listen_names_the_key(tmp_path: Path, listen: str) -> None:
    with pytest.raises(ConfigError, match=r"review\.listen"):
        load_settings(write(tmp_path, f"review:\n  listen: '{listen}'\n"), {})
