"""The identity API under ``/api/v1/identity``: one's own account, and the administration
of users, departments, role assignments and OIDC clients. Parse, authorise, call the
service, shape the answer; every change is audited by the service it calls."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response, status
from pydantic import BaseModel

from cityos.foundation.identity import admin, clients
from cityos.foundation.identity.admin import KEEP, AssignmentView, Audit, UserView
from cityos.foundation.identity.authz import Actor, require
from cityos.foundation.identity.credentials import set_password, unlock
from cityos.foundation.identity.mfa import has_totp, reset_totp, totp_required
from cityos.foundation.identity.models import OAuthClient, UserKind
from cityos.foundation.identity.schemas import (
    AssignmentCreate,
    AssignmentOut,
    ClientCreate,
    ClientOut,
    ClientSecretOut,
    DepartmentCreate,
    DepartmentNodeOut,
    DepartmentRef,
    DepartmentUpdate,
    IssuedClientOut,
    MeOut,
    MfaOut,
    PasswordSet,
    PermissionOut,
    RoleOut,
    UserCreate,
    UserList,
    UserOut,
    UserUpdate,
)
from cityos.foundation.privacy import mask
from cityos.kernel.http import DbSession, RuntimeDep
from cityos.kernel.pagination import DEFAULT_LIMIT, MAX_LIMIT

router = APIRouter(prefix="/identity", tags=["identity 统一身份认证"])

ProfileReader = Annotated[Actor, Depends(require("identity.profile.read"))]
UsersReader = Annotated[Actor, Depends(require("identity.users.read"))]
UsersManager = Annotated[Actor, Depends(require("identity.users.manage"))]
DepartmentsReader = Annotated[Actor, Depends(require("identity.departments.read"))]
DepartmentsManager = Annotated[Actor, Depends(require("identity.departments.manage"))]
RolesReader = Annotated[Actor, Depends(require("identity.roles.read"))]
RolesManager = Annotated[Actor, Depends(require("identity.roles.manage"))]
ClientsManager = Annotated[Actor, Depends(require("identity.clients.manage"))]


def _audit(request: Request, actor: Actor) -> Audit:
    return Audit(
        actor=actor.username,
        ip=request.client.host if request.client else None,
        request_id=getattr(request.state, "request_id", None),
    )


def _given(body: BaseModel, name: str) -> Any:
    """The field's value if the request sent it, else ``KEEP`` (a PATCH changes only those)."""
    return getattr(body, name) if name in body.model_fields_set else KEEP


def _given_required(body: BaseModel, name: str) -> Any:
    """As ``_given``, but a null for a field that cannot be empty also keeps it."""
    value = _given(body, name)
    return KEEP if value is None else value


def _assignment(view: AssignmentView) -> AssignmentOut:
    return AssignmentOut(
        id=view.id,
        role=view.role,
        name_zh=view.name_zh,
        name_en=view.name_en,
        scope=view.scope,
        department_code=view.department_code,
        jurisdiction=list(view.jurisdiction),
    )


def _user(view: UserView) -> UserOut:
    user = view.user
    return UserOut(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        kind=user.kind,
        department_code=view.department.code if view.department else None,
        phone=mask("mobile", user.phone) if user.phone else None,
        active=user.active,
        locked=view.locked,
        mfa_enrolled=view.mfa_enrolled,
        roles=[_assignment(a) for a in view.assignments],
    )


def _node(node: admin.DepartmentNode) -> DepartmentNodeOut:
    d = node.department
    return DepartmentNodeOut(
        code=d.code,
        name_zh=d.name_zh,
        name_en=d.name_en,
        kind=d.kind,
        region_code=d.region_code,
        sort=d.sort,
        children=[_node(child) for child in node.children],
    )


def _client(client: OAuthClient) -> dict[str, Any]:
    return {
        "client_id": client.client_id,
        "name_zh": client.name_zh,
        "name_en": client.name_en,
        "confidential": client.secret_hash is not None,
        "redirect_uris": list(client.redirect_uris),
        "post_logout_redirect_uris": list(client.post_logout_redirect_uris),
        "grant_types": list(client.grant_types),
        "scopes": list(client.scopes),
        "user_id": client.user_id,
        "first_party": client.first_party,
        "from_profile": client.from_profile,
        "active": client.active,
    }


# --- one's own account -----------------------------------------------------------------


@router.get("/me", summary="The signed-in account: department, roles, permissions, MFA")
def me(session: DbSession, runtime: RuntimeDep, actor: ProfileReader) -> MeOut:
    """Who the caller is and what they may do (permissions as this token allows them)."""
    assert actor.user_id is not None
    user = admin.get_user(session, user_id=actor.user_id)
    view = admin.user_view(session, user=user)
    department = view.department
    return MeOut(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        kind=user.kind,
        department=DepartmentRef(
            code=department.code, name_zh=department.name_zh, name_en=department.name_en
        )
        if department
        else None,
        roles=[_assignment(a) for a in view.assignments],
        permissions=sorted(actor.permissions),
        mfa=MfaOut(
            enrolled=has_totp(session, user),
            required=totp_required(session, settings=runtime.settings, user=user),
        ),
    )


