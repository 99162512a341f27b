"""``cityos auth``: bearer tokens for operators and scripts, and signing-key rotation."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import typer
from sqlalchemy import select

from cityos.foundation.identity.models import User
from cityos.foundation.identity.tokens import issue_token, rotate_signing_key
from cityos.kernel.cli import CliError, clear_errors, cli_runtime, console

cli = typer.Typer(help="Unified identity (统一身份认证): tokens and keys.", no_args_is_help=True)


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
            account = session.scalars(select(User).where(User.username == user)).first()
            if account is None or not account.active:
                raise CliError(f"no active user {user!r}")
            token = issue_token(
                session,
                settings=runtime.settings,
                user=account,
                ttl=timedelta(seconds=ttl),
                scope=scope,
            )
    console.print(token, markup=False, highlight=False)


@cli.command("rotate-key")
def rotate_key_command() -> None:
    """Retire the signing key (still published until its tokens expire) and make a new one."""
    with clear_errors():
        runtime = cli_runtime(require_current=True)
        with runtime.unit_of_work() as session:
            key = rotate_signing_key(session, settings=runtime.settings)
    console.print(f"new signing key {key.kid}")
