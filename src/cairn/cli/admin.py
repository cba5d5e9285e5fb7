"""`cairn agency|user|token|db|audit`: running a shared Cairn.

Secrets never pass on the command line (they would sit in shell history and `ps`): a new
user's password comes from a prompt, a file or CAIRN_NEW_USER_PASSWORD; an API token is
printed once, on stdout alone, so that it can be piped into a secret store.
"""

from __future__ import annotations

import dataclasses
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer

from cairn.cli.options import AsJson
from cairn.cli.workspace import chosen, context
from cairn.core.errors import UsageError

agency_app = typer.Typer(no_args_is_help=True, help="Agencies that share this Cairn.")
user_app = typer.Typer(no_args_is_help=True, help="Users, their agencies and roles.")
token_app = typer.Typer(no_args_is_help=True, help="API tokens for automation.")
db_app = typer.Typer(no_args_is_help=True, help="The database schema.")
audit_app = typer.Typer(no_args_is_help=True, help="The keyed, hash-chained audit trail.")

PASSWORD_ENV = "CAIRN_NEW_USER_PASSWORD"
PasswordFile = Annotated[
    Path | None,
    typer.Option(help=f"Read the password from this file (else ${PASSWORD_ENV}, a prompt)."),
]


@agency_app.command("add")
def agency_add(
    code: Annotated[str, typer.Argument(help="A short code, e.g. NL-NP.")],
    name: Annotated[str, typer.Option(help="The agency's name.")],
    country: Annotated[str, typer.Option(help="ISO 3166 two-letter country code.")],
    adopt: Annotated[
        bool, typer.Option(help="Give this agency the cases and hash sets that have none.")
    ] = False,
) -> None:
    """Add an agency."""
    from cairn.services.identity import adopt_unowned, create_agency

    ctx = context()
    agency = create_agency(ctx, code, name, country)
    typer.echo(f"created agency {agency.code} ({agency.name}, {agency.country})")
    if adopt:
        cases, sets = adopt_unowned(ctx, code)
        typer.echo(f"{code} now owns {cases} cases and {sets} hash sets that had no agency")


@agency_app.command("list")
def agency_list(json_: AsJson = False) -> None:
    """List agencies."""
    from cairn.cli.output import print_json, print_table
    from cairn.services.identity import list_agencies

    agencies = list_agencies(context())
    if json_:
        print_json(agencies)
        return
    print_table(
        "Agencies",
        ["code", "name", "country", "created"],
        [(a.code, a.name, a.country, a.created_at) for a in agencies],
    )


def _new_password(password_file: Path | None) -> str:
    if password_file is not None:
        try:
            return password_file.read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as exc:
            raise UsageError(f"{password_file}: {exc.strerror}") from None
    if os.environ.get(PASSWORD_ENV):
        return os.environ[PASSWORD_ENV]
    password: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return password


@user_app.command("add")
def user_add(
    username: str,
    agency: Annotated[str, typer.Option(help="The user's agency code.")],
    role: Annotated[str, typer.Option(help="admin, examiner, victim-id, auditor or partner.")],
    password_file: PasswordFile = None,
) -> None:
    """Add a user (the password is never echoed nor taken from the command line)."""
    from cairn.services.identity import create_user

    user = create_user(context(), username, agency, role, _new_password(password_file))
    typer.echo(f"created user {user.username} ({user.role.value} of {user.agency})")


@user_app.command("password")
def user_password(
    username: str,
    password_file: PasswordFile = None,
) -> None:
    """Set a user's password (a reset by the operator)."""
    from cairn.services.identity import set_password

    set_password(context(), username, _new_password(password_file))
    typer.echo(f"password of {username} changed")


@user_app.command("list")
def user_list(
    agency: Annotated[str | None, typer.Option(help="Only this agency's users.")] = None,
    json_: AsJson = False,
) -> None:
    """List users."""
    from cairn.cli.output import print_json, print_table
    from cairn.services.identity import list_users

    users = list_users(context(), agency)
    if json_:
        print_json(users)
        return
    print_table(
        "Users",
        ["user", "agency", "role", "active", "created", "by"],
        [
            (
                u.username,
                u.agency,
                u.role.value,
                "yes" if u.active else "no",
                u.created_at,
                u.created_by,
            )
            for u in users
        ],
    )


@user_app.command("disable")
def user_disable(username: str) -> None:
    """Disable a user: logins fail and every token of the user stops working at once."""
    from cairn.services.identity import set_user_active

    set_user_active(context(), username, False)
    typer.echo(f"disabled user {username}")


@user_app.command("enable")
def user_enable(username: str) -> None:
    """Enable a disabled user again."""
    from cairn.services.identity import set_user_active

    set_user_active(context(), username, True)
    typer.echo(f"enabled user {username}")


@token_app.command("create")
def token_create(
    user: Annotated[str, typer.Option(help="Whose token it is.")],
    name: Annotated[str, typer.Option(help="What the token is for.")],
    days: Annotated[
        int | None, typer.Option(min=1, help="Expire after this many days (default: never).")
    ] = None,
) -> None:
    """Create an API token; it is printed once and stored only as its SHA-256."""
    from cairn.services.identity import create_api_token_for

    expires = datetime.now(UTC) + timedelta(days=days) if days else None
    token = create_api_token_for(context(), user, name, expires)
    typer.echo(f"API token {name!r} for {user} (shown once, keep it secret):", err=True)
    typer.echo(token)