# --- users -----------------------------------------------------------------------------


@router.get("/users", summary="Users, filtered and paged")
def list_users(
    session: DbSession,
    actor: UsersReader,
    q: Annotated[str | None, Query(max_length=100, description="username or name")] = None,
    department: Annotated[
        str | None, Query(max_length=64, description="department code, sub-departments too")
    ] = None,
    role: Annotated[str | None, Query(max_length=64)] = None,
    kind: UserKind | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> UserList:
    """Users by username with the total that match; phones are masked."""
    page = admin.list_users(
        session,
        q=q,
        department_code=department,
        role=role,
        kind=kind,
        limit=limit,
        offset=offset,
    )
    return UserList(items=[_user(view) for view in page.items], total=page.total)


@router.get("/users/{user_id}", summary="One user")
def get_user(session: DbSession, actor: UsersReader, user_id: uuid.UUID) -> UserOut:
    """The user with department, roles, lock and MFA state; the phone masked."""
    user = admin.get_user(session, user_id=user_id)
    return _user(admin.user_view(session, user=user))


@router.post("/users", status_code=status.HTTP_201_CREATED, summary="Create a user")
def create_user(
    request: Request,
    session: DbSession,
    runtime: RuntimeDep,
    actor: UsersManager,
    body: UserCreate,
) -> UserOut:
    """A new active user, optionally with a phone and an initial password."""
    user = admin.create_user(
        session,
        audit=_audit(request, actor),
        settings=runtime.settings,
        username=body.username,
        display_name=body.display_name,
        kind=body.kind,
        department_code=body.department_code,
        phone=body.phone,
        password=body.password,
    )
    return _user(admin.user_view(session, user=user))


@router.patch("/users/{user_id}", summary="Change a user's name, department or status")
def update_user(
    request: Request,
    session: DbSession,
    actor: UsersManager,
    user_id: uuid.UUID,
    body: UserUpdate,
) -> UserOut:
    """Only the fields sent change; ``active: false`` stops the user signing in."""
    user = admin.update_user(
        session,
        audit=_audit(request, actor),
        user=admin.get_user(session, user_id=user_id),
        display_name=_given_required(body, "display_name"),
        department_code=_given(body, "department_code"),
        active=_given_required(body, "active"),
    )
    return _user(admin.user_view(session, user=user))


@router.post(
    "/users/{user_id}/password",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Set a user's password",
)
def set_user_password(
    session: DbSession,
    runtime: RuntimeDep,
    actor: UsersManager,
    user_id: uuid.UUID,
    body: PasswordSet,
) -> Response:
    """A new password, checked against the password policy; lifts any sign-in lock."""
    user = admin.get_user(session, user_id=user_id)
    set_password(
        session, user=user, password=body.password, actor=actor.username, settings=runtime.settings
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/users/{user_id}/unlock",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Lift a user's sign-in lock",
)
def unlock_user(session: DbSession, actor: UsersManager, user_id: uuid.UUID) -> Response:
    """The user may try again at once; the failure count starts afresh."""
    unlock(session, user=admin.get_user(session, user_id=user_id), actor=actor.username)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/users/{user_id}/reset-mfa",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove a user's authenticator",
)
def reset_user_mfa(session: DbSession, actor: UsersManager, user_id: uuid.UUID) -> Response:
    """For a lost phone: the user enrols a new authenticator at their next sign-in."""
    reset_totp(session, user=admin.get_user(session, user_id=user_id), actor=actor.username)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/users/{user_id}/roles",
    status_code=status.HTTP_201_CREATED,
    summary="Give a user a role over regions",
)
def assign_role(
    request: Request,
    session: DbSession,
    runtime: RuntimeDep,
    actor: RolesManager,
    user_id: uuid.UUID,
    body: AssignmentCreate,
) -> AssignmentOut:
    """A role for a department over region codes (440303…); nobody grants more than they hold."""
    user = admin.get_user(session, user_id=user_id)
    admin.ensure_may_grant(
        session, granter=actor, role=body.role, declared=runtime.registry.permissions()
    )
    assignment = admin.assign_role(
        session,
        audit=_audit(request, actor),
        user=user,
        role=body.role,
        department_code=body.department_code,
        jurisdiction=body.jurisdiction,
    )
    return _assignment(admin.assignment_view(session, assignment=assignment))


@router.delete(
    "/users/{user_id}/roles/{assignment_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Take a role assignment away",
)
def remove_assignment(
    request: Request,
    session: DbSession,
    runtime: RuntimeDep,
    actor: RolesManager,
    user_id: uuid.UUID,
    assignment_id: uuid.UUID,
) -> Response:
    """The assignment ends now; tokens already issued lose the role at their next use."""
    user = admin.get_user(session, user_id=user_id)
    assignment = admin.get_assignment(session, user=user, assignment_id=assignment_id)
    admin.ensure_may_grant(
        session, granter=actor, role=assignment.role, declared=runtime.registry.permissions()
    )
    admin.remove_assignment(session, audit=_audit(request, actor), assignment=assignment)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- departments -----------------------------------------------------------------------


