"""Shell completion of case ids and playbook ids (Typer's completion installs these).

Completion runs on every Tab press, so it reads file names only and never fails:
whatever goes wrong, it offers nothing.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import typer

from ..config import resolve_home
from ..playbooks.folders import default_dir, playbook_files, user_dir
from ..sync.ids import ID_FILE, key_of


def _home(ctx: typer.Context) -> Path:
    option = ctx.find_root().params.get("home")
    return resolve_home(Path(option) if option else None)


def complete_case_ids(ctx: typer.Context, incomplete: str) -> list[str]:
    """Case ids that start with what was typed, newest first."""
    with contextlib.suppress(Exception):
        names = (p.name for p in (_home(ctx) / "cases").iterdir())
        ids = sorted(
            (m.group(1) + m.group(2) for m in map(ID_FILE.match, names) if m),
            key=key_of,
            reverse=True,
        )
        return [i for i in ids if i.lower().startswith(incomplete.lower())]
    return []


def complete_playbook_ids(ctx: typer.Context, incomplete: str) -> list[str]:
    """Playbook ids (shipped and the seller's own) that start with what was typed."""
    with contextlib.suppress(Exception):
        folders = (default_dir(), user_dir(_home(ctx)))
        ids = {p.stem for folder in folders for p in playbook_files(folder)}
        return sorted(i for i in ids if i.startswith(incomplete))
    return []
