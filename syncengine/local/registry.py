"""Finding a local adapter by name: the ``syncengine.local_adapters`` entry points.

An adapter is a factory ``(options: Mapping[str, Any]) -> LocalPlatform`` registered
under that entry-point group by any installed distribution; syncengine registers its own
(``files``, ``memory``, ``sql``) the same way in its ``pyproject.toml``. A partner ships
an adapter as a package of their own and selects it with ``local.adapter`` -- no change to
syncengine. The factory receives the whole ``local:`` section of the configuration and
reads its own keys (``local.<option>``), ignoring the shared ones (``adapter``,
``reference_source``, ``fields``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from importlib.metadata import EntryPoint, entry_points
from typing import Any, Final, TypeAlias

from syncengine.domain.ports import LocalPlatform, LocalRecord, UnchangedTest
from syncengine.errors import ConfigError, LocalDataError

__all__ = ["BUILT_INS", "GROUP", "AdapterFactory", "installed_adapters", "load_platform"]

GROUP: Final = "syncengine.local_adapters"

AdapterFactory: TypeAlias = Callable[[Mapping[str, Any]], LocalPlatform]

# The same targets as in pyproject.toml. Used only when the installed metadata lacks them
# (running from a source tree that was never installed), so the built-ins always exist.
BUILT_INS: Final[Mapping[str, str]] = {
    "files": "syncengine.local.files:FilesPlatform.from_options",
    "memory": "syncengine.local.memory:MemoryPlatform.from_options",
    "sql": "syncengine.local.sql:SqlPlatform.from_options",
}

_PORT_METHODS: Final = ("scan", "get", "save", "link")


def installed_adapters() -> dict[str, list[EntryPoint]]:
    """Adapter name -> its registrations (more than one is a clash), sorted by name."""
    found: dict[str, list[EntryPoint]] = {}
    for entry in entry_points(group=GROUP):
        registered = found.setdefault(entry.name, [])
        # An editable install can be on the path twice: the same target is one adapter.
        if all(e.value != entry.value for e in registered):
            registered.append(entry)
    for name, target in BUILT_INS.items():
        found.setdefault(name, [EntryPoint(name=name, value=target, group=GROUP)])
    return dict(sorted(found.items()))


def load_platform(name: str, options: Mapping[str, Any]) -> LocalPlatform:
    """The adapter ``name`` built from ``options`` (the ``local:`` section).

    ConfigError ``local.adapter`` for an unknown, clashing or broken adapter; the
    adapter's own ConfigErrors name its options (``local.path``, ``local.sql.url``).
    """
    adapters = installed_adapters()
    registered = adapters.get(name)
    if not registered:
        installed = ", ".join(adapters)
        raise ConfigError("local.adapter", f"unknown adapter {name!r}; installed: {installed}")
    if len(registered) > 1:
        targets = ", ".join(e.value for e in registered)
        raise ConfigError(
            "local.adapter",
            f"adapter {name!r} is registered more than once ({targets}); uninstall one",
        )
    if not isinstance(options, Mapping):
        raise ConfigError("local", "must be a mapping of options")
    entry = registered[0]
    try:
        factory = entry.load()
    except (ImportError, AttributeError) as exc:
        raise ConfigError(
            "local.adapter", f"adapter {name!r} ({entry.value}) cannot be loaded: {exc}"
        ) from exc
    if not callable(factory):
        raise ConfigError("local.adapter", f"adapter {name!r} ({entry.value}) is not callable")
    platform = factory(options)
    missing = [m for m in _PORT_METHODS if not callable(getattr(platform, m, None))]
    if missing:
        raise ConfigError(
            "local.adapter",
            f"adapter {name!r} ({entry.value}) did not build a local platform "
            f"(it lacks {', '.join(missing)})",
        )
    if not callable(getattr(platform, "scan_changed", None)):
        platform = WholeRecordScan(platform)
    platform_: LocalPlatform = platform
    return platform_


class WholeRecordScan:
    """An adapter written before ``scan_changed`` joined the port, with it added: every
    record read whole (``scan``), which the port allows. Everything else is the
    adapter's own."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def scan_changed(self, unchanged: UnchangedTest) -> Iterator[LocalRecord | LocalDataError]:
        records: Iterator[LocalRecord | LocalDataError] = self._inner.scan()
        return records

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)
