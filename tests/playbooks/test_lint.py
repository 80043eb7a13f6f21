"""Lint warnings: playbooks that load but could surprise the operator on a call."""

from __future__ import annotations

from recovery_cli.playbooks.catalog import default_dir, load_file, playbook_files
from recovery_cli.playbooks.check import parse_playbook
from recovery_cli.playbooks.lint import BREATH_CHARS, lint

HEAD = 'id = "pb"\ntitle = "T"\ngoodwill_limit = "20.00"\n'
LISTEN = '[[steps]]\nid = "listen"\ndo = "Let them talk."\n'
LATER = '[[steps]]\nid = "later"\nfollow_up = { after = "2d", say = "All well?" }\n'


def warnings(text: str) -> list[str]:
    return [str(p) for p in lint(parse_playbook(text.encode(), "pb.toml"))]


def test_shipped_playbooks_have_no_warnings() -> None:
    for path in playbook_files(default_dir()):
        assert lint(load_file(path, origin="default")) == [], path


def test_a_clean_playbook_has_none() -> None:
    assert warnings(HEAD + LISTEN + LATER) == []


def test_step_that_can_never_run() -> None:
    text = (
        HEAD
        + LISTEN
        + (
            '[[steps]]\nid = "ok"\nask = { key = "ok", prompt = "OK?", type = "yesno" }\n'
            '[[steps]]\nid = "why"\nwhen = { ok = false }\n'
            'ask = { key = "why", prompt = "Why?", type = "choice", choices = ["a", "b"] }\n'
            '[[steps]]\nid = "never"\nwhen = { why = "a", ok = true }\ndo = "x"\n'
            '[[steps]]\nid = "fine"\nwhen = { why = "b", ok = false }\ndo = "x"\n'
            '[[steps]]\nid = "menu"\n'
            'offer = [{ id = "r", label = "R" }, { id = "s", label = "S" }]\n'
            '[[steps]]\nid = "r-only"\nwhen = { menu = "r" }\ndo = "x"\n'
            '[[steps]]\nid = "both"\nwhen = { menu = "s" }\n'
            'ask = { key = "more", prompt = "?", type = "yesno" }\n'
            '[[steps]]\nid = "after-both"\nwhen = { more = true, menu = "r" }\ndo = "x"\n'
        )
        + LATER
    )
    assert warnings(text) == [
        "pb.toml:16:1: warning: steps[3].when: this step can never run: "
        "its conditions contradict each other"
    ]


def test_offer_above_the_goodwill_limit() -> None:
    text = (
        HEAD
        + LISTEN
        + (
            '[[steps]]\nid = "menu"\noffer = [\n'
            '  { id = "a", label = "A", amount = "20.00" },\n'
            '  { id = "b", label = "B", amount = "20.01" },\n'
            '  { id = "c", label = "C", amount = "$order_value" },\n]\n'
        )
        + LATER
    )
    assert warnings(text) == [
        "pb.toml:11:28: warning: steps[1].offer[1].amount: "
        "20.01 is above this playbook's goodwill_limit of 20.00"
    ]


def test_no_follow_up_no_listening_and_a_long_line() -> None:
    long = "word " * (BREATH_CHARS // 5 + 1)
    text = HEAD + f'[[steps]]\nid = "pitch"\nsay = "{long.strip()}"\n'
    assert warnings(text) == [
        f"pb.toml:6:1: warning: steps[0].say: {len(long.strip())} characters is more than "
        f"one breath (about {BREATH_CHARS}): split it or move detail to 'do'",
        "pb.toml:1:1: warning: id: no step schedules a follow-up: "
        "customers stay won when you check back",
        "pb.toml:4:1: warning: steps: no step listens or apologizes: most recoveries start there",
    ]
