"""What every command uses, light enough for the everyday views (which never import
Rich's console): the store as commands open it, JSON on stdout, warnings on stderr,
and how long ago something was."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import TYPE_CHECKING

import typer

from ..store import Store
from .plain import Output

if TYPE_CHECKING:
    from pathlib import Path

_C1 = re.compile("[\x80-\x9f]")


def print_json(data: object) -> None:
    """Plain JSON on stdout: no colour, no wrapping, keys in a stable order."""
    # JSON escapes C0 controls itself; C1 ones (8-bit escapes to some terminals) too here.
    text = json.dumps(data, indent=2, ensure_ascii=False)
    typer.echo(_C1.sub(lambda m: f"\\u{ord(m.group()):04x}", text))


def age(then: datetime, now: datetime) -> str:
    """``5m``, ``3h``, ``2d``, ``6w``: how long ago, short enough for a table cell."""
    seconds = max(0, int((now - then).total_seconds()))
    for size, unit in ((7 * 86400, "w"), (86400, "d"), (3600, "h"), (60, "m")):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return "now"


def warn(message: str) -> None:
    """A warning that does not stop the command, on stderr: ``! message``."""
    Output(stderr=True).line(f"! {message}", "bold yellow")


def open_store(home: Path) -> Store:
    """The case store of ``home`` as every command opens it (``with open_store(home)
    as store``): a save that landed but could not be synced to disk, and a long
    catch-up of the index, are told on stderr, and the command goes on."""
    return Store(home, warn=warn)
