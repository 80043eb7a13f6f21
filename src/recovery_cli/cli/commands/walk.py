"""``recover new`` and ``recover resume``: the walk on a live call."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

from ... import answers as answering
from ... import casework, clock, walking
from ...case import Case, Customer, parse_customer_field
from ...config import ensure_home, load_settings
from ...errors import UsageError
from ...playbooks.catalog import Catalog, load_catalog
from ...playbooks.model import Playbook
from ...store import Store, parse_case_id
from ...walk import Walk
from .. import State
from .. import prompter as prompting
from ..console import console, open_store
from ..options import PlaybookOption, ResumeId
from ..prompter import Prompter
from ..views import forms, notices
from ..views.screen import WalkScreen, resume_notes, started_line

AnswersFile = Annotated[
    Path | None,
    typer.Option(
        "--answers",
        metavar="FILE",
        dir_okay=False,
        show_default=False,
        help="Answers file (TOML or JSON) that pre-fills the walk.",
    ),
]
SaveAnswers = Annotated[
    Path | None,
    typer.Option(
        "--save-answers",
        metavar="FILE",
        dir_okay=False,
        show_default=False,
        help="When the walk ends, write its answers to FILE (TOML or .json).",
    ),
]


def _detail(help_text: str) -> object:
    return typer.Option(help=help_text, show_default=False)


def new_case(
    ctx: typer.Context,
    playbook: PlaybookOption = None,
    name: Annotated[str | None, _detail("Customer name.")] = None,
    email: Annotated[str | None, _detail("Customer email.")] = None,
    order: Annotated[str | None, _detail("Order reference.")] = None,
    value: Annotated[str | None, _detail("Order value, like 19.50.")] = None,
    channel: Annotated[
        str | None, _detail("Where they got in touch: phone, email, chat...")
    ] = None,
    answers_file: AnswersFile = None,
    no_input: Annotated[
        bool,
        typer.Option("--no-input", help="Create the case from --answers alone; never prompt."),
    ] = False,
    save_answers: SaveAnswers = None,
) -> None:
    """Start a case on a live call: pick a playbook, then walk it one step at a time.

    Every answer is saved the moment it is typed. Type :back, :skip or :pause at any
    prompt; Ctrl-C also stops safely, and `recover resume` carries on later. With
    --answers FILE --no-input, the case is created from the file with no prompts and
    its id is printed.
    """
    state: State = ctx.obj
    options = {"name": name, "email": email, "order": order, "order_value": value}
    customer, given = _customer({**options, "channel": channel})
    if no_input and answers_file is None:
        raise UsageError("--no-input needs --answers FILE: there is nothing else to go on")
    prefill = answering.load(answers_file) if answers_file is not None else None
    problems: list[str] = []
    if prefill is not None:
        customer, given, problems = answering.merged_customer(prefill, customer, given)
        playbook = playbook or prefill.playbook
    out = console()
    asker = None if no_input else prompting.open_prompter(out)
    home = ensure_home(state.home)
    settings, catalog = load_settings(home), load_catalog(home)
    _warn_broken(catalog, skip=playbook)
    with open_store(home) as store:
        if asker is None:
            assert prefill is not None
            if playbook is None:
                raise UsageError('no playbook: set playbook = "ID" in the answers file, or -p ID')
            picked = walking.find_playbook(catalog, playbook)
            case = walking.case_from_answers(
                store, picked, customer, prefill, settings, clock.now(), problems=problems
            )
            _save_answers(save_answers, case, picked)
            typer.echo(case.id)
            return
        if problems:
            raise answering.AnswersError(prefill.source if prefill else "", problems)
        screen = WalkScreen(out, asker, prefill=prefill)
        with asker.signals():  # SIGTERM or a closed terminal at the menu: a clean stop
            chosen = screen.choose_playbook(catalog, playbook)
        case = walking.start_case(store, chosen, customer, settings, clock.now())
        _walk(out, screen, store, Walk(chosen, case, settings.as_dict()), given, save_answers)


def _walk(
    out: Console,
    screen: WalkScreen,
    store: Store,
    walk: Walk,
    given: set[str],
    save_answers: Path | None,
) -> None:
    """A new case on screen: its id, a tip, the walk, and the outcome offered at its end."""
    case = walk.case
    out.print(started_line(case, walk.playbook))
    missing = [key for key in ("seller", "business") if not walk.settings[key]]
    if missing:
        out.print(
            f"Tip: lines that use ${' and $'.join(missing)} show a gap until you run "
            f"`recover config set {missing[0]} ...`.",
            style="dim",
        )
    live = walking.LiveWalk(store, walk)
    with store.session(case.id):
        try:
            screen.run(
                live,
                details_given=given,
                before_steps=lambda: notices.returning_customer(out, store, case),
            )
        finally:
            _save_answers(save_answers, case, walk.playbook)
        _offer_close(out, screen.prompter, store, case)


def _customer(given: dict[str, str | None]) -> tuple[Customer, set[str]]:
    """The customer from command-line options, checked like typed answers."""
    filled: dict[str, object] = {}
    for key, text in given.items():
        if text is None:
            continue
        try:
            value = parse_customer_field(key, text)
        except ValueError as exc:
            option = "--value" if key == "order_value" else f"--{key}"
            raise typer.BadParameter(str(exc), param_hint=option) from None
        if value is not None:
            filled[key] = value
    return Customer.model_validate(filled), set(filled)


def _offer_close(out: Console, asker: Prompter, store: Store, case: Case) -> None:
    """When the walk reached its end, offer to record the outcome there and then."""
    if case.walk_completed_at is None:
        return
    outcome = forms.offer_outcome(out, asker, case)
    if outcome is not None:
        casework.close_case(store, case, outcome, keep_follow_ups=True, now=clock.now())
        out.print(Text(forms.outcome_line(case), style="green"))


def _save_answers(path: Path | None, case: Case, playbook: Playbook) -> None:
    """Write the walk's answers (also after a pause: a partial walk is a template too)."""
    if path is not None:
        answering.save(path, answering.from_case(case, playbook))


