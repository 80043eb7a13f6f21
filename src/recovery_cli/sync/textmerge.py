"""The ``recover-text`` merge driver: playbooks and settings merge as text, and a
conflict never leaves markers in the file.

git runs it (as ``python -m recovery_cli.cli.gitmerge text %O %A %B``) for a file
changed on both sides. The three-way merge is git's own (``git merge-file``); when it
merges cleanly the result replaces ours (%A), and when it does not, ours is left as it
was and the driver fails, so git reports a conflict with no marker written: the next
walk never loads a playbook with ``<<<<<<<`` in it. ``recover sync`` then stops, and
keeps the other side's version beside the file.
"""

from __future__ import annotations

import os
import subprocess


def merge(base: str, ours: str, theirs: str) -> int:
    """Merge ``base ours theirs``; 0 when merged cleanly, 1 otherwise (ours untouched)."""
    try:
        done = subprocess.run(
            ["git", "merge-file", "-p", "-q", ours, base, theirs],
            capture_output=True,
            check=False,
        )
    except OSError:
        return 1
    if done.returncode != 0:
        return 1  # conflicts (their count), or git failed: ours stays, unmarked
    tmp = f"{ours}.recover-merge"
    try:
        with open(tmp, "wb") as handle:
            handle.write(done.stdout)
        os.replace(tmp, ours)
    except OSError:
        return 1
    return 0
