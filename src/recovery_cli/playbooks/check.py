"""Loading one playbook from its bytes, with every problem positioned.

A playbook is a TOML file a seller can read and edit. Loading checks far more than
the shape: placeholders must name case fields or earlier answers, conditions must
name earlier captures with values they can actually take. Every problem of a file
is reported at once as ``file:line:col: field: message``; nothing is evaluated.
"""

from __future__ import annotations

import difflib
import hashlib
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from ..errors import PlaybookError, Problem
from . import placeholders
from .model import Ask, ConditionValue, FollowUp, Offer, Playbook, Step
from .toml_positions import key_positions, nearest_position, open_at_end

MAX_PLAYBOOK_BYTES = 1_000_000

_FIELDS_AT = {
    "playbook": set(Playbook.model_fields),
    "step": set(Step.model_fields),
    "ask": set(Ask.model_fields),
    "offer": set(Offer.model_fields),
    "follow_up": set(FollowUp.model_fields),
}

_TYPE_MESSAGES = {
    "string_type": "expected text in quotes",
    "bool_type": "expected true or false",
    "list_type": 'expected a list, like ["a", "b"]',
    "dict_type": "expected a table",
    "model_type": "expected a table",
    "model_attributes_type": "expected a table",
    "too_short": "must not be empty",
}


def _model_at(path: tuple[str | int, ...]) -> str:
    shape = tuple("#" if isinstance(p, int) else p for p in path)
    return {
        (): "playbook",
        ("steps", "#"): "step",
        ("steps", "#", "ask"): "ask",
        ("steps", "#", "offer", "#"): "offer",
        ("steps", "#", "follow_up"): "follow_up",
    }.get(shape, "")


