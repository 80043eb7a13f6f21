"""``recover config``: the seller's name, business name and currency."""

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
    settings = load_settings(state.home).as_dict()
    if as_json:
        print_json({**settings, "file": str(config_path(state.home))})
        return
    table = Table([Column("Setting"), Column("Value", wrap=True), Column("Meaning", wrap=True)])
    for key, meaning in SETTINGS.items():
        table.add(key, settings[key] or "(not set)", meaning)
    out = Output()
    out.table(table)
    out.line(f"File: {config_path(state.home)}", "dim")


@app.command("set")
def set_one(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(help="seller, business or currency.")],
    value: Annotated[str, typer.Argument(help="The new value.")],
) -> None:
    """Change one setting, for example: recover config set seller "Dana"."""
    state: State = ctx.obj
    settings = set_setting(state.home, key, value)
    Output().line(f"{key} = {settings.as_dict()[key]}")
