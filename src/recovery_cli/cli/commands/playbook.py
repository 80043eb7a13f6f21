"""``recover playbook ...``: list, show, create, edit, check, and the JSON Schema.

``playbook list`` is an everyday view: it is drawn from the playbook cache
(:mod:`recovery_cli.playbooks.cache`, plain JSON) with the plain writer, so it imports
neither Pydantic, the playbook models nor Rich's console. The other subcommands load
the models (and Rich) when they run: those imports sit in the functions that need
them, because Typer builds this whole group, every subcommand's signature, for any
one of them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ...errors import ExitStatus, NotFoundError, Problem, Reported, WalkInterrupted
from ...playbooks.cache import load_listing
from .. import State
from ..completion import complete_playbook_ids
from ..options import JsonOption
from ..plain import Column, Output, Table

if TYPE_CHECKING:
    from rich.console import RenderableType

    from ...playbooks import authoring
    from ...playbooks.catalog import Catalog
    from ...playbooks.model import Playbook
    from ..prompter import Prompter

app = typer.Typer(
    add_completion=False,
    rich_markup_mode=None,
    help="List, show, create, edit and check playbooks (the routines a walk follows).",
)
PlaybookId = Annotated[
    str, typer.Argument(metavar="ID", help="Playbook id.", autocompletion=complete_playbook_ids)
]


def _catalog(state: State) -> Catalog:
    from ...playbooks.catalog import load_catalog

    return load_catalog(state.home)


@app.command("list")
def list_playbooks(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """List the playbooks in use: id, title, steps, and where each comes from."""
    state: State = ctx.obj
    listing = load_listing(state.home)
    rows = [
        {
            "id": p.id,
            "title": p.title,
            "steps": p.steps,
            "origin": listing.origin_label(p),
            "path": p.source,
        }
        for p in sorted(listing.playbooks.values(), key=lambda p: p.id)
    ]
    broken = [{"path": e.problems[0].path, "problems": len(e.problems)} for e in listing.broken]
    if as_json:
        typer.echo(json.dumps({"playbooks": rows, "broken": broken}, indent=2))
        return
    out = Output()
    table = Table([Column("ID"), Column("Title", wrap=True), Column("Steps"), Column("From")])
    for row in rows:
        table.add(str(row["id"]), str(row["title"]), str(row["steps"]), str(row["origin"]))
    out.table(table)
    out.flush()
    for item in broken:
        typer.echo(
            f"Warning: {item['path']} does not load ({item['problems']} problems); "
            "see: recover playbook check",
            err=True,
        )


@app.command("show")
def show_playbook(
    ctx: typer.Context,
    playbook_id: PlaybookId,
    as_json: JsonOption = False,
) -> None:
    """Show a playbook's steps as the operator will see them."""
    from rich.console import Group

    from ..console import console, heading, print_json

    state: State = ctx.obj
    catalog = _catalog(state)
    playbook = catalog.get(playbook_id)
    if playbook is None:
        broken = catalog.error_for(playbook_id)
        if broken is not None:
            raise broken
        raise NotFoundError(f"no playbook {playbook_id!r}", hint="See: recover playbook list")
    if as_json:
        print_json(
            {
                **playbook.model_dump(mode="json", exclude_none=True),
                "origin": catalog.origin_label(playbook),
                "path": playbook.source,
                "hash": playbook.digest,
            }
        )
        return
    out = console()
    out.print(Group(heading(out, f"{playbook.title} ({playbook.id})"), *_shown(catalog, playbook)))


def _shown(catalog: Catalog, playbook: Playbook) -> list[RenderableType]:
    """A playbook's summary and its steps, each as the operator will see it."""
    from rich.table import Table as Grid
    from rich.text import Text

    parts: list[RenderableType] = [
        Text(f"{playbook.summary}\nFrom: {catalog.origin_label(playbook)} · {playbook.source}"),
    ]
    if playbook.goodwill_limit:
        parts.append(Text(f"Goodwill limit: {playbook.goodwill_limit}"))
    for number, step in enumerate(playbook.steps, start=1):
        grid = Grid.grid(padding=(0, 1))
        grid.add_column(style="bold", no_wrap=True, min_width=7)
        grid.add_column()
        if step.when:
            grid.add_row("ONLY IF", Text(_condition(step.when)))
        if step.say:
            grid.add_row("SAY", Text(step.say))
        if step.do:
            grid.add_row("DO", Text(step.do))
        if step.ask:
            kind = (
                f" ({step.ask.type}: {', '.join(step.ask.choices)})"
                if step.ask.choices
                else (f" ({step.ask.type})")
            )
            grid.add_row("ASK", Text(f"{step.ask.prompt}{kind} → ${step.ask.key}"))
        for n, offer in enumerate(step.offer, start=1):
            extra = " · ".join(x for x in (offer.kind, offer.amount) if x)
            grid.add_row(
                "OFFER" if n == 1 else "",
                Text(f"{n}. {offer.label}" + (f"  ({extra})" if extra else "")),
            )
        if step.offer:
            grid.add_row("", Text(f"pick {step.pick} · chosen ids → ${step.id}", style="dim"))
        if step.follow_up:
            grid.add_row("LATER", Text(f"after {step.follow_up.after}: {step.follow_up.say}"))
        parts.append(Text(f"\n{number}. {step.title}  [{step.id}]", style="bold cyan"))
        parts.append(grid)
    return parts


