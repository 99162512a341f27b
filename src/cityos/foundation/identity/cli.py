"""``cityos auth``: bearer tokens for operators and scripts, signing-key rotation, and the
administration of users, departments, roles and OIDC clients; ``cityos apikeys``: API keys
for devices and systems. Every change is audited with the actor ``cli``."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import Session

from cityos.foundation.audit import record
from cityos.foundation.identity import admin, clients
from cityos.foundation.identity.admin import Audit
from cityos.foundation.identity.apikeys import create_api_key, list_api_keys, revoke_api_key
from cityos.foundation.identity.credentials import set_password, unlock
from cityos.foundation.identity.mfa import reset_totp
from cityos.foundation.identity.models import User, UserKind
from cityos.foundation.identity.tokens import issue_token, rotate_signing_key
from cityos.foundation.privacy import mask
from cityos.kernel.cli import CliError, clear_errors, cli_runtime, console

cli = typer.Typer(
    help="Unified identity (统一身份认证): tokens, keys, users, departments, roles, clients.",
    no_args_is_help=True,
)
apikeys_cli = typer.Typer(help="API keys for devices and systems.", no_args_is_help=True)
users_cli = typer.Typer(help="User accounts.", no_args_is_help=True)
departments_cli = typer.Typer(help="The department tree.", no_args_is_help=True)
roles_cli = typer.Typer(help="Roles (defined in the profile's roles.yaml).", no_args_is_help=True)
clients_cli = typer.Typer(help="OIDC clients (接入应用).", no_args_is_help=True)
cli.add_typer(users_cli, name="users")
cli.add_typer(departments_cli, name="departments")
cli.add_typer(roles_cli, name="roles")
cli.add_typer(clients_cli, name="clients")

# Operators at the console act with database access, outside any signed-in account.
CLI_ACTOR = "cli"


@cli.command("token")
def token_command(
    user: Annotated[str, typer.Option("--user", help="username of an active account")],
    ttl: Annotated[int, typer.Option(help="lifetime in seconds")] = 3600,
    scope: Annotated[
        str | None, typer.Option(help="narrow the token to these permission patterns")
    ] = None,
) -> None:
    """Print a bearer token for USER (only the token, on the last line)."""
    with clear_errors():
        runtime = cli_runtime(require_current=True)
        with runtime.unit_of_work() as session:
            account = _active_user(session, user)
            token = issue_token(
                session,
                settings=runtime.settings,
                user=account,
                ttl=timedelta(seconds=ttl),
                scope=scope,
            )
            # A credential handed out from the command line is a security event: record who
            # got one, for how long and how narrow (never the token itself).
            record(
                session,
                actor="cli",
                action="auth.token_issue",
                target_type="user",
                target_id=str(account.id),
                outcome="success",
                details={"ttl_seconds": ttl, "scope": scope},
            )
    console.print(token, markup=False, highlight=False)


@cli.command("rotate-key")
def rotate_key_command() -> None:
    """Retire the signing key (still published until its tokens expire) and make a new one."""
    with clear_errors():
        runtime = cli_runtime(require_current=True)
        with runtime.unit_of_work() as session:
            key = rotate_signing_key(session, settings=runtime.settings)
            record(
                session,
                actor="cli",
                action="auth.signing_key_rotate",
                target_type="signing_key",
                target_id=key.kid,
                outcome="success",
                details={},
            )
    console.print(f"new signing key {key.kid}")


def _active_user(session: Session, username: str) -> User:
    account = session.scalars(select(User).where(User.username == username)).first()
    if account is None or not account.active:
        raise CliError(f"no active user {username!r}")
    return account


@apikeys_cli.command("create")
def apikeys_create_command(
    owner: Annotated[str, typer.Option("--owner", help="username the key acts for")],
    scope: Annotated[
        list[str], typer.Option("--scope", help="permission pattern the key may use (repeat)")
    ],
    name: Annotated[str, typer.Option(help="what the key is for (a device, a system)")] = "",
    expires_in_days: Annotated[int, typer.Option(help="lifetime in days")] = 365,
) -> None:
    """Create a key for OWNER limited to SCOPE; print it (only the key, on the last line)."""
    with clear_errors():
        runtime = cli_runtime(require_current=True)
        with runtime.unit_of_work() as session:
            issued = create_api_key(
                session,
                settings=runtime.settings,
                owner=_active_user(session, owner),
                scopes=scope,
                name=name,
                lifetime=timedelta(days=expires_in_days),
                actor=CLI_ACTOR,
            )
            prefix = issued.row.prefix
    console.print(f"API key {prefix} for {owner}; it is shown only once:")
    console.print(issued.key, markup=False, highlight=False)


@apikeys_cli.command("list")
def apikeys_list_command(
    owner: Annotated[str | None, typer.Option(help="only this user's keys")] = None,
) -> None:
    """List keys (prefix, owner, name, scopes, expiry, status); never the keys themselves."""
    with clear_errors():
        runtime = cli_runtime(require_current=True)
        with runtime.unit_of_work() as session:
            account = None
            if owner is not None:
                account = session.scalars(select(User).where(User.username == owner)).first()
                if account is None:
                    raise CliError(f"no user {owner!r}")
            keys = list_api_keys(session, owner=account)
    table = Table("prefix", "owner", "name", "scopes", "expires", "last used", "status")
    for key in keys:
        table.add_row(
            key.prefix,
            key.owner,
            key.name,
            " ".join(key.scopes),
            key.expires_at.strftime("%Y-%m-%d"),
            key.last_used_at.strftime("%Y-%m-%d %H:%M") if key.last_used_at else "",
            key.status,
        )
    console.print(table)


@apikeys_cli.command("revoke")
def apikeys_revoke_command(
    prefix: Annotated[str, typer.Argument(help="the key's prefix, as `list` shows it")],
) -> None:
    """Refuse the key with PREFIX from now on."""
    with clear_errors():
        runtime = cli_runtime(require_current=True)
        with runtime.unit_of_work() as session:
            revoke_api_key(session, prefix=prefix, actor=CLI_ACTOR)
    console.print(f"API key {prefix} revoked")


# --- users -----------------------------------------------------------------------------

CLI_AUDIT = Audit(actor=CLI_ACTOR)
Username = Annotated[str, typer.Argument(help="the account's username")]


def _new_password() -> str:
    password: str = typer.prompt("New password", hide_input=True, confirmation_prompt=True)
    return password


@users_cli.command("list")
def users_list_command(
    q: Annotated[str | None, typer.Option("--q", help="part of a username or name")] = None,
    department: Annotated[
        str | None, typer.Option(help="department code (its sub-departments too)")
    ] = None,
    role: Annotated[str | None, typer.Option(help="only holders of this role")] = None,
    kind: Annotated[
        UserKind | None, typer.Option(help="staff, citizen, enterprise, system")
    ] = None,
    limit: Annotated[int, typer.Option(help="at most this many (1-200)")] = 50,
    offset: Annotated[int, typer.Option(help="skip this many")] = 0,
) -> None:
    """List users with department, roles and status; phones masked."""
    with clear_errors():
        runtime = cli_runtime(require_current=True)
        with runtime.unit_of_work() as session:
            page = admin.list_users(
                session,
                q=q,
                department_code=department,
                role=role,
                kind=kind,
                limit=limit,
                offset=offset,
            )
            table = Table("username", "name", "kind", "department", "roles", "phone", "status")
            for view in page.items:
                user = view.user
                status = "disabled" if not user.active else "locked" if view.locked else "active"
                if view.mfa_enrolled:
                    status += " +mfa"
                table.add_row(
                    user.username,
                    user.display_name,
                    str(user.kind),
                    view.department.code if view.department else "",
                    " ".join(a.role for a in view.assignments),
                    mask("mobile", user.phone) if user.phone else "",
                    status,
                )
    console.print(table)
    console.print(f"{len(page.items)} of {page.total} user(s)")


@users_cli.command("create")
def users_create_command(
    username: Username,
    name: Annotated[str, typer.Option("--name", help="display name")],
    kind: Annotated[UserKind, typer.Option(help="staff, citizen, enterprise, system")] = (
        UserKind.STAFF
    ),
    department: Annotated[str | None, typer.Option(help="department code")] = None,
    phone: Annotated[str | None, typer.Option(help="mobile number (stored sealed)")] = None,
    with_password: Annotated[
        bool, typer.Option("--with-password", help="ask for an initial password")
    ] = False,
) -> None:
    """Create an active user (without a password unless --with-password)."""
    password = _new_password() if with_password else None
    with clear_errors():
        runtime = cli_runtime(require_current=True)
        with runtime.unit_of_work() as session:
            admin.create_user(
                session,
                audit=CLI_AUDIT,
                settings=runtime.settings,
                username=username,
                display_name=name,
                kind=kind,
                department_code=department,
                phone=phone,
                password=password,
            )
    console.print(f"user {username} created")


def _set_active(username: str, active: bool) -> None:
    with clear_errors():
        runtime = cli_runtime(require_current=True)
        with runtime.unit_of_work() as session:
            user = admin.find_user(session, username=username)
            admin.update_user(session, audit=CLI_AUDIT, user=user, active=active)
    console.print(f"user {username} {'enabled' if active else 'disabled'}")


@users_cli.command("disable")
def users_disable_command(username: Username) -> None:
    """Stop USERNAME signing in (their tokens stop working at once)."""
    _set_active(username, False)


@users_cli.command("enable")
def users_enable_command(username: Username) -> None:
    """Let USERNAME sign in again."""
    _set_active(username, True)


@users_cli.command("set-password")
def users_set_password_command(username: Username) -> None:
    """Ask for a new password for USERNAME (checked against the policy)."""
    password = _new_password()
    with clear_errors():
        runtime = cli_runtime(require_current=True)
        with runtime.unit_of_work() as session:
            user = admin.find_user(session, username=username)
            set_password(
                session, user=user, password=password, actor=CLI_ACTOR, settings=runtime.settings
            )
    console.print(f"password of {username} set")


@users_cli.command("unlock")
def users_unlock_command(username: Username) -> None:
    """Lift USERNAME's sign-in lock after too many failed attempts."""
    with clear_errors():
        runtime = cli_runtime(require_current=True)
        with runtime.unit_of_work() as session:
            unlock(session, user=admin.find_user(session, username=username), actor=CLI_ACTOR)
    console.print(f"user {username} unlocked")


