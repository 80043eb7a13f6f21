"""The one clock. Core functions take ``now`` as an argument; the command layer reads
it here, once per command, so a test freezes time for every command by replacing
:func:`now` in this module alone."""

from __future__ import annotations

from datetime import UTC, datetime


def now() -> datetime:
    """The current time, in UTC, to the second (what case files record)."""
    return datetime.now(UTC).replace(microsecond=0)
