"""The short question-and-answer forms after the call: recording a follow-up and
recording an outcome. Each question is asked until its answer makes sense; an
option given on the command line is not asked again."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

from rich.console import Console
from rich.text import Text

from ... import casework, text, values
from ...case import HAPPY_LABELS, OUTCOMES, Case, Happy, Outcome, OutcomeResult
from ...errors import UsageError, WalkInterrupted
from ...values import local_time
from .. import prompter as prompting
from ..prompter import Interrupted, Prompter

T = TypeVar("T")


def clean(line: str) -> str:
    """Typed or option text as it is kept: valid UTF-8, no control characters (they
    could carry escape sequences into a later view or export), no outer spaces."""
    return text.typed(line)


def ask(
    out: Console, asker: Prompter, prompt: str, parse: Callable[[str], T], *, prefill: str = ""
) -> T:
    """Ask until ``parse`` accepts the answer; ``prefill`` is on the line to edit."""
    while True:
        line = asker.ask(prompt, prefill=prefill)
        try:
            return parse(line)
        except ValueError as exc:
            out.print(Text(str(exc), style="yellow"))


def yes_no_hint(default: bool | None) -> str:
    """`` (Y/n)``, `` (y/N)``, or `` (y/n)`` without a default: the capital is what
    Enter answers. The walk's yes/no steps and the forms' questions both show it."""
    if default is None:
        return " (y/n)"
    return " (Y/n)" if default else " (y/N)"


def yes_no(out: Console, asker: Prompter, question: str, *, default: bool) -> bool:
    """A yes/no question whose default, shown as (Y/n) or (y/N), Enter takes."""

    def parse(line: str) -> bool:
        if not line.strip():
            return default
        try:
            return values.parse_yes_no(line)
        except ValueError:
            raise ValueError("Type y or n (Enter: " + ("yes" if default else "no") + ").") from None

    return ask(out, asker, f"{question}{yes_no_hint(default)}: ", parse)


def parse_outcome(text: str) -> OutcomeResult:
    """``kept`` / ``refunded`` / ``lost`` / ``escalated``, a number 1-4, or a prefix."""
    word = text.strip().lower()
    if word.isdigit() and 1 <= int(word) <= len(OUTCOMES):
        return OUTCOMES[int(word) - 1]  # type: ignore[return-value]
    found = [o for o in OUTCOMES if word and o.startswith(word)]
    if len(found) != 1:
        raise ValueError("Type kept, refunded, lost or escalated (or 1-4).")
    return found[0]  # type: ignore[return-value]


def parse_happy(text: str) -> Happy:
    """``yes`` / ``not yet`` / ``no`` (or 1-3, y, n)."""
    word = " ".join(text.strip().lower().replace("-", " ").replace("_", " ").split())
    choices: dict[str, Happy] = {
        "1": "yes",
        "y": "yes",
        "yes": "yes",
        "2": "not_yet",
        "not yet": "not_yet",
        "not": "not_yet",
        "nyet": "not_yet",
        "3": "no",
        "n": "no",
        "no": "no",
    }
    if word not in choices:
        raise ValueError("Type yes, not yet or no (or 1-3).")
    return choices[word]


def parse_satisfaction(text: str) -> int | None:
    """1 to 5, or blank for none."""
    word = text.strip()
    if not word:
        return None
    if word.isdigit() and 1 <= int(word) <= 5:
        return int(word)
    raise ValueError("Type a number from 1 (unhappy) to 5 (delighted), or Enter to skip.")


def parse_next(text: str) -> timedelta | None:
    """A delay like ``3d``, or blank for none."""
    return values.parse_delay(text) if text.strip() else None


OutcomeGiven = casework.OutcomeGiven


def outcome_form(
    out: Console,
    asker: Prompter | None,
    case: Case,
    given: OutcomeGiven,
    *,
    suggest: OutcomeResult | None = None,
) -> Outcome:
    """The outcome from the options given and, on a terminal, the answers to the
    questions they leave open. Without a prompter, what is not given keeps its
    earlier value (or the call's answer)."""
    start = casework.outcome_defaults(case)
    before_result = start.result
    result = given.result
    if result is None and asker is None:
        result = before_result
        if result is None:
            raise UsageError("--no-input needs --outcome: kept, refunded, lost or escalated")
    if result is None:
        assert asker is not None
        out.print(Text("How did it end?", style="bold"))
        for number, name in enumerate(OUTCOMES, start=1):
            out.print(Text(f"  {number}. {name}"))
        keep = before_result or suggest

        def pick(line: str) -> OutcomeResult:
            if not line.strip() and keep is not None:
                return keep
            return parse_outcome(line)

        hint = f" [{keep}]" if keep else ""
        result = ask(out, asker, f"Outcome (1-4){hint}: ", pick)

    def typed(value: str | None, prompt: str, earlier: str) -> str:
        """An option as given, else (on a terminal) the answer, which starts as the
        earlier text (or what the walk's answers said) on the line to edit."""
        if value is not None or asker is None:
            return clean(value if value is not None else earlier)
        return ask(out, asker, prompt, clean, prefill=earlier)

    satisfaction = given.satisfaction
    earlier_score = start.satisfaction
    if satisfaction is None and asker is not None:
        # With an earlier score on the line, Enter keeps it: only an empty line skips.
        satisfaction = ask(
            out,
            asker,
            "Satisfaction, 1-5: " if earlier_score else "Satisfaction, 1-5 (Enter skips): ",
            parse_satisfaction,
            prefill=str(earlier_score or ""),
        )
    elif satisfaction is None:
        satisfaction = earlier_score
    root_cause = typed(
        given.root_cause,
        "Root cause (what really went wrong?): ",
        start.root_cause or "",
    )
    cause_tag = typed(
        given.cause_tag,
        "Cause tag (a word or two to group by, like email or packaging): ",
        start.cause_tag or "",
    )
    prevention = typed(
        given.prevention,
        "Prevention (how will you make sure it never happens again?): ",
        start.prevention or "",
    )
    return Outcome(
        result=result,
        satisfaction=satisfaction,
        root_cause=root_cause,
        cause_tag=cause_tag.lower(),
        prevention=prevention,
    )


def outcome_line(case: Case) -> str:
    """What the case's outcome and status now say, in one line."""
    outcome = case.outcome
    assert outcome is not None
    parts = [f"Outcome of case {case.id}: {outcome.result}"]
    if outcome.satisfaction:
        parts.append(f"satisfaction {outcome.satisfaction}/5")
    line = ", ".join(parts) + "."
    if case.status == "closed":
        return f"{line} Case {case.id} is closed."
    pending = case.pending_follow_ups()
    if pending:
        return (
            f"{line} Case {case.id} closes when its follow-up "
            f"({local_time(pending[0].due_at)}) is done."
        )
    return line


def happy_label(happy: Happy | None) -> str:
    """``yes``, ``not yet``, ``no``, or empty."""
    return HAPPY_LABELS[happy] if happy else ""


# -- recording a follow-up ----------------------------------------------------------------
@dataclass
class FollowUpGiven:
    """What the command line already says about a follow-up (None: ask)."""

    reached: bool | None = None
    happy: Happy | None = None
    note: str | None = None
    next_in: timedelta | None = None
    next_given: bool = False

    def leaves_questions(self) -> bool:
        """Whether anything is left to ask: a script that gives every answer as an
        option needs no terminal."""
        next_asked = not self.next_given and self.happy != "yes"
        needs = self.reached is None or (self.reached and self.happy is None)
        return needs or self.note is None or next_asked


def follow_up_form(
    out: Console, asker: Prompter | None, given: FollowUpGiven
) -> casework.FollowUpResult:
    """The follow-up's result: the options given, and the rest asked."""
    reached = given.reached
    if reached is None:
        if asker is None:
            raise UsageError("--no-input needs --reached or --not-reached")
        reached = yes_no(out, asker, "Did you reach them?", default=True)
    happy = given.happy
    if reached and happy is None:
        if asker is None:
            raise UsageError("--no-input needs --happy: yes, not-yet or no")
        happy = ask(out, asker, "Are they happy now? (yes / not yet / no): ", parse_happy)
    note = given.note
    if note is None:
        note = "" if asker is None else asker.ask("Note (Enter skips): ")
    delay = given.next_in
    if not given.next_given and asker is not None and happy != "yes":
        suggest = "1d" if not reached else "3d"
        prompt = f"Next follow-up in (e.g. {suggest}; Enter for none): "
        delay = ask(out, asker, prompt, parse_next)
    # --happy with a customer who, asked, turned out not to be reached: no happiness.
    return casework.FollowUpResult(reached, happy if reached else None, clean(note), delay)


def asker_for(out: Console, *, wanted: bool, command: str, hint: str) -> Prompter | None:
    """The terminal prompter when there is something to ask, else None."""
    return prompting.open_prompter(out, command=command, hint=hint) if wanted else None


def keep_follow_ups(out: Console, asker: Prompter | None, case: Case, given: bool | None) -> bool:
    """Whether to keep the follow-ups still planned when a case is closed: as given,
    else asked on a terminal, else kept."""
    pending = case.pending_follow_ups()
    if not pending or given is not None:
        return True if given is None else given
    if asker is None:
        return True
    due = local_time(pending[0].due_at)
    return yes_no(
        out,
        asker,
        f"{len(pending)} follow-up(s) still planned (next {due}): keep them?",
        default=True,
    )


def keep_asked(case: Case, given: bool | None) -> bool:
    """Whether closing this case leaves the keep-follow-ups question to a person."""
    return given is None and bool(case.pending_follow_ups()) and prompting.stdin_is_terminal()


def offer_outcome(out: Console, asker: Prompter, case: Case) -> Outcome | None:
    """Ask whether to record the outcome now and, if so, run the outcome form; the
    outcome given (None: later)."""
    try:
        with asker.signals():
            now_please = yes_no(
                out,
                asker,
                "Record the outcome now (kept / refunded / lost / escalated, root cause, "
                "prevention)?",
                default=True,
            )
            if not now_please:
                out.print(f"Later: recover close {case.id}")
                return None
            return outcome_form(
                out, asker, case, OutcomeGiven(), suggest=casework.suggested_outcome(case)
            )
    except Interrupted as stop:
        raise WalkInterrupted(
            f"Stopped; case {case.id} is saved, its outcome not recorded.",
            exit_code=stop.exit_code,
            hint=f"Record it with: recover close {case.id}",
        ) from None


def stopped(message: str, stop: Interrupted, **extra: Any) -> WalkInterrupted:
    """The error that ends a form cut short by Ctrl-C, end of input or a signal."""
    return WalkInterrupted(message, exit_code=stop.exit_code, **extra)
