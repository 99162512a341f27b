"""OIDC provider and credentials: clients, codes, refresh tokens, sign-in sessions and
flows, TOTP, SMS codes, federated identities; lockout and phone columns on users

Revision ID: identity_0004
Revises: identity_0003
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from cityos.kernel.db import UtcDateTime

revision = "identity_0004"
down_revision = "identity_0003"
branch_labels = None
depends_on = None


def _user_fk(table: str, column: str = "user_id") -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], ["app_user.id"], name=f"fk_{table}_{column}_app_user")


def _client_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["client_id"], ["oauth_client.client_id"], name=f"fk_{table}_client_id_oauth_client"
    )


def upgrade() -> None:
    # Plain ADD COLUMN: a batch copy of app_user would trip the foreign keys that point
    # at it on SQLite.
    for column in (
        sa.Column("password_changed_at", UtcDateTime(), nullable=True),
        sa.Column("phone", sa.Text(), nullable=True),
        sa.Column("phone_bidx", sa.String(64), nullable=True),
        sa.Column("failed_sign_ins", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("locked_until", UtcDateTime(), nullable=True),
        sa.Column("last_sign_in_at", UtcDateTime(), nullable=True),
    ):
        op.add_column("app_user", column)
    op.create_index("ix_app_user_phone_bidx", "app_user", ["phone_bidx"], unique=True)
    op.add_column(
        "role", sa.Column("mfa_required", sa.Boolean(), nullable=False, server_default=sa.false())
    )

    op.create_table(
        "oauth_client",
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("name_zh", sa.String(100), nullable=False),
        sa.Column("name_en", sa.String(200), nullable=False),
        sa.Column("secret_hash", sa.String(255), nullable=True),
        sa.Column("redirect_uris", sa.JSON(), nullable=False),
        sa.Column("post_logout_redirect_uris", sa.JSON(), nullable=False),
        sa.Column("grant_types", sa.JSON(), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("first_party", sa.Boolean(), nullable=False),
        sa.Column("from_profile", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("client_id", name="pk_oauth_client"),
        _user_fk("oauth_client"),
    )
    op.create_table(
        "oauth_code",
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("session_id", sa.Uuid(), nullable=True),
        sa.Column("redirect_uri", sa.Text(), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("nonce", sa.String(255), nullable=True),
        sa.Column("code_challenge", sa.String(128), nullable=True),
        sa.Column("code_challenge_method", sa.String(16), nullable=True),
        sa.Column("auth_time", UtcDateTime(), nullable=False),
        sa.Column("amr", sa.JSON(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
        sa.Column("used_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("code_hash", name="pk_oauth_code"),
        _client_fk("oauth_code"),
        _user_fk("oauth_code"),
    )
    op.create_index("ix_oauth_code_client_id", "oauth_code", ["client_id"])
    op.create_index("ix_oauth_code_user_id", "oauth_code", ["user_id"])
    op.create_index("ix_oauth_code_expires_at", "oauth_code", ["expires_at"])
    op.create_table(
        "oauth_refresh_token",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("family_id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("session_id", sa.Uuid(), nullable=True),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("auth_time", UtcDateTime(), nullable=False),
        sa.Column("amr", sa.JSON(), nullable=False),
        sa.Column("issued_at", UtcDateTime(), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
        sa.Column("rotated_at", UtcDateTime(), nullable=True),
        sa.Column("revoked_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_oauth_refresh_token"),
        sa.UniqueConstraint("token_hash", name="uq_oauth_refresh_token_token_hash"),
        _client_fk("oauth_refresh_token"),
        _user_fk("oauth_refresh_token"),
    )
    for indexed in ("family_id", "client_id", "user_id", "session_id", "expires_at"):
        op.create_index(f"ix_oauth_refresh_token_{indexed}", "oauth_refresh_token", [indexed])
    op.create_table(
        "sign_in_session",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("auth_time", UtcDateTime(), nullable=False),
        sa.Column("amr", sa.JSON(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
        sa.Column("ended_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_sign_in_session"),
        sa.UniqueConstraint("token_hash", name="uq_sign_in_session_token_hash"),
        _user_fk("sign_in_session"),
    )
    op.create_index("ix_sign_in_session_user_id", "sign_in_session", ["user_id"])
    op.create_index("ix_sign_in_session_expires_at", "sign_in_session", ["expires_at"])
    op.create_table(
        "sign_in_flow",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("stage", sa.String(32), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("return_to", sa.Text(), nullable=False),
        sa.Column("amr", sa.JSON(), nullable=False),
        sa.Column("provider", sa.String(64), nullable=True),
        sa.Column("state", sa.String(128), nullable=True),
        sa.Column("nonce", sa.String(128), nullable=True),
        sa.Column("code_verifier", sa.String(128), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_sign_in_flow"),
        sa.UniqueConstraint("token_hash", name="uq_sign_in_flow_token_hash"),
        _user_fk("sign_in_flow"),
    )
    op.create_index("ix_sign_in_flow_state", "sign_in_flow", ["state"])
    op.create_index("ix_sign_in_flow_expires_at", "sign_in_flow", ["expires_at"])
    op.create_table(
        "totp_credential",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("confirmed_at", UtcDateTime(), nullable=True),
        sa.Column("last_step", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("user_id", name="pk_totp_credential"),
        _user_fk("totp_credential"),
    )
    op.create_table(
        "sms_code",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("phone_bidx", sa.String(64), nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("purpose", sa.String(32), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("used_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_sms_code"),
    )
    op.create_index("ix_sms_code_phone_bidx", "sms_code", ["phone_bidx"])
    op.create_table(
        "federated_identity",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("provider", sa.String(64), nullable=False),
        sa.Column("subject", sa.String(255), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("last_sign_in_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_federated_identity"),
        sa.UniqueConstraint("provider", "subject", name="uq_federated_identity_provider_subject"),
        _user_fk("federated_identity"),
    )
    op.create_index("ix_federated_identity_user_id", "federated_identity", ["user_id"])


def downgrade() -> None:
    for table in (
        "federated_identity",
        "sms_code",
        "totp_credential",
        "sign_in_flow",
        "sign_in_session",
        "oauth_refresh_token",
        "oauth_code",
        "oauth_client",
    ):
        op.drop_table(table)
    op.drop_index("ix_app_user_phone_bidx", table_name="app_user")
    with op.batch_alter_table("role") as batch:
        batch.drop_column("mfa_required")
    with op.batch_alter_table("app_user") as batch:
        for name in (
            "last_sign_in_at",
            "locked_until",
            "failed_sign_ins",
            "phone_bidx",
            "phone",
            "password_changed_at",
        ):
            batch.drop_column(name)
