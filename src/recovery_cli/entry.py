"""The ``recover`` command's entry point.

``recover --version`` is answered here, before the command-line layer (Typer, and all
it brings) is imported: scripts and shells ask it often, and it should cost no more
than starting Python. Everything else goes to :func:`recovery_cli.cli.main`.
"""

from __future__ import annotations

import sys


def main() -> None:
    """Run ``recover`` with the arguments it was given."""
    if sys.argv[1:] == ["--version"]:
        from . import __version__

        sys.stdout.write(f"recover {__version__}\n")
        return
    try:
        from .cli import main as run_cli

        run_cli()
    except KeyboardInterrupt:
        # Ctrl-C while Python was still loading the command (a command's own Ctrl-C
        # is handled where it runs): the same words and status, never a traceback.
        sys.stderr.write("Interrupted.\n")
        raise SystemExit(130) from None
