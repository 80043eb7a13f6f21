"""A message to the customer on its way out, recorded on the case at every turn.

Three ways out: a draft file (``.eml`` with ``X-Unsent: 1``, which mail clients open
as a draft), the desktop's mail client through a ``mailto:`` URL, or SMTP. A send
is recorded as ``sending`` (and saved) before the first byte goes, and as ``sent``
once the server took it; so a retry after a crash finds the record and does not
send twice. A send that fails is marked ``not_sent`` and its message kept as a
draft in the home's ``drafts`` folder, to send from the mail client instead.

Nothing here prints, prompts or reads a clock.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from ..case import Case, MailOut, MailThread
from ..config import DRAFTS, Settings
from ..errors import ConfigError, RecoverError, UsageError
from ..fileio import write_atomic
from ..store import Store
from . import compose
from .outgoing import (
    Outgoing,
    draft_bytes,
    mailto_url,
    new_message_id,
    reply_subject,
)

if TYPE_CHECKING:
    from .smtp import SmtpSettings

What = Literal["reply", "follow-up"]
# What a placeholder with no value shows (see playbooks.placeholders.missing_marker).
GAP = re.compile(r"‹([a-z_][a-z0-9_]*)›")


@dataclass(frozen=True)
class Letter:
    """A message about to go out: what it is for, and the message itself."""

    what: What
    follow_up: int | None
    message: Outgoing

    @property
    def label(self) -> str:
        """ "the reply" or "follow-up 2", as messages name it."""
        return "the reply" if self.what == "reply" else f"follow-up {self.follow_up}"


class AlreadySent(RecoverError):
    """The message went out already: sending it again needs ``--again``."""


def letter(
    case: Case,
    settings: Settings,
    what: What,
    body: str,
    now: datetime,
    *,
    follow_up: int | None = None,
) -> Letter:
    """The message to send, in the customer's thread. A message whose send was
    started and never finished keeps that attempt's Message-ID: should the first
    attempt have arrived after all, the customer's mail client sees one message."""
    if not case.customer.email:
        raise UsageError(
            f"case {case.id} has no email address for the customer",
            hint=f"Add it with: recover new ... or edit cases/{case.id}.json; "
            "or copy the message into your mail client.",
        )
    sender = settings.sender  # may be blank for a draft: the mail client fills it in
    cut_short = [m for m in _attempts(case, what, follow_up) if m.status == "sending"]
    message_id = cut_short[-1].message_id if cut_short else new_message_id(sender)
    in_reply_to, references = compose.thread(case)
    fallback = compose.subject(case, what, settings)
    subject = reply_subject(fallback, fallback) if in_reply_to else fallback
    name = " at ".join(part for part in (settings.seller, settings.business) if part)
    message = Outgoing(
        sender=sender,
        sender_name=name,
        to_address=case.customer.email,
        to_name=case.customer.name,
        subject=subject,
        body=body,
        message_id=message_id,
        date=now,
        in_reply_to=in_reply_to,
        references=references,
    )
    return Letter(what, follow_up, message)


def _attempts(case: Case, what: str, follow_up: int | None) -> list[MailOut]:
    """Every way the reply (or follow-up ``follow_up``) was sent or handed on, oldest first."""
    if case.mail is None:
        return []
    return [m for m in case.mail.sent if m.what == what and m.follow_up == follow_up]


def check_not_sent(case: Case, item: Letter, *, again: bool) -> None:
    """Refuse to send what went out already (or may have: a send cut short, or one
    the server never confirmed), unless ``again``; a draft or the mail client
    since changes nothing."""
    tries = _attempts(case, item.what, item.follow_up)
    if again:
        return
    if any(m.status == "sent" for m in tries):
        raise AlreadySent(
            f"{item.label} of case {case.id} was sent already",
            hint="Send another copy with --again.",
        )
    if any(m.status == "sending" for m in tries):
        raise AlreadySent(
            f"a send of {item.label} of case {case.id} was never confirmed: it may have gone",
            hint="Ask the customer, or look in your mail provider's sent mail or logs; "
            "to send it anyway, add --again (it keeps the same Message-ID, so a mail "
            "client that has the first shows one).",
        )


