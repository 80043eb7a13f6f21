"""Playbook models and TOML loading with positioned errors.

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
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from . import render, values
from .errors import PlaybookError, Problem
from .toml_positions import key_positions, nearest_position, open_at_end

MAX_PLAYBOOK_BYTES = 1_000_000

_MONEY_PATTERN = r"^\d{1,12}(\.\d{1,2})?$"
_PLACEHOLDER_AMOUNT = r"\$(?:[a-z_][a-z0-9_]*|\{[a-z_][a-z0-9_]*\})"
_AMOUNT_PATTERN = rf"^(\d{{1,12}}(\.\d{{1,2}})?|{_PLACEHOLDER_AMOUNT})$"
_DELAY_PATTERN = r"^\s*\d{1,4}\s*[hdw]\s*$"

Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")]
AnswerKey = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
AskType = Literal["text", "yesno", "number", "money", "choice"]
OfferKind = Literal["refund", "exchange", "bonus", "gift", "credit", "discount", "support", "other"]
ConditionValue = str | bool | list[str]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class Ask(_Model):
    """Capture one answer under ``key``."""

    key: AnswerKey = Field(description="Name the answer is kept under; later text uses $key.")
    prompt: str = Field(description="The question the operator answers.")
    type: AskType = Field(default="text", description="What kind of answer to expect.")
    choices: list[str] = Field(
        default_factory=list, description='The options of a type = "choice" question.'
    )
    required: bool = Field(default=False, description="When true, the step cannot be skipped.")


class Offer(_Model):
    """One remedy on an offer menu."""

    id: Slug = Field(description="Short id of the option (a later when can test it).")
    label: str = Field(description="What the operator reads out.")
    kind: OfferKind | None = Field(default=None, description="What sort of remedy it is.")
    amount: str | None = Field(
        default=None,
        description='What it costs: "19.50", "$order_value" or a money answer like "$amount".',
        json_schema_extra={"pattern": _AMOUNT_PATTERN},
    )

    @field_validator("amount")
    @classmethod
    def _amount(cls, value: str | None) -> str | None:
        if value is None or values.is_money(value) or re.fullmatch(_PLACEHOLDER_AMOUNT, value):
            return value
        raise ValueError('not a valid amount: write "19.50" or "$order_value"')


class FollowUp(_Model):
    """Schedule a follow-up message some time after the call."""

    after: str = Field(
        description="How long after the step: a number and h, d or w, like 3d.",
        json_schema_extra={"pattern": _DELAY_PATTERN},
    )
    say: str = Field(description="The follow-up message, ready to send.")

    @field_validator("after")
    @classmethod
    def _after(cls, value: str) -> str:
        values.parse_delay(value)
        return value


class Step(_Model):
    """One screen of the walk."""

    id: Slug = Field(description="Short, unique id of the step (letters, digits, dashes).")
    title: str = Field(default="", description="The step's heading on screen.")
    say: str | None = Field(default=None, description="The line to read aloud.")
    do: str | None = Field(default=None, description="Coaching for the operator.")
    ask: Ask | None = Field(default=None, description="Capture one answer.")
    offer: list[Offer] = Field(default_factory=list, description="A menu of remedies.")
    pick: Literal["one", "many"] = Field(
        default="many", description="Whether one or several offers may be chosen."
    )
    follow_up: FollowUp | None = Field(
        default=None, description="A message to send some time after the call."
    )
    when: dict[str, ConditionValue] | None = Field(
        default=None,
        description="Run the step only if earlier answers match: {key = value}.",
    )

    @model_validator(mode="after")
    def _default_title(self) -> Step:
        if not self.title:
            self.title = self.id.replace("-", " ").capitalize()
        return self

    @property
    def capture_key(self) -> str | None:
        """The answer key this step fills, if any (ask key, or the step id for offers)."""
        if self.ask is not None:
            return self.ask.key
        if self.offer:
            return self.id
        return None

    @property
    def capture_type(self) -> str:
        """``offer``, an ask type, or ``note`` for steps that only say or do."""
        if self.ask is not None:
            return self.ask.type
        return "offer" if self.offer else "note"


class Playbook(_Model):
    """A recovery routine: metadata and its ordered steps."""

    id: Slug = Field(description="The playbook's id; must match the file name.")
    title: str = Field(description="The name shown in the playbook menu.")
    summary: str = Field(default="", description="When to use it, in one sentence.")
    tags: list[str] = Field(default_factory=list, description="Words to group playbooks by.")
    goodwill_limit: str | None = Field(
        default=None,
        description='Warn when chosen remedies cost more than this, like "50.00".',
        json_schema_extra={"pattern": _MONEY_PATTERN},
    )
    steps: list[Step] = Field(min_length=1, description="The steps, in order.")

    _source: str = PrivateAttr(default="")
    _digest: str = PrivateAttr(default="")
    _origin: str = PrivateAttr(default="user")
    _positions: dict[Any, tuple[int, int]] = PrivateAttr(default_factory=dict)

    @field_validator("goodwill_limit")
    @classmethod
    def _limit(cls, value: str | None) -> str | None:
        if value is not None and not values.is_money(value):
            raise ValueError('not a valid amount: write it in quotes, like "50.00"')
        return value

    @property
    def source(self) -> str:
        """The file it was loaded from."""
        return self._source

    @property
    def digest(self) -> str:
        """``sha256:<hex>`` of the exact bytes loaded: the version a case was walked with."""
        return self._digest

    def position(self, *path: str | int) -> tuple[int, int]:
        """Line and column of a key in the source file (or its nearest parent)."""
        return nearest_position(self._positions, path)

    @property
    def origin(self) -> str:
        """``default`` (shipped) or ``user`` (the seller's own folder)."""
        return self._origin

    def step(self, step_id: str) -> Step | None:
        """The step with this id, if the playbook still has it."""
        return next((s for s in self.steps if s.id == step_id), None)


def json_schema() -> dict[str, Any]:
    """The JSON Schema of the playbook format, in the Draft 4 dialect that TOML
    editors (Taplo, Even Better TOML) understand. TOML has no null, so optional
    keys are simply not required, rather than "string or null"."""
    raw = Playbook.model_json_schema(ref_template="#/definitions/{model}")
    definitions = raw.pop("$defs", {})

    def convert(node: Any) -> Any:
        if isinstance(node, list):
            return [convert(item) for item in node]
        if not isinstance(node, dict):
            return node
        # Drop pydantic's generated titles (strings), not properties named "title".
        node = {k: convert(v) for k, v in node.items() if not (k == "title" and isinstance(v, str))}
        branches = node.get("anyOf")
        if branches is not None:
            kept = [b for b in branches if b.get("type") != "null"]
            if len(kept) == 1:
                del node["anyOf"]
                node = {**kept[0], **node}
            else:
                node["anyOf"] = kept
        if node.get("default", ...) is None:
            del node["default"]
        if "const" in node:
            node["enum"] = [node.pop("const")]
        return node

    schema: dict[str, Any] = {
        "$schema": "http://json-schema.org/draft-04/schema#",
        "title": "recover playbook",
        **convert(raw),
        "definitions": {name: convert(d) for name, d in definitions.items()},
    }
    return schema


# --------------------------------------------------------------------------------------
# Loading


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
        names, well_formed = render.placeholders(text)
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
        known = set(render.CASE_FIELDS)
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
                if key in captures or key in render.CASE_FIELDS:
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
        if not (step.say or step.do or step.ask or step.offer or step.follow_up):
            self.add(at, "a step needs something to say, do, ask or offer")
        if step.ask is not None and step.offer:
            self.add((*at, "offer"), "a step can ask or offer, not both: split it in two")
        if step.when is not None:
            self._when(at, step.when, captures)
        for part in ("title", "say", "do"):
            self.text((*at, part), getattr(step, part), known)
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
        for part in ("title", "say", "do"):
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


def load_file(path: Path, *, origin: str = "user") -> Playbook:
    """Load one playbook file (its id must match the file name)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise PlaybookError(
            [Problem(str(path), 1, 1, "", f"cannot read: {exc.strerror or exc}")]
        ) from None
    playbook = parse_playbook(raw, str(path), stem=path.stem)
    playbook._origin = origin
    return playbook


def default_dir() -> Path:
    """The shipped playbooks: inside the installed package, or the source checkout's
    top-level ``playbooks/`` for an editable install."""
    packaged = Path(str(resources.files("recovery_cli"))) / "playbooks"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "playbooks"


def user_dir(home: Path) -> Path:
    """The seller's own playbooks; a file here overrides a default with the same id."""
    return home / "playbooks"


@dataclass
class Catalog:
    """Every playbook in use, by id, plus the files that failed to load."""

    playbooks: dict[str, Playbook]
    broken: list[PlaybookError]
    overridden: set[str] = field(default_factory=set)

    def get(self, playbook_id: str) -> Playbook | None:
        """The playbook in use with this id (the user's own wins over a default)."""
        return self.playbooks.get(playbook_id)

    def error_for(self, playbook_id: str) -> PlaybookError | None:
        """Why a playbook with this id (its file name) failed to load, if it did."""
        return next(
            (e for e in self.broken if e.problems and Path(e.problems[0].path).stem == playbook_id),
            None,
        )

    def ordered(self) -> list[Playbook]:
        """Playbooks in menu order: by title."""
        return sorted(self.playbooks.values(), key=lambda p: (p.title.lower(), p.id))


def playbook_files(folder: Path) -> list[Path]:
    """The playbooks in a folder: ``*.toml``, leaving out hidden files (an edit in
    progress is kept as ``.name.toml`` until it is valid)."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("*.toml") if not p.name.startswith("."))


def load_catalog(home: Path) -> Catalog:
    """Load the defaults, then the user's folder over them."""
    found: dict[str, Playbook] = {}
    broken: list[PlaybookError] = []
    defaults = {p.stem for p in playbook_files(default_dir())}
    for folder, origin in ((default_dir(), "default"), (user_dir(home), "user")):
        for path in playbook_files(folder):
            try:
                playbook = load_file(path, origin=origin)
            except PlaybookError as exc:
                broken.append(exc)
                # A broken user file must not let the default it meant to override
                # silently take its place on a call.
                found.pop(path.stem, None)
                continue
            found[playbook.id] = playbook
    overridden = {pid for pid, p in found.items() if p.origin == "user" and pid in defaults} | {
        Path(e.problems[0].path).stem for e in broken if e.problems
    } & defaults
    return Catalog(found, broken, overridden)
