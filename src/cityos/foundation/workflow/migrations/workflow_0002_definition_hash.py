"""workflow_instance.definition_hash: the content hash of the version it runs on

A step then finds its parsed definition without reading the definition table. Existing
instances take the hash of their version.

Revision ID: workflow_0002
Revises: workflow_0001
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "workflow_0002"
down_revision = "workflow_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("workflow_instance") as batch:
        batch.add_column(sa.Column("definition_hash", sa.String(64), nullable=True))
    op.execute(
        "UPDATE workflow_instance SET definition_hash = (SELECT d.content_hash FROM "
        "workflow_definition d WHERE d.workflow_id = workflow_instance.workflow_id "
        "AND d.version = workflow_instance.version)"
    )


def downgrade() -> None:
    with op.batch_alter_table("workflow_instance") as batch:
        batch.drop_column("definition_hash")
