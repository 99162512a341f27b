"""Test set-up: every storage test runs on SQLite and on the machine's PostgreSQL.

``database`` is parametrised over both backends; each backend gets a fresh, migrated
database for the run. ``session`` wraps one test in a transaction rolled back at its end.
Tests that must commit for real (workers, outbox relays) use ``engine`` and clean up.
Set ``CITYOS_TEST_DATABASES=sqlite`` to run only SQLite locally; CI runs both.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from cityos.app import create_app
from cityos.foundation.privacy import KeyRingProvider, ensure_active_key, install_keyring
from cityos.kernel import migrate
from cityos.kernel.db import make_engine
from cityos.kernel.registry import Registry, get_registry
from cityos.kernel.runtime import Runtime
from cityos.settings import Settings

PG_ADMIN_URL = os.environ.get(
    "CITYOS_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
BACKENDS = [
    b.strip() for b in os.environ.get("CITYOS_TEST_DATABASES", "sqlite,postgresql").split(",")
]


@dataclass(frozen=True)
class TestDatabase:
    """A migrated database for this test run."""

    backend: str
    url: str
    engine: Engine


def _create_pg_database() -> tuple[str, str]:
    name = f"cityos_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    # The platform runs without PostGIS, but the test set-up installs it so that tests
    # exercise what production has; a missing extension here means the set-up failed.
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
    finally:
        engine.dispose()
    return name, url


def _drop_pg_database(name: str) -> None:
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@pytest.fixture(scope="session")
def registry() -> Registry:
    registry = get_registry()
    registry.import_models()
    return registry


@pytest.fixture(scope="session", params=BACKENDS)
def database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, registry: Registry
) -> Iterator[TestDatabase]:
    """A freshly migrated database of each backend, shared by the run."""
    backend: str = request.param
    if backend == "sqlite":
        path = tmp_path_factory.mktemp("sqlite") / "test.db"
        url = f"sqlite:///{path}"
        engine = make_engine(url)
        migrate.upgrade(engine, registry)
        yield TestDatabase(backend, url, engine)
        engine.dispose()
    elif backend == "postgresql":
        name, url = _create_pg_database()
        engine = make_engine(url)
        try:
            migrate.upgrade(engine, registry)
            yield TestDatabase(backend, url, engine)
        finally:
            engine.dispose()
            _drop_pg_database(name)
    else:
        raise ValueError(f"unknown test database backend {backend!r}")


@pytest.fixture
def engine(database: TestDatabase) -> Engine:
    return database.engine


@pytest.fixture
def connection(database: TestDatabase) -> Iterator[Connection]:
    """One connection in a transaction that is rolled back when the test ends."""
    connection = database.engine.connect()
    outer = connection.begin()
    try:
        yield connection
    finally:
        outer.rollback()
        connection.close()


@pytest.fixture
def session(connection: Connection) -> Iterator[Session]:
    """A session whose work is rolled back when the test ends, commits included."""
    session = Session(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    try:
        yield session
    finally:
        session.close()


@pytest.fixture
def settings(tmp_path: Path, database: TestDatabase) -> Settings:
    """Demo-mode settings pointing at the test database and a private data folder."""
    return Settings(
        database_url=database.url,
        data_dir=tmp_path / "var",
        # Fixed, so data keys made by one test's runtime open in the next one's.
        pii_master_key=SecretStr("test-only-pii-master-key-0123456789abcdef"),
        _env_file=None,  # type: ignore[call-arg]
    )


@pytest.fixture
def runtime(
    database: TestDatabase, connection: Connection, settings: Settings, registry: Registry
) -> Iterator[Runtime]:
    """A runtime whose units of work commit into the test's rolled-back transaction, with
    a personal-data key ring on that transaction."""
    sessions = sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    runtime = Runtime(
        settings=settings, engine=database.engine, sessions=sessions, registry=registry
    )
    with runtime.unit_of_work() as session:
        ensure_active_key(session, settings)
    install_keyring(KeyRingProvider(connection, settings, refresh_seconds=0))
    try:
        yield runtime
    finally:
        install_keyring(None)


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    """An HTTP client of the whole app, on the test's database transaction."""
    with TestClient(create_app(runtime=runtime)) as test_client:
        yield test_client


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests share one live server per worker; keep them on one worker (the suite
    runs with ``--dist loadgroup``) so that only one server and one browser start."""
    for item in items:
        if item.get_closest_marker("e2e") is not None:
            item.add_marker(pytest.mark.xdist_group("e2e"))
