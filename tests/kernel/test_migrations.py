"""Migrations: one history with a branch per module, idempotent, matching the models."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect

from cityos.kernel import migrate
from cityos.kernel.db import Base
from cityos.kernel.registry import Registry


def test_every_module_with_tables_has_a_branch(engine: Engine, registry: Registry) -> None:
    heads = migrate.heads(engine, registry)
    assert {"system_0001", "calendar_0001", "identity_0001"} <= {
        h.split("_")[0] + "_0001" for h in heads
    } | heads
    assert migrate.current(engine) == heads


def test_upgrade_twice_changes_nothing(engine: Engine, registry: Registry) -> None:
    before = set(inspect(engine).get_table_names())
    migrate.upgrade(engine, registry)
    assert migrate.is_current(engine, registry)
    assert set(inspect(engine).get_table_names()) == before


# PostGIS geometry columns are left out of the comparison (``migrate.include_object``), but
# SQLAlchemy, which does not know their type, still warns while reflecting them.
@pytest.mark.filterwarnings("ignore:Did not recognize type 'geometry'")
def test_the_migrations_build_exactly_the_models(engine: Engine, registry: Registry) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_object": migrate.include_object}
        )
        differences = compare_metadata(context, Base.metadata)
    # PostGIS brings its own tables (spatial_ref_sys …) that are not ours.
    ours = [
        d for d in differences if not (d[0] == "remove_table" and d[1].name == "spatial_ref_sys")
    ]
    assert ours == []


def test_every_table_is_named_by_the_convention(engine: Engine) -> None:
    inspector = inspect(engine)
    for table in Base.metadata.sorted_tables:
        pk = inspector.get_pk_constraint(table.name)
        if engine.dialect.name == "postgresql":
            assert pk["name"] == f"pk_{table.name}"
        for index in inspector.get_indexes(table.name):
            # PostgreSQL reports unique constraints' own indexes too.
            assert str(index["name"]).startswith((f"ix_{table.name}_", f"uq_{table.name}_"))
