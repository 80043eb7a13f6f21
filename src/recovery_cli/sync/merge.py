"""Two versions of one case file made into one, without losing a word typed on either.

A case edited on two machines comes back from git as two versions of its file and
their common ancestor (the *base*), or from Dropbox, Syncthing or iCloud as the file
and a conflict copy, with no base at all. :func:`merge_cases` makes one case of them:

* lists merge by identity and time, never by position: step records by step id,
  remedies by step and offer, follow-ups by number (two different follow-ups that
  both sides numbered alike are both kept, the other side's renumbered), the log and
  the mail thread by what each entry is;
* every other field merges three-way: changed on one side only, that side's value;
  changed on both to different values, the side changed later wins;
* whatever a decision sets aside (an answer, a follow-up's result, a value) is written
  into the case's log, word for word, with one ``merged`` event saying what was
  decided.

Pure: parsed case files in, a dict ready to encode out. No files, no clock (``now``
comes in). Fields this version does not know are kept.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Any, Final, Literal

from ..errors import RecoverError
from ..kinds import SCHEMA_VERSION, answer_words, follow_up_result_words
from ..text import replace_surrogates

if TYPE_CHECKING:
    from pydantic import TypeAdapter

Side = Literal["ours", "theirs"]
Record = dict[str, Any]

# How far along an attempt to send is: a later state never gives way to an earlier one.
SEND_RANK: Final = {"sending": 0, "drafted": 1, "opened": 1, "not_sent": 2, "sent": 3}
# What a follow-up's result is made of: taken whole from one side, never mixed.
RESULT_FIELDS: Final = ("done_at", "result", "happy", "note")
# The longest ``merged`` event detail, and the longest value a note quotes.
DETAIL_LIMIT: Final = 500
_QUOTE_LIMIT: Final = 60
_NOTE_LIMIT: Final = 200
# The events a merge writes into the case's log.
MERGED_EVENT: Final = "merged"
SET_ASIDE_EVENT: Final = "set aside"


class MergeError(RecoverError):
    """The two versions cannot be made one case: they are different cases, or one of
    them is not a case this version can read. ``side`` names the version at fault
    (None: neither alone); ``newer``: it was written by a newer version of recover.
    The message names the version and the field, never what a field holds."""

    def __init__(self, message: str, *, side: Side | None = None, newer: bool = False) -> None:
        super().__init__(message)
        self.side = side
        self.newer = newer


@dataclass(frozen=True)
class Merged:
    """The merged case file's JSON (ready to encode) and what the merge decided, in
    short sentences (empty when the two versions were the same)."""

    data: dict[str, Any]
    notes: list[str]


class _Absent:
    """A marker: a field a version does not have, or a base there is none of."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


MISSING: Final = _Absent("MISSING")  # the field is not in this version
NOBASE: Final = _Absent("NOBASE")  # there is no common ancestor to compare with


# -- reading and writing the JSON of a case file ----------------------------------------
def decode_case(raw: bytes, *, side: Side = "ours") -> dict[str, Any]:
    """The JSON of a case file from its bytes, checked to be a case this version can
    merge; MergeError (naming ``side``) when it is not."""
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        raise MergeError("is not JSON", side=side) from None
    check_case(data, side=side)
    assert isinstance(data, dict)  # checked just above
    return data


def check_case(data: object, *, side: Side = "ours") -> None:
    """MergeError (naming ``side``) unless ``data`` is the JSON of a valid case of a
    schema this version knows, whose text can be written as UTF-8."""
    if not isinstance(data, dict):
        raise MergeError("is not a case", side=side)
    version = data.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise MergeError("is not a valid case (bad schema_version)", side=side)
    if version > SCHEMA_VERSION:
        raise MergeError(
            f"was written by a newer version of recover (schema {version})",
            side=side,
            newer=True,
        )
    try:
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise MergeError("is not a valid case (text that is not Unicode)", side=side) from None
    except (ValueError, RecursionError):
        raise MergeError("is not a valid case", side=side) from None
    _validate(data, side)


def encode_case(data: Mapping[str, Any]) -> bytes:
    """The bytes of a case file from its JSON, written as the store writes one
    (indented, UTF-8, a newline at the end), every field kept."""
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:  # never from a checked case; kept like the store does
        return replace_surrogates(text).encode("utf-8")


