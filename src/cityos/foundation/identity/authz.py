"""The one authorisation layer: who is calling (``Actor``), what a route needs (``require``),
and which rows they may see (``scoped``).

A route declares exactly one of ``require(permission)`` or ``public()``; the declaration is
a marked dependency (``cityos.kernel.access``) so a test can walk every route for it.
Permissions come from roles (``roles.yaml``); each role assignment has a scope:
``district`` (everything), ``jurisdiction`` (rows in the assignment's regions, and of its
department where the table records one) or ``own`` (rows the actor owns).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, APIKeyQuery, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import ColumnElement, Select, false, or_, select, true
from sqlalchemy.orm import QueryableAttribute, Session

from cityos.foundation.identity.apikeys import verify_api_key
from cityos.foundation.identity.models import Role, RoleAssignment, Scope, User, UserKind
from cityos.foundation.identity.permissions import expand
from cityos.foundation.identity.tokens import verify_token
from cityos.kernel.access import PUBLIC, declare, public, route_permission
from cityos.kernel.errors import PermissionDenied, Unauthenticated
from cityos.kernel.http import DbSession, RuntimeDep

T = TypeVar("T", bound=tuple[Any, ...])
# Scopes about the person (OIDC) and the scope that means "all the user may do".
IDENTITY_SCOPES = frozenset({"openid", "profile", "email", "phone", "address", "offline_access"})
API_SCOPE = "api"
Column = ColumnElement[Any] | QueryableAttribute[Any]


@dataclass(frozen=True)
class Grant:
    """One role assignment as the actor holds it: permissions and how far they reach."""

    role: str
    scope: Scope
    permissions: frozenset[str]
    jurisdiction: tuple[str, ...] = ()
    department_id: uuid.UUID | None = None


@dataclass(frozen=True)
class Actor:
    """Who is calling: a user with expanded permissions and their reach, or nobody."""

    user_id: uuid.UUID | None
    username: str
    kind: UserKind | None
    permissions: frozenset[str] = frozenset()
    jurisdictions: frozenset[str] = frozenset()
    department_ids: frozenset[uuid.UUID] = frozenset()
    is_anonymous: bool = False
    grants: tuple[Grant, ...] = field(default=(), repr=False)

    @classmethod
    def of(
        cls, *, user_id: uuid.UUID, username: str, kind: UserKind, grants: Iterable[Grant]
    ) -> Actor:
        """An actor whose permissions and reach are the union of ``grants``."""
        held = tuple(grants)
        return cls(
            user_id=user_id,
            username=username,
            kind=kind,
            permissions=frozenset(p for g in held for p in g.permissions),
            jurisdictions=frozenset(
                code for g in held if g.scope is Scope.JURISDICTION for code in g.jurisdiction
            ),
            department_ids=frozenset(g.department_id for g in held if g.department_id),
            grants=held,
        )

    def can(self, permission: str) -> bool:
        return permission in self.permissions


ANONYMOUS = Actor(user_id=None, username="", kind=None, is_anonymous=True)


def load_actor(
    session: Session,
    *,
    user_id: uuid.UUID,
    declared: Iterable[str],
    token_scope: str | None = None,
) -> Actor | None:
    """The actor for an active user, permissions expanded against ``declared`` names.

    A token ``scope`` narrows what the token may do: OIDC's scopes about the person
    (``openid``, ``profile`` …) grant nothing, ``api`` grants all the user's permissions,
    and permission patterns (``geo.*``) grant those. No scope at all (an operator's token
    from ``cityos auth token``) is the user's full permissions.
    """
    user = session.get(User, user_id)
    if user is None or not user.active:
        return None
    names = list(declared)
    if token_scope is not None:
        items = [s for s in token_scope.split() if s not in IDENTITY_SCOPES]
        if API_SCOPE not in items:
            names = sorted(expand(items, names))
    rows = session.execute(
        select(RoleAssignment, Role)
        .join(Role, Role.code == RoleAssignment.role)
        .where(RoleAssignment.user_id == user.id)
    ).all()
    grants = [
        Grant(
            role=role.code,
            scope=Scope(role.scope),
            permissions=expand(role.permissions, names),
            jurisdiction=tuple(str(code) for code in assignment.jurisdiction),
            department_id=assignment.department_id,
        )
        for assignment, role in rows
    ]
    return Actor.of(user_id=user.id, username=user.username, kind=user.kind, grants=grants)


_bearer = HTTPBearer(auto_error=False, bearerFormat="JWT", description="`cityos auth token`")
_key_header = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="`cityos apikeys create`"
)
_key_query = APIKeyQuery(
    name="api_key", auto_error=False, description="where a standard (Open311) says so"
)
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
HeaderKey = Annotated[str | None, Depends(_key_header)]
QueryKey = Annotated[str | None, Depends(_key_query)]


def current_actor(
    request: Request,
    session: DbSession,
    runtime: RuntimeDep,
    credentials: Credentials,
    header_key: HeaderKey,
    query_key: QueryKey,
) -> Actor:
    """The caller named by the bearer token or the API key, or 401 (none, or one that does
    not verify). An API key acts for its owner, narrowed to the key's scopes."""
    declared = runtime.registry.permissions()
    api_key = header_key or query_key
    if credentials is not None:
        claims = verify_token(session, credentials.credentials, settings=runtime.settings)
        actor = load_actor(
            session, user_id=claims.subject, declared=declared, token_scope=claims.scope
        )
        refusal = "the bearer token is not valid"
    elif api_key:
        key = verify_api_key(session, api_key, settings=runtime.settings)
        actor = load_actor(
            session, user_id=key.user_id, declared=declared, token_scope=" ".join(key.scopes)
        )
        refusal = "the API key is not valid"
    else:
        raise Unauthenticated("this endpoint needs a bearer token or an API key")
    if actor is None:
        raise Unauthenticated(refusal)
    request.state.actor = actor
    return actor


