"""Starting a case and walking it, as plain functions over a
:class:`~recovery_cli.store.Store` and ``now``: find the playbook, write the new case
(or fill it whole from an answers file), get a held case ready to resume, and the
:class:`LiveWalk` that saves every answer the moment it changes the case.

Nothing here prints, prompts or reads a clock; the screen draws and reads.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal

from . import answers as answering
from .case import Case, Customer, MailIn, MailThread, PlaybookRef, new_case
from .config import Settings
from .errors import NotDurableError, NotFoundError, StorageError
from .playbooks.catalog import Catalog
from .playbooks.model import Playbook
from .store import Store
from .walk import Reply, Walk


def find_playbook(catalog: Catalog, wanted: str) -> Playbook:
    """The playbook in use with this id; its load error, or NotFoundError."""
    return catalog.find(wanted)


def _fresh(
    case_id: str,
    playbook: Playbook,
    customer: Customer,
    settings: Settings,
    now: datetime,
    currency: str | None = None,
    mail: MailIn | None = None,
) -> Case:
    ref = PlaybookRef(id=playbook.id, title=playbook.title, hash=playbook.digest)
    case = new_case(
        case_id,
        customer=customer.model_copy(deep=True),
        playbook=ref,
        currency=currency or settings.currency,
        now=now,
    )
    if mail is not None:
        case.mail = MailThread(messages=[mail.model_copy(deep=True)])
        case.add_event(now, "email received", mail.message_id)
    return case


def start_case(
    store: Store,
    playbook: Playbook,
    customer: Customer,
    settings: Settings,
    now: datetime,
    currency: str | None = None,
    mail: MailIn | None = None,
) -> Case:
    """Write a new case for ``customer`` under the next free id (in ``currency``, else
    the settings'), begun by the email ``mail`` if one; its lock is held."""
    return store.create(
        lambda case_id: _fresh(case_id, playbook, customer, settings, now, currency, mail)
    )


def start_walk(
    store: Store,
    playbook: Playbook,
    details: Mapping[str, object],
    settings: Settings,
    now: datetime,
    currency: str | None = None,
    mail: MailIn | None = None,
) -> LiveWalk:
    """Write a new case for a customer with these details (checked, as typed or given
    as options, or from an imported order or an email) under the next free id, its
    lock held, and return its walk."""
    customer = Customer.model_validate(dict(details))
    case = start_case(store, playbook, customer, settings, now, currency, mail)
    return LiveWalk(store, Walk(playbook, case, settings.as_dict()))


def case_from_answers(
    store: Store,
    playbook: Playbook,
    customer: Customer,
    prefill: answering.Answers,
    settings: Settings,
    now: datetime,
    *,
    problems: list[str],
    currency: str | None = None,
) -> Case:
    """A case walked from an answers file alone, written once, whole. A dry run on a
    scratch case finds every problem first (AnswersError), so nothing is written for
    a file that does not fit the playbook."""
    scratch = Walk(
        playbook, _fresh("0", playbook, customer, settings, now, currency), settings.as_dict()
    )
    problems = problems + answering.fill(scratch, prefill, now)
    if problems:
        raise answering.AnswersError(prefill.source, problems)

    def filled(case_id: str) -> Case:
        # Filled before it is written: the one write holds the whole case, so a failed
        # save leaves no empty case behind for a retry to duplicate.
        new = _fresh(case_id, playbook, customer, settings, now, currency)
        answering.fill(Walk(playbook, new, settings.as_dict()), prefill, now)
        return new

    case = store.create(filled)
    store.release(case.id)
    return case


def case_from_mail(
    store: Store,
    playbook: Playbook,
    customer: Customer,
    mail: MailIn,
    settings: Settings,
    now: datetime,
    currency: str | None = None,
) -> Case:
    """A case begun by an email with no one to walk it now (``--no-input``): written
    once, whole, with the email's words as the complaint's answer. The rest of the
    walk waits for ``recover resume``."""

    def filled(case_id: str) -> Case:
        new = _fresh(case_id, playbook, customer, settings, now, currency, mail)
        Walk(playbook, new, settings.as_dict()).record_mail_text(now)
        return new

    case = store.create(filled)
    store.release(case.id)
    return case


def playbook_of(case: Case, catalog: Catalog) -> Playbook:
    """The playbook a case was walked with, as it is now (to walk on with it)."""
    playbook = catalog.get(case.playbook.id)
    broken = catalog.error_for(case.playbook.id)
    if playbook is None and broken is not None:
        raise broken
    if playbook is None:
        raise NotFoundError(
            f"case {case.id} was walked with playbook {case.playbook.id!r}, which is not available"
        )
    return playbook


def record_resume(store: Store, walk: Walk, now: datetime) -> list[str]:
    """Note in a held case that its walk goes on from here, with this version of the
    playbook, and save; returns what changed in the playbook since (empty if nothing)."""
    notes = walk.resume(now)
    store.save(walk.case)
    return notes


def latest_unfinished_id(store: Store) -> str:
    """The most recent unfinished case no other terminal has open."""
    latest = store.latest_unfinished()
    if latest is None:
        raise NotFoundError("no unfinished case to resume", hint="`recover list` shows cases.")
    return latest.id


class LiveWalk:
    """A walk on a case this process holds, saved the moment anything changes.

    A save that landed but could not be synced is the store's to tell (its ``warn``),
    and the call goes on; a save that failed says how to carry on once the disk is
    fixed. The screen draws and reads; this is where a typed line becomes the file.
    """

    def __init__(self, store: Store, walk: Walk) -> None:
        self.store = store
        self.walk = walk
        self.case = walk.case

    def save(self) -> None:
        """Save the case now."""
        try:
            self.store.save(self.case)
        except NotDurableError:
            raise  # saved: the store's own warning says the rest
        except StorageError as error:
            raise StorageError(
                error.message,
                hint="Every answer before this one is saved. Free some space or fix "
                f"permissions, then carry on with: recover resume {self.case.id}",
            ) from None

    def settle(self, now: datetime) -> None:
        """Bring the case in line with the playbook before walking on."""
        if self.walk.settle(now):
            self.save()

    def set_detail(self, key: str, value: str | Decimal | None, now: datetime) -> None:
        """One customer detail, as typed and checked (None: blank again)."""
        if value is None:
            value = None if key == "order_value" else ""
        setattr(self.case.customer, key, value)
        self.case.touch(now)
        self.save()

    def set_details(
        self, details: Mapping[str, object], currency: str | None, now: datetime
    ) -> None:
        """Several customer details at once (an imported order's), and the case's
        currency with them; one save."""
        filled = Customer.model_validate({**self.case.customer.model_dump(), **details})
        self.case.customer = filled
        if currency:
            self.case.currency = currency
        self.case.touch(now)
        self.save()

    def submit(self, line: str, now: datetime, *, prefilled: bool = False) -> Reply:
        """Apply a typed line to the step on screen; saved if it changed the case.
        ``prefilled``: as :meth:`Walk.submit`."""
        reply = self.walk.submit(line, now, prefilled=prefilled)
        if reply.changed:
            self.save()
        return reply

    def stop(self, event: str, now: datetime) -> None:
        """The walk stops here (paused, or interrupted): log it, and save."""
        self.case.add_event(now, event)
        self.case.touch(now)
        self.save()