@token_app.command("list")
def token_list(json_: AsJson = False) -> None:
    """List API tokens (never the tokens themselves)."""
    from cairn.cli.output import print_json, print_table
    from cairn.services.identity import list_api_tokens

    tokens = list_api_tokens(context(), None)
    if json_:
        print_json(tokens)
        return
    print_table(
        "API tokens",
        ["id", "user", "name", "created", "expires", "revoked", "last used"],
        [
            (t.id, t.username, t.name, t.created_at, t.expires_at, t.revoked_at, t.last_used_at)
            for t in tokens
        ],
    )


@token_app.command("revoke")
def token_revoke(token_id: Annotated[int, typer.Argument(help="The token's id.")]) -> None:
    """Revoke an API token."""
    from cairn.services.identity import revoke_api_token

    info = revoke_api_token(context(), None, token_id)
    typer.echo(f"revoked API token {info.id} ({info.name!r} of {info.username})")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply the migrations to CAIRN_DATABASE_URL (or the workspace's SQLite database)."""
    from cairn.core.config import Workspace
    from cairn.store.database import Database, current_revision, upgrade

    workspace = Workspace.resolve(chosen())
    if workspace.database_url.startswith("sqlite"):
        workspace.create()
    database = Database(workspace.database_url)
    try:
        with database.engine.begin() as connection:
            before = current_revision(connection)
            upgrade(connection)
            after = current_revision(connection)
    finally:
        database.dispose()
    shown = database.engine.url.render_as_string(hide_password=True)
    if before == after:
        typer.echo(f"{shown}: already at revision {after}")
    else:
        typer.echo(f"{shown}: upgraded from revision {before or 'none'} to {after}")


@audit_app.command("verify")
def audit_verify(
    checkpoint: Annotated[
        Path | None,
        typer.Option(help="Also hold the chain to this checkpoint (`cairn audit checkpoint`)."),
    ] = None,
    json_: AsJson = False,
) -> None:
    """Check the audit chain: exit 0 when whole, 1 naming the first broken event."""
    from cairn.cli.output import print_json
    from cairn.services.auditing import verify_trail

    held = None
    if checkpoint is not None:
        try:
            held = checkpoint.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"{checkpoint}: {exc}") from None
    report = verify_trail(context(), checkpoint=held)
    if json_:
        print_json({**dataclasses.asdict(report), "ok": report.ok})
    elif report.ok:
        anchor = "" if report.anchored else " (no events to anchor yet)"
        typer.echo(f"audit chain whole: {report.events} events, newest {report.head_id}{anchor}")
    else:
        typer.echo(
            f"audit chain BROKEN at event {report.broken_id} ({report.reason}): {report.detail}",
            err=True,
        )
    raise typer.Exit(0 if report.ok else 1)


@audit_app.command("checkpoint")
def audit_checkpoint(
    output: Annotated[
        Path, typer.Option("-o", "--output", help="Write the checkpoint here (keep it off-host).")
    ],
) -> None:
    """Write a signed checkpoint of the chain's head; exit 1 (nothing written) if it is broken."""
    from cairn.services.auditing import checkpoint_trail

    report, text = checkpoint_trail(context())
    if text is None:
        typer.echo(
            f"audit chain BROKEN at event {report.broken_id} ({report.reason}): {report.detail}",
            err=True,
        )
        raise typer.Exit(1)
    output.write_text(text, encoding="utf-8")
    typer.echo(f"checkpoint of {report.events + 1} events written to {output}")


@audit_app.command("init")
def audit_init(
    replace: Annotated[
        bool, typer.Option(help="Replace an anchor that is there (after a failure was examined).")
    ] = False,
) -> None:
    """Anchor the audit chain in this workspace (a database whose chain it did not anchor)."""
    from cairn.services.auditing import init_anchor

    event_id = init_anchor(context(), replace=replace)
    typer.echo(f"audit chain anchored in this workspace at event {event_id}")


@audit_app.command("list")
def audit_list(
    case: Annotated[str | None, typer.Option("--case", help="Only this case's events.")] = None,
    after: Annotated[int, typer.Option(help="Only events after this id.")] = 0,
    limit: Annotated[int, typer.Option(min=1, help="At most this many events.")] = 1000,
    json_: AsJson = False,
) -> None:
    """List audit events in order."""
    import json

    from cairn.cli.output import print_json, print_table
    from cairn.services.auditing import list_trail

    events = list_trail(context(), case_ref=case, after_id=after, limit=limit)
    if json_:
        print_json(events)
        return
    print_table(
        "Audit trail",
        ["id", "at", "user", "agency", "origin", "action", "case", "details"],
        [
            (e.id, e.at, e.user, e.agency, e.origin, e.action, e.case_ref, json.dumps(e.details))
            for e in events
        ],
    )