@router.get("/departments", summary="The department tree")
def departments(session: DbSession, actor: DepartmentsReader) -> list[DepartmentNodeOut]:
    """Every department, nested under its parent, siblings in display order."""
    return [_node(node) for node in admin.department_tree(session)]


@router.post("/departments", status_code=status.HTTP_201_CREATED, summary="Add a department")
def create_department(
    request: Request, session: DbSession, actor: DepartmentsManager, body: DepartmentCreate
) -> DepartmentNodeOut:
    """A new department under ``parent_code`` (or a new root)."""
    department = admin.create_department(
        session,
        audit=_audit(request, actor),
        code=body.code,
        name_zh=body.name_zh,
        name_en=body.name_en,
        kind=body.kind,
        parent_code=body.parent_code,
        region_code=body.region_code,
        sort=body.sort,
    )
    return _node(admin.DepartmentNode(department))


@router.patch("/departments/{code}", summary="Change or move a department")
def update_department(
    request: Request,
    session: DbSession,
    actor: DepartmentsManager,
    code: str,
    body: DepartmentUpdate,
) -> DepartmentNodeOut:
    """Only the fields sent change; a move under its own sub-department is refused."""
    department = admin.update_department(
        session,
        audit=_audit(request, actor),
        code=code,
        name_zh=_given_required(body, "name_zh"),
        name_en=_given_required(body, "name_en"),
        kind=_given_required(body, "kind"),
        parent_code=_given(body, "parent_code"),
        region_code=_given(body, "region_code"),
        sort=_given_required(body, "sort"),
    )
    return _node(admin.DepartmentNode(department))


# --- roles and permissions -------------------------------------------------------------


@router.get("/roles", summary="Roles and how many hold each")
def roles(session: DbSession, actor: RolesReader) -> list[RoleOut]:
    """The profile's roles with their permission patterns and number of active holders."""
    return [
        RoleOut(
            code=item.role.code,
            name_zh=item.role.name_zh,
            name_en=item.role.name_en,
            scope=item.role.scope,
            permissions=[str(p) for p in item.role.permissions],
            mfa_required=item.role.mfa_required,
            holders=item.holders,
        )
        for item in admin.list_roles(session)
    ]


@router.get("/permissions", summary="Every permission the modules declare")
def permissions(runtime: RuntimeDep, actor: RolesReader) -> list[PermissionOut]:
    """Permission names with their Chinese and English labels, by name."""
    declared = runtime.registry.permissions()
    return [
        PermissionOut(name=name, zh=label.get("zh", name), en=label.get("en", name))
        for name, label in sorted(declared.items())
    ]


# --- OIDC clients ----------------------------------------------------------------------


@router.get("/clients", summary="OIDC clients")
def list_clients(session: DbSession, actor: ClientsManager) -> list[ClientOut]:
    """Every client; secrets are never shown, only whether a client has one."""
    return [ClientOut(**_client(c)) for c in clients.list_clients(session)]


@router.post("/clients", status_code=status.HTTP_201_CREATED, summary="Register a client")
def create_client(
    request: Request, session: DbSession, actor: ClientsManager, body: ClientCreate
) -> IssuedClientOut:
    """A new client; a confidential one's secret is in this answer and nowhere else."""
    issued = clients.create_client(
        session,
        audit=_audit(request, actor),
        client_id=body.client_id,
        name_zh=body.name_zh,
        name_en=body.name_en,
        confidential=body.confidential,
        redirect_uris=body.redirect_uris,
        post_logout_redirect_uris=body.post_logout_redirect_uris,
        grant_types=body.grant_types,
        scopes=body.scopes,
        user=body.user,
        first_party=body.first_party,
    )
    return IssuedClientOut(**_client(issued.client), client_secret=issued.secret)


@router.post("/clients/{client_id}/deactivate", summary="Switch a client off")
def deactivate_client(
    request: Request, session: DbSession, actor: ClientsManager, client_id: str
) -> ClientOut:
    """The client can no longer sign anyone in or get tokens."""
    client = clients.deactivate_client(session, audit=_audit(request, actor), client_id=client_id)
    return ClientOut(**_client(client))


@router.post("/clients/{client_id}/secret", summary="Rotate a confidential client's secret")
def rotate_client_secret(
    request: Request, session: DbSession, actor: ClientsManager, client_id: str
) -> ClientSecretOut:
    """A new secret, shown once; the old one stops working at once."""
    secret = clients.rotate_secret(session, audit=_audit(request, actor), client_id=client_id)
    return ClientSecretOut(client_id=client_id, client_secret=secret)
