"""Configuration: ``config.yaml`` loaded once, environment overrides applied, validated.

Precedence, highest first: environment variables (``CRMPLUS_BASE_URL``,
``SYNCENGINE_DATABASE_URL``), the YAML file, the defaults below. Secrets come ONLY from
the environment (``CRMPLUS_API_TOKEN``, or the password-grant variables): a config key
that looks like it holds a secret is refused, so nobody is tempted to commit one.

Nothing here runs at import time; ``load_settings`` is called by the composition root.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

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
ENV_WEBHOOK_SECRET = "SYNCENGINE_WEBHOOK_SECRET"
ENV_REVIEW_SECRET = "SYNCENGINE_REVIEW_SECRET"

# Keys that would hold a secret if someone put one in the file.
_SECRET_KEYS = frozenset({"token", "api_token", "api_key", "password", "secret", "access_token"})

# The source named by a ConfigError about an environment variable.
_ENVIRONMENT = "the environment"

# Which setting each environment override replaces (also: which variable to name when the
# value it gave is refused).
_ENV_OVERRIDES: dict[tuple[str, str], str] = {
    ("crm", "base_url"): ENV_BASE_URL,
    ("database", "url"): ENV_DATABASE_URL,
}
# Settings whose refused value is not quoted back: a URL may carry a user and a password
# (and a review user's password_hash that is no hash may be the password itself).
_UNQUOTED = frozenset({"crm.base_url", "database.url"})
# The database backends the store supports (syncengine.store.database).
_DATABASE_BACKENDS = frozenset({"sqlite", "postgresql"})


# The number types a YAML boolean must not stand in for (``_Section``).
_NUMBERS: frozenset[Any] = frozenset({int, float, int | None, float | None})


class _Section(BaseModel):
    # A typo in a key must be an error naming the key, not a silently ignored setting.
    model_config = ConfigDict(extra="forbid", frozen=True)

    @field_validator("*", mode="before")
    @classmethod
    def _no_boolean_for_a_number(cls, value: Any, info: ValidationInfo) -> Any:
        # YAML reads yes/no/on/off/true as booleans, and pydantic would take True for 1:
        # `ttl: yes` or `max_attempts: on` must be refused, not run as 1.
        field = cls.model_fields.get(info.field_name or "")
        if isinstance(value, bool) and field is not None and field.annotation in _NUMBERS:
            raise ValueError("must be a number, not a boolean")
        return value


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
    # The daemon paces itself: the budget above the reserve is spent at the hourly rate,
    # with bursts of this share of an hour's worth, shared by all its processes.
    burst: float = Field(0.1, gt=0, le=1)
    # The hourly limit assumed until CRM+ says (X-RateLimit-Limit).
    hourly_limit: int = Field(5000, ge=1)


class AuthSettings(_Section):
    # api_key: static key from CRMPLUS_API_TOKEN. password: POST /Token with
    # CRMPLUS_USERNAME / CRMPLUS_PASSWORD, refreshed when it expires.
    mode: Literal["api_key", "password"] = "api_key"


class TlsSettings(_Section):
    """What the CRM+ client trusts (``syncengine.crm.tls``). Certificates are always
    verified: there is deliberately no key that turns verification off."""

    # A PEM bundle (or a c_rehash'ed folder) of CAs trusted besides the bundled list: a
    # private CA, or a TLS-inspecting proxy's. SSL_CERT_FILE / SSL_CERT_DIR are ignored.
    ca_bundle: str | None = None

    @field_validator("ca_bundle")
    @classmethod
    def _readable(cls, value: str | None) -> str | None:
        if value is None:
            return None
        from syncengine.crm.tls import check_ca_bundle

        problem = check_ca_bundle(value)
        if problem:
            raise ValueError(problem)
        return value


class CrmSettings(_Section):
    base_url: str = DEFAULT_BASE_URL
    timestamp_zone: str = "UTC"
    tls: TlsSettings = TlsSettings()
    auth: AuthSettings = AuthSettings()
    timeouts: TimeoutSettings = TimeoutSettings()
    retry: RetrySettings = RetrySettings()
    rate_limit: RateLimitSettings = RateLimitSettings()

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        problem = base_url_problem(value)
        if problem:
            raise ValueError(problem)
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

    @field_validator("url")
    @classmethod
    def _supported_url(cls, value: str) -> str:
        problem = database_url_problem(value)
        if problem:
            raise ValueError(problem)
        return value


def base_url_problem(url: str) -> str | None:
    """Why ``url`` cannot be CRM+'s base URL, or None.

    Plain http would carry the bearer token (and the password grant's password) in clear,
    so it is only accepted on the loopback interface (the sandbox, a local tunnel).
    """
    try:
        parts = urlsplit(url)
        host = parts.hostname
        _ = parts.port  # a port that is not a number raises here
    except ValueError:
        return "not a valid URL"
    if parts.scheme not in ("http", "https"):
        return "must start with https:// (or http:// for a loopback address)"
    if not host:
        return "has no host name"
    if parts.scheme == "http" and not _is_loopback(host):
        return (
            f"plain http:// to {host} would send the API token (or the password) "
            "unencrypted: use https://, or http:// only for localhost / 127.0.0.1 / ::1"
        )
    return None


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: it may resolve anywhere


def database_url_problem(url: str) -> str | None:
    """Why ``url`` cannot be the mirror's database URL, or None. Never quotes the URL."""
    # Imported here: the store (SQLAlchemy, the tables) is not needed to read the
    # settings, and `--help` should stay quick.
    from syncengine.errors import StoreError
    from syncengine.store.database import parse_url

    try:
        backend = parse_url(url).get_backend_name()
    except StoreError as exc:
        return str(exc)
    if backend not in _DATABASE_BACKENDS:
        return (
            f"unsupported database {backend!r}: use sqlite:///path/to/file.db or "
            "postgresql+psycopg://user@host/dbname"
        )
    return None


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
    # files adapter: the file system's timestamp resolution, in seconds. A document is
    # looked at once more until its mtime is this old (a later edit could carry the same
    # one), and one read half-written is read again for this long (docs/local-adapters.md).
    stamp_resolution: float = Field(2.0, gt=0, le=60)
    # sql adapter: url, table, key_column, contact_id_column, modified_column, and
    # document_column or columns (checked by the adapter, which names the bad key).
    sql: dict[str, Any] | None = None
    # Which fields the platform manages and which way each flows, first match wins:
    # [{path: "address.*", direction: both | to_crm | to_platform}, ...]
    fields: list[dict[str, Any]] = Field(
        default_factory=lambda: [{"path": "*", "direction": "both"}]
    )
    # Which CRM+ contacts belong on the platform: linked (only those it holds) or all
    # (a contact created in CRM+ is written to the platform too).
    scope: Literal["linked", "all"] = "linked"

    def adapter_options(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


class GuardConfig(_Section):
    """Stop ``sync --all`` before any write when too much would change (``--force``)."""

    max_contact_share: float = Field(0.5, gt=0, le=1)
    max_field_share: float = Field(0.3, gt=0, le=1)
    # Below this many contacts the shares say nothing and the guard never stops a run.
    min_contacts: int = Field(20, ge=0)


class ClaimsConfig(_Section):
    """Run claims: one process at a time per contact (docs/sync.md, "Runs at once")."""

    # Seconds a claim holds without renewal: a crashed run's contacts are free again
    # after this long. A live run renews its claims every ttl/4.
    ttl: float = Field(120.0, ge=2)
    # Seconds a one-contact command (sync --contact, push, archive) waits for another
    # run to let go of the contact before giving up (exit 1).
    wait: float = Field(30.0, ge=0)


class SyncSettings(_Section):
    """How both-sides changes are decided (see docs/sync.md)."""

    # newest | crm | platform | manual, for fields no rule names.
    default_policy: Literal["newest", "crm", "platform", "manual"] = "newest"
    # Per-field rules, first match wins: [{path: "isDeceased", policy: manual}, ...]
    policies: list[dict[str, str]] = Field(default_factory=list)
    # What `newest` does when it cannot tell (a timestamp missing or equal).
    tie_breaker: Literal["crm", "platform", "manual"] = "manual"
    guard: GuardConfig = GuardConfig()
    # The largest string value (UTF-8 bytes) a contact may hold on either side; a contact
    # with a larger one is reported and left alone.
    max_value_size: int = Field(1_048_576, ge=1024)
    claims: ClaimsConfig = ClaimsConfig()
    # How many contacts `sync --all` syncs at once, each wholly on one thread (its requests
    # in order, never two at a time): overlapping contacts hides the round trips' latency.
    # 1: one contact after the other. The hourly request budget is shared by all of them.
    # The default, 8, and what 1, 8 and 16 do at 0 and 100 ms: docs/benchmarks.md.
    concurrency: int = Field(16, ge=1, le=64)

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


class _Listener(_Section):
    """A section with a ``listen: host:port`` for a server of ours."""

    listen: str

    @field_validator("listen")
    @classmethod
    def _listen(cls, value: str) -> str:
        host, _, port = value.rpartition(":")
        if not host or not port.isdigit() or not 0 <= int(port) <= 65535:
            raise ValueError("must be host:port, e.g. 127.0.0.1:8766")
        return value

    @property
    def host(self) -> str:
        return self.listen.rpartition(":")[0].strip("[]")

    @property
    def port(self) -> int:
        return int(self.listen.rpartition(":")[2])


class DaemonSettings(_Listener):
    """``syncengine daemon`` (docs/daemon.md)."""

    # Seconds between two looks at the platform (platform changes pushed).
    push_interval: float = Field(30.0, ge=1)
    # Seconds between two bulk queries of CRM+ (CRM changes pulled). CRM+'s guidance is
    # to poll a resource at most once a minute; webhooks bring changes sooner.
    pull_interval: float = Field(300.0, ge=1)
    # When to compare everything and write a drift report: a five-field crontab line, UTC.
    reconcile_cron: str = "0 3 * * *"
    # host:port of the webhook, /healthz and /metrics server.
    listen: str = "127.0.0.1:8766"
    webhook_path: str = "/webhooks/crmplus"
    webhook_signature_header: str = "X-Virtuous-Signature"
    # Where the reconcile job writes its drift reports.
    reports: str = "reports"
    # When CRM+ says fewer requests than this are left this hour, only pushes and
    # webhook work go on; pulls and reconciliation wait for the reset.
    low_budget: int = Field(500, ge=0)

    @field_validator("reconcile_cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        from syncengine.scheduler import parse_cron

        parse_cron(value)  # ValueError names what is wrong with the line
        return value

    @field_validator("webhook_path")
    @classmethod
    def _path(cls, value: str) -> str:
        if not value.startswith("/") or value in ("/healthz", "/metrics", "/enqueue"):
            raise ValueError("must start with / and not be /healthz, /metrics or /enqueue")
        return value


class ReviewUser(_Section):
    """A data manager allowed on the review page. Only the hash is in the file: make it
    with ``syncengine review hash-password`` (Argon2id)."""

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")
    password_hash: str = Field(pattern=r"^\$argon2id\$")


class ReviewSettings(_Listener):
    """``syncengine review``: the browser page where data managers decide conflicts."""

    listen: str = "127.0.0.1:8767"
    # Who may log in. None at all: the page is open, which it only allows on loopback.
    users: list[ReviewUser] = Field(default_factory=list)
    # A login lasts this long; then the page asks again.
    session_minutes: int = Field(60, ge=1, le=24 * 60)
    # Open conflicts per page of the queue.
    page_size: int = Field(50, ge=1, le=500)


class OrganizationSettings(_Section):
    """One CRM+ organisation served by a daemon that serves several (``organizations:``).

    Each has its own token variable, request budget, platform adapter and rows; the
    sections given here override the top-level ones for this organisation only."""

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    # The environment variable holding this organisation's CRM+ API key.
    token_env: str = Field(min_length=1, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    # The environment variable holding its webhook secret (None: the shared one).
    webhook_secret_env: str | None = Field(None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    crm: dict[str, Any] = Field(default_factory=dict)
    local: dict[str, Any] = Field(default_factory=dict)
    sync: dict[str, Any] = Field(default_factory=dict)


class Settings(_Section):
    organization: str = Field("default", min_length=1, max_length=64)
    crm: CrmSettings = CrmSettings()
    database: DatabaseSettings = DatabaseSettings()
    update: UpdateSettings = UpdateSettings()
    local: LocalSettings = LocalSettings()
    sync: SyncSettings = SyncSettings()
    daemon: DaemonSettings = DaemonSettings()
    review: ReviewSettings = ReviewSettings()
    logging: LoggingSettings = LoggingSettings()
    # Several organisations served by one daemon (docs/daemon.md); empty: just one.
    organizations: list[OrganizationSettings] = Field(default_factory=list)
    # Where the settings came from, for messages; not a config key.
    source: str = Field("defaults", exclude=True)

    @field_validator("organizations")
    @classmethod
    def _distinct(cls, value: list[OrganizationSettings]) -> list[OrganizationSettings]:
        names = [org.name for org in value]
        if len(set(names)) != len(names):
            raise ValueError("organisation names must be distinct")
        return value

    def for_organization(self, org: OrganizationSettings) -> Settings:
        """The settings of one of ``organizations``: the top-level ones with its sections
        laid over them, checked like the file is (ConfigError naming the key)."""
        merged = self.model_dump(exclude={"organizations", "source"})
        merged["organization"] = org.name
        for section in ("crm", "local", "sync"):
            merged[section] = _deep_merge(merged[section], getattr(org, section))
        try:
            return Settings.model_validate({**merged, "source": self.source})
        except ValidationError as exc:
            first = exc.errors()[0]
            key = ".".join(str(part) for part in first["loc"]) or "(top level)"
            where = f"organizations[{org.name}].{key}"
            raise ConfigError(where, _pydantic_problem(first, key), source=self.source) from None


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
    """The credentials, checked before anything is sent: ConfigError naming the variable
    (never showing its value) for one that cannot work. Unset or empty means not given."""
    return Secrets(
        token=_checked_secret(environ, ENV_TOKEN),
        username=_checked_secret(environ, ENV_USERNAME),
        password=_checked_secret(environ, ENV_PASSWORD),
    )


def read_webhook_secret(environ: Mapping[str, str], name: str = ENV_WEBHOOK_SECRET) -> str | None:
    """The secret CRM+ signs webhook deliveries with (``SYNCENGINE_WEBHOOK_SECRET``, or an
    organisation's own variable)."""
    return _checked_secret(environ, name)


def organization_environ(environ: Mapping[str, str], org: OrganizationSettings) -> dict[str, str]:
    """The environment as one organisation's commands see it: its token variable read as
    ``CRMPLUS_API_TOKEN``. A missing one is a ConfigError naming the variable."""
    token = environ.get(org.token_env)
    if not token:
        raise ConfigError(
            f"organizations[{org.name}].token_env",
            f"the environment variable {org.token_env} (the organisation's CRM+ API key) "
            "is not set",
        )
    scoped = {k: v for k, v in environ.items() if k not in (ENV_USERNAME, ENV_PASSWORD)}
    scoped[ENV_TOKEN] = token
    if org.webhook_secret_env is not None:
        scoped[ENV_WEBHOOK_SECRET] = environ.get(org.webhook_secret_env, "")
    return scoped


def _deep_merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def secret_values(environ: Mapping[str, str]) -> list[str]:
    """Every secret value in the environment, as given and as it would be used, for the
    log scrubber. Never raises: logging is set up before anything is checked."""
    names = (ENV_TOKEN, ENV_PASSWORD, ENV_WEBHOOK_SECRET, ENV_REVIEW_SECRET)
    values = [environ.get(name) or "" for name in names]
    return [v for value in values for v in {value, value.strip()} if v]


# What an HTTP header value can carry without escaping: visible ASCII. A bearer token is
# exactly that; anything else (a space, a line break, an accented letter) is a paste gone
# wrong, and httpx would refuse it with an error that names no variable.
_HEADER_SAFE = frozenset(chr(code) for code in range(0x21, 0x7F))
# C0 controls, DEL and C1 controls: no user name or password holds one on purpose.
_CONTROLS = frozenset(chr(code) for code in [*range(0x20), *range(0x7F, 0xA0)])


def _checked_secret(environ: Mapping[str, str], name: str) -> str | None:
    raw = environ.get(name)
    if not raw:
        return None
    # Surrounding whitespace is a copy-paste leftover (a trailing newline, mostly). A
    # password may end in a space on purpose, so only line breaks are taken off it.
    value = raw.strip("\r\n") if name == ENV_PASSWORD else raw.strip()
    if not value.strip():
        raise ConfigError(name, "is set but blank (only spaces or line breaks)", _ENVIRONMENT)
    if name == ENV_TOKEN and not set(value) <= _HEADER_SAFE:
        raise ConfigError(
            name,
            "holds characters an HTTP header cannot carry (spaces, line breaks, control or "
            "non-ASCII characters): copy the API key again",
            _ENVIRONMENT,
        )
    if set(value) & _CONTROLS:
        raise ConfigError(name, "holds control characters (a line break, a tab...)", _ENVIRONMENT)
    return value


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
    raw, overridden = _apply_env_overrides(raw, environ)
    raw["source"] = str(file) if file.exists() else "defaults"
    try:
        return Settings.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(part) for part in first["loc"]) or "(top level)"
        # A value the environment gave is not in the file: name the variable instead.
        source = overridden.get(key, raw["source"])
        raise ConfigError(key, _pydantic_problem(first, key), source=source) from None


def _read_yaml(file: Path) -> dict[str, Any]:
    unparsed: tuple[str, str] | None = None
    try:
        loaded = yaml.safe_load(file.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "(unknown line)"
        unparsed = (where, f"not valid YAML: {_yaml_problem(exc)}")
    except OSError as exc:
        raise ConfigError("--config", f"cannot read {file}: {exc.strerror}") from None
    if unparsed is not None:
        # Raised outside the except block: the YAML error (whose text quotes the file)
        # is not even kept as the ConfigError's __context__.
        raise ConfigError(*unparsed, source=str(file))
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ConfigError("(top level)", "must be a mapping of settings", source=str(file))
    return loaded


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """What is wrong with the file and where, WITHOUT the snippet of it that ``str(exc)``
    quotes: a file that does not parse was never checked for secrets (``_refuse_secrets``),
    and the line quoted may be the one where someone pasted the API key."""
    if not isinstance(exc, yaml.MarkedYAMLError):
        return type(exc).__name__
    parts = [part for part in (exc.context, exc.problem) if part]
    mark = exc.problem_mark
    if mark is not None:
        parts.append(f"at line {mark.line + 1}, column {mark.column + 1}")
    return ", ".join(parts) or "syntax error"


def _refuse_secrets(node: Any, source: str, prefix: str) -> None:
    if isinstance(node, list):
        # Lists of sections (organizations, review.users) are searched too.
        for position, item in enumerate(node):
            _refuse_secrets(item, source, f"{prefix[:-1]}[{position}].")
        return
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        dotted = f"{prefix}{key}"
        if str(key).lower() in _SECRET_KEYS:
            advice = (
                "give its hash as password_hash instead (syncengine review hash-password)"
                if dotted.startswith("review.users")
                else f"set the environment variable {ENV_TOKEN} (or "
                f"{ENV_USERNAME}/{ENV_PASSWORD}) instead"
            )
            raise ConfigError(dotted, f"secrets are not read from files: {advice}", source=source)
        _refuse_secrets(value, source, f"{dotted}.")


def _apply_env_overrides(
    raw: dict[str, Any], environ: Mapping[str, str]
) -> tuple[dict[str, Any], dict[str, str]]:
    """The settings with the environment's values in, and which keys each variable set
    (``{"crm.base_url": "environment variable CRMPLUS_BASE_URL"}``)."""
    merged = dict(raw)
    overridden: dict[str, str] = {}
    for (section, key), variable in _ENV_OVERRIDES.items():
        if environ.get(variable):
            merged[section] = {**(merged.get(section) or {}), key: environ[variable]}
            overridden[f"{section}.{key}"] = f"environment variable {variable}"
    return merged, overridden


def _names_tls_switch(key: str) -> bool:
    """Whether an unknown key looks like an attempt to switch TLS checks off
    (``crm.verify``, ``crm.tls.insecure``, ``crm.ssl_verify``...)."""
    last = key.rsplit(".", 1)[-1].lower()
    return any(word in last for word in ("verify", "insecure", "ssl", "tls", "cert"))


def _pydantic_problem(error: Mapping[str, Any], key: str) -> str:
    message = str(error.get("msg", "invalid value"))
    if error.get("type") == "extra_forbidden":
        if key.startswith(("crm.", "organizations.")) and _names_tls_switch(key):
            return (
                "unknown setting: TLS certificate verification cannot be turned off; to "
                "trust a private CA, give its certificate as crm.tls.ca_bundle"
            )
        return "unknown setting (check the spelling; see docs/configuration.md)"
    if error.get("type") == "value_error":
        # Our own validators' words, without pydantic's "Value error, " in front.
        message = str(error.get("ctx", {}).get("error", message))
    quotable = key not in _UNQUOTED and not key.endswith("password_hash")
    if "input" in error and error.get("type") != "missing" and quotable:
        return f"{message} (got {error['input']!r})"
    return message
