"""Configuration: ``config.yaml`` loaded once, environment overrides applied, validated.

Precedence, highest first: environment variables (``CRMPLUS_BASE_URL``,
``SYNCENGINE_DATABASE_URL``), the YAML file, the defaults below. Secrets come ONLY from
the environment (``CRMPLUS_API_TOKEN``, or the password-grant variables): a config key
that looks like it holds a secret is refused, so nobody is tempted to commit one.

Nothing here runs at import time; ``load_settings`` is called by the composition root.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from syncengine.domain.schema import DEFAULT_HIGH_STAKES
from syncengine.errors import ConfigError

DEFAULT_CONFIG_PATH = Path("config.yaml")
DEFAULT_DATABASE_URL = "sqlite:///syncengine.db"
DEFAULT_BASE_URL = "https://api.virtuoussoftware.com"

ENV_CONFIG = "SYNCENGINE_CONFIG"
ENV_BASE_URL = "CRMPLUS_BASE_URL"
ENV_TOKEN = "CRMPLUS_API_TOKEN"
ENV_USERNAME = "CRMPLUS_USERNAME"
ENV_PASSWORD = "CRMPLUS_PASSWORD"
ENV_DATABASE_URL = "SYNCENGINE_DATABASE_URL"

# Keys that would hold a secret if someone put one in the file.
_SECRET_KEYS = frozenset({"token", "api_token", "api_key", "password", "secret", "access_token"})


class _Section(BaseModel):
    # A typo in a key must be an error naming the key, not a silently ignored setting.
    model_config = ConfigDict(extra="forbid", frozen=True)


class TimeoutSettings(_Section):
    connect: float = Field(5.0, gt=0)
    read: float = Field(30.0, gt=0)
    write: float = Field(30.0, gt=0)
    pool: float = Field(5.0, gt=0)


class RetrySettings(_Section):
    max_attempts: int = Field(5, ge=1, le=20)
    backoff_initial: float = Field(0.5, ge=0)
    backoff_max: float = Field(30.0, ge=0)


class RateLimitSettings(_Section):
    # The hourly budget is shared by every integration of the organisation: leave some.
    reserve: int = Field(250, ge=0)
    # The longest pause for a 429's Retry-After or for the budget to reset; anything
    # longer fails the request as rate-limited instead of stalling the run.
    max_wait: float = Field(300.0, ge=0)


class AuthSettings(_Section):
    # api_key: static key from CRMPLUS_API_TOKEN. password: POST /Token with
    # CRMPLUS_USERNAME / CRMPLUS_PASSWORD, refreshed when it expires.
    mode: Literal["api_key", "password"] = "api_key"


class CrmSettings(_Section):
    base_url: str = DEFAULT_BASE_URL
    timestamp_zone: str = "UTC"
    auth: AuthSettings = AuthSettings()
    timeouts: TimeoutSettings = TimeoutSettings()
    retry: RetrySettings = RetrySettings()
    rate_limit: RateLimitSettings = RateLimitSettings()

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("timestamp_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timestamp_zone)


class DatabaseSettings(_Section):
    url: str = DEFAULT_DATABASE_URL


class UpdateSettings(_Section):
    """How a safe update behaves."""

    high_stakes_fields: tuple[str, ...] = DEFAULT_HIGH_STAKES
    # Marking an individual deceased also opts out their contact methods in the same write.
    deceased_opts_out_methods: bool = True


class LocalSettings(_Section):
    """The partner platform's side (see docs/local-adapters.md)."""

    # files | sql | memory | a partner adapter registered under syncengine.local_adapters
    adapter: str = "files"
    # The contactReferences source naming platform keys in CRM+: how a contact created
    # from the platform is found again (and never created twice).
    reference_source: str = Field("syncengine", min_length=1)
    # files adapter: the folder of <contactId>.json / new-<key>.json documents.
    path: str | None = "platform"
    # sql adapter: url, table, key_column, contact_id_column, modified_column, and
    # document_column or columns (checked by the adapter, which names the bad key).
    sql: dict[str, Any] | None = None
    # Which fields the platform manages and which way each flows, first match wins:
    # [{path: "address.*", direction: both | to_crm | to_platform}, ...]
    fields: list[dict[str, Any]] = Field(
        default_factory=lambda: [{"path": "*", "direction": "both"}]
    )

    def adapter_options(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


class GuardConfig(_Section):
    """Stop ``sync --all`` before any write when too much would change (``--force``)."""

    max_contact_share: float = Field(0.5, gt=0, le=1)
    max_field_share: float = Field(0.3, gt=0, le=1)
    # Below this many contacts the shares say nothing and the guard never stops a run.
    min_contacts: int = Field(20, ge=0)


class SyncSettings(_Section):
    """How both-sides changes are decided (see docs/sync.md)."""

    # newest | crm | platform | manual, for fields no rule names.
    default_policy: Literal["newest", "crm", "platform", "manual"] = "newest"
    # Per-field rules, first match wins: [{path: "isDeceased", policy: manual}, ...]
    policies: list[dict[str, str]] = Field(default_factory=list)
    # What `newest` does when it cannot tell (a timestamp missing or equal).
    tie_breaker: Literal["crm", "platform", "manual"] = "manual"
    guard: GuardConfig = GuardConfig()

    @field_validator("policies")
    @classmethod
    def _rules(cls, value: list[dict[str, str]]) -> list[dict[str, str]]:
        allowed = {"newest", "crm", "platform", "manual"}
        for n, rule in enumerate(value):
            if set(rule) != {"path", "policy"}:
                raise ValueError(f"rule {n} must have exactly 'path' and 'policy'")
            if rule["policy"] not in allowed:
                raise ValueError(f"rule {n}: policy must be one of {sorted(allowed)}")
        return value


class LoggingSettings(_Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "WARNING"
    format: Literal["console", "json"] = "console"


class Settings(_Section):
    organization: str = Field("default", min_length=1, max_length=64)
    crm: CrmSettings = CrmSettings()
    database: DatabaseSettings = DatabaseSettings()
    update: UpdateSettings = UpdateSettings()
    local: LocalSettings = LocalSettings()
    sync: SyncSettings = SyncSettings()
    logging: LoggingSettings = LoggingSettings()
    # Where the settings came from, for messages; not a config key.
    source: str = Field("defaults", exclude=True)


class Secrets:
    """Credentials read from the environment. Never printed: ``repr`` hides them."""

    def __init__(self, token: str | None, username: str | None, password: str | None) -> None:
        self._token = token
        self._username = username
        self._password = password

    @property
    def token(self) -> str | None:
        return self._token

    @property
    def username(self) -> str | None:
        return self._username

    @property
    def password(self) -> str | None:
        return self._password

    def __repr__(self) -> str:
        return f"Secrets(token={'set' if self._token else 'unset'})"


def read_secrets(environ: Mapping[str, str]) -> Secrets:
    return Secrets(
        token=environ.get(ENV_TOKEN) or None,
        username=environ.get(ENV_USERNAME) or None,
        password=environ.get(ENV_PASSWORD) or None,
    )


def config_path(explicit: str | Path | None, environ: Mapping[str, str]) -> Path:
    """``--config`` wins, then ``SYNCENGINE_CONFIG``, then ``./config.yaml``."""
    if explicit is not None:
        return Path(explicit)
    if environ.get(ENV_CONFIG):
        return Path(environ[ENV_CONFIG])
    return DEFAULT_CONFIG_PATH


def load_settings(
    path: str | Path | None, environ: Mapping[str, str], *, required: bool = False
) -> Settings:
    """Load and validate the settings. A missing default file means the built-in defaults.

    ``required``: the path was given explicitly (``--config``/env), so it must exist.
    """
    file = config_path(path, environ)
    explicit = path is not None or bool(environ.get(ENV_CONFIG))
    raw: dict[str, Any] = {}
    if file.exists():
        raw = _read_yaml(file)
    elif explicit or required:
        raise ConfigError("--config", f"file {file} does not exist", source=str(file))
    _refuse_secrets(raw, str(file), prefix="")
    raw = _apply_env_overrides(raw, environ)
    raw["source"] = str(file) if file.exists() else "defaults"
    try:
        return Settings.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(part) for part in first["loc"]) or "(top level)"
        raise ConfigError(key, _pydantic_problem(first), source=raw["source"]) from None


def _read_yaml(file: Path) -> dict[str, Any]:
    try:
        loaded = yaml.safe_load(file.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "(unknown line)"
        raise ConfigError(where, f"not valid YAML: {exc}", source=str(file)) from None
    except OSError as exc:
        raise ConfigError("--config", f"cannot read {file}: {exc.strerror}") from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ConfigError("(top level)", "must be a mapping of settings", source=str(file))
    return loaded


def _refuse_secrets(node: Any, source: str, prefix: str) -> None:
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        dotted = f"{prefix}{key}"
        if str(key).lower() in _SECRET_KEYS:
            raise ConfigError(
                dotted,
                "secrets are not read from files: set the environment variable "
                f"{ENV_TOKEN} (or {ENV_USERNAME}/{ENV_PASSWORD}) instead",
                source=source,
            )
        _refuse_secrets(value, source, f"{dotted}.")


def _apply_env_overrides(raw: dict[str, Any], environ: Mapping[str, str]) -> dict[str, Any]:
    merged = dict(raw)
    if environ.get(ENV_BASE_URL):
        merged["crm"] = {**(merged.get("crm") or {}), "base_url": environ[ENV_BASE_URL]}
    if environ.get(ENV_DATABASE_URL):
        merged["database"] = {**(merged.get("database") or {}), "url": environ[ENV_DATABASE_URL]}
    return merged


def _pydantic_problem(error: Mapping[str, Any]) -> str:
    message = str(error.get("msg", "invalid value"))
    if error.get("type") == "extra_forbidden":
        return "unknown setting (check the spelling; see docs/configuration.md)"
    if "input" in error and error.get("type") != "missing":
        return f"{message} (got {error['input']!r})"
    return message
