"""Reading an adapter's options: plain mappings, errors as ConfigError naming the key.

Adapters never read files or the environment: the config layer hands each factory the
``local:`` section as a mapping, and every complaint names the full key
(``local.path``, ``local.sql.columns.first_name``) so a person can find it.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from syncengine.errors import ConfigError

__all__ = ["optional_text", "reject_unknown", "required_text", "section"]


def section(options: Any, name: str, where: str) -> Mapping[str, Any]:
    """The mapping under ``options[name]``; ConfigError ``<where>.<name>`` otherwise."""
    if not isinstance(options, Mapping):
        raise ConfigError(where, "must be a mapping of options")
    value = options.get(name)
    if value is None:
        raise ConfigError(f"{where}.{name}", "missing: this adapter needs it")
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where}.{name}", "must be a mapping of options")
    return value


def required_text(options: Mapping[str, Any], name: str, where: str) -> str:
    value = optional_text(options, name, where)
    if value is None:
        raise ConfigError(f"{where}.{name}", "missing: this option is required")
    return value


def optional_text(options: Mapping[str, Any], name: str, where: str) -> str | None:
    value = options.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}.{name}", f"must be a non-empty string, not {value!r}")
    return value.strip()


def reject_unknown(options: Mapping[str, Any], known: Collection[str], where: str) -> None:
    """A misspelt option must stop the run, not be silently ignored."""
    for name in options:
        if name not in known:
            expected = ", ".join(sorted(known))
            raise ConfigError(f"{where}.{name}", f"unknown option (expected one of: {expected})")
