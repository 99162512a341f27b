"""Alembic environment: the engine and registry come from ``cityos.kernel.migrate``."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from cityos.kernel.db import Base
from cityos.kernel.migrate import include_object
from cityos.kernel.registry import Registry, get_registry

config = context.config
engine: Engine | None = config.attributes.get("engine")
registry: Registry = config.attributes.get("registry") or get_registry()
registry.import_models()

if engine is None:
    from cityos.kernel.db import make_engine
    from cityos.settings import get_settings

    engine = make_engine(get_settings().database_url)

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
