"""``recover reply``: the reply to a case, composed from its walk (or as last
edited), edited in $VISUAL/$EDITOR, and sent: a draft file, the mail client, or
SMTP. The ways-out options are shared with ``recover followup``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ...config import load_settings
from .. import State
from ..console import console, open_store
from ..options import CaseId, NoInput
from ..views.mailout import Ways

DraftOption = Annotated[
    Path | None,
    typer.Option(
        "--draft",
        metavar="FILE.eml",
        dir_okay=False,
        help="Write it as a draft file that your mail client opens, ready to send.",
        show_default=False,
    ),
]
OpenOption = Annotated[
    bool, typer.Option("--open", help="Open it in your mail client (a mailto: link).")
]
SendOption = Annotated[
    bool, typer.Option("--send", help="Send it now through your mail server (SMTP).")
]
YesOption = Annotated[
    bool, typer.Option("--yes", "-y", help="Send without showing it and asking first.")
]
DryRunOption = Annotated[
    bool, typer.Option("--dry-run", help="Show what would go, and send or record nothing.")
]
AgainOption = Annotated[
    bool,
    typer.Option("--again", help="Send it even though it was sent (or may have been) before."),
]


def ways_of(
    draft: Path | None, open_: bool, send: bool, yes: bool, dry_run: bool, again: bool
) -> Ways:
    """The ways-out options as :class:`~recovery_cli.cli.views.mailout.Ways`, checked."""
    ways = Ways(draft=draft, open=open_, send=send, yes=yes, dry_run=dry_run, again=again)
    ways.chosen()
    return ways


def reply(
    ctx: typer.Context,
    case_id: CaseId,
    draft: DraftOption = None,
    open_: OpenOption = False,
    send: SendOption = False,
    yes: YesOption = False,
    dry_run: DryRunOption = False,
    again: AgainOption = False,
    edit: Annotated[
        bool, typer.Option("--edit/--no-edit", help="Open the reply in your editor first.")
    ] = True,
    fresh: Annotated[
        bool, typer.Option("--fresh", help="Compose it anew, not as you last left it.")
    ] = False,
    no_input: NoInput = False,
) -> None:
    """Compose the reply to a customer's email from the case's walk (a greeting, the
    written lines, the remedies, the follow-up promised, your sign-off), or re-open
    the one you wrote; edit it; then send it. Scripts add --yes --no-input."""
    from ... import casework
    from ...store import parse_case_id
    from .. import prompter as prompting
    from ..views import mailout

    state: State = ctx.obj
    ways = ways_of(draft, open_, send, yes, dry_run, again)
    out = console()
    asker = None
    if not no_input and ways.asks():
        hint = "Give the way with --send --yes, --draft FILE or --open, and --no-input."
        asker = prompting.open_prompter(out, command="reply", hint=hint)
    settings = load_settings(state.home)
    with open_store(state.home) as store, casework.holding(store, parse_case_id(case_id)) as case:
        mailout.reply_flow(
            out, asker, store, case, settings, ways, edit=edit and not no_input, fresh=fresh
        )