def resume(ctx: typer.Context, case_id: ResumeId = None) -> None:
    """Carry on with a paused or interrupted case at its first unanswered step."""
    state: State = ctx.obj
    out = console()
    home = ensure_home(state.home)
    with open_store(home) as store:
        wanted = (
            parse_case_id(case_id) if case_id is not None else walking.latest_unfinished_id(store)
        )
        with casework.holding(store, wanted) as case:
            _resume(out, store, case, home)


def _resume(out: Console, store: Store, case: Case, home: Path) -> None:
    """A held case on screen again, from its first unanswered step."""
    if case.walk_completed_at is not None:
        out.print(f"Case {case.id} was already walked to the end. Details: recover show {case.id}")
        return
    playbook = walking.playbook_of(case, load_catalog(home))
    asker = prompting.open_prompter(out, command="resume")
    walk = Walk(playbook, case, load_settings(home).as_dict())
    notes = walking.record_resume(store, walk, clock.now())
    if notes:
        out.print(resume_notes(notes))
    out.print(f"Resuming case {case.id} · {walk.playbook.title}")
    WalkScreen(out, asker).run(walking.LiveWalk(store, walk))
    _offer_close(out, asker, store, case)


def _warn_broken(catalog: Catalog, *, skip: str | None = None) -> None:
    """One line per playbook that failed to load (not the one about to be reported)."""
    for error in catalog.broken:
        if skip is not None and error is catalog.error_for(skip):
            continue
        first = error.problems[0]
        more = len(error.problems) - 1
        extra = f" (and {more} more)" if more else ""
        typer.echo(f"Warning: {first}{extra}. That playbook is not offered.", err=True)