def check_gaps(body: str) -> None:
    """Refuse a message that still shows a gap (‹seller›): a customer must never
    receive one. The seller fills it in the editor, or sets what it stands for."""
    gaps = sorted(set(GAP.findall(body)))
    if not gaps:
        return
    settings = [g for g in gaps if g in ("seller", "business")]
    hint = (
        f"Set it: recover config set {settings[0]} ..., or write it in with --edit."
        if settings
        else "Write it in with --edit (or in the editor)."
    )
    raise UsageError(
        f"the message still has {len(gaps)} gap{'s' if len(gaps) > 1 else ''} to fill: "
        + ", ".join(f"‹{g}›" for g in gaps),
        hint=hint,
    )


def _record(store: Store, case: Case, entry: MailOut, now: datetime) -> MailOut:
    if case.mail is None:
        case.mail = MailThread()
    case.mail.sent.append(entry)
    what = "reply" if entry.what == "reply" else f"follow-up {entry.follow_up}"
    case.add_event(now, f"{what} {entry.status.replace('_', ' ')}", entry.via)
    case.touch(now)
    store.save(case)
    return entry


def _entry(item: Letter, via: str, status: str, now: datetime, **extra: object) -> MailOut:
    return MailOut.model_validate(
        {
            "message_id": item.message.message_id,
            "what": item.what,
            "follow_up": item.follow_up,
            "to": item.message.to_address,
            "subject": item.message.subject,
            "via": via,
            "status": status,
            "at": now,
            **extra,
        }
    )


def keep_reply(store: Store, case: Case, body: str, now: datetime) -> None:
    """The reply as the seller left it in the editor, saved on the case."""
    if case.mail is None:
        case.mail = MailThread()
    if case.mail.reply != body:
        case.mail.reply = body
        case.add_event(now, "reply written")
        case.touch(now)
        store.save(case)


def draft_path(home: Path, case: Case, item: Letter) -> Path:
    """Where a draft is kept when no file was named: the home's drafts folder."""
    name = "reply" if item.what == "reply" else f"follow-up-{item.follow_up}"
    return home / DRAFTS / f"case-{case.id}-{name}.eml"


def write_draft(path: Path, item: Letter, *, replace: bool = False) -> Path:
    """The message as a draft file (0600), written atomically. A file named by the
    seller is never written over (``replace``: the home's own drafts are)."""
    data = draft_bytes(item.message)
    if path.parent != Path("") and not path.parent.exists():
        path.parent.mkdir(parents=True, mode=0o700, exist_ok=True)
    try:
        write_atomic(path, data, exclusive=not replace)
    except FileExistsError:
        raise UsageError(
            f"{path} exists already: nothing was written over",
            hint="Name a new file with --draft, or remove that one first.",
        ) from None
    return path


def check_draft_path(home: Path, path: Path) -> None:
    """A draft file named by the seller may not be inside the home (a case file, the
    settings), other than its drafts folder."""
    target, inside = path.expanduser().absolute(), home.absolute()
    drafts = inside / DRAFTS
    if target.is_relative_to(inside) and not target.is_relative_to(drafts):
        raise UsageError(
            f"{path} is inside recover's home: a draft goes elsewhere",
            hint=f"Name a file outside it, or in {drafts}.",
        )


def save_draft(store: Store, case: Case, item: Letter, path: Path, now: datetime) -> Path:
    """Write the draft, and record it on the case (the home's own drafts of this
    message are written over; any other file never is)."""
    own = path == draft_path(store.home, case, item)
    if not own:
        check_draft_path(store.home, path)
    written = write_draft(path, item, replace=own)
    _record(store, case, _entry(item, "draft", "drafted", now, draft=str(written)), now)
    return written


def mailto(item: Letter) -> str:
    """The ``mailto:`` URL of the message (RFC 6068)."""
    return mailto_url(item.message)


