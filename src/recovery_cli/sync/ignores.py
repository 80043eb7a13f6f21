"""The files recover writes into a home so that what stays on this machine never
travels: ``.gitignore`` for git, ``.stignore`` for Syncthing. Temporary files of a
save (``.17.json.x1y2.tmp``) are written beside their target, because a rename is only
atomic within one folder; these keep them out of every sync, as recover's readers
never take them for cases."""

from __future__ import annotations

import contextlib
from pathlib import Path

from ..fileio import write_atomic

THEIRS = ".theirs"  # the other machine's version of a text file a sync could not merge

GITIGNORE = """\
# Written by recover: what stays on this machine and never travels.
# Temporary files of a save in progress (moved into place when complete).
.*.tmp
# The other machine's version of a playbook or settings file a sync could not merge.
*.theirs
# Left by versions of recover that kept the index and locks inside the home.
/index.sqlite3*
/cases/.*.lock
# The order book: each machine imports the shop's exports itself (git would keep every
# version of it for ever, and `recover orders forget` must delete for real).
/orders/
# This machine's id, where the platform's state folder is the home itself (macOS).
/machine-id
# Drafts of emails, written for this machine's mail client.
/drafts/
"""

STIGNORE = """\
// Written by recover for Syncthing: what stays on this machine and never travels.
(?d).*.tmp
(?d)*.theirs
/machine-id
.git
"""


# -- the files recover writes into a home ------------------------------------------------
def write_ignores(home: Path) -> None:
    """Write ``.gitignore`` and ``.stignore`` into the home if they are not there (a
    home may be synced by git, or by Syncthing, Dropbox or iCloud, without git)."""
    for name, text in ((".gitignore", GITIGNORE), (".stignore", STIGNORE)):
        path = home / name
        if not path.exists():
            with contextlib.suppress(FileExistsError):
                write_atomic(path, text.encode(), exclusive=True)
