"""Cases as two machines make them, for the merge tests: one case walked a little, then
copied and changed on each side with the models' own state changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from recovery_cli.case import (
    Answer,
    Case,
    Customer,
    PlaybookRef,
    Remedy,
    StepRecord,
    StepStatus,
    case_to_json,
    new_case,
)

T0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
ORDER = ["listen", "sorry", "remedy", "follow-up", "explain", "prevent"]
PLAYBOOK = PlaybookRef(id="not-delivered", title="Digital product not delivered", hash="aaa111")
NAME = "Dana Reyes"
COMPLAINT = "The download link never came"
OFFERS = {"resend": "Send the download again now", "refund": "Full refund", "credit": "Credit"}


def at(minutes: float) -> datetime:
    """``minutes`` after the call began."""
    return T0 + timedelta(minutes=minutes)


def answer(
    case: Case,
    step: str,
    value: Answer | None,
    when: datetime,
    *,
    note: str = "",
    status: StepStatus = "answered",
) -> None:
    """Record a step as the walk does (its offers chosen become remedies)."""
    kind = "offer" if isinstance(value, list) else "yesno" if isinstance(value, bool) else "text"
    case.put_record(
        StepRecord(
            id=step,
            title=step.replace("-", " ").capitalize(),
            status=status,
            type=kind,
            key=None if kind == "offer" else step,
            answer=value,
            note=note,
            started_at=when - timedelta(seconds=30),
            ended_at=when,
        ),
        ORDER,
    )
    if isinstance(value, list):
        case.set_remedies(step, [remedy(step, offer) for offer in value])
    case.touch(when)


def remedy(step: str, offer: str) -> Remedy:
    """A remedy as an offer step records it."""
    amount = {"refund": Decimal("29.00"), "credit": Decimal("10.00")}.get(offer)
    return Remedy(
        step=step,
        offer=offer,
        label=OFFERS[offer],
        kind=offer if amount is not None else "exchange",
        amount=amount,
        currency="USD",
    )


def started(case_id: str = "17") -> Case:
    """A case on the call: the customer heard, the complaint typed."""
    case = new_case(
        case_id,
        customer=Customer(
            name=NAME,
            email="dana@example.com",
            order="A-1001",
            order_value=Decimal("29.00"),
            channel="phone",
        ),
        playbook=PLAYBOOK,
        currency="USD",
        now=T0,
    )
    answer(case, "listen", COMPLAINT, at(1))
    return case


def walked(case_id: str = "17") -> Case:
    """A case whose walk is done, with follow-up #1 promised for a week on."""
    case = started(case_id)
    answer(case, "sorry", None, at(2), status="done")
    answer(case, "remedy", ["resend"], at(3))
    case.schedule_follow_up("follow-up", at(7 * 24 * 60), "Did the new link work?")
    answer(case, "follow-up", "in a week", at(4))
    case.complete_walk(at(5))
    case.touch(at(5))
    return case


def fork(case: Case) -> Case:
    """Another machine's copy of the case."""
    return case.model_copy(deep=True)


def js(case: Case) -> dict[str, Any]:
    """The case file's JSON."""
    return case_to_json(case)


def steps_of(data: dict[str, Any]) -> dict[str, Any]:
    """Step id -> answer, of a case file's JSON."""
    return {s["id"]: s.get("answer") for s in data["steps"]}


def events(data: dict[str, Any], name: str) -> list[str]:
    """The details of the log entries named ``name``."""
    return [e["detail"] for e in data["log"] if e["event"] == name]
