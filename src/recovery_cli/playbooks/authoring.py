"""Playbooks the seller writes: new ones from a scaffold or a copy, and edits that
never put an invalid file in place (the way ``visudo`` and ``crontab -e`` work).

An edit happens in a draft beside the real file (``.<id>.toml``, hidden from the
catalog). Only a draft that loads replaces the real file, atomically; until then the
last valid version stays in use. A draft left by an interrupted edit is picked up by
the next one, so nothing typed in the editor is lost.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import NotFoundError, UsageError
from ..fileio import ensure_private_dir, write_atomic
from .catalog import Catalog, user_dir
from .model import json_schema

SCHEMA_FILE = "playbook.schema.json"
SCHEMA_LINE = f"#:schema ./{SCHEMA_FILE}"
_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")

SCAFFOLD = """\
#:schema ./playbook.schema.json
# A recovery playbook for `recover`. One [[steps]] table per screen of the walk.
#
#   say        the line you read aloud        do        coaching, for your eyes only
#   write      the line as written in an email or chat reply (else the reply uses say)
#   ask        capture an answer              offer     a menu of remedies
#   follow_up  a message to send later        when      run only if earlier answers match
#
# An ask has a type (text, yesno, number, money, choice), can be required = true (Enter
# and :skip refused), and can have a default: true or false for a yes/no question, or
# one of the choices; Enter answers it.
#
# Placeholders: $customer $first_name $email $order $order_value $channel $seller
# $business $currency $case_id, and the key of any earlier ask. Write $$ for a "$".
# Check your work with: recover playbook check

id = "__ID__"
title = "__TITLE__"
summary = "When to use this playbook, in one sentence."
tags = []
goodwill_limit = "50.00"   # warn when the remedies chosen cost more than this

[[steps]]
id = "listen"
title = "Stop talking, listen"
say = "I'm sorry to hear that, $first_name. Tell me what happened."
do = "Let them finish. Don't defend yourself or explain yet."
ask = { key = "complaint", prompt = "What went wrong, in their words?" }

[[steps]]
id = "own-it"
title = "Own it and apologize"
say = "That shouldn't have happened, and it's on me. I'm sorry."

[[steps]]
id = "remedy"
title = "Ask what would put it right"
say = "What would put this right for you? Here's what I can do."
offer = [
  { id = "refund", label = "Full refund", kind = "refund", amount = "$order_value" },
  { id = "credit", label = "Credit on the next order", kind = "credit", amount = "10.00" },
  { id = "bonus", label = "A bonus product, free", kind = "bonus" },
]
pick = "many"   # or "one"

[[steps]]
id = "refund-now"
title = "Refund before you hang up"
when = { remedy = "refund" }   # runs only if the refund was chosen
do = "Issue the refund now, and thank them for giving you a try."

[[steps]]
id = "prevent"
title = "Make sure it never happens again"
ask = { key = "prevention", prompt = "What will you change?" }

[[steps]]
id = "check-in"
title = "Follow up"
follow_up = { after = "3d", say = "Hi $first_name, $seller here. Is everything all right now?" }
"""


def check_id(playbook_id: str) -> str:
    """A playbook id as typed, checked before any path is built from it."""
    if not _ID.match(playbook_id):
        raise UsageError(
            f"{playbook_id[:40]!r} is not a playbook id: use lowercase letters, digits and "
            "dashes, like my-shop-delays"
        )
    return playbook_id


def write_schema(home: Path) -> Path:
    """Write the JSON Schema beside the user's playbooks (editors read it from there)."""
    folder = user_dir(home)
    ensure_private_dir(home)
    ensure_private_dir(folder)
    path = folder / SCHEMA_FILE
    write_atomic(path, (json.dumps(json_schema(), indent=2) + "\n").encode("utf-8"))
    return path


def _with_schema_line(text: str) -> str:
    return text if text.startswith("#:schema") else f"{SCHEMA_LINE}\n{text}"


def create(home: Path, catalog: Catalog, playbook_id: str, source: str | None = None) -> Path:
    """Write a new playbook into the user's folder and return its path.

    ``source`` names a playbook to copy; without it, a playbook id that is shipped
    starts as a copy of the shipped one (to override it), anything else as the
    commented scaffold. An existing file is never overwritten.
    """
    check_id(playbook_id)
    path = user_dir(home) / f"{playbook_id}.toml"
    if path.exists():
        raise UsageError(
            f"{path} already exists", hint=f"Change it with: recover playbook edit {playbook_id}"
        )
    original = catalog.get(source or playbook_id)
    if source is not None and original is None:
        raise NotFoundError(f"no playbook {source!r} to copy")
    if original is not None:
        text = Path(original.source).read_text(encoding="utf-8")
        text = re.sub(
            r'^id\s*=\s*"[^"\n]*"', f'id = "{playbook_id}"', text, count=1, flags=re.MULTILINE
        )
    else:
        title = playbook_id.replace("-", " ").capitalize()
        text = SCAFFOLD.replace("__ID__", playbook_id).replace("__TITLE__", title)
    write_schema(home)
    try:
        write_atomic(path, _with_schema_line(text).encode("utf-8"), exclusive=True)
    except FileExistsError:
        raise UsageError(f"{path} already exists") from None
    return path


@dataclass
class Edit:
    """One editing session of a user playbook."""

    path: Path
    draft: Path
    original: bytes
    copied_default: bool
    resumed_draft: bool

    def changed(self) -> bool:
        """Whether the draft differs from the file in place."""
        return self.draft.read_bytes() != self.original

    def save(self) -> None:
        """Put the (valid) draft in place atomically and remove it."""
        write_atomic(self.path, self.draft.read_bytes())
        self.discard()

    def discard(self) -> None:
        """Throw the draft away; the file in place is untouched."""
        self.draft.unlink(missing_ok=True)


def start_edit(home: Path, catalog: Catalog, playbook_id: str) -> Edit:
    """Prepare a draft of the user's playbook (copying a shipped default first)."""
    check_id(playbook_id)
    folder = user_dir(home)
    path = folder / f"{playbook_id}.toml"
    draft = folder / f".{playbook_id}.toml"
    copied = False
    if path.exists():
        original = path.read_bytes()
    else:
        shipped = catalog.get(playbook_id)
        if shipped is None or shipped.origin != "default":
            raise NotFoundError(
                f"no playbook {playbook_id!r}",
                hint=f"Start one with: recover playbook new {playbook_id}",
            )
        original = b""
        copied = True
    write_schema(home)
    resumed = draft.exists() and draft.read_bytes() != original
    if not resumed:
        if copied:
            assert shipped is not None
            text = Path(shipped.source).read_text(encoding="utf-8")
            write_atomic(draft, _with_schema_line(text).encode("utf-8"))
        else:
            write_atomic(draft, original)
    return Edit(path, draft, original, copied, resumed)
