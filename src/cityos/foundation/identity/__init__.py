"""Unified identity (统一身份认证): the organisation, its people, roles with jurisdictions,
bearer tokens and the one authorisation layer every route and query goes through."""

from __future__ import annotations

from pathlib import Path

from cityos.foundation.identity.api import router as api_router
from cityos.foundation.identity.apikeys import (
    ApiKeyListing,
    IssuedKey,
    create_api_key,
    list_api_keys,
    revoke_api_key,
    verify_api_key,
)
from cityos.foundation.identity.authz import (
    ANONYMOUS,
    Actor,
    Grant,
    current_actor,
    load_actor,
    require,
    scoped,
)
from cityos.foundation.identity.cli import apikeys_cli, cli
from cityos.foundation.identity.clients import clients_section
from cityos.foundation.identity.models import Scope
from cityos.foundation.identity.oidc import router as oidc_router
from cityos.foundation.identity.permissions import PERMISSIONS
from cityos.foundation.identity.profile import departments_section, roles_section
from cityos.foundation.identity.service import DemoAccount, demo_accounts, hash_password
from cityos.foundation.identity.tokens import (
    TokenClaims,
    issue_token,
    jwks,
    revoke_token,
    rotate_signing_key,
    verify_token,
)
from cityos.kernel.access import PUBLIC, public, route_permission
from cityos.kernel.registry import Module

module = Module(
    name="identity",
    models=("cityos.foundation.identity.models",),
    migrations=Path(__file__).parent / "migrations",
    profile_sections=(roles_section, departments_section, clients_section),
    routers=(api_router,),
    root_routers=(oidc_router,),
    cli=cli,
    cli_name="auth",
    extra_cli=(("apikeys", apikeys_cli),),
    permissions=PERMISSIONS,
)

__all__ = [
    "ANONYMOUS",
    "PUBLIC",
    "Actor",
    "ApiKeyListing",
    "DemoAccount",
    "Grant",
    "IssuedKey",
    "Scope",
    "TokenClaims",
    "create_api_key",
    "current_actor",
    "demo_accounts",
    "hash_password",
    "issue_token",
    "jwks",
    "list_api_keys",
    "load_actor",
    "module",
    "public",
    "require",
    "revoke_api_key",
    "revoke_token",
    "rotate_signing_key",
    "route_permission",
    "scoped",
    "verify_api_key",
    "verify_token",
]
