"""Alembic, driven from code: one history in which each module contributes its tables.

Each module keeps its revisions in its own folder (``Module.migrations``) on a branch named
after it; ``upgrade`` brings every branch to its head. Running it twice changes nothing.

Some objects exist on one database only and no model maps them, so that one set of models
serves both: PostGIS ``geom`` columns with their ``ix_<table>_geom`` GiST indexes, and
SQLite R*Tree tables named ``<table>_rtree`` (with their ``_key`` map and SQLite's own
``_node``/``_parent``/``_rowid`` shadow tables), and the partitions of a PostgreSQL
partitioned table, named ``<table>_p<yyyymm>`` or ``<table>_pdefault``.
``include_object`` keeps them out of the comparison of models with the database, so a
module may add such objects only under these names.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine

from cityos.kernel.registry import Registry

SCRIPT_LOCATION = Path(__file__).parent / "migrations"


_UNMAPPED_TABLE = re.compile(r".+_rtree(_key|_node|_parent|_rowid)?$|.+_p(default|\d{6})$")
_UNMAPPED_INDEX = re.compile(r"ix_.+_geom$")


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """Alembic's filter: skip the database-specific objects no model maps (see above)."""
    if not reflected or compare_to is not None or name is None:
        return True
    if type_ == "table":
        return not _UNMAPPED_TABLE.match(name)
    if type_ == "column":
        return name != "geom"
    if type_ == "index":
        return not _UNMAPPED_INDEX.match(name)
    return True


def alembic_config(engine: Engine, registry: Registry) -> Config:
    """An Alembic config bound to ``engine`` with every module's version folder."""
    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    locations = [str(p) for p in registry.migration_locations()]
    config.set_main_option("version_locations", " ".join(locations))
    config.set_main_option("path_separator", "space")
    config.attributes["engine"] = engine
    config.attributes["registry"] = registry
    return config


def upgrade(engine: Engine, registry: Registry) -> None:
    """Apply every missing revision on every module's branch."""
    command.upgrade(alembic_config(engine, registry), "heads")


_heads: dict[tuple[str, ...], frozenset[str]] = {}


def heads(engine: Engine, registry: Registry) -> set[str]:
    """The newest revision of each branch, as the code knows them.

    Read from the revision files once per process: ``/readyz`` asks on every probe, and
    the files do not change while the process runs.
    """
    key = tuple(str(path) for path in registry.migration_locations())
    if key not in _heads:
        script = ScriptDirectory.from_config(alembic_config(engine, registry))
        _heads[key] = frozenset(script.get_heads())
    return set(_heads[key])


def current(bind: Engine | Connection) -> set[str]:
    """The revisions the database is at (read on ``bind``'s connection if one is given)."""
    if isinstance(bind, Connection):
        return set(MigrationContext.configure(bind).get_current_heads())
    with bind.connect() as connection:
        return set(MigrationContext.configure(connection).get_current_heads())


def is_current(engine: Engine, registry: Registry) -> bool:
    """Whether the database has every revision the code knows."""
    return current(engine) == heads(engine, registry)
