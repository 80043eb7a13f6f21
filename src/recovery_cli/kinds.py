"""The words a case is made of, without the models: statuses, outcomes, follow-up
results and their labels, how a step's answer reads, and the customer details a walk
asks for (checked as typed).

The case models (:mod:`recovery_cli.case`) are built with Pydantic, whose import costs
about as much as Typer's. The everyday views only show what the index keeps, as plain
JSON, so they take these from here and never import the models.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Literal

from .text import strip_controls
from .values import parse_money

SCHEMA_VERSION = 1

Status = Literal["open", "awaiting_follow_up", "closed"]
Happy = Literal["yes", "not_yet", "no"]
OutcomeResult = Literal["kept", "refunded", "lost", "escalated"]
FollowUpResult = Literal["reached", "not_reached", "cancelled"]
StepStatus = Literal["answered", "noted", "done", "skipped", "declined"]
Answer = str | bool | list[str]

STATUSES: tuple[str, ...] = ("open", "awaiting_follow_up", "closed")
OUTCOMES: tuple[str, ...] = ("kept", "refunded", "lost", "escalated")
HAPPY_LABELS = {"yes": "yes", "not_yet": "not yet", "no": "no"}
STATUS_LABELS = {
    "open": "open",
    "awaiting_follow_up": "awaiting follow-up",
    "closed": "closed",
}
FOLLOW_UP_RESULT_LABELS = {
    "reached": "reached",
    "not_reached": "not reached",
    "cancelled": "cancelled",
}

# The customer details asked at the start of a walk, with their prompts.
CUSTOMER_FIELDS: dict[str, str] = {
    "name": "Name",
    "email": "Email",
    "order": "Order reference",
    "order_value": "Order value",
    "channel": "Channel (phone, email, chat...)",
}


def answer_words(status: str, answer: Answer | None, note: str, labels: Mapping[str, str]) -> str:
    """A step's answer in words: yes/no, chosen offers by their ``labels`` (offer id
    to the label rendered when chosen), or the text typed; the note for a step with
    no answer; "none of these" for an offer step declined."""
    if status == "declined":
        return "none of these"
    if isinstance(answer, bool):
        return "yes" if answer else "no"
    if isinstance(answer, list):
        return ", ".join(labels.get(a, a) for a in answer)
    return answer if answer is not None else note


def follow_up_result_words(result: str | None, happy: str | None, note: str) -> str:
    """``reached, happy: not yet · a note`` (empty while the follow-up is still to do)."""
    if result is None:
        return ""
    text = FOLLOW_UP_RESULT_LABELS.get(result, result)
    if happy:
        text += f", happy: {HAPPY_LABELS.get(happy, happy)}"
    return f"{text} · {note}" if note else text


def parse_customer_field(key: str, text: str) -> str | Decimal | None:
    """One customer detail as typed, cleaned and checked; None when left blank.

    Raises ValueError with a message for the operator.
    """
    value = strip_controls(text).strip()
    if not value:
        return None
    if key == "email" and ("@" not in value or " " in value):
        raise ValueError("That does not look like an email address.")
    if key == "order_value":
        return parse_money(value)
    return value


# Channels where the seller writes rather than speaks: the walk shows ``write`` lines.
_WRITTEN = re.compile(
    r"\b(e-?mail|mail|chat|sms|text|message|messages|dm|social|review|reviews|whatsapp|"
    r"messenger|facebook|instagram|twitter|letter|form|post)\b",
    re.IGNORECASE,
)


def is_written(channel: str) -> bool:
    """Whether a case's channel is one the seller writes in (email, chat, a review...)."""
    return bool(_WRITTEN.search(channel))