def require(permission: str) -> Callable[..., Actor]:
    """The declaration of a route that needs ``permission``: returns the calling ``Actor``,
    401 without valid credentials, 403 without the permission."""

    def allowed(actor: Annotated[Actor, Depends(current_actor)]) -> Actor:
        if not actor.can(permission):
            raise PermissionDenied(f"this needs the permission {permission}")
        return actor

    declare(allowed, permission)
    return allowed


def grant_clause(
    grant: Grant,
    actor: Actor,
    *,
    region_column: Column,
    department_column: Column | None = None,
    owner_column: Column | None = None,
    department_optional: bool = False,
) -> ColumnElement[bool] | None:
    """What one grant reaches, as a WHERE clause (``true()`` for a district grant, None for
    nothing). ``department_optional``: rows with no department are reached by region alone
    (a task waiting on a role anywhere in the region rather than on one unit)."""
    if grant.scope is Scope.DISTRICT:
        return true()
    if grant.scope is Scope.JURISDICTION:
        if not grant.jurisdiction:
            return None
        clause: ColumnElement[bool] = or_(
            *[region_column.startswith(p) for p in grant.jurisdiction]
        )
        if department_column is not None and grant.department_id is not None:
            same = department_column == grant.department_id
            if department_optional:
                same = or_(department_column.is_(None), same)
            clause = clause & same
        return clause
    if grant.scope is Scope.OWN and owner_column is not None and actor.user_id is not None:
        return owner_column == actor.user_id
    return None


def reaches(
    grant: Grant,
    actor: Actor,
    *,
    region_code: str | None,
    department_id: uuid.UUID | None = None,
    owner_id: uuid.UUID | None = None,
    department_optional: bool = False,
) -> bool:
    """``grant_clause`` for one object in hand: whether the grant reaches it."""
    if grant.scope is Scope.DISTRICT:
        return True
    if grant.scope is Scope.JURISDICTION:
        if region_code is None or not any(region_code.startswith(p) for p in grant.jurisdiction):
            return False
        if grant.department_id is None:
            return True
        if department_id is None:
            return department_optional
        return department_id == grant.department_id
    return grant.scope is Scope.OWN and owner_id is not None and owner_id == actor.user_id


def reach_clause(
    actor: Actor,
    *,
    region_column: Column,
    department_column: Column | None = None,
    owner_column: Column | None = None,
    permission: str | None = None,
    department_optional: bool = False,
) -> ColumnElement[bool] | None:
    """What ``actor`` reaches, as one WHERE clause; ``None`` when a district grant reaches
    everything (so callers add no condition at all). ``scoped`` explains the rules."""
    clauses: list[ColumnElement[bool]] = []
    for grant in actor.grants:
        if permission is not None and permission not in grant.permissions:
            continue
        if grant.scope is Scope.DISTRICT:
            return None
        clause = grant_clause(
            grant,
            actor,
            region_column=region_column,
            department_column=department_column,
            owner_column=owner_column,
            department_optional=department_optional,
        )
        if clause is not None:
            clauses.append(clause)
    return or_(*clauses) if clauses else false()


def scoped(
    stmt: Select[T],
    actor: Actor,
    *,
    region_column: Column,
    department_column: Column | None = None,
    owner_column: Column | None = None,
    permission: str | None = None,
    department_optional: bool = False,
) -> Select[T]:
    """``stmt`` narrowed to the rows ``actor`` may see; every jurisdiction filter goes here.

    Each of the actor's grants (only those giving ``permission``, when named) adds what it
    reaches: a district grant everything, a jurisdiction grant the rows whose region code
    starts with one of its regions (and, when ``department_column`` is given and the grant
    names a department, belong to that department), an own grant the rows whose
    ``owner_column`` is the actor. Nothing reached means no rows. With
    ``department_optional``, rows that name no department are reached by region alone.
    """
    reach = reach_clause(
        actor,
        region_column=region_column,
        department_column=department_column,
        owner_column=owner_column,
        permission=permission,
        department_optional=department_optional,
    )
    return stmt if reach is None else stmt.where(reach)


__all__ = [
    "ANONYMOUS",
    "PUBLIC",
    "Actor",
    "Grant",
    "current_actor",
    "grant_clause",
    "load_actor",
    "public",
    "reach_clause",
    "reaches",
    "require",
    "route_permission",
    "scoped",
]
