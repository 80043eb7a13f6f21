"""What the commands do after the call, as plain functions over a
:class:`~recovery_cli.store.Store` and ``now``: read back what the views show, hold a
case, record and plan follow-ups, close it, finish its prevention. Starting and
walking a case is :mod:`recovery_cli.walking`.

Nothing here prints, prompts or reads a clock: the command layer asks the questions,
passes the answers and the time in, and renders what comes back. A script can call
these the same way.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Literal

from .case import Case, FollowUpRecord, Happy, Outcome, OutcomeResult
from .config import load_settings
from .customers import Repeat, matches, repeat_of
from .errors import NotFoundError, RecoverError, UsageError
from .followups import DEFAULT_MESSAGE, HORIZON_DAYS, Due, count_overdue, due_list
from .playbooks.placeholders import placeholder_values, render
from .stats import Stats
from .store import Damaged, Store
from .values import local_time


def _reported(items: Iterator[Case | Damaged], damaged: list[Damaged]) -> Iterator[Case]:
    """The cases among ``items``; each damaged file is put aside, to be reported."""
    for item in items:
        if isinstance(item, Damaged):
            damaged.append(item)
        else:
            yield item


# -- reading ----------------------------------------------------------------------------
def list_cases(
    store: Store,
    *,
    status: str | None,
    limit: int | None,
    on_damaged: Callable[[Damaged], None],
) -> Iterator[Case]:
    """Cases newest first (at most ``limit``; only one status if given), one at a time
    so that a view of every case holds only what it shows; each damaged file met on
    the way goes to ``on_damaged``."""
    for item in store.list_cases(status=status, limit=limit):
        if isinstance(item, Damaged):
            on_damaged(item)
        else:
            yield item


def overdue_count(store: Store, now: datetime) -> int:
    """How many follow-ups are overdue. A hint beside another answer: whatever goes
    wrong reading it counts as none, never as the reason a command fails."""
    try:
        return count_overdue(store.pending_dues(), now)
    except (RecoverError, OSError, ValueError):
        return 0


@dataclass
class DueList:
    """The follow-ups to do, and why some cases could not be read."""

    items: list[Due]
    damaged: list[str]


def due_follow_ups(store: Store, now: datetime, *, every_one: bool = False) -> DueList:
    """Follow-ups to do: overdue first, then today, then the next days (``every_one``:
    however far ahead). Made from the index: no case file is read to list them."""
    briefs, damaged = [], []
    for row in store.follow_up_briefs():
        if row.damaged is not None:
            damaged.append(row.damaged)
        else:
            briefs.append(row.brief)
    horizon = None if every_one else HORIZON_DAYS
    return DueList(due_list(briefs, now, horizon_days=horizon), damaged)


@dataclass
class History:
    """A customer's cases, newest first, with what they were given in all."""

    query: str
    cases: list[Case] = field(default_factory=list)
    damaged: list[Damaged] = field(default_factory=list)

    @property
    def people(self) -> list[str]:
        """The names (else emails) the cases were opened for."""
        names = {c.customer.name or c.customer.email for c in self.cases}
        return sorted(name for name in names if name)

    def totals(self) -> dict[str, Decimal]:
        """What the remedies cost, per currency (never mixed)."""
        totals: dict[str, Decimal] = {}
        for case in self.cases:
            for remedy in case.remedies:
                if remedy.amount is not None:
                    totals[remedy.currency] = totals.get(remedy.currency, Decimal(0)) + (
                        remedy.amount
                    )
        return dict(sorted(totals.items()))


def customer_history(store: Store, query: str) -> History:
    """Every case whose customer's name, email or order holds ``query``."""
    found = History(query)
    for case in _reported(store.of_customer(query), found.damaged):
        if matches(case.customer, query):
            found.cases.append(case)
    return found


@dataclass
class Prevention:
    """Cases with a prevention action, grouped by cause tag (the biggest group first)."""

    groups: list[tuple[str, list[Case]]]
    damaged: list[Damaged]


def prevention_actions(store: Store, *, done_too: bool = False) -> Prevention:
    """The prevention actions still open (or done too), grouped by cause tag."""
    damaged: list[Damaged] = []
    groups: dict[str, list[Case]] = {}
    for case in _reported(store.with_prevention(done_too=done_too), damaged):
        outcome = case.outcome
        if outcome is None or not outcome.prevention:
            continue
        if outcome.prevention_done_at is not None and not done_too:
            continue
        groups.setdefault(outcome.cause_tag or "", []).append(case)
    ordered = sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0] == "", kv[0]))
    return Prevention(ordered, damaged)


def count_stats(
    store: Store, now: datetime, *, since: date | None = None, until: date | None = None
) -> tuple[Stats, list[str]]:
    """Stats over the cases opened within the dates, and why some files could not be
    read. Counted from the index: no case file is parsed."""
    found, damaged = Stats(now=now, since=since, until=until), []
    for row in store.stats_rows():
        if row.damaged is not None:
            damaged.append(row.damaged)
        elif found.wants(row.facts):
            found.add(row.facts)
    return found, damaged


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
