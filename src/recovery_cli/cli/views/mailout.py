"""Mail going out, on screen: the reply opened in the seller's editor, the message
shown whole before it goes, the ways to send it, and what came of each.

The three ways out are :mod:`recovery_cli.mail.sending`'s: a draft file, the mail
client (``mailto:``), SMTP. The seller sees the whole message, headers included,
before SMTP sends it (``--yes`` confirms for scripts); ``--dry-run`` shows it and
does nothing.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.text import Text

from ... import clock
from ...case import Case
from ...config import Settings
from ...errors import RecoverError, UsageError
from ...mail import sending
from ...mail.outgoing import fits_mailto
from ...mail.sending import Letter
from ...playbooks.model import Playbook
from ...store import Store
from ..prompter import Interrupted, Prompter


@dataclass
class Ways:
    """How the command was told to send: at most one of ``draft``, ``open`` and
    ``send``; none means ask (or, with no one to ask, say how)."""

    draft: Path | None = None
    open: bool = False
    send: bool = False
    yes: bool = False
    dry_run: bool = False
    again: bool = False

    def asks(self) -> bool:
        """Whether anything is left to ask: the way, or the go-ahead to send."""
        how = self.chosen()
        return not self.dry_run and (how is None or (how == "send" and not self.yes))

    def chosen(self) -> str | None:
        """The way given, or None; more than one is a usage error."""
        named = (("draft", self.draft), ("open", self.open), ("send", self.send))
        given = [way for way, on in named if on]
        if len(given) > 1:
            raise UsageError("choose one of --draft, --open and --send")
        return given[0] if given else None


def edit_text(text: str, name: str) -> str:
    """``text`` opened in the seller's editor ($VISUAL, $EDITOR) as a file named
    ``name``, in a private temporary folder; what they saved, once it closes."""
    from ...editing import editor_command, run_editor

    command = editor_command()
    with tempfile.TemporaryDirectory(prefix="recover-") as folder:
        path = Path(folder) / name
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        run_editor(command, path)
        try:
            edited = path.read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            raise RecoverError(f"could not read back the edited reply: {exc.strerror}") from None
    return edited.replace("\r\n", "\n")


def edited(out: Console, text: str, name: str, again: str) -> str | None:
    """``text`` as the seller leaves it in the editor; None (and why, said) when the
    editor failed or quit with an error (``:cq`` in vim is "abandon"), or the text
    was emptied: then nothing is kept or sent, and ``again`` is how to try again."""
    try:
        body = edit_text(text, name)
    except RecoverError as error:
        out.print(Text(f"Not sent: {error.message}. Try again with: {again}", style="yellow"))
        return None
    if not body.strip():
        out.print("The message is empty: nothing was kept or sent.")
        return None
    return body


def show_message(out: Console, item: Letter) -> None:
    """The message as it will go: its headers, as they are written, and its body,
    literally."""
    from ...mail.outgoing import build_message

    built = build_message(item.message, draft=not item.message.sender)
    out.print(Text("─" * min(out.width, 72), style="dim"))
    if not item.message.sender:
        out.print(Text("From: (your mail client's address)", style="bold"))
    for label in ("From", "To", "Subject", "Date", "Message-ID", "In-Reply-To", "References"):
        if built[label] is None:
            continue
        line = Text(f"{label}: ", style="bold")
        line.append(" ".join(str(built[label]).split()))
        out.print(line, soft_wrap=True)
    out.print()
    out.print(Text(item.message.body.rstrip("\n")), soft_wrap=True)
    out.print(Text("─" * min(out.width, 72), style="dim"))


_MENU = {
    "send": "Send it now through your mail server",
    "draft": "Save it as a draft (.eml) to send from your mail client",
    "open": "Open it in your mail client",
}


def choose_way(out: Console, asker: Prompter, settings: Settings) -> str | None:
    """Ask how the message should go; None: not now."""
    ways = list(_MENU) if settings.smtp_host and settings.sender else ["draft", "open"]
    out.print(Text("How should it go?", style="bold"))
    for number, way in enumerate(ways, start=1):
        out.print(f"  {number}. {_MENU[way]}")
    if "send" not in ways:
        out.print(
            Text(
                "  (To send from here: recover config set from ... and smtp.host ...)",
                style="dim",
            )
        )
    while True:
        line = asker.ask(f"Pick 1-{len(ways)} (Enter: not now): ").strip()
        if not line:
            return None
        if line.isdigit() and 1 <= int(line) <= len(ways):
            return ways[int(line) - 1]
        out.print(Text(f"Type a number from 1 to {len(ways)}, or Enter.", style="yellow"))


def _confirm(out: Console, asker: Prompter | None, question: str) -> bool:
    if asker is None:
        raise UsageError(
            "there is no one to confirm the send", hint="Add --yes to send without asking."
        )
    while True:
        line = asker.ask(f"{question} [y/N]: ").strip().lower()
        if line in ("", "n", "no"):
            return False
        if line in ("y", "yes"):
            return True
        out.print(Text("Answer y or n.", style="yellow"))


def deliver(
    out: Console,
    asker: Prompter | None,
    store: Store,
    case: Case,
    item: Letter,
    ways: Ways,
    settings: Settings,
) -> str | None:
    """Send the message the way given (or chosen now); what was done, or None."""
    how = ways.chosen()
    if ways.dry_run:
        show_message(out, item)
        where = {"draft": f"be saved as {ways.draft}", "open": "open in your mail client"}
        would = where.get(how or "", "be sent through your mail server")
        out.print(f"Dry run: {item.label} would {would}. Nothing was sent or recorded.")
        return None
    if how is None:
        if asker is None:
            out.print(
                f"Not sent. Send it with --send, --draft FILE.eml or --open "
                f"(recover reply {case.id} --help)."
            )
            return None
        how = choose_way(out, asker, settings)
        if how is None:
            later = "recover reply" if item.what == "reply" else "recover followup"
            out.print(f"Not sent. Send it later with: {later} {case.id}")
            return None
    if how in ("send", "open"):
        sending.check_gaps(item.message.body)
    if how == "send":
        return _send(out, asker, store, case, item, ways, settings)
    if how == "open":
        return _open(out, store, case, item)
    gaps = sorted(set(sending.GAP.findall(item.message.body)))
    if gaps:
        out.print(Text(f"! The draft still has gaps to fill: {', '.join(f'‹{g}›' for g in gaps)}"))
    path = ways.draft or _ask_path(out, asker, sending.draft_path(store.home, case, item))
    written = sending.save_draft(store, case, item, path, clock.now())
    out.print(Text(f"Draft saved: {written}", style="green"))
    out.print("Open it in your mail client (it opens as a draft), check it, and send it.")
    return "drafted"


def _ask_path(out: Console, asker: Prompter | None, default: Path) -> Path:
    if asker is None:
        return default
    line = asker.ask(f"Save the draft as [{default}]: ").strip()
    return Path(line).expanduser() if line else default


def _send(
    out: Console,
    asker: Prompter | None,
    store: Store,
    case: Case,
    item: Letter,
    ways: Ways,
    settings: Settings,
) -> str | None:
    sending.check_not_sent(case, item, again=ways.again)
    sending.ready_to_send(settings)  # what is missing is said before the message is shown
    if not ways.yes:
        show_message(out, item)
        to = item.message.to_address
        if not _confirm(out, asker, f"Send {item.label} to {to} now?"):
            out.print("Not sent.")
            return None
    with out.status("Sending…") if out.is_terminal else contextlib.nullcontext():
        entry = sending.send(store, case, item, settings, clock.now())
    out.print(Text(f"Sent {item.label} to {entry.to}.", style="green"))
    out.print(Text(f"Message-ID: {entry.message_id}", style="dim"))
    return "sent"


def _open(out: Console, store: Store, case: Case, item: Letter) -> str:
    url = sending.mailto(item)
    command = sending.open_command()
    reason = ""
    if not fits_mailto(url):
        reason = f"it is too long for a mailto: link ({len(url):,} characters)"
    elif command is None:
        reason = "there is no program here to open a mail client with"
    if not reason:
        try:
            subprocess.run([*command, url], check=True, timeout=30)  # type: ignore[misc]
        except (OSError, subprocess.SubprocessError):
            reason = "the mail client could not be opened"
    if reason:
        path = sending.draft_path(store.home, case, item)
        written = sending.save_draft(store, case, item, path, clock.now())
        out.print(f"Saved as a draft instead, because {reason}: {written}")
        out.print("Open it in your mail client (it opens as a draft), check it, and send it.")
        return "drafted"
    sending.opened(store, case, item, clock.now())
    out.print(Text("Opened in your mail client: check it there and send it.", style="green"))
    return "opened"


def stopped(stop: Interrupted, case: Case) -> RecoverError:
    """Ctrl-C (or the like) while sending was being decided: nothing went out."""
    from ...errors import WalkInterrupted

    return WalkInterrupted(
        f"Stopped; nothing was sent for case {case.id}.", exit_code=stop.exit_code
    )


_EMAIL = re.compile(r"\be-?mail\b|^mail$", re.IGNORECASE)


def wants_reply(case: Case) -> bool:
    """Whether mail is how this case goes on: an email case, with the address to
    write to (a walk's end then composes the reply, a follow-up offers to go by
    email)."""
    return bool(case.customer.email) and bool(_EMAIL.search(case.customer.channel))


def reply_flow(
    out: Console,
    asker: Prompter | None,
    store: Store,
    case: Case,
    settings: Settings,
    ways: Ways,
    *,
    edit: bool,
    fresh: bool = False,
    playbook: Playbook | None = None,
) -> str | None:
    """The reply to a case: the one written before (unless ``fresh``), else composed
    from its walk; opened in the editor (``edit``) and kept on the case; then sent
    the way given or chosen. What was done, or None."""
    from ...mail import compose

    earlier = case.mail.reply if case.mail is not None and not fresh else ""
    body = earlier or compose.reply_body(case, playbook or _playbook_of(store, case), settings)
    if edit and not ways.dry_run:
        out.print(f"Opening the reply in your editor{' (as you left it)' if earlier else ''}…")
        written = edited(out, body, f"reply-to-case-{case.id}.txt", f"recover reply {case.id}")
        if written is None:
            return None
        body = written
    if not ways.dry_run:
        sending.keep_reply(store, case, body, clock.now())
    item = sending.letter(case, settings, "reply", body, clock.now())
    try:
        return deliver(out, asker, store, case, item, ways, settings)
    except Interrupted as stop:
        raise stopped(stop, case) from None


def _playbook_of(store: Store, case: Case) -> Playbook | None:
    """The playbook the case was walked with, as it is now; None when it is gone
    (the reply is then made of the remedies and the promise alone)."""
    from ... import walking
    from ...playbooks.catalog import load_catalog

    try:
        return walking.playbook_of(case, load_catalog(store.home))
    except RecoverError:
        return None
