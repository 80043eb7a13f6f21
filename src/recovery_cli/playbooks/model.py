"""The playbook format: its models, as pydantic checks their shape, and its JSON Schema.

The checks that need the whole file (placeholders, conditions, positions) are in
:mod:`recovery_cli.playbooks.check`; finding and loading files, in
:mod:`recovery_cli.playbooks.catalog`.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    field_validator,
    model_validator,
)

from .. import values
from .toml_positions import nearest_position

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
    default: bool | str | None = Field(
        default=None,
        description="What Enter answers: true or false for a yes/no question, "
        "or one of the choices of a choice.",
    )


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
    write: str | None = Field(
        default=None,
        description="The line as written, for email and chat (a reply uses it); "
        'without it the reply uses say, and write = "" leaves the step out of a reply.',
    )
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
