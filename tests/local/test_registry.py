"""Finding adapters by name through the ``syncengine.local_adapters`` entry points."""

from importlib.metadata import entry_points
from pathlib import Path

import pytest

from syncengine.errors import ConfigError
from syncengine.local import FilesPlatform, MemoryPlatform, SqlPlatform, load_platform
from syncengine.local.registry import BUILT_INS, GROUP, installed_adapters


def install_partner_package(root: Path, monkeypatch: pytest.MonkeyPatch, entries: str) -> None:
    """A distribution on sys.path, as `pip install partner-adapter` would leave it."""
    (root / "partner_adapter.py").write_text(
        "from syncengine.local import MemoryPlatform\n"
        "\n"
        "def build(options):\n"
        "    platform = MemoryPlatform()\n"
        "    platform.put_new('from-partner', {'name': options['partner']['greeting']})\n"
        "    return platform\n"
        "\n"
        "def not_a_platform(options):\n"
        "    return object()\n",
        encoding="utf-8",
    )
    info = root / "partner_adapter-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: partner-adapter\nVersion: 1.0\n", encoding="utf-8"
    )
    (info / "entry_points.txt").write_text(f"[{GROUP}]\n{entries}", encoding="utf-8")
    monkeypatch.syspath_prepend(str(root))


def test_the_built_in_adapters_are_registered_as_entry_points() -> None:
    registered = {e.name: e.value for e in entry_points(group=GROUP)}

    assert {name: registered.get(name) for name in BUILT_INS} == dict(BUILT_INS)


def test_the_registry_lists_the_built_ins() -> None:
    assert {"files", "memory", "sql"} <= set(installed_adapters())


def test_files_is_built_from_its_options(tmp_path: Path) -> None:
    platform = load_platform("files", {"adapter": "files", "path": str(tmp_path)})

    assert isinstance(platform, FilesPlatform)
    assert platform.folder == tmp_path


def test_memory_is_built_without_options() -> None:
    assert isinstance(load_platform("memory", {}), MemoryPlatform)


def test_sql_is_built_from_its_options(tmp_path: Path) -> None:
    import sqlite3

    database = tmp_path / "platform.db"
    with sqlite3.connect(database) as conn:
        conn.execute("CREATE TABLE m (k TEXT PRIMARY KEY, crm INT, at TEXT, doc TEXT)")
    options = {
        "adapter": "sql",
        "sql": {
            "url": f"sqlite:///{database}",
            "table": "m",
            "key_column": "k",
            "contact_id_column": "crm",
            "modified_column": "at",
            "document_column": "doc",
        },
    }

    platform = load_platform("sql", options)

    assert isinstance(platform, SqlPlatform)
    platform.close()


def test_an_unknown_adapter_names_the_installed_ones() -> None:
    with pytest.raises(ConfigError) as caught:
        load_platform("x", {})

    assert caught.value.key == "local.adapter"
    assert caught.value.problem == "unknown adapter 'x'; installed: files, memory, sql"


def test_an_adapters_bad_options_are_named_by_key() -> None:
    with pytest.raises(ConfigError) as caught:
        load_platform("files", {"adapter": "files"})
    assert caught.value.key == "local.path"

    with pytest.raises(ConfigError) as caught:
        load_platform("sql", {"adapter": "sql", "sql": {"url": "sqlite://"}})
    assert caught.value.key.startswith("local.sql.")


def test_options_that_are_not_a_mapping_are_refused() -> None:
    with pytest.raises(ConfigError) as caught:
        load_platform("memory", ["path"])  # type: ignore[arg-type]
    assert caught.value.key == "local"


def test_a_partners_installed_adapter_is_found_by_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    install_partner_package(tmp_path, monkeypatch, "partner = partner_adapter:build\n")

    platform = load_platform("partner", {"adapter": "partner", "partner": {"greeting": "hi"}})

    assert "partner" in installed_adapters()
    (record,) = list(platform.scan())
    assert not isinstance(record, Exception)
    assert (record.key, record.record) == ("from-partner", {"name": "hi"})


def test_a_partners_adapter_without_scan_changed_reads_every_record_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    install_partner_package(tmp_path, monkeypatch, "partner = partner_adapter:build\n")

    platform = load_platform("partner", {"adapter": "partner", "partner": {"greeting": "hi"}})

    # Written before the port had scan_changed: what the engine asks of it is scan's.
    assert list(platform.scan_changed(lambda contact_id, modified_at: True)) == list(
        platform.scan()
    )


def test_an_adapter_that_cannot_be_imported_is_a_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    install_partner_package(tmp_path, monkeypatch, "broken = partner_missing:build\n")

    with pytest.raises(ConfigError, match="cannot be loaded") as caught:
        load_platform("broken", {})
    assert caught.value.key == "local.adapter"


def test_an_adapter_that_builds_no_platform_is_a_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    install_partner_package(tmp_path, monkeypatch, "odd = partner_adapter:not_a_platform\n")

    with pytest.raises(ConfigError, match="lacks scan, get, save, link"):
        load_platform("odd", {})


def test_a_name_registered_twice_is_refused_rather_than_guessed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    install_partner_package(tmp_path, monkeypatch, "files = partner_adapter:build\n")

    with pytest.raises(ConfigError, match="registered more than once"):
        load_platform("files", {"path": str(tmp_path)})
