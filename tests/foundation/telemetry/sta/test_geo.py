"""The geo functions need PostGIS on PostgreSQL; without it the caller is told so."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from cityos.foundation.telemetry.sta.geo import GeoUnavailable, require_spatial
from tests.conftest import BACKENDS, PG_ADMIN_URL


@pytest.mark.skipif("postgresql" not in BACKENDS, reason="PostgreSQL is not tested in this run")
def test_postgresql_without_postgis_refuses_geo_filters() -> None:
    name = f"cityos_nogis_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine = create_engine(PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}")
    try:
        with Session(engine) as session, pytest.raises(GeoUnavailable) as refused:
            require_spatial(session)
        assert refused.value.status == 501
        assert "PostGIS" in refused.value.detail
    finally:
        engine.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