def field_path(path: Iterable[str | int]) -> str:
    """``("steps", 2, "offer", 0, "amount")`` -> ``steps[2].offer[0].amount``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def _data_path(data: Any, loc: tuple[str | int, ...]) -> tuple[str | int, ...]:
    """Keep the part of a pydantic ``loc`` that names real data.

    Pydantic adds the names of union members and validators to ``loc``; they are not
    keys of the file. A key the data lacks (missing or unknown) ends the path.
    """
    kept: list[str | int] = []
    node = data
    for part in loc:
        in_list = isinstance(part, int) and isinstance(node, list) and 0 <= part < len(node)
        in_table = isinstance(part, str) and isinstance(node, dict)
        if in_list or (in_table and part in node):
            node = node[part]
            kept.append(part)
        elif in_table and not _is_tag(str(part)):
            kept.append(part)
            break
    return tuple(kept)


def _is_tag(part: str) -> bool:
    return "[" in part or part in {"str", "bool", "int", "float"}


def _message(error: Any, path: tuple[str | int, ...]) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        known = _FIELDS_AT.get(_model_at(path[:-1]), set())
        close = difflib.get_close_matches(str(path[-1]), sorted(known), n=1, cutoff=0.6)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        return f"unknown key{hint}"
    if kind == "missing":
        return "missing required key"
    if kind == "string_pattern_mismatch":
        if path and path[-1] == "key":
            return "use lowercase letters, digits and underscores, starting with a letter"
        return "use lowercase letters, digits and dashes, starting with a letter or digit"
    if kind in _TYPE_MESSAGES:
        return _TYPE_MESSAGES[kind]
    message = str(error["msg"])
    return message.removeprefix("Value error, ")


def _structure_problems(
    label: str, error: ValidationError, data: Any, positions: dict[Any, Any]
) -> list[Problem]:
    problems: dict[tuple[str | int, ...], Problem] = {}
    for item in error.errors():
        path = _data_path(data, tuple(item["loc"]))
        if path in problems:
            # Several union members failed at one place: say so once.
            message = (
                "a condition compares with true, false, a text value or a list of them"
                if "when" in path
                else "not a valid value here"
            )
            problems[path] = Problem(
                label, problems[path].line, problems[path].column, field_path(path), message
            )
            continue
        line, col = nearest_position(positions, path)
        problems[path] = Problem(label, line, col, field_path(path), _message(item, path))
    return sorted(problems.values(), key=lambda p: (p.line, p.column))


@dataclass
class _Checker:
    """The checks pydantic cannot do: cross-references between steps."""

    label: str
    positions: dict[Any, Any]
    problems: list[Problem] = field(default_factory=list)

    def add(self, path: tuple[str | int, ...], message: str) -> None:
        line, col = nearest_position(self.positions, path)
        self.problems.append(Problem(self.label, line, col, field_path(path), message))

    def text(self, path: tuple[str | int, ...], text: str | None, known: set[str]) -> None:
        if text is None:
            return
        names, well_formed = placeholders.names_in(text)
        if not well_formed:
            self.add(
                path, "a '$' must start a placeholder like $customer; write $$ for a dollar sign"
            )
        for name in names:
            if name not in known:
                close = difflib.get_close_matches(name, sorted(known), n=1)
                hint = f" (did you mean ${close[0]}?)" if close else ""
                self.add(path, f"unknown placeholder ${name}{hint}")

    def run(
        self, data: dict[str, Any], steps: list[Step | dict[str, Any]], stem: str | None
    ) -> None:
        """Cross-check the steps in order. A step that failed validation (a raw dict)
        still makes its id and answer key known, so it causes no second-hand errors."""
        file_id = data.get("id")
        if stem is not None and isinstance(file_id, str) and file_id != stem:
            self.add(("id",), f"id '{file_id}' must match the file name '{stem}.toml'")
        known = set(placeholders.CASE_FIELDS)
        # An answer key -> the step that captures it (None: a step too broken to tell).
        captures: dict[str, Step | None] = {}
        money_keys = {"order_value"}
        seen_steps: set[str] = set()
        for i, step in enumerate(steps):
            at = ("steps", i)
            step_id, key = _raw_ids(step) if isinstance(step, dict) else (step.id, step.capture_key)
            if step_id is not None:
                if step_id in seen_steps:
                    self.add((*at, "id"), f"duplicate step id '{step_id}'")
                seen_steps.add(step_id)
            if isinstance(step, Step):
                self._step(at, step, known, captures, money_keys)
            else:
                self._raw_step(at, step, known, captures)
            if key is not None:
                if key in captures or key in placeholders.CASE_FIELDS:
                    has_ask = step.ask is not None if isinstance(step, Step) else "ask" in step
                    self.add(
                        (*at, "ask", "key") if has_ask else (*at, "id"),
                        f"'{key}' is already used as an answer key or case field",
                    )
                captures[key] = step if isinstance(step, Step) else None
                if re.fullmatch(r"[a-z_][a-z0-9_]*", key):
                    known = known | {key}
                if isinstance(step, Step) and step.ask is not None and step.ask.type == "money":
                    money_keys.add(key)
            if isinstance(step, Step) and step.follow_up is not None:
                self.text((*at, "follow_up", "say"), step.follow_up.say, known)

    def _step(
        self,
        at: tuple[str | int, ...],
        step: Step,
        known: set[str],
        captures: dict[str, Step | None],
        money_keys: set[str],
    ) -> None:
        if not (step.say or step.write or step.do or step.ask or step.offer or step.follow_up):
            self.add(at, "a step needs something to say, write, do, ask or offer")
        if step.ask is not None and step.offer:
            self.add((*at, "offer"), "a step can ask or offer, not both: split it in two")
        if step.when is not None:
            self._when(at, step.when, captures)
        for part in ("title", "say", "do"):
            self.text((*at, part), getattr(step, part), known)
        # A written line may use the step's own answer: the reply is composed once
        # the step is answered (on screen before that, it shows as a gap to fill).
        own = step.capture_key if step.ask is not None else None
        self.text((*at, "write"), step.write, known | {own} if own else known)
        if step.ask is not None:
            self._ask(at, step.ask, known)
        seen_offers: set[str] = set()
        for j, offer in enumerate(step.offer):
            if offer.id in seen_offers:
                self.add((*at, "offer", j, "id"), f"duplicate offer id '{offer.id}'")
            seen_offers.add(offer.id)
            self.text((*at, "offer", j, "label"), offer.label, known)
            if offer.amount is not None and offer.amount.startswith("$"):
                name = offer.amount.strip("${}")
                if name not in money_keys:
                    self.add(
                        (*at, "offer", j, "amount"),
                        f"${name} is not a money answer or $order_value",
                    )

    def _raw_step(
        self,
        at: tuple[str | int, ...],
        raw: dict[str, Any],
        known: set[str],
        captures: dict[str, Step | None],
    ) -> None:
        """The checks that still make sense on a step with structural errors: its
        readable texts and the keys its condition names."""
        for part in ("title", "say", "write", "do"):
            if isinstance(raw.get(part), str):
                self.text((*at, part), raw[part], known)
        when = raw.get("when")
        if isinstance(when, dict):
            for key in when:
                if key not in captures:
                    self.add((*at, "when", key), f"no earlier step captures '{key}'")

    def _ask(self, at: tuple[str | int, ...], ask: Ask, known: set[str]) -> None:
        self.text((*at, "ask", "prompt"), ask.prompt, known)
        if ask.type == "choice" and len(ask.choices) < 2:
            self.add((*at, "ask", "choices"), "a choice needs at least two choices")
        if ask.type != "choice" and ask.choices:
            self.add((*at, "ask", "choices"), 'choices only go with type = "choice"')
        if len(set(ask.choices)) != len(ask.choices):
            self.add((*at, "ask", "choices"), "duplicate choice")
        default = ask.default
        if default is None:
            return
        where = (*at, "ask", "default")
        if ask.type == "yesno":
            if not isinstance(default, bool):
                self.add(where, "a yes/no default is true or false (without quotes)")
        elif ask.type == "choice":
            if default not in ask.choices:
                self.add(where, f"the default must be one of {', '.join(ask.choices)}")
        else:
            self.add(where, "a default only goes with yes/no and choice questions")

    def _when(
        self,
        at: tuple[str | int, ...],
        when: dict[str, ConditionValue],
        captures: dict[str, Step | None],
    ) -> None:
        if not when:
            self.add((*at, "when"), "an empty condition: remove it or name an earlier answer")
        for key, expected in when.items():
            path = (*at, "when", key)
            if key not in captures:
                self.add(path, f"no earlier step captures '{key}'")
                continue
            source = captures[key]
            if source is None:
                continue  # that step has its own errors; its answer type is unknown
            wanted = expected if isinstance(expected, list) else [expected]
            if not wanted:
                self.add(path, "an empty list matches nothing: name at least one value")
                continue
            kind = source.capture_type
            if kind == "yesno":
                if not isinstance(expected, bool):
                    self.add(path, f"'{key}' is a yes/no answer: compare it with true or false")
            elif kind in ("choice", "offer"):
                allowed = (
                    source.ask.choices if source.ask is not None else [o.id for o in source.offer]
                )
                for value in wanted:
                    if isinstance(value, bool):
                        self.add(
                            path,
                            f"'{key}' is not yes/no: compare it with one of "
                            f"{', '.join(map(str, allowed))}",
                        )
                    elif value not in allowed:
                        self.add(path, f"'{value}' is not one of {', '.join(map(str, allowed))}")
            else:
                self.add(path, "conditions can test yes/no, choice and offer answers only")


def _raw_ids(raw: dict[str, Any]) -> tuple[str | None, str | None]:
    """The step id and answer key of a step that failed validation, where readable."""
    step_id = raw.get("id") if isinstance(raw.get("id"), str) else None
    ask = raw.get("ask")
    if isinstance(ask, dict) and isinstance(ask.get("key"), str):
        return step_id, ask["key"]
    if raw.get("offer") and step_id is not None:
        return step_id, step_id
    return step_id, None


def _checked_steps(data: dict[str, Any]) -> list[Step | dict[str, Any]]:
    """Each step validated on its own; a step that fails stays a raw dict."""
    steps = data.get("steps")
    if not isinstance(steps, list):
        return []
    checked: list[Step | dict[str, Any]] = []
    for raw in steps:
        try:
            checked.append(Step.model_validate(raw))
        except ValidationError:
            checked.append(raw if isinstance(raw, dict) else {})
    return checked


def _position_of_offset(raw: bytes, offset: int) -> tuple[int, int]:
    before = raw[:offset]
    return before.count(b"\n") + 1, offset - (before.rfind(b"\n") + 1) + 1


def _parse_toml(text: str, label: str) -> dict[str, Any]:
    """``tomllib.loads`` with its errors turned into one positioned problem."""
    try:
        return tomllib.loads(text)
    except RecursionError:
        _, deep = open_at_end(text)
        line, col = deep or (1, 1)
        message = "TOML syntax: arrays or tables nested too deeply"
    except tomllib.TOMLDecodeError as exc:
        match = _TOML_AT.match(str(exc))
        if match:
            line, col, message = int(match["line"]), int(match["col"]), match["msg"]
        else:
            # "at end of document": point where the thing left open began.
            message = str(exc).replace(" (at end of document)", "")
            opened, _ = open_at_end(text)
            lines = text.rstrip("\n").split("\n")
            line, col = opened or (len(lines), len(lines[-1]) + 1)
            message += " (still open at the end of the file)"
        message = f"TOML syntax: {message}"
    raise PlaybookError([Problem(label, line, col, "", message)])


_TOML_AT = re.compile(r"^(?P<msg>.*?) \(at line (?P<line>\d+), column (?P<col>\d+)\)$", re.S)


def parse_playbook(raw: bytes, label: str, *, stem: str | None = None) -> Playbook:
    """Parse and check one playbook from bytes; raise PlaybookError with every problem."""
    if len(raw) > MAX_PLAYBOOK_BYTES:
        raise PlaybookError(
            [Problem(label, 1, 1, "", f"too large for a playbook ({len(raw):,} bytes)")]
        )
    try:
        # utf-8-sig: some editors start a file with an invisible byte order mark.
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line, col = _position_of_offset(raw, exc.start)
        raise PlaybookError([Problem(label, line, col, "", "not UTF-8 text")]) from None
    if not text.strip():
        raise PlaybookError([Problem(label, 1, 1, "", "the file is empty")])
    data = _parse_toml(text, label)
    positions = key_positions(text)
    problems: list[Problem] = []
    try:
        playbook = Playbook.model_validate(data)
    except ValidationError as exc:
        problems = _structure_problems(label, exc, data, positions)
    checker = _Checker(label, positions)
    checker.run(data, _checked_steps(data), stem)
    problems += checker.problems
    if problems:
        raise PlaybookError(sorted(problems, key=lambda p: (p.line, p.column)))
    playbook._source = label
    playbook._digest = "sha256:" + hashlib.sha256(raw).hexdigest()
    playbook._positions = positions
    return playbook
