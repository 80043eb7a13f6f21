"""Answers files: a walk's answers written down, to create a case without prompts,
to pre-fill a walk, or to save a walk for replaying or templating.

An answers file is TOML or JSON (by extension)::

    playbook = "not-delivered"
    [customer]
    name = "Dana Reyes"
    order_value = "29.00"
    [answers]
    complaint = "The link never came"     # an ask key
    arrived = false                       # a yes/no
    make-good = ["bonus", "credit"]       # an offer step id -> chosen offer ids
    [notes]
    resend = "Sent from my own address"   # a note on a step that only says or does
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from .case import CUSTOMER_FIELDS, Case, Customer, parse_customer_field
from .errors import ExitStatus, RecoverError
from .fileio import write_atomic
from .playbooks.model import Playbook, Step
from .walk import Walk

TOP_KEYS = ("playbook", "customer", "answers", "notes")


class AnswersError(RecoverError):
    """An answers file that cannot be used; every problem is listed."""

    exit_code = ExitStatus.USAGE

    def __init__(self, path: str, problems: list[str]) -> None:
        self.problems = problems
        body = "\n".join(f"  {p}" for p in problems)
        noun = "problem" if len(problems) == 1 else "problems"
        super().__init__(f"{path}: {len(problems)} {noun}, no case was written:\n{body}")


@dataclass
class Answers:
    """The contents of an answers file."""

    source: str
    problems: list[str] = field(default_factory=list)
    playbook: str | None = None
    customer: dict[str, Any] = field(default_factory=dict)
    answers: dict[str, Any] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)

    def line_for(self, step: Step) -> str | None:
        """What to type at this step, from the file (None if the file is silent).
        Raises ValueError when the value has the wrong type for the step."""
        key = step.capture_key
        if key is None:
            return self.notes.get(step.id)
        if key not in self.answers:
            return None
        return _as_line(self.answers[key], step)


def _as_line(value: Any, step: Step) -> str:
    kind = step.capture_type
    if kind == "offer":
        picked = value if isinstance(value, list) else [value]
        if not all(isinstance(v, str) for v in picked):
            raise ValueError('give the chosen offer ids as a list of text, like ["refund"]')
        return ",".join(picked)  # an empty list: every offer declined
    if kind == "yesno":
        if isinstance(value, bool):
            return "y" if value else "n"
        if isinstance(value, str):
            return value
        raise ValueError("give true or false")
    if kind in ("money", "number"):
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise ValueError('give a number, like "19.50"')
        return str(value)
    if not isinstance(value, str):
        raise ValueError("give text in quotes")
    return value


def load(path: Path) -> Answers:
    """Read an answers file (``.json`` as JSON, anything else as TOML). Problems with
    its shape are kept in ``problems``; only an unreadable file raises."""
    label = str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise AnswersError(label, [f"cannot read: {exc.strerror or exc}"]) from None
    try:
        text = raw.decode("utf-8-sig")
        data = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    except (UnicodeDecodeError, ValueError) as exc:
        raise AnswersError(label, [f"not valid {_kind(path)}: {exc}"]) from None
    if not isinstance(data, dict):
        raise AnswersError(label, [f"not a table of answers ({_kind(path)} object)"])
    try:
        json.dumps(data, ensure_ascii=False, default=str).encode("utf-8")
    except UnicodeEncodeError:
        raise AnswersError(
            label, ["holds text that is not Unicode (a lone \\uD800-\\uDFFF escape)"]
        ) from None
    problems: list[str] = []
    for key in data:
        if key not in TOP_KEYS:
            problems.append(f"unknown key {key!r} (known: {', '.join(TOP_KEYS)})")
    answers = Answers(label)
    playbook = data.get("playbook")
    if playbook is not None and not isinstance(playbook, str):
        problems.append("playbook: give the playbook id as text")
    answers.playbook = playbook if isinstance(playbook, str) else None
    for name in ("customer", "answers", "notes"):
        section = data.get(name, {})
        if not isinstance(section, dict):
            problems.append(f"{name}: expected a table")
            continue
        setattr(answers, name, section)
    for key, value in list(answers.customer.items()):
        if key not in CUSTOMER_FIELDS:
            problems.append(f"customer.{key}: unknown (known: {', '.join(CUSTOMER_FIELDS)})")
            del answers.customer[key]
        elif not isinstance(value, (str, int, float)) or isinstance(value, bool):
            problems.append(f"customer.{key}: give text")
            del answers.customer[key]
    for key, value in list(answers.notes.items()):
        if not isinstance(value, str):
            problems.append(f"notes.{key}: give text")
            del answers.notes[key]
    # Kept, not raised: the walk over the answers finds more, and all are told at once.
    answers.problems = problems
    return answers


def _kind(path: Path) -> str:
    return "JSON" if path.suffix.lower() == ".json" else "TOML"


def customer_of(answers: Answers) -> tuple[Customer, set[str], list[str]]:
    """The customer in the file, which details it gave, and problems with them."""
    filled: dict[str, object] = {}
    problems: list[str] = []
    for key, value in answers.customer.items():
        try:
            parsed = parse_customer_field(key, str(value))
        except ValueError as exc:
            problems.append(f"customer.{key}: {exc}")
            continue
        if parsed is not None:
            filled[key] = parsed
    return Customer.model_validate(filled), set(filled), problems


def merged_customer(
    answers: Answers, customer: Customer, given: set[str]
) -> tuple[Customer, set[str], list[str]]:
    """The customer of the file with the details given as options over it, which
    details are known, and every problem of the file so far."""
    from_file, in_file, problems = customer_of(answers)
    merged = {**from_file.model_dump(include=in_file), **customer.model_dump(include=given)}
    return Customer.model_validate(merged), in_file | given, answers.problems + problems


def fill(walk: Walk, answers: Answers, now: datetime) -> list[str]:
    """Walk to the end with no prompts, from the file alone; return every problem.

    A step the file does not answer is skipped (a required one is a problem); an
    answer whose step never ran, or that names no step at all, is a problem too.
    """
    problems: list[str] = []
    captures = {s.capture_key for s in walk.playbook.steps if s.capture_key is not None}
    for key in answers.answers:
        if key not in captures:
            known = ", ".join(sorted(captures)) or "none"
            problems.append(f"answers.{key}: this playbook asks no such thing (it asks: {known})")
    steps = {s.id for s in walk.playbook.steps if s.capture_key is None}
    for step_id in answers.notes:
        if step_id not in steps:
            problems.append(f"notes.{step_id}: no step of this playbook takes a note by that id")
    used: set[str] = set()
    while not walk.finished:
        step = walk.current
        assert step is not None
        where = f"answers.{step.capture_key}" if step.capture_key else f"notes.{step.id}"
        used.add(step.capture_key or step.id)
        try:
            line = answers.line_for(step)
        except ValueError as exc:
            problems.append(f"{where}: {exc}")
            line = None
        if line is None:
            if step.ask is not None and step.ask.required:
                problems.append(f"{where}: missing, and step {step.id!r} needs an answer")
            if step.capture_key is None:
                walk.submit("", now)  # a step that only says or does: done
            else:
                walk.skip(now, force=True)
            continue
        reply = walk.submit(line, now)
        if reply.kind == "invalid":
            problems.append(f"{where}: {reply.message}")
            walk.skip(now, force=True)
    for key in answers.answers:
        if key in captures and key not in used:
            problems.append(f"answers.{key}: not used, because its step did not run")
    return problems


def from_case(case: Case, playbook: Playbook) -> dict[str, Any]:
    """A walk's answers as an answers file (for ``--save-answers``)."""
    customer = {
        key: str(value) if isinstance(value, Decimal) else value
        for key, value in case.customer.model_dump(include=set(CUSTOMER_FIELDS)).items()
        if value not in ("", None)
    }
    data: dict[str, Any] = {"playbook": playbook.id}
    if customer:
        data["customer"] = customer
    data["answers"] = dict(case.answers())
    for record in case.steps:  # an offer step declined: none of its offers chosen
        if record.status == "declined" and record.key is not None:
            data["answers"][record.key] = []
    notes = {r.id: r.note for r in case.steps if r.status == "noted" and r.note}
    if notes:
        data["notes"] = notes
    return data


def save(path: Path, data: dict[str, Any]) -> None:
    """Write an answers file atomically (0600), TOML or JSON by extension."""
    if path.suffix.lower() == ".json":
        raw = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    else:
        import tomli_w

        raw = tomli_w.dumps(data)
    write_atomic(path, raw.encode("utf-8"))
