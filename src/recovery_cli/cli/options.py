"""Options and arguments shared by several commands, declared once."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, get_args

import typer

from ..kinds import Status
from .completion import complete_case_ids, complete_playbook_ids


def status_option(text: str | None) -> str | None:
    """Accept a status as people write it (awaiting-follow-up) and normalise it."""
    if text is None:
        return None
    normal = text.strip().lower().replace("-", "_").replace(" ", "_")
    if normal not in get_args(Status):
        raise typer.BadParameter("use open, awaiting-follow-up or closed")
    return normal


JsonOption = Annotated[
    bool, typer.Option("--json", help="Print JSON (keys documented in the README).")
]
CaseId = Annotated[
    str,
    typer.Argument(
        metavar="ID",
        help="Case id, as shown by list.",
        show_default=False,
        autocompletion=complete_case_ids,
    ),
]
ResumeId = Annotated[
    str | None,
    typer.Argument(
        metavar="ID",
        help="Case id (default: the most recent unfinished case).",
        show_default=False,
        autocompletion=complete_case_ids,
    ),
]
StatusOption = Annotated[
    str | None,
    typer.Option(
        help="Only cases with this status: open, awaiting-follow-up or closed.",
        callback=status_option,
        show_default=False,
    ),
]
PlaybookOption = Annotated[
    str | None,
    typer.Option(
        "--playbook",
        "-p",
        help="Playbook id (skips the menu).",
        show_default=False,
        autocompletion=complete_playbook_ids,
    ),
]
Since = Annotated[
    datetime | None,
    typer.Option(
        help="Cases opened on or after this date.", formats=["%Y-%m-%d"], show_default=False
    ),
]
Until = Annotated[
    datetime | None,
    typer.Option(
        help="Cases opened on or before this date.", formats=["%Y-%m-%d"], show_default=False
    ),
]
NoInput = Annotated[
    bool, typer.Option("--no-input", help="Never prompt: use the options and what is recorded.")
]
