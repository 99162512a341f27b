"""The runtime: what one process holds (settings, engine, sessions, registry).

Nothing here keeps state another process would need; it is only the process's handles.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from cityos.kernel.db import make_engine, make_sessionmaker
from cityos.kernel.registry import Registry, get_registry
from cityos.kernel.uow import unit_of_work
from cityos.settings import Settings, get_settings


@dataclass
class Runtime:
    """Handles shared by the API, workers and CLI commands of one process."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    registry: Registry

    @contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        """One transaction: commits at the end of the block, rolls back on error."""
        with unit_of_work(self.sessions) as session:
            yield session

    def close(self) -> None:
        self.engine.dispose()


def build_runtime(settings: Settings | None = None, *, registry: Registry | None = None) -> Runtime:
    """Open the database named by the settings and load the module registry."""
    settings = settings or get_settings()
    registry = registry or get_registry()
    registry.import_models()
    engine = make_engine(settings.database_url)
    return Runtime(
        settings=settings, engine=engine, sessions=make_sessionmaker(engine), registry=registry
    )
