"""What the commands do after the call, as plain functions over a
:class:`~recovery_cli.store.Store` and ``now``: hold a case, record and plan
follow-ups, close it, finish its prevention, and the returning-customer notice of a
walk. Starting and walking a case is :mod:`recovery_cli.walking`; what the everyday
views read back (without building a case model) is :mod:`recovery_cli.lookups`.

Nothing here prints, prompts or reads a clock: the command layer asks the questions,
passes the answers and the time in, and renders what comes back. A script can call
these the same way.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from .case import Case, FollowUpRecord, Happy, Outcome, OutcomeResult
from .config import load_settings
from .customers import Repeat, repeat_of
from .errors import NotFoundError, RecoverError, UsageError
from .followups import DEFAULT_MESSAGE
from .playbooks.placeholders import placeholder_values, render
from .store import Store
from .values import local_time


def returning_customer(store: Store, case: Case, now: datetime) -> Repeat | None:
    """The repeat notice for a case's customer, or None. A notice on a live call: if
    the index cannot answer, the call goes on without it."""
    if not any((case.customer.email, case.customer.order, case.customer.name)):
        return None
    try:
        earlier = [item for item in store.same_customer(case.customer) if item.id != case.id]
    except (RecoverError, OSError, ValueError):
        return None
    return repeat_of(case.customer, earlier, now)


# -- after the call ---------------------------------------------------------------------
@contextlib.contextmanager
def holding(store: Store, case_id: str) -> Iterator[Case]:
    """A case, read once it is held (another terminal may just have saved it), and
    held until the block ends."""
    with store.session(case_id):
        yield store.load(case_id)


def follow_up_to_record(case: Case, number: int | None) -> FollowUpRecord:
    """The follow-up to record: ``number``, or the soonest still to do."""
    item = case.follow_up(number)
    if item is None:
        raise NotFoundError(
            f"case {case.id} has no follow-up {number}"
            if number is not None
            else f"case {case.id} has no follow-up to do",
            hint=f"Add one with: recover followup add {case.id} --in 3d",
        )
    if item.done_at is not None:
        raise UsageError(
            f"follow-up {item.id} of case {case.id} was already done ({local_time(item.done_at)})",
            hint=f"See it with: recover show {case.id}",
        )
    return item


@dataclass(frozen=True)
class FollowUpResult:
    """What came of a follow-up, as asked or given as options."""

    reached: bool
    happy: Happy | None
    note: str
    next_in: timedelta | None


def record_follow_up(
    store: Store, case: Case, item: FollowUpRecord, result: FollowUpResult, now: datetime
) -> FollowUpRecord | None:
    """Record a follow-up's result on a held case and plan the next one if asked;
    saved. Returns the follow-up planned (None if none). The case closes when the
    customer is happy and nothing else is planned."""
    case.record_follow_up(
        item.id, reached=result.reached, happy=result.happy, note=result.note, now=now
    )
    planned = None
    if result.next_in is not None:
        # Reached: the next one is a fresh check-in (the settings fill it in); not
        # reached, the same message again.
        message = item.message
        if result.reached:
            message = _filled(DEFAULT_MESSAGE, store, case)
        planned = case.add_follow_up(now + result.next_in, message, now)
    store.save(case)
    return planned


def _filled(text: str, store: Store, case: Case) -> str:
    """A message with the case's and the seller's details filled in (the settings are
    read only here, once the case is known to be there)."""
    return render(text, placeholder_values(case, load_settings(store.home).as_dict()))


def add_follow_up(
    store: Store, case: Case, after: timedelta, note: str, now: datetime
) -> FollowUpRecord:
    """Plan a follow-up on a held case ``after`` from now (it reopens a closed case
    until it is done); ``note`` may use placeholders, and a blank one is a check-in."""
    message = _filled(note or DEFAULT_MESSAGE, store, case)
    added = case.add_follow_up(now + after, message, now)
    store.save(case)
    return added


def close_case(
    store: Store, case: Case, outcome: Outcome, *, keep_follow_ups: bool, now: datetime
) -> None:
    """Record how a held case ended, cancelling the follow-ups still planned unless
    they are kept (then it closes when they are done); saved."""
    if case.pending_follow_ups() and not keep_follow_ups:
        case.cancel_follow_ups(now)
    case.set_outcome(outcome, now)
    store.save(case)


def finish_prevention(store: Store, case_id: str, now: datetime) -> Case:
    """Mark a case's prevention action done (already done: left as it was)."""
    with holding(store, case_id) as case:
        if case.outcome is None or not case.outcome.prevention:
            raise NotFoundError(
                f"case {case.id} has no prevention action",
                hint=f'Record one with: recover close {case.id} --prevention "..."',
            )
        if case.outcome.prevention_done_at is None:
            case.finish_prevention(now)
            store.save(case)
    return case


@dataclass
class OutcomeGiven:
    """What is known of an outcome before the form asks (None: not known)."""

    result: OutcomeResult | None = None
    satisfaction: int | None = None
    root_cause: str | None = None
    cause_tag: str | None = None
    prevention: str | None = None


def outcome_defaults(case: Case) -> OutcomeGiven:
    """What the outcome form starts from: the outcome recorded before, else the root
    cause and prevention answered on the call (as the default playbooks ask them)."""
    if case.outcome is not None:
        o = case.outcome
        return OutcomeGiven(o.result, o.satisfaction, o.root_cause, o.cause_tag, o.prevention)
    answers = case.answers()
    cause, prevention = answers.get("root_cause"), answers.get("prevention")
    return OutcomeGiven(
        root_cause=cause if isinstance(cause, str) else None,
        prevention=prevention if isinstance(prevention, str) else None,
    )


OutcomeSuggestion = Literal["kept"] | None


def suggested_outcome(case: Case) -> OutcomeSuggestion:
    """What the outcome form offers as Enter's answer at the end of a walk or a
    follow-up: kept, when the customer said they are happy now."""
    last = case.last_follow_up_result()
    if last is not None and last.happy == "yes":
        return "kept"
    return "kept" if case.answers().get("happy_now") is True else None