@users_cli.command("reset-mfa")
def users_reset_mfa_command(username: Username) -> None:
    """Remove USERNAME's authenticator (a lost phone); they enrol again at next sign-in."""
    with clear_errors():
        runtime = cli_runtime(require_current=True)
        with runtime.unit_of_work() as session:
            reset_totp(session, user=admin.find_user(session, username=username), actor=CLI_ACTOR)
    console.print(f"authenticator of {username} removed")


@users_cli.command("assign")
def users_assign_command(
    username: Username,
    role: Annotated[str, typer.Argument(help="role code, as `auth roles list` shows it")],
    department: Annotated[str | None, typer.Option(help="department code")] = None,
    region: Annotated[
        list[str] | None, typer.Option("--region", help="region code 440303… (repeat)")
    ] = None,
) -> None:
    """Give USERNAME the ROLE for a department over regions."""
    with clear_errors():
        runtime = cli_runtime(require_current=True)
        with runtime.unit_of_work() as session:
            admin.assign_role(
                session,
                audit=CLI_AUDIT,
                user=admin.find_user(session, username=username),
                role=role,
                department_code=department,
                jurisdiction=region or [],
            )
    console.print(f"{username} now holds {role}")


@users_cli.command("unassign")
def users_unassign_command(
    username: Username,
    role: Annotated[str, typer.Argument(help="role code")],
    department: Annotated[
        str | None, typer.Option(help="only the assignment for this department")
    ] = None,
) -> None:
    """Take ROLE from USERNAME (every assignment of it, or the one for --department)."""
    with clear_errors():
        runtime = cli_runtime(require_current=True)
        with runtime.unit_of_work() as session:
            user = admin.find_user(session, username=username)
            held = [
                a
                for a in admin.user_view(session, user=user).assignments
                if a.role == role and (department is None or a.department_code == department)
            ]
            if not held:
                raise CliError(f"{username} does not hold {role}")
            for view in held:
                assignment = admin.get_assignment(session, user=user, assignment_id=view.id)
                admin.remove_assignment(session, audit=CLI_AUDIT, assignment=assignment)
    console.print(f"{username} no longer holds {role} ({len(held)} assignment(s))")


