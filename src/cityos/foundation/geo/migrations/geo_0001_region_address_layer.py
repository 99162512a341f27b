"""region, standard_address, geo_layer and geo_feature tables, and their spatial indexes

Revision ID: geo_0001
Revises:
Create Date: 2026-11-25

Besides the mapped tables, each database gets its own spatial index, created here with raw
SQL because no model maps it (``cityos.kernel.migrate.include_object`` keeps these names
out of the model comparison):

- PostgreSQL with PostGIS (installed, or installable by this user): a ``geom`` column
  (``geometry(Geometry, 4326)``) with a GiST index ``ix_<table>_geom`` on ``region``,
  ``standard_address`` and ``geo_feature``, filled by a BEFORE trigger from the GeoJSON
  (or lon/lat) column. Without PostGIS the tables work as they are, filtered by bbox.
- SQLite with the R*Tree module: ``standard_address_rtree`` and ``geo_feature_rtree``.
  An R*Tree is keyed by an integer, so ``<table>_rtree_key`` gives each row one (its
  INTEGER PRIMARY KEY, stable across VACUUM), and AFTER triggers keep both in step.

Triggers rather than code keep them in sync so that bulk inserts, ORM writes and any
later writer alike cannot leave an index stale. Note for later revisions: SQLite batch
operations rebuild a table and drop its triggers: recreate them after one.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.exc import DBAPIError

from cityos.kernel.db import UtcDateTime

revision = "geo_0001"
down_revision = None
branch_labels = ("geo",)
depends_on = None

_BBOX = ("min_lon", "min_lat", "max_lon", "max_lat")
# PostGIS: a geometry column, its GiST index, and the trigger that fills it from the row.
_POSTGIS = [
    statement
    for table, source, columns in (
        ("region", "ST_GeomFromGeoJSON(NEW.geometry::text)", "geometry"),
        ("standard_address", "ST_MakePoint(NEW.lon, NEW.lat)", "lon, lat"),
        ("geo_feature", "ST_GeomFromGeoJSON(NEW.geometry::text)", "geometry"),
    )
    for statement in (
        f"ALTER TABLE {table} ADD COLUMN geom geometry(Geometry, 4326)",
        f"CREATE INDEX ix_{table}_geom ON {table} USING gist (geom)",
        f"CREATE FUNCTION {table}_set_geom() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN NEW.geom := ST_SetSRID({source}, 4326); RETURN NEW; END $$",
        f"CREATE TRIGGER {table}_set_geom BEFORE INSERT OR UPDATE OF {columns} ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION {table}_set_geom()",
    )
]
_POSTGIS_TABLES = ("region", "standard_address", "geo_feature")

# SQLite: an R*Tree, the map from each row's key to its integer R*Tree id, and triggers.
_RTREE = [
    """CREATE TABLE standard_address_rtree_key
    (id INTEGER PRIMARY KEY, ref TEXT NOT NULL UNIQUE)""",
    """CREATE VIRTUAL TABLE standard_address_rtree
    USING rtree(id, min_lon, max_lon, min_lat, max_lat)""",
    """CREATE TRIGGER standard_address_rtree_insert AFTER INSERT ON standard_address BEGIN
        INSERT INTO standard_address_rtree_key (ref) VALUES (new.code);
        INSERT INTO standard_address_rtree
        VALUES (last_insert_rowid(), new.lon, new.lon, new.lat, new.lat);
    END""",
    """CREATE TRIGGER standard_address_rtree_update AFTER UPDATE OF lon, lat ON standard_address
    BEGIN
        UPDATE standard_address_rtree
        SET min_lon = new.lon, max_lon = new.lon, min_lat = new.lat, max_lat = new.lat
        WHERE id = (SELECT id FROM standard_address_rtree_key WHERE ref = new.code);
    END""",
    """CREATE TRIGGER standard_address_rtree_delete AFTER DELETE ON standard_address BEGIN
        DELETE FROM standard_address_rtree
        WHERE id = (SELECT id FROM standard_address_rtree_key WHERE ref = old.code);
        DELETE FROM standard_address_rtree_key WHERE ref = old.code;
    END""",
    """CREATE TABLE geo_feature_rtree_key
    (id INTEGER PRIMARY KEY, ref TEXT NOT NULL UNIQUE)""",
    """CREATE VIRTUAL TABLE geo_feature_rtree
    USING rtree(id, min_lon, max_lon, min_lat, max_lat)""",
    """CREATE TRIGGER geo_feature_rtree_insert AFTER INSERT ON geo_feature BEGIN
        INSERT INTO geo_feature_rtree_key (ref) VALUES (new.id);
        INSERT INTO geo_feature_rtree
        VALUES (last_insert_rowid(), new.min_lon, new.max_lon, new.min_lat, new.max_lat);
    END""",
    """CREATE TRIGGER geo_feature_rtree_update
    AFTER UPDATE OF min_lon, max_lon, min_lat, max_lat ON geo_feature BEGIN
        UPDATE geo_feature_rtree
        SET min_lon = new.min_lon, max_lon = new.max_lon,
            min_lat = new.min_lat, max_lat = new.max_lat
        WHERE id = (SELECT id FROM geo_feature_rtree_key WHERE ref = new.id);
    END""",
    """CREATE TRIGGER geo_feature_rtree_delete AFTER DELETE ON geo_feature BEGIN
        DELETE FROM geo_feature_rtree
        WHERE id = (SELECT id FROM geo_feature_rtree_key WHERE ref = old.id);
        DELETE FROM geo_feature_rtree_key WHERE ref = old.id;
    END""",
]
_RTREE_TABLES = ("standard_address", "geo_feature")


def _timestamps() -> list[sa.Column[object]]:
    return [
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
    ]


def _bbox() -> list[sa.Column[object]]:
    return [sa.Column(name, sa.Float(), nullable=False) for name in _BBOX]


def upgrade() -> None:
    op.create_table(
        "region",
        sa.Column("code", sa.String(15), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("parent_code", sa.String(15), nullable=True),
        sa.Column("name_zh", sa.String(100), nullable=False),
        sa.Column("name_en", sa.String(200), nullable=False),
        sa.Column("synthetic", sa.Boolean(), nullable=False),
        sa.Column("geometry", sa.JSON(), nullable=False),
        *_bbox(),
        sa.Column("area_m2", sa.Float(), nullable=False),
        sa.Column("centroid_lon", sa.Float(), nullable=False),
        sa.Column("centroid_lat", sa.Float(), nullable=False),
        *_timestamps(),
        sa.PrimaryKeyConstraint("code", name="pk_region"),
        sa.ForeignKeyConstraint(
            ["parent_code"], ["region.code"], name="fk_region_parent_code_region"
        ),
    )
    op.create_index("ix_region_parent_code", "region", ["parent_code"])
    for name in _BBOX:
        op.create_index(f"ix_region_{name}", "region", [name])

    op.create_table(
        "standard_address",
        sa.Column("code", sa.String(19), nullable=False),
        sa.Column("road", sa.String(100), nullable=False),
        sa.Column("number", sa.String(20), nullable=False),
        sa.Column("building", sa.String(100), nullable=False),
        sa.Column("unit", sa.String(50), nullable=False),
        sa.Column("subdistrict_code", sa.String(15), nullable=False),
        sa.Column("community_code", sa.String(15), nullable=False),
        sa.Column("grid_code", sa.String(15), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("synthetic", sa.Boolean(), nullable=False),
        sa.Column("search_text", sa.String(300), nullable=False),
        *_timestamps(),
        sa.PrimaryKeyConstraint("code", name="pk_standard_address"),
        *(
            sa.ForeignKeyConstraint(
                [column], ["region.code"], name=f"fk_standard_address_{column}_region"
            )
            for column in ("subdistrict_code", "community_code", "grid_code")
        ),
    )
    for column in ("subdistrict_code", "community_code", "grid_code", "search_text"):
        op.create_index(f"ix_standard_address_{column}", "standard_address", [column])

    op.create_table(
        "geo_layer",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("title_zh", sa.String(100), nullable=False),
        sa.Column("title_en", sa.String(200), nullable=False),
        sa.Column("geometry_type", sa.String(16), nullable=False),
        sa.Column("properties", sa.JSON(), nullable=False),
        sa.Column("synthetic", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(255), nullable=False),
        sa.Column("sort", sa.Integer(), nullable=False),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name="pk_geo_layer"),
    )

    op.create_table(
        "geo_feature",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("layer_id", sa.String(64), nullable=False),
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("properties", sa.JSON(), nullable=False),
        sa.Column("geometry", sa.JSON(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        *_bbox(),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name="pk_geo_feature"),
        sa.ForeignKeyConstraint(
            ["layer_id"], ["geo_layer.id"], name="fk_geo_feature_layer_id_geo_layer"
        ),
        sa.UniqueConstraint("layer_id", "key", name="uq_geo_feature_layer_id_key"),
    )
    op.create_index("ix_geo_feature_layer_id", "geo_feature", ["layer_id"])

    dialect = op.get_bind().dialect.name
    if dialect == "postgresql" and _postgis_available():
        for statement in _POSTGIS:
            op.execute(statement)
    elif dialect == "sqlite" and _rtree_available():
        for statement in _RTREE:
            op.execute(statement)


def _postgis_available() -> bool:
    """Whether PostGIS is installed, installing it if the server has it and we may."""
    bind = op.get_bind()
    if bind.execute(sa.text("SELECT 1 FROM pg_extension WHERE extname = 'postgis'")).first():
        return True
    available = "SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'"
    if not bind.execute(sa.text(available)).first():
        return False
    try:
        with bind.begin_nested():
            bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS postgis"))
    except DBAPIError:  # not a superuser, or not allowed to create extensions
        return False
    return True


def _rtree_available() -> bool:
    used = op.get_bind().execute(sa.text("SELECT sqlite_compileoption_used('ENABLE_RTREE')"))
    return bool(used.scalar())


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        for table in _POSTGIS_TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_set_geom ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS {table}_set_geom()")
    elif dialect == "sqlite":
        for table in _RTREE_TABLES:
            for trigger in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_rtree_{trigger}")
            op.execute(f"DROP TABLE IF EXISTS {table}_rtree")
            op.execute(f"DROP TABLE IF EXISTS {table}_rtree_key")
    op.drop_index("ix_geo_feature_layer_id", table_name="geo_feature")
    op.drop_table("geo_feature")
    op.drop_table("geo_layer")
    for column in ("subdistrict_code", "community_code", "grid_code", "search_text"):
        op.drop_index(f"ix_standard_address_{column}", table_name="standard_address")
    op.drop_table("standard_address")
    for name in _BBOX:
        op.drop_index(f"ix_region_{name}", table_name="region")
    op.drop_index("ix_region_parent_code", table_name="region")
    op.drop_table("region")