def _validate(data: Mapping[str, Any], side: Side | None) -> None:
    from pydantic import ValidationError

    from ..case import Case

    try:
        Case.model_validate(data)
    except ValidationError as exc:
        fields = sorted({".".join(str(p) for p in e["loc"]) for e in exc.errors()})[:3]
        raise MergeError(f"is not a valid case (bad {', '.join(fields)})", side=side) from None


@cache
def _moments() -> TypeAdapter[datetime]:
    from pydantic import AwareDatetime, TypeAdapter

    return TypeAdapter(AwareDatetime)


def _when(value: Any) -> datetime:
    """A time as a case file holds it, read exactly as the case models read it."""
    return _moments().validate_python(value)


def _event(now: datetime, event: str, detail: str) -> Record:
    """A log entry, its time written exactly as a case file writes the log's."""
    from ..case import Event

    return Event(at=now, event=event, detail=detail).model_dump(mode="json")


@cache
def _defaults(model: str) -> dict[str, Any]:
    """The fields of a case model that have a default, with it: what a record the
    base lacks holds (no mail yet is a thread with no messages and no reply)."""
    from .. import case

    fields = getattr(case, model).model_fields
    return {
        name: info.get_default(call_default_factory=True)
        for name, info in fields.items()
        if not info.is_required()
    }


def _part(base: Any, key: str, model: str) -> Any:
    """The base's record ``key`` to merge a record against: as the base holds it, its
    model's defaults when the base has none (null or no key), NOBASE with no base."""
    if not isinstance(base, dict):
        return NOBASE
    value = base.get(key)
    return value if isinstance(value, dict) else _defaults(model)


@cache
def _known(model: str) -> frozenset[str]:
    """The fields a case model of this version knows."""
    from .. import case

    found: frozenset[str] = frozenset(getattr(case, model).model_fields)
    return found


