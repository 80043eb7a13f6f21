"""The merge drivers recover registers in a synced home's ``.git/config``, as git runs
them: ``python -m recovery_cli.cli.gitmerge case %O %A %B %P`` for case files
(:mod:`recovery_cli.sync.driver`) and ``... text %O %A %B`` for everything else
(:mod:`recovery_cli.sync.textmerge`). What they have to say goes to stderr, which
git shows; the exit status is git's answer.
"""

from __future__ import annotations

import sys

USAGE = (
    "usage: python -m recovery_cli.cli.gitmerge case BASE OURS THEIRS PATH | text BASE OURS THEIRS"
)


def main(argv: list[str]) -> int:
    """Run the driver named first in ``argv`` on the rest."""
    if argv[:1] == ["case"]:
        from ..sync import driver

        status, told = driver.merge(argv[1:])
        if told is not None:
            sys.stderr.write(f"{told}\n")
        return status
    if argv[:1] == ["text"] and len(argv) == 4:
        from ..sync import textmerge

        return textmerge.merge(*argv[1:])
    sys.stderr.write(f"{USAGE}\n")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
