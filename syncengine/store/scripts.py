"""Where the Alembic migration scripts are, and an Alembic configuration built in code.

``migrations/`` sits at the top of the repository (Alembic's convention), outside the
package. The wheel ships it inside the package as ``syncengine/_migrations`` (see
``[tool.hatch.build.targets.wheel.force-include]``); a source checkout or editable install
finds it next to the package. Nothing depends on the current directory or ``alembic.ini``.
"""

from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

from syncengine.errors import StoreError

_PACKAGE_DIR = Path(__file__).resolve().parents[1]
INSTALLED_LOCATION = _PACKAGE_DIR / "_migrations"
SOURCE_LOCATION = _PACKAGE_DIR.parent / "migrations"


def find_script_location() -> Path:
    """The migrations folder: the installed copy first, else the source checkout's."""
    for candidate in (INSTALLED_LOCATION, SOURCE_LOCATION):
        if (candidate / "env.py").is_file():
            return candidate
    raise StoreError(
        f"the database migrations are missing: looked in {INSTALLED_LOCATION} and "
        f"{SOURCE_LOCATION} (a broken installation?)"
    )


def alembic_config(
    *, script_location: Path | None = None, connection: Connection | None = None
) -> Config:
    """An Alembic configuration for the store's migrations.

    ``connection``, if given, is the one ``migrations/env.py`` runs on (it then neither
    opens nor commits a transaction of its own). ``script_location`` is for tests that
    need a migration history other than the shipped one.
    """
    location = script_location or find_script_location()
    config = Config()
    # The values go through configparser interpolation: a literal % must be doubled.
    config.set_main_option("script_location", str(location).replace("%", "%%"))
    config.set_main_option("path_separator", "os")
    config.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def script_directory(script_location: Path | None = None) -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config(script_location=script_location))


def head_revision(*, script_location: Path | None = None) -> str:
    """The revision this version of syncengine needs the database at."""
    head = script_directory(script_location).get_current_head()
    if head is None:
        raise StoreError("the migration history is empty (a broken installation?)")
    return head