def opened(store: Store, case: Case, item: Letter, now: datetime) -> None:
    """The message was handed to the mail client (which sends it)."""
    _record(store, case, _entry(item, "mail client", "opened", now), now)


def smtp_settings(settings: Settings) -> SmtpSettings:
    """The SMTP settings to send with, or ConfigError saying what to set."""
    from .smtp import SmtpSettings

    if not settings.smtp_host:
        raise ConfigError(
            "no mail server to send through",
            hint="Set it with: recover config set smtp.host smtp.example.com "
            "(and smtp.user, and the password with recover config password)",
        )
    return SmtpSettings(
        host=settings.smtp_host,
        port=settings.smtp_port,
        security=settings.smtp_security,  # type: ignore[arg-type]  # checked on load
        user=settings.smtp_user,
        timeout=settings.smtp_timeout or 30.0,
    )


def ready_to_send(settings: Settings) -> SmtpSettings:
    """The SMTP settings, with the sender address they need; ConfigError saying what
    to set when one is missing."""
    server = smtp_settings(settings)
    if not settings.sender:
        raise ConfigError(
            "no sender address to send from",
            hint="Set it with: recover config set from you@example.com",
        )
    return server


def send(store: Store, case: Case, item: Letter, settings: Settings, now: datetime) -> MailOut:
    """Send through SMTP: recorded as sending (saved) first, sent after. A failure
    is recorded as not sent, the message kept as a draft (the error says where),
    and raised."""
    from .smtp import SendError, check_security, find_password
    from .smtp import send as transmit

    server = ready_to_send(settings)
    check_security(server)
    password = find_password(server)
    from .outgoing import build_message

    message = build_message(item.message)
    entry = _record(store, case, _entry(item, "smtp", "sending", now), now)
    try:
        transmit(message, server, password)
    except SendError as error:
        kept = write_draft(draft_path(store.home, case, item), item, replace=True)
        if error.kind == "unconfirmed":
            # It may have arrived: the record stays "sending", so a retry asks first.
            entry.error = error.message
            entry.draft = str(kept)
            case.add_event(now, f"{item.what} not confirmed", error.kind)
            case.touch(now)
            store.save(case)
            raise SendError(
                f"{item.label} of case {case.id} may have gone: {error.message}",
                kind=error.kind,
                hint="Ask the customer, or look in your mail provider's sent mail, before "
                f"sending again with --again. The message is kept as a draft: {kept}",
            ) from None
        entry.status = "not_sent"
        entry.error = error.message
        entry.draft = str(kept)
        case.add_event(now, f"{item.what} not sent", error.kind)
        case.touch(now)
        store.save(case)
        raise SendError(
            f"{item.label} of case {case.id} was not sent: {error.message}",
            kind=error.kind,
            hint=f"Nothing went out. The message is kept as a draft: {kept} "
            "(open it in your mail client), or fix the cause and send again.",
        ) from None
    entry.status = "sent"
    entry.sent_at = now
    case.add_event(now, f"{item.what} sent", "smtp")
    case.touch(now)
    store.save(case)
    return entry


def open_command() -> list[str] | None:
    """The desktop's command that opens a URL in its default application (the
    mail client, for ``mailto:``), or None when there is none."""
    import shutil
    import sys

    if sys.platform == "darwin":
        return ["open"]
    if os.name == "nt":
        return ["cmd", "/c", "start", ""]
    found = shutil.which("xdg-open")
    return [found] if found else None


def keep_password(home: Path, password: str) -> str:
    """Keep the SMTP password in the system keyring, under the server and user set
    in config.toml; returns the name it is kept under."""
    from ..config import load_settings
    from .smtp import keyring_name, store_password

    server = smtp_settings(load_settings(home))
    if not server.user:
        raise ConfigError(
            "no SMTP user name to keep a password for",
            hint="Set it first: recover config set smtp.user you@example.com",
        )
    if not password:
        raise UsageError("no password given: nothing was kept")
    store_password(server, password)
    return keyring_name(server)
