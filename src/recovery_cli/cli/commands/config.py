"""``recover config``: the seller's name, business and currency, and how mail goes out."""

from __future__ import annotations

from typing import Annotated

import typer

from ...config import SETTINGS, config_path, load_settings, set_setting
from .. import State
from ..common import print_json
from ..options import JsonOption
from ..plain import Column, Output, Table

app = typer.Typer(
    add_completion=False,
    rich_markup_mode=None,
    help="Show or change your settings (config.toml in the home folder).",
    invoke_without_command=True,
)


@app.callback()
def show(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Show your settings and where they are kept."""
    if ctx.invoked_subcommand is not None:
        return
    state: State = ctx.obj
    settings = load_settings(state.home)
    if as_json:
        print_json({**settings.shown(), "file": str(config_path(state.home))})
        return
    table = Table([Column("Setting"), Column("Value", wrap=True), Column("Meaning", wrap=True)])
    for key, meaning in SETTINGS.items():
        table.add(key, settings.value(key) or "(not set)", meaning)
    out = Output()
    out.table(table)
    out.line(f"File: {config_path(state.home)}", "dim")


@app.command("set")
def set_one(
    ctx: typer.Context,
    key: Annotated[
        str, typer.Argument(help="A setting: seller, from, smtp.host... (see recover config).")
    ],
    value: Annotated[str, typer.Argument(help='The new value ("" clears it).')],
) -> None:
    """Change one setting, for example: recover config set seller "Dana"."""
    state: State = ctx.obj
    settings = set_setting(state.home, key, value)
    Output().line(f"{key} = {settings.value(key) or '(not set)'}")


@app.command("password")
def password(
    ctx: typer.Context,
    from_stdin: Annotated[
        bool, typer.Option("--stdin", help="Read the password from standard input.")
    ] = False,
) -> None:
    """Keep the SMTP password in the system keyring (never in config.toml). It is asked
    for without echo; scripts give it with --stdin, or set RECOVER_SMTP_PASSWORD."""
    from ...mail import sending
    from ..prompter import read_secret

    state: State = ctx.obj
    secret = read_secret("SMTP password (not shown): ", from_stdin=from_stdin)
    where = sending.keep_password(state.home, secret)
    Output().line(f"Password kept in the system keyring for {where}.")