# --- departments and roles -------------------------------------------------------------


@departments_cli.command("list")
def departments_list_command() -> None:
    """The department tree, indented under each parent."""
    with clear_errors():
        runtime = cli_runtime(require_current=True)
        with runtime.unit_of_work() as session:
            tree = admin.department_tree(session)
    table = Table("code", "名称", "name", "kind", "region")

    def add(nodes: list[admin.DepartmentNode], depth: int) -> None:
        for node in nodes:
            d = node.department
            table.add_row("  " * depth + d.code, d.name_zh, d.name_en, d.kind, d.region_code or "")
            add(node.children, depth + 1)

    add(tree, 0)
    console.print(table)


@departments_cli.command("add")
def departments_add_command(
    code: Annotated[str, typer.Argument(help="lower-case code, e.g. water-affairs")],
    zh: Annotated[str, typer.Option("--zh", help="Chinese name")],
    en: Annotated[str, typer.Option("--en", help="English name")],
    kind: Annotated[str, typer.Option(help=", ".join(admin.DEPARTMENT_KINDS))],
    parent: Annotated[str | None, typer.Option(help="parent department code")] = None,
    region: Annotated[str | None, typer.Option(help="region code 440303…")] = None,
) -> None:
    """Add a department under --parent (or as a new root)."""
    with clear_errors():
        runtime = cli_runtime(require_current=True)
        with runtime.unit_of_work() as session:
            admin.create_department(
                session,
                audit=CLI_AUDIT,
                code=code,
                name_zh=zh,
                name_en=en,
                kind=kind,
                parent_code=parent,
                region_code=region,
            )
    console.print(f"department {code} added")


