"""``growthloop keys create|list|revoke``: API keys."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from growthloop.cli import app
from growthloop.cli._common import (
    JsonOpt,
    WorkspaceOpt,
    console,
    emit,
    err_console,
    handle_errors,
    open_workspace,
)
from growthloop.keys import SCOPES, create_key, key_scopes, list_keys, revoke_key
from growthloop.store._models import ApiKey

keys_app = typer.Typer(
    help="API keys: write keys for the event API (Segment-compatible), read and admin keys.",
    no_args_is_help=True,
)
app.add_typer(keys_app, name="keys")


def _key_dict(key: ApiKey) -> dict[str, Any]:
    return {
        "key_id": key.key_id,
        "name": key.name,
        "scopes": list(key_scopes(key)),
        "created_at": key.created_at,
        "revoked_at": key.revoked_at,
        "active": key.revoked_at is None,
    }


@keys_app.command(
    "create",
    epilog="Example: growthloop keys create --name website --scope write  "
    "(then send events with the secret as the HTTP Basic username)",
)
@handle_errors
def create(
    name: Annotated[str, typer.Option("--name", "-n", help="What the key is for, e.g. website.")],
    scope: Annotated[
        list[str],
        typer.Option("--scope", "-s",
                     help=f"A scope, repeatable: {', '.join(SCOPES)} (admin grants all)."),
    ],
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Create an API key and print its secret. The secret is shown only this once."""
    with open_workspace(workspace) as ws:
        created = create_key(store=ws.operational, name=name, scopes=scope)
    result = {
        "key_id": created.key_id,
        "name": created.name,
        "scopes": list(created.scopes),
        "created_at": created.created_at,
        "secret": created.secret,
    }

    def render() -> None:
        console.print(f"[green]✓[/] created key [bold]{created.key_id}[/] "
                      f"({created.name}; scopes: {', '.join(created.scopes)})")
        console.print(created.secret, highlight=False, soft_wrap=True)
        err_console.print("Store the secret now: it is not kept and cannot be shown again.")

    emit(result, as_json, render)


@keys_app.command("list", epilog="Example: growthloop keys list --json")
@handle_errors
def list_(
    active: Annotated[bool, typer.Option("--active", help="Only keys not revoked.")] = False,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List API keys (ids, names, scopes, dates; never secrets)."""
    with open_workspace(workspace) as ws:
        keys = [_key_dict(k) for k in list_keys(store=ws.operational, include_revoked=not active)]

    def render() -> None:
        if not keys:
            console.print("no API keys; create one with "
                          "`growthloop keys create --name NAME --scope write`")
            return
        table = Table()
        table.add_column("key id", no_wrap=True, min_width=28)
        for column in ("name", "scopes", "created (UTC)", "status"):
            table.add_column(column, overflow="fold")
        for key in keys:
            revoked = key["revoked_at"]
            table.add_row(key["key_id"], key["name"], " ".join(key["scopes"]),
                          f"{key['created_at']:%Y-%m-%d %H:%M}",
                          f"revoked {revoked:%Y-%m-%d %H:%M}" if revoked else "active")
        console.print(table)

    emit({"keys": keys, "count": len(keys)}, as_json, render)


@keys_app.command("revoke", epilog="Example: growthloop keys revoke key_3f2a9c...")
@handle_errors
def revoke(
    key_id: Annotated[str, typer.Argument(help="The key id (key_...), as `keys list` shows.")],
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Revoke an API key. A running server refuses it within 5 seconds."""
    with open_workspace(workspace) as ws:
        key = _key_dict(revoke_key(store=ws.operational, key_id=key_id))
    emit(key, as_json, lambda: console.print(
        f"[green]✓[/] key [bold]{key['key_id']}[/] ({key['name']}) revoked at "
        f"{key['revoked_at']:%Y-%m-%d %H:%M:%S} UTC"))