# -- comparing and showing values -------------------------------------------------------
def _canon(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _same(a: Any, b: Any) -> bool:
    """Whether two values are the same JSON: keys in another order are alike, ``1``
    and ``true`` (or ``1.0``) are not."""
    if isinstance(a, _Absent) or isinstance(b, _Absent):
        return a is b
    return a is b or _canon(a) == _canon(b)


def _show(value: Any, limit: int | None = None) -> str:
    """A value as a note quotes it: text in quotes, nothing as ``nothing``."""
    if value is None or isinstance(value, _Absent):
        return "nothing"
    if isinstance(value, str):
        text = value
        if limit is not None and len(text) > limit:
            text = text[: limit - 1] + "…"
        return f"'{text}'"
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    if limit is not None and len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


def _at(base: Any, key: str) -> Any:
    """A field of the base (MISSING: the base lacks it; NOBASE: there is no base)."""
    if isinstance(base, dict):
        return base.get(key, MISSING)
    return NOBASE


def _keys(ours: Mapping[str, Any], theirs: Mapping[str, Any]) -> list[str]:
    """Every key of the two, in ours' order with theirs' own keys after."""
    return [*ours, *(k for k in theirs if k not in ours)]


def _with_extras(kept: Record, other: Record, model: str) -> Record:
    """``kept``, with the fields of ``other`` that this version does not know and
    ``kept`` lacks (a newer tool's additions survive either side winning)."""
    known = _known(model)
    extra = {k: v for k, v in other.items() if k not in known and k not in kept}
    return {**kept, **extra} if extra else kept


def _labels(case: Mapping[str, Any], step: str) -> dict[str, str]:
    """The offers chosen at a step, by id, with the labels they were chosen with."""
    found: dict[str, str] = {}
    for remedy in case.get("remedies") or []:
        if remedy.get("step") == step:
            found[remedy.get("offer", "")] = remedy.get("label", "")
    return found


def _step_words(record: Record, labels: Mapping[str, str]) -> str:
    """A step record in words: its answer (and note), else its note, else its status."""
    status = str(record.get("status", ""))
    answer = record.get("answer")
    note = str(record.get("note") or "")
    words = answer_words(status, answer, note, labels)
    if answer is not None and note and words != note:
        words = f"{words} (note: {note})"
    return words or status


def _result_words(record: Record) -> str:
    """A follow-up's result in words (``not done`` while it is still to do)."""
    if record.get("done_at") is None:
        note = str(record.get("note") or "")
        return f"not done (note: {note})" if note else "not done"
    return follow_up_result_words(record.get("result"), record.get("happy"), record.get("note", ""))


# -- one merge's decisions ----------------------------------------------------------------
@dataclass
class _Conflict:
    short: str  # the note, every value shortened
    full: str  # the same sentence with the value set aside in full


@dataclass
class _Merge:
    """The running decisions of one merge."""

    other: str
    ours_later: bool
    section: str = ""
    notes: dict[str, list[str]] = field(default_factory=dict)
    conflicts: list[_Conflict] = field(default_factory=list)
    taken: list[str] = field(default_factory=list)

    def note(self, text: str) -> None:
        self.notes.setdefault(self.section, []).append(_cut(text, _NOTE_LIMIT))

    def take(self, what: str) -> None:
        if what not in self.taken:
            self.taken.append(what)

    def decide(self, what: str, kept: Any, lost: Any, *, kept_ours: bool, why: str) -> None:
        """Record a conflict: ``kept`` (a value, or words) won over ``lost``, and why."""

        def sentence(limit: int | None) -> str:
            if kept_ours:
                return (
                    f"{what}: kept {_show(kept, _QUOTE_LIMIT)} ({why}), "
                    f"{self.other} had {_show(lost, limit)}"
                )
            return (
                f"{what}: took {_show(kept, _QUOTE_LIMIT)} from {self.other} ({why}), "
                f"set aside {_show(lost, limit)}"
            )

        short = _cut(sentence(_QUOTE_LIMIT), _NOTE_LIMIT)
        self.notes.setdefault(self.section, []).append(short)
        self.conflicts.append(_Conflict(short, sentence(None)))

    def pick(
        self, what: str, base: Any, ours: Any, theirs: Any, *, ours_wins: bool | None = None
    ) -> Any:
        """One value, three-way: a side's change over no change; with both changed,
        the side changed later (or ``ours_wins``, when given) wins."""
        if _same(ours, theirs):
            return ours
        if base is NOBASE:
            # With nothing to compare with, a value beats the absence of the field.
            if ours is MISSING:
                self.take(what)
                return theirs
            if theirs is MISSING:
                return ours
        else:
            if _same(base, ours):
                self.take(what)
                return theirs
            if _same(base, theirs):
                return ours
        win = self.ours_later if ours_wins is None else ours_wins
        kept, lost = (ours, theirs) if win else (theirs, ours)
        self.decide(what, kept, lost, kept_ours=win, why="changed later")
        return kept

    def fields(
        self,
        prefix: str,
        base: Any,
        ours: Record,
        theirs: Record,
        *,
        decided: Mapping[str, Any] | None = None,
        ours_wins: bool | None = None,
    ) -> Record:
        """A record merged field by field (``decided``: fields already settled)."""
        out: Record = {}
        for key in _keys(ours, theirs):
            if decided is not None and key in decided:
                value = decided[key]
            else:
                value = self.pick(
                    prefix + key,
                    _at(base, key),
                    ours.get(key, MISSING),
                    theirs.get(key, MISSING),
                    ours_wins=ours_wins,
                )
            if value is not MISSING:
                out[key] = value
        return out


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# -- lists, by identity -------------------------------------------------------------------
Key = tuple[Any, int]


def _keyed(records: Iterable[Record], key: Callable[[Record], Any]) -> list[tuple[Key, Record]]:
    """Each record with its key and which occurrence of that key it is (a key twice
    on one side stays twice, and meets the other side's second one)."""
    seen: dict[Any, int] = {}
    out = []
    for record in records:
        k = key(record)
        seen[k] = seen.get(k, 0) + 1
        out.append(((k, seen[k]), record))
    return out


def _records(
    merge: _Merge,
    base: Any,
    ours: list[Record],
    theirs: list[Record],
    key: Callable[[Record], Any],
    one: Callable[[Any, Record, Record], Record],
    *,
    label: Callable[[Record], str],
    after_predecessor: bool = False,
    withdrawn: Callable[[Record, Side], bool] | None = None,
) -> list[Record]:
    """Two lists of records merged by ``key``: a record on one side only is kept
    (unless ``withdrawn(record, side that lacks it)``); one on both is merged by
    ``one(base, ours, theirs)``. Ours' order is kept; a record of theirs alone goes
    after the record before it in theirs (``after_predecessor``), or at the end."""
    base_by = dict(_keyed(base, key)) if isinstance(base, list) else {}
    order = [k for k, _ in _keyed(ours, key)]
    merged = dict(_keyed(ours, key))
    met: set[Key] = set()
    before: Key | None = None
    for k, record in _keyed(theirs, key):
        if k in merged:
            merged[k] = one(base_by.get(k, NOBASE), merged[k], record)
            met.add(k)
        elif withdrawn is not None and withdrawn(record, "ours"):
            continue
        else:
            merged[k] = record
            merge.take(label(record))
            if after_predecessor and before is not None:
                order.insert(order.index(before) + 1, k)
            else:
                order.append(k)
            met.add(k)
        before = k
    if withdrawn is not None:
        order = [k for k in order if k in met or not withdrawn(merged[k], "theirs")]
    return [merged[k] for k in order]


def _list(case: Mapping[str, Any], key: str) -> list[Record]:
    value = case.get(key)
    return value if isinstance(value, list) else []


def _base_list(base: Any, key: str) -> Any:
    return base.get(key) if isinstance(base, dict) else NOBASE


# -- steps ----------------------------------------------------------------------------------
def _steps(merge: _Merge, base: Any, ours: Record, theirs: Record) -> list[Record]:
    def one(b: Any, o: Record, t: Record) -> Record:
        if _same(o, t):
            return o
        step = str(o.get("id"))
        if b is not NOBASE:
            if _same(b, o):
                merge.take(f"step {step}")
                return t
            if _same(b, t):
                return o
        win = _when(o["ended_at"]) >= _when(t["ended_at"])
        kept, lost = (o, t) if win else (t, o)
        typed = ("status", "answer", "note")
        if any(not _same(o.get(f, MISSING), t.get(f, MISSING)) for f in typed):
            kept_case, lost_case = (ours, theirs) if win else (theirs, ours)
            merge.decide(
                f"step {step}",
                _step_words(kept, _labels(kept_case, step)),
                _step_words(lost, _labels(lost_case, step)),
                kept_ours=win,
                why="answered later",
            )
        elif not win:
            merge.take(f"step {step}")
        return _with_extras(kept, lost, "StepRecord")

    return _records(
        merge,
        _base_list(base, "steps"),
        _list(ours, "steps"),
        _list(theirs, "steps"),
        lambda r: r.get("id"),
        one,
        label=lambda r: f"step {r.get('id')}",
        after_predecessor=True,
    )


# -- what a step answered again withdrew -------------------------------------------------
def _reanswered(base: Any, ours: Record, theirs: Record) -> dict[str, Side]:
    """The steps answered again on one side only (their record changed there, and is
    as the base had it on the other), and on which side."""
    if not isinstance(base, dict):
        return {}

    def by_id(case: Record) -> dict[Any, Record]:
        return {r.get("id"): r for r in reversed(_list(case, "steps"))}

    mine, other = by_id(ours), by_id(theirs)
    found: dict[str, Side] = {}
    for step, old in by_id(base).items():
        o, t = mine.get(step), other.get(step)
        if o is None or t is None or not isinstance(step, str):
            continue
        if _same(o, old) and not _same(t, old):
            found[step] = "theirs"
        elif _same(t, old) and not _same(o, old):
            found[step] = "ours"
    return found


def _withdrawal(
    base: Any, ours: Record, theirs: Record, key: str
) -> Callable[[Record, Side], bool]:
    """Whether a remedy or follow-up one side lacks was withdrawn there: the side
    answered its step again (and only that side did), and the record is as the base
    had it (a follow-up, still to do). Such a record is left out, as its step's new
    answer is taken; any other record one side lacks is kept."""
    again = _reanswered(base, ours, theirs)
    olds = _list(base, key) if isinstance(base, dict) else []

    def withdrawn(record: Record, lacking: Side) -> bool:
        step = record.get("step")
        return (
            isinstance(step, str)
            and again.get(step) == lacking
            and record.get("done_at") is None
            and any(_same(record, old) for old in olds)
        )

    return withdrawn


# -- remedies ---------------------------------------------------------------------------
def _remedies(merge: _Merge, base: Any, ours: Record, theirs: Record) -> list[Record]:
    def one(b: Any, o: Record, t: Record) -> Record:
        prefix = f"remedy {o.get('offer')} (step {o.get('step')}) "
        return merge.fields(prefix, b, o, t)

    return _records(
        merge,
        _base_list(base, "remedies"),
        _list(ours, "remedies"),
        _list(theirs, "remedies"),
        lambda r: (r.get("step"), r.get("offer")),
        one,
        label=lambda r: f"remedy {r.get('offer')}",
        withdrawn=_withdrawal(base, ours, theirs, "remedies"),
    )


# -- follow-ups -------------------------------------------------------------------------
def _same_follow_up(a: Record, b: Record) -> bool:
    """The same promise: due at the same moment, with the same message."""
    return _when(a["due_at"]) == _when(b["due_at"]) and a.get("message") == b.get("message")


def _result_of(merge: _Merge, number: int, o: Record, t: Record) -> Record:
    """The side whose result of a follow-up stands, when both recorded one: one done
    beats one still to do, a real result beats a cancellation, else the later one."""

    def rank(r: Record) -> tuple[bool, bool]:
        return r.get("done_at") is not None, r.get("result") != "cancelled"

    if rank(o) != rank(t):
        win = rank(o) > rank(t)
        why = "done" if rank(o)[0] != rank(t)[0] else "a result beats a cancellation"
    elif o.get("done_at") is not None:
        win = _when(o["done_at"]) >= _when(t["done_at"])
        why = "done later"
    else:
        win = merge.ours_later
        why = "changed later"
    kept, lost = (o, t) if win else (t, o)
    if lost.get("done_at") is None and not lost.get("note"):
        if not win:
            merge.take(f"follow-up #{number}")  # nothing recorded is set aside
    else:
        merge.decide(
            f"follow-up #{number}",
            _result_words(kept),
            _result_words(lost),
            kept_ours=win,
            why=why,
        )
    return kept


def _follow_up(merge: _Merge, b: Any, o: Record, t: Record) -> Record:
    """One follow-up both sides hold (the same promise): its result taken whole from
    one side, its other fields three-way."""
    if _same(o, t):
        return o
    number = o["id"]
    if b is not NOBASE and not _same_follow_up(b, o):
        b = NOBASE  # the base's follow-up of that number was another promise
    if b is not NOBASE:
        if _same(b, o):
            merge.take(f"follow-up #{number}")
            return t
        if _same(b, t):
            return o

    def result(r: Any) -> Any:
        return NOBASE if r is NOBASE else [r.get(k, MISSING) for k in RESULT_FIELDS]

    chosen: Record | None = None
    if _same(result(o), result(t)):
        chosen = None
    elif b is not NOBASE and _same(result(b), result(o)):
        chosen = t
        merge.take(f"follow-up #{number}")
    elif b is not NOBASE and _same(result(b), result(t)):
        chosen = o
    else:
        chosen = _result_of(merge, number, o, t)
    decided = {k: chosen.get(k, MISSING) for k in RESULT_FIELDS} if chosen is not None else None
    return merge.fields(f"follow-up #{number} ", b, o, t, decided=decided)


def _promise(record: Record) -> tuple[datetime, Any]:
    """What a follow-up is, whatever its number: when it is due, and its message."""
    return _when(record["due_at"]), record.get("message")


def _follow_ups(
    merge: _Merge, base: Any, ours: Record, theirs: Record
) -> tuple[list[Record], dict[int, int]]:
    """The follow-ups of both, and theirs that changed number (old to new). A
    follow-up is matched by its number, or failing that by its promise (a follow-up
    renumbered by an earlier merge is met again under its new number); two different
    follow-ups numbered alike on the two sides are both kept, ours under its number
    and theirs under the next free one."""
    mine, other = _list(ours, "follow_ups"), _list(theirs, "follow_ups")
    base_list = _base_list(base, "follow_ups")
    olds = base_list if isinstance(base_list, list) else []
    base_by = dict(_keyed(olds, lambda r: r.get("id")))
    base_promises = {_promise(r): r for r in reversed(olds)}
    merged = dict(_keyed(mine, lambda r: r.get("id")))
    promises = {_promise(r): k for k, r in reversed(list(merged.items()))}
    ours_keys = set(merged)
    order = list(merged)
    met: set[Key] = set()
    numbers = [r.get("id") for r in (*mine, *other)]
    free = max((n for n in numbers if isinstance(n, int)), default=0) + 1
    renumbered: dict[int, int] = {}
    withdrawn = _withdrawal(base, ours, theirs, "follow_ups")
    compared: set[Key] = set()
    for k, t in _keyed(other, lambda r: r.get("id")):
        number = k[0]
        o = merged.get(k) if k in ours_keys else None
        if o is not None:
            compared.add(k)
        target = k if o is not None and _same_follow_up(o, t) else promises.get(_promise(t))
        if target is not None and target not in met:
            met.add(target)
            compared.add(target)
            if target[0] != number:
                renumbered[number] = target[0]
            if not _same(merged[target], t):
                b = base_promises.get(_promise(t), NOBASE)
                merged[target] = _follow_up(merge, b, merged[target], t)
            continue
        b = base_by.get(k, NOBASE)
        if o is None and withdrawn(t, "ours"):
            continue
        if o is None:
            merged[k] = t
            order.append(k)
            merge.take(f"follow-up #{number}")
        elif b is not NOBASE and _same(b, t):
            continue  # ours replaced the base's promise with another; theirs left it
        elif b is not NOBASE and _same(b, o):
            merged[k] = t  # theirs replaced it; ours left it
            merge.take(f"follow-up #{number}")
        else:
            moved = (free, 1)
            merged[moved] = {**t, "id": free}
            order.append(moved)
            renumbered[number] = free
            merge.note(f"follow-up #{number}: both sides added one; {merge.other}'s is now #{free}")
            free += 1
    ours_only = ours_keys - compared
    items = [merged[k] for k in order if k not in ours_only or not withdrawn(merged[k], "theirs")]
    items.sort(key=lambda r: r["id"])
    return items, renumbered


# -- the log ------------------------------------------------------------------------------
def _log(ours: Record, theirs: Record) -> tuple[list[Record], int]:
    """Both logs, each entry once (an entry twice on one side stays twice), in time
    order (entries of the same moment in the order they came); and how many came
    from theirs alone."""

    def key(r: Record) -> Any:
        return (r.get("at"), r.get("event"), r.get("detail", ""))

    mine = _keyed(_list(ours, "log"), key)
    have = {k for k, _ in mine}
    extra = [r for k, r in _keyed(_list(theirs, "log"), key) if k not in have]
    entries = [r for _, r in mine] + extra
    entries.sort(key=lambda r: _when(r["at"]))
    return entries, len(extra)


# -- mail -------------------------------------------------------------------------------------
def _message_key(r: Record) -> Any:
    if r.get("message_id"):
        return ("id", r["message_id"])
    if r.get("digest"):
        return ("digest", r["digest"])
    return ("content", _canon(r))


def _attempt(merge: _Merge, b: Any, o: Record, t: Record) -> Record:
    """One attempt to send, recorded on both sides: the further along of the two
    stands (its status, when it went, its error), its other fields three-way."""
    if _same(o, t):
        return o
    label = f"{o.get('what')} attempt of {o.get('at')}"
    if b is not NOBASE:
        if _same(b, o):
            merge.take(label)
            return t
        if _same(b, t):
            return o
    so, st = o.get("status"), t.get("status")
    if so == st:
        return merge.fields(f"{label}: ", b, o, t)
    ro, rt = SEND_RANK.get(str(so), -1), SEND_RANK.get(str(st), -1)
    win = ro > rt or (ro == rt and merge.ours_later)
    kept = o if win else t
    merge.decide(
        f"{label}: status",
        str(kept.get("status")),
        str((t if win else o).get("status")),
        kept_ours=win,
        why="further along" if ro != rt else "changed later",
    )
    decided = {k: kept.get(k, MISSING) for k in ("status", "sent_at", "error")}
    return merge.fields(f"{label}: ", b, o, t, decided=decided, ours_wins=win)


def _mail(
    merge: _Merge, base: Any, ours: Record, theirs: Record, renumbered: Mapping[int, int]
) -> Any:
    o, t = ours.get("mail", MISSING), theirs.get("mail", MISSING)
    if isinstance(t, dict) and renumbered:
        t = _renumber_sends(o, t, renumbered)
    if not (isinstance(o, dict) and isinstance(t, dict)):
        if isinstance(o, dict):
            return o
        if isinstance(t, dict):
            merge.take("email")
            return t
        return o  # neither has mail: null or no key, as ours has it
    bb = _part(base, "mail", "MailThread")
    decided: Record = {}
    if "messages" in o or "messages" in t:
        decided["messages"] = _records(
            merge,
            _base_list(bb, "messages"),
            _list(o, "messages"),
            _list(t, "messages"),
            _message_key,
            lambda b1, o1, t1: merge.fields("email: ", b1, o1, t1),
            label=lambda r: "email received",
        )
    if "sent" in o or "sent" in t:
        sent = _records(
            merge,
            _base_list(bb, "sent"),
            _list(o, "sent"),
            _list(t, "sent"),
            lambda r: (r.get("message_id"), r.get("at")),
            lambda b1, o1, t1: _attempt(merge, b1, o1, t1),
            label=lambda r: f"{r.get('what')} attempt of {r.get('at')}",
        )
        sent.sort(key=lambda r: _when(r["at"]))
        decided["sent"] = sent
    return merge.fields("mail.", bb, o, t, decided=decided)


def _renumber_sends(ours: Any, theirs: Record, renumbered: Mapping[int, int]) -> Record:
    """Theirs' mail, its own sends of a renumbered follow-up given the new number."""
    shared = {
        (r.get("message_id"), r.get("at"))
        for r in (ours.get("sent") or [] if isinstance(ours, dict) else [])
    }
    sent = []
    for r in _list(theirs, "sent"):
        number = r.get("follow_up")
        if (
            r.get("what") == "follow-up"
            and isinstance(number, int)
            and number in renumbered
            and (r.get("message_id"), r.get("at")) not in shared
        ):
            r = {**r, "follow_up": renumbered[number]}
        sent.append(r)
    return {**theirs, "sent": sent} if "sent" in theirs else theirs


# -- the other fields ---------------------------------------------------------------------
def _outcome(merge: _Merge, base: Any, ours: Record, theirs: Record) -> Any:
    """How the case ended: an outcome recorded beats none (nothing takes one back),
    two outcomes merge field by field."""
    o, t = ours.get("outcome", MISSING), theirs.get("outcome", MISSING)
    if isinstance(o, dict) and isinstance(t, dict):
        return merge.fields("outcome.", _part(base, "outcome", "Outcome"), o, t)
    if isinstance(o, dict):
        return o
    if isinstance(t, dict):
        merge.take("outcome")
        return t
    return merge.pick("outcome", _at(base, "outcome"), o, t)


def _playbook(merge: _Merge, base: Any, ours: Record, theirs: Record) -> Any:
    """The playbook walked: field by field; the versions walked before, from both;
    and a version set aside is kept among them (steps were answered with it)."""
    o, t, b = ours.get("playbook", MISSING), theirs.get("playbook", MISSING), _at(base, "playbook")
    if not (isinstance(o, dict) and isinstance(t, dict)):
        return merge.pick("playbook", b, o, t)
    bb = b if isinstance(b, dict) else NOBASE
    ho, ht = o.get("history", MISSING), t.get("history", MISSING)
    decided: Record = {}
    if isinstance(ho, list) and isinstance(ht, list):
        decided["history"] = [*ho, *(h for h in ht if h not in ho)]
    out = merge.fields("playbook.", bb, o, t, decided=decided)
    history = out.get("history", [])
    hashes = [h for h in (o.get("hash"), t.get("hash")) if isinstance(h, str)]
    if isinstance(history, list):
        extra = [h for h in hashes if h != out.get("hash") and h not in history]
        if extra:
            out["history"] = [*history, *dict.fromkeys(extra)]
    return out


def _walk_completed(merge: _Merge, base: Any, ours: Record, theirs: Record) -> Any:
    """When the walk was completed: a walk once completed stays so (the time is never
    cleared), so a time beats none; two times three-way."""
    o, t = ours.get("walk_completed_at", MISSING), theirs.get("walk_completed_at", MISSING)
    if o in (None, MISSING) and t not in (None, MISSING):
        merge.take("walk_completed_at")
        return t
    if t in (None, MISSING) and o not in (None, MISSING):
        return o
    return merge.pick("walk_completed_at", _at(base, "walk_completed_at"), o, t)


# -- the merge ----------------------------------------------------------------------------------
def _usable_base(base: Any, ours: Record) -> Any:
    """The base, if it is a readable version of this case (else none: a damaged or
    foreign base only hides changes, so the two sides are merged as if alone)."""
    if base is None:
        return NOBASE
    try:
        check_case(base)
    except MergeError:
        return NOBASE
    if base.get("id") != ours.get("id"):
        return NOBASE
    return base


def _summary(notes: list[str]) -> tuple[str, int]:
    """The ``merged`` event's detail (at most DETAIL_LIMIT characters) and how many of
    the notes it holds whole."""
    for count in range(len(notes), 0, -1):
        text = "; ".join(notes[:count])
        left = len(notes) - count
        if left:
            text += f"; … and {left} more"
        if len(text) <= DETAIL_LIMIT:
            return text, count
    return _cut(notes[0], DETAIL_LIMIT), 0


def merge_cases(
    base: dict[str, Any] | None,
    ours: dict[str, Any],
    theirs: dict[str, Any],
    *,
    now: datetime,
    other: str = "the other machine",
) -> Merged:
    """Merge two versions of one case file (``ours``, ``theirs``: their parsed JSON)
    against their common ancestor ``base`` (None: there is none, e.g. a conflict copy
    or a file both sides added). ``other`` names theirs in the notes and the log.

    Every answer, note, follow-up result, remedy, email and log entry of either side
    is in the result; a value set aside by a conflict is written, whole, into its log.
    The result is deterministic, valid (checked), and, when the two versions hold the
    same, ours unchanged. MergeError when they are not the same case, or a side is
    not a case this version can read (``side`` says which).
    """
    if now.tzinfo is None:
        raise ValueError("now must be a time with its zone (UTC)")
    now = now.astimezone(UTC)
    check_case(ours, side="ours")
    check_case(theirs, side="theirs")
    if ours.get("id") != theirs.get("id"):
        raise MergeError("the two versions are different cases")
    if _when(ours["created_at"]) != _when(theirs["created_at"]):
        raise MergeError("the two versions are different cases (created at different times)")
    if _same(ours, theirs):
        return Merged(copy.deepcopy(ours), [])
    old = _usable_base(base, ours)
    merge = _Merge(other, ours_later=_when(ours["updated_at"]) >= _when(theirs["updated_at"]))

    merge.section = "follow_ups"
    follow_ups, renumbered = _follow_ups(merge, old, ours, theirs)
    log, from_theirs = _log(ours, theirs)
    out: Record = {}
    for key in _keys(ours, theirs):
        merge.section = key
        value: Any
        if key == "schema_version":
            value = max(ours[key], theirs[key])
        elif key in ("id", "created_at"):
            value = ours.get(key, theirs.get(key))
        elif key == "revision":
            value = max(ours.get(key, 0), theirs.get(key, 0)) + 1
        elif key == "updated_at":
            value = ours[key] if merge.ours_later else theirs[key]
        elif key == "steps":
            value = _steps(merge, old, ours, theirs)
        elif key == "remedies":
            value = _remedies(merge, old, ours, theirs)
        elif key == "follow_ups":
            value = follow_ups
        elif key == "log":
            value = log
        elif key == "mail":
            value = _mail(merge, old, ours, theirs, renumbered)
        elif key == "outcome":
            value = _outcome(merge, old, ours, theirs)
        elif key == "playbook":
            value = _playbook(merge, old, ours, theirs)
        elif key == "walk_completed_at":
            value = _walk_completed(merge, old, ours, theirs)
        elif (
            key == "customer"
            and isinstance(ours.get(key), dict)
            and isinstance(theirs.get(key), dict)
        ):
            value = merge.fields("customer.", _part(old, key, "Customer"), ours[key], theirs[key])
        else:
            value = merge.pick(key, _at(old, key), ours.get(key, MISSING), theirs.get(key, MISSING))
        if value is not MISSING:
            out[key] = value
    if "revision" not in out:
        out["revision"] = max(ours.get("revision", 0), theirs.get("revision", 0)) + 1

    notes = [n for key in (*out, *merge.notes) for n in merge.notes.pop(key, [])]
    if from_theirs:
        merge.take(f"{from_theirs} log entr{'y' if from_theirs == 1 else 'ies'}")
    taken = merge.taken
    if taken:
        shown = ", ".join(taken[:8]) + (f" and {len(taken) - 8} more" if len(taken) > 8 else "")
        notes.append(_cut(f"from {other}: {shown}", _NOTE_LIMIT))
    detail, whole = _summary(notes) if notes else (f"nothing new from {other}", 0)
    entries = [_event(now, MERGED_EVENT, detail)]
    for conflict in merge.conflicts:
        # A value the merged event does not hold whole gets an entry of its own.
        held = conflict.short in notes[:whole] and conflict.short == conflict.full
        if not held:
            entries.append(_event(now, SET_ASIDE_EVENT, conflict.full))
    out["log"] = [*out.get("log", log), *entries]
    out = copy.deepcopy(out)
    try:
        _validate(out, None)
    except MergeError as exc:
        raise MergeError(f"the merged case {exc.message}") from None
    return Merged(out, notes)