@roles_cli.command("list")
def roles_list_command() -> None:
    """Roles with scope, permissions and the number of active holders."""
    with clear_errors():
        runtime = cli_runtime(require_current=True)
        with runtime.unit_of_work() as session:
            listed = admin.list_roles(session)
    table = Table("code", "名称", "name", "scope", "mfa", "holders", "permissions")
    for item in listed:
        role = item.role
        table.add_row(
            role.code,
            role.name_zh,
            role.name_en,
            str(role.scope),
            "yes" if role.mfa_required else "",
            str(item.holders),
            " ".join(str(p) for p in role.permissions),
        )
    console.print(table)


# --- OIDC clients ----------------------------------------------------------------------

ClientId = Annotated[str, typer.Argument(help="the client's id")]


@clients_cli.command("list")
def clients_list_command() -> None:
    """Clients with type, grants, redirect URIs and status; never a secret."""
    with clear_errors():
        runtime = cli_runtime(require_current=True)
        with runtime.unit_of_work() as session:
            listed = clients.list_clients(session)
    table = Table("client", "名称", "type", "grants", "redirect URIs", "source", "status")
    for client in listed:
        table.add_row(
            client.client_id,
            client.name_zh,
            "confidential" if client.secret_hash else "public",
            " ".join(client.grant_types),
            " ".join(client.redirect_uris),
            "profile" if client.from_profile else "",
            "active" if client.active else "inactive",
        )
    console.print(table)


@clients_cli.command("create")
def clients_create_command(
    client_id: ClientId,
    zh: Annotated[str, typer.Option("--zh", help="Chinese name")],
    en: Annotated[str, typer.Option("--en", help="English name")],
    confidential: Annotated[
        bool, typer.Option("--confidential", help="give it a secret (a server, not a browser)")
    ] = False,
    redirect_uri: Annotated[
        list[str] | None, typer.Option("--redirect-uri", help="exact absolute URL (repeat)")
    ] = None,
    post_logout_uri: Annotated[
        list[str] | None, typer.Option("--post-logout-uri", help="exact absolute URL (repeat)")
    ] = None,
    grant: Annotated[
        list[str] | None,
        typer.Option("--grant", help="authorization_code, refresh_token, client_credentials"),
    ] = None,
    scope: Annotated[
        list[str] | None, typer.Option("--scope", help="openid, profile, api … (repeat)")
    ] = None,
    user: Annotated[
        str | None, typer.Option(help="system account a client-credentials client acts as")
    ] = None,
    first_party: Annotated[bool, typer.Option("--first-party", help="skip consent")] = False,
) -> None:
    """Register a client; a confidential one's secret is printed once, on the last line."""
    with clear_errors():
        runtime = cli_runtime(require_current=True)
        with runtime.unit_of_work() as session:
            issued = clients.create_client(
                session,
                audit=CLI_AUDIT,
                client_id=client_id,
                name_zh=zh,
                name_en=en,
                confidential=confidential,
                redirect_uris=redirect_uri or [],
                post_logout_redirect_uris=post_logout_uri or [],
                grant_types=grant or ["authorization_code", "refresh_token"],
                scopes=scope or ["openid", "profile"],
                user=user,
                first_party=first_party,
            )
    if issued.secret is None:
        console.print(f"public client {client_id} created (it signs in with PKCE)")
        return
    console.print(f"confidential client {client_id} created; its secret is shown only once:")
    console.print(issued.secret, markup=False, highlight=False)


@clients_cli.command("deactivate")
def clients_deactivate_command(client_id: ClientId) -> None:
    """Switch CLIENT_ID off: no more sign-ins or tokens through it."""
    with clear_errors():
        runtime = cli_runtime(require_current=True)
        with runtime.unit_of_work() as session:
            clients.deactivate_client(session, audit=CLI_AUDIT, client_id=client_id)
    console.print(f"client {client_id} deactivated")


@clients_cli.command("rotate-secret")
def clients_rotate_secret_command(client_id: ClientId) -> None:
    """Give CLIENT_ID a new secret (printed once, on the last line); the old one stops."""
    with clear_errors():
        runtime = cli_runtime(require_current=True)
        with runtime.unit_of_work() as session:
            secret = clients.rotate_secret(session, audit=CLI_AUDIT, client_id=client_id)
    console.print(f"new secret of {client_id}; it is shown only once:")
    console.print(secret, markup=False, highlight=False)
