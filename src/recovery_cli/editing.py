"""The seller's text editor: found, and run on a file until it closes.

Used to edit playbooks (:mod:`recovery_cli.playbooks.authoring`) and replies
(:mod:`recovery_cli.cli.views.mailout`).
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
from pathlib import Path

from .errors import RecoverError


def editor_command() -> list[str]:
    """The seller's editor: ``$VISUAL``, else ``$EDITOR``, else nano or vi."""
    for variable in ("VISUAL", "EDITOR"):
        value = os.environ.get(variable, "").strip()
        if value:
            return shlex.split(value)
    for fallback in ("nano", "vi"):
        found = shutil.which(fallback)
        if found:
            return [found]
    raise RecoverError("no editor found", hint="Set EDITOR, for example: export EDITOR=nano")


def run_editor(command: list[str], path: Path) -> None:
    """Open ``path`` in the editor and wait; RecoverError if it fails to run or exits
    with an error."""
    # Ctrl-C in the editor is the editor's business: don't let it kill us (and,
    # through us, the editor) while the seller is typing.
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        result = subprocess.run([*command, str(path)], check=False, preexec_fn=_default_sigint)
    except OSError as exc:
        raise RecoverError(
            f"could not start the editor {command[0]!r}: {exc.strerror or exc}",
            hint="Set EDITOR to an editor you have.",
        ) from None
    finally:
        signal.signal(signal.SIGINT, previous)
    if result.returncode != 0:
        raise RecoverError(f"the editor exited with status {result.returncode}")


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)
