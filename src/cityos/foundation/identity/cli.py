"""``cityos auth``: bearer tokens for operators and scripts, and signing-key rotation;
``cityos apikeys``: API keys for devices and systems."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import Session

from cityos.foundation.audit import record
from cityos.foundation.identity.apikeys import create_api_key, list_api_keys, revoke_api_key
from cityos.foundation.identity.models import User
from cityos.foundation.identity.tokens import issue_token, rotate_signing_key
from cityos.kernel.cli import CliError, clear_errors, cli_runtime, console

cli = typer.Typer(help="Unified identity (统一身份认证): tokens and keys.", no_args_is_help=True)
apikeys_cli = typer.Typer(help="API keys for devices and systems.", no_args_is_help=True)

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