def _condition(when: Mapping[str, object]) -> str:
    def one(key: str, value: object) -> str:
        if isinstance(value, bool):
            return f"{key} is {'yes' if value else 'no'}"
        if isinstance(value, list):
            return f"{key} is one of {', '.join(map(str, value))}"
        return f"{key} is {value}"

    return " and ".join(one(k, v) for k, v in when.items())


@app.command("new")
def new_playbook(
    ctx: typer.Context,
    playbook_id: Annotated[str, typer.Argument(metavar="ID", help="Id of the new playbook.")],
    source: Annotated[
        str | None,
        typer.Option(
            "--from",
            metavar="OTHER",
            help="Start from a copy of this playbook.",
            autocompletion=complete_playbook_ids,
        ),
    ] = None,
) -> None:
    """Write a new playbook into your playbook folder: a commented scaffold, or a copy of
    OTHER. A playbook with the id of a shipped one replaces it everywhere."""
    from ...playbooks import authoring

    state: State = ctx.obj
    catalog = _catalog(state)
    path = authoring.create(state.home, catalog, playbook_id, source)
    typer.echo(str(path))
    shipped = catalog.get(playbook_id)
    if shipped is not None and shipped.origin == "default":
        typer.echo(f"Your copy now replaces the shipped {playbook_id!r}.", err=True)
    typer.echo(f"Edit it with: recover playbook edit {playbook_id}", err=True)


@app.command("edit")
def edit_playbook(
    ctx: typer.Context,
    playbook_id: PlaybookId,
) -> None:
    """Open a playbook in your editor ($VISUAL or $EDITOR) and check it when you close
    the editor. An invalid file is never put in place: fix it, or discard the change."""
    from ... import editing
    from ...playbooks import authoring
    from .. import prompter as prompting
    from ..console import console

    state: State = ctx.obj
    out = console()
    asker = prompting.open_prompter(out)
    command = editing.editor_command()
    edit = authoring.start_edit(state.home, _catalog(state), playbook_id)
    if edit.copied_default:
        typer.echo(f"Editing a copy of the shipped {playbook_id!r}; saved, it replaces it.")
    if edit.resumed_draft:
        typer.echo(f"Carrying on with the unfinished edit in {edit.draft}.")
    _edit_until_valid(edit, command, asker, playbook_id)


def _edit_until_valid(
    edit: authoring.Edit, command: list[str], asker: Prompter, playbook_id: str
) -> None:
    """Re-open the editor until the draft checks out (then it is put in place), has no
    changes, or is discarded (exit 3)."""
    from ... import editing
    from ...playbooks.lint import check_text
    from ..prompter import Interrupted

    while True:
        try:
            editing.run_editor(command, edit.draft)
        except Exception:
            if not edit.changed():
                edit.discard()
            else:
                typer.echo(f"Your draft is kept in {edit.draft}; edit again to continue.")
            raise
        if not edit.changed():
            edit.discard()
            typer.echo(f"No changes; {edit.path.name} is as it was.")
            return
        problems = check_text(edit.draft.read_bytes(), str(edit.path), stem=playbook_id)
        _print_problems(problems)
        if not any(p.severity == "error" for p in problems):
            edit.save()
            typer.echo(f"Saved {edit.path}")
            return
        try:
            answer = _ask_again(asker)
        except Interrupted as stop:
            raise WalkInterrupted(
                f"Stopped. Your draft is kept in {edit.draft}; edit again to continue.",
                exit_code=stop.exit_code,
            ) from None
        if answer == "discard":
            edit.discard()
            kept = (
                f"the shipped {playbook_id!r} stays in use"
                if edit.copied_default
                else f"{edit.path.name} is as it was"
            )
            typer.echo(f"Discarded the change; {kept}.")
            raise Reported(ExitStatus.PLAYBOOK)


def _ask_again(asker: Prompter) -> str:
    while True:
        choice = asker.ask("Edit again (e) or discard the change (d)? [e]: ").strip().lower()
        if choice in ("", "e", "edit"):
            return "edit"
        if choice in ("d", "discard"):
            return "discard"


def _print_problems(problems: list[Problem]) -> None:
    for problem in problems:
        typer.echo(str(problem), err=True)


@app.command("check")
def check_playbooks(
    ctx: typer.Context,
    paths: Annotated[
        list[Path] | None,
        typer.Argument(
            metavar="[PATH]...",
            help="Files to check (default: every playbook in use).",
            show_default=False,
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Check playbooks for errors and warnings, each as path:line:col: message. Exits
    3 when any file has an error."""
    from ...playbooks.catalog import files_in_use
    from ...playbooks.lint import check_file

    state: State = ctx.obj
    files = [(p, "user") for p in paths] if paths else files_in_use(state.home)
    problems = [problem for path, origin in files for problem in check_file(path, origin=origin)]
    errors = sum(p.severity == "error" for p in problems)
    warnings = len(problems) - errors
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "files": [str(path) for path, _ in files],
                    "errors": errors,
                    "warnings": warnings,
                    "problems": [p.as_dict() for p in problems],
                },
                indent=2,
            )
        )
    else:
        for problem in problems:
            typer.echo(str(problem))
        typer.echo(
            f"{len(files)} file{'s' if len(files) != 1 else ''} checked: "
            f"{errors} error{'s' if errors != 1 else ''}, "
            f"{warnings} warning{'s' if warnings != 1 else ''}",
            err=True,
        )
    if errors:
        raise Reported(ExitStatus.PLAYBOOK)


@app.command("schema")
def schema(ctx: typer.Context) -> None:
    """Print the JSON Schema of the playbook format (for editor completion and checks)."""
    from ...playbooks.model import json_schema

    typer.echo(json.dumps(json_schema(), indent=2))
