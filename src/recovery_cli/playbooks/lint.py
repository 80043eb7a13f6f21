"""Warnings about playbooks that load but may surprise the operator on a call.

Errors stop a playbook from loading (see :mod:`recovery_cli.playbook`); these are the
softer findings: a step that can never run, an offer above the goodwill limit, no
follow-up at all, a line too long to say in one breath, no step that listens or
apologizes. Each points at the line of the key it is about.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from ..errors import PlaybookError, Problem
from .catalog import load_file
from .check import field_path, parse_playbook
from .model import Playbook, Step

# About thirty spoken words: what most people say comfortably in one breath.
BREATH_CHARS = 180
_LISTENS = re.compile(r"listen|hear|apolog|sorry|vent", re.IGNORECASE)


@dataclass
class _Need:
    """What must hold of one answer for a step to run: the values it may take
    (``any_of``), and whether several can hold at once (offers with pick = "many")."""

    any_of: set[object]
    several: bool = False


def _requirements(playbook: Playbook) -> dict[str, dict[str, _Need] | None]:
    """For each step id, the conditions on answers that must all hold for it to run
    (its own ``when`` and those of the steps that capture what it tests), or None
    when those conditions contradict each other."""
    captured_by: dict[str, Step] = {}
    result: dict[str, dict[str, _Need] | None] = {}
    for step in playbook.steps:
        needs: dict[str, _Need] | None = {}
        for key, expected in (step.when or {}).items():
            source = captured_by.get(key)
            if source is None:
                continue
            inherited = result.get(source.id)
            if inherited is None:
                needs = None  # depends on an answer from a step that never runs
                break
            assert needs is not None
            for other_key, other in inherited.items():
                needs = _add(needs, other_key, other.any_of, other.several)
                if needs is None:
                    break
            if needs is None:
                break
            wanted: set[object] = set(expected) if isinstance(expected, list) else {expected}
            several = source.capture_type == "offer" and source.pick == "many"
            needs = _add(needs, key, wanted, several)
            if needs is None:
                break
        result[step.id] = needs
        if step.capture_key is not None:
            captured_by[step.capture_key] = step
    return result


def _add(
    needs: dict[str, _Need], key: str, any_of: set[object], several: bool
) -> dict[str, _Need] | None:
    known = needs.get(key)
    if known is None:
        return {**needs, key: _Need(set(any_of), several)}
    if several:
        # Several offers can be chosen together: both conditions can hold at once.
        return needs
    both = known.any_of & any_of
    if not both:
        return None
    return {**needs, key: _Need(both, several)}


def lint(playbook: Playbook) -> list[Problem]:
    """Warnings for a playbook that loaded."""
    found: list[Problem] = []

    def warn(path: tuple[str | int, ...], message: str) -> None:
        line, column = playbook.position(*path)
        found.append(Problem(playbook.source, line, column, field_path(path), message, "warning"))

    requirements = _requirements(playbook)
    limit = Decimal(playbook.goodwill_limit) if playbook.goodwill_limit else None
    for i, step in enumerate(playbook.steps):
        at: tuple[str | int, ...] = ("steps", i)
        if step.when and requirements.get(step.id) is None:
            warn((*at, "when"), "this step can never run: its conditions contradict each other")
        if step.say and len(step.say) > BREATH_CHARS:
            warn(
                (*at, "say"),
                f"{len(step.say)} characters is more than one breath (about {BREATH_CHARS}): "
                "split it or move detail to 'do'",
            )
        for j, offer in enumerate(step.offer):
            fixed = offer.amount if offer.amount and not offer.amount.startswith("$") else None
            if limit is not None and fixed is not None and Decimal(fixed) > limit:
                warn(
                    (*at, "offer", j, "amount"),
                    f"{fixed} is above this playbook's goodwill_limit of {limit}",
                )
    if not any(step.follow_up for step in playbook.steps):
        warn(("id",), "no step schedules a follow-up: customers stay won when you check back")
    if not any(
        _LISTENS.search(f"{s.id} {s.title} {s.say or ''} {s.do or ''}") for s in playbook.steps
    ):
        warn(("steps",), "no step listens or apologizes: most recoveries start there")
    return found


def check_file(path: Path, *, origin: str = "user") -> list[Problem]:
    """Every error and warning for one file: errors when it does not load, else
    the lint warnings."""
    try:
        playbook = load_file(path, origin=origin)
    except PlaybookError as exc:
        return exc.problems
    return lint(playbook)


def check_text(raw: bytes, label: str, *, stem: str | None = None) -> list[Problem]:
    """Errors and warnings for playbook bytes not (yet) in the file named ``label``
    (an edit's draft); ``stem`` is the id the file name demands."""
    try:
        playbook = parse_playbook(raw, label, stem=stem)
    except PlaybookError as exc:
        return exc.problems
    return lint(playbook)
