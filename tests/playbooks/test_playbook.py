"""Loading playbooks: the happy path, positioned errors, placeholders and conditions."""

from __future__ import annotations

from pathlib import Path

import pytest

from recovery_cli.errors import PlaybookError
from recovery_cli.playbooks.catalog import default_dir, load_catalog, load_file
from recovery_cli.playbooks.check import parse_playbook
from recovery_cli.playbooks.toml_positions import key_positions
from tests.conftest import SAMPLE


def problems(text: str | bytes, stem: str | None = None) -> list[str]:
    raw = text.encode() if isinstance(text, str) else text
    with pytest.raises(PlaybookError) as caught:
        parse_playbook(raw, "pb.toml", stem=stem)
    return [str(p) for p in caught.value.problems]


HEAD = 'id = "pb"\ntitle = "T"\n'


def test_sample_loads_with_digest(sample_playbook: object) -> None:
    playbook = parse_playbook(SAMPLE.encode(), "sample.toml", stem="sample")
    assert playbook.id == "sample" and len(playbook.steps) == 7
    assert playbook.digest.startswith("sha256:") and len(playbook.digest) == 71
    assert playbook.steps[4].title == "Refund now"


def test_step_title_defaults_from_its_id() -> None:
    playbook = parse_playbook((HEAD + '[[steps]]\nid = "send-it-again"\ndo = "x"\n').encode(), "x")
    assert playbook.steps[0].title == "Send it again"


def test_unknown_key_points_at_its_line_with_a_suggestion() -> None:
    text = HEAD + '[[steps]]\nid = "a"\ntitle = "A"\nsya = "hello"\n'
    assert problems(text) == ["pb.toml:6:1: steps[0].sya: unknown key (did you mean 'say'?)"]


def test_wrong_type_deep_in_an_array_of_tables() -> None:
    text = HEAD + (
        '[[steps]]\nid = "a"\ndo = "x"\n'
        '[[steps]]\nid = "b"\noffer = [\n  { id = "r", label = "R" },\n'
        '  { id = "s", label = "S", amount = 12.5 },\n]\n'
    )
    assert problems(text) == ["pb.toml:10:28: steps[1].offer[1].amount: expected text in quotes"]


def test_bad_amount_text() -> None:
    text = HEAD + '[[steps]]\nid = "a"\noffer = [{ id = "r", label = "R", amount = "ten" }]\n'
    (problem,) = problems(text)
    assert problem.startswith("pb.toml:5:35: steps[0].offer[0].amount: not a valid amount")


def test_structure_and_cross_reference_problems_are_reported_together() -> None:
    text = HEAD + (
        '[[steps]]\nid = "a"\nask = { key = "ok", prompt = "OK?", type = "yesno" }\n'
        '[[steps]]\nid = "b"\nsay = "Hi $nobody"\npick = 2\nwhen = { ghost = true }\n'
        '[[steps]]\nid = "c"\nask = { key = "k", prompt = "?", type = "wrong" }\n'
        '[[steps]]\nid = "d"\nwhen = { k = "x", ok = true }\ndo = "x"\n'
    )
    assert problems(text) == [
        "pb.toml:8:1: steps[1].say: unknown placeholder $nobody",
        "pb.toml:9:1: steps[1].pick: Input should be 'one' or 'many'",
        "pb.toml:10:10: steps[1].when.ghost: no earlier step captures 'ghost'",
        "pb.toml:13:34: steps[2].ask.type: "
        "Input should be 'text', 'yesno', 'number', 'money' or 'choice'",
    ]


def test_every_problem_of_the_file_at_once() -> None:
    text = HEAD + (
        "[[steps]]\n"
        'id = "Bad Id"\n'
        'do = "x"\n'
        "[[steps]]\n"
        'id = "b"\n'
        'pick = "some"\n'
        'do = "y"\n'
        'follow_up = { after = "3 days", say = "hi" }\n'
    )
    found = problems(text)
    assert len(found) == 3
    assert found[0].startswith("pb.toml:4:1: steps[0].id: use lowercase letters")
    assert found[1].startswith("pb.toml:8:1: steps[1].pick:")
    assert found[2].startswith("pb.toml:10:15: steps[1].follow_up.after: not a delay")


def test_missing_required_key_points_at_the_table() -> None:
    assert problems('title = "T"\n[[steps]]\nid = "a"\ndo = "x"\n') == [
        "pb.toml:1:1: id: missing required key"
    ]
    text = HEAD + '[[steps]]\ndo = "x"\n'
    assert problems(text) == ["pb.toml:3:1: steps[0].id: missing required key"]


def test_toml_syntax_error_has_a_position() -> None:
    (problem,) = problems(HEAD + '[[steps]]\nid = "a"\ndo = "unterminated\n')
    assert problem.startswith("pb.toml:5:") and "TOML syntax" in problem


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", "pb.toml:1:1: the file is empty"),
        (b"  \n\n", "pb.toml:1:1: the file is empty"),
        (b'id = "pb"\ntitle = "caf\xe9"\n', "pb.toml:2:13: not UTF-8 text"),
    ],
)
def test_empty_and_non_utf8_files(raw: bytes, message: str) -> None:
    assert problems(raw) == [message]


def test_oversized_file() -> None:
    (problem,) = problems(HEAD + "# " + "x" * 1_100_000 + "\n")
    assert "too large" in problem


def test_unknown_placeholder_is_a_load_error() -> None:
    text = HEAD + '[[steps]]\nid = "a"\nsay = "Hi $custmer, and ${__class__}"\n'
    assert problems(text) == [
        "pb.toml:5:1: steps[0].say: unknown placeholder $custmer (did you mean $customer?)",
        "pb.toml:5:1: steps[0].say: unknown placeholder $__class__",
    ]


@pytest.mark.parametrize(
    "say",
    ["It costs $5", "Hi {customer.__class__}", "Hi ${customer.name}"],
)
def test_malformed_or_attribute_placeholders_are_refused_or_literal(say: str) -> None:
    text = HEAD + f'[[steps]]\nid = "a"\nsay = "{say}"\n'
    if "{customer.__class__}" in say and "$" not in say:
        # Braces without a dollar are plain text: nothing is looked up.
        playbook = parse_playbook(text.encode(), "pb.toml")
        assert playbook.steps[0].say == say
    else:
        (problem,) = problems(text)
        assert "write $$ for a dollar sign" in problem


def test_placeholder_may_only_name_earlier_answers() -> None:
    text = HEAD + (
        '[[steps]]\nid = "a"\nsay = "You said $complaint"\n'
        '[[steps]]\nid = "b"\nask = { key = "complaint", prompt = "What?" }\n'
    )
    assert problems(text) == ["pb.toml:5:1: steps[0].say: unknown placeholder $complaint"]


def test_condition_on_unknown_key_or_value() -> None:
    text = HEAD + (
        '[[steps]]\nid = "a"\nwhen = { remedy = "refund" }\ndo = "x"\n'
        '[[steps]]\nid = "remedy"\noffer = [{ id = "refund", label = "R" }]\n'
        '[[steps]]\nid = "c"\nwhen = { remedy = "refnd" }\ndo = "x"\n'
        '[[steps]]\nid = "d"\nask = { key = "ok", prompt = "OK?", type = "yesno" }\n'
        '[[steps]]\nid = "e"\nwhen = { ok = "yes" }\ndo = "x"\n'
    )
    assert problems(text) == [
        "pb.toml:5:10: steps[0].when.remedy: no earlier step captures 'remedy'",
        "pb.toml:12:10: steps[2].when.remedy: 'refnd' is not one of refund",
        "pb.toml:19:10: steps[4].when.ok: 'ok' is a yes/no answer: compare it with true or false",
    ]


def test_duplicate_ids_and_keys() -> None:
    text = HEAD + (
        '[[steps]]\nid = "a"\nask = { key = "k", prompt = "?" }\n'
        '[[steps]]\nid = "a"\nask = { key = "k", prompt = "?" }\n'
        '[[steps]]\nid = "c"\noffer = [{ id = "x", label = "X" }, { id = "x", label = "Y" }]\n'
    )
    found = problems(text)
    assert "pb.toml:7:1: steps[1].id: duplicate step id 'a'" in found
    assert any("steps[1].ask.key: 'k' is already used" in p for p in found)
    assert any("steps[2].offer[1].id: duplicate offer id 'x'" in p for p in found)


def test_ask_and_offer_in_one_step_and_choice_rules() -> None:
    text = HEAD + (
        '[[steps]]\nid = "a"\nask = { key = "k", prompt = "?", type = "choice", choices = ["x"] }\n'
        'offer = [{ id = "x", label = "X" }]\n'
    )
    found = problems(text)
    assert any("a step can ask or offer, not both" in p for p in found)
    assert any("a choice needs at least two choices" in p for p in found)


def test_id_must_match_file_name(tmp_path: Path) -> None:
    path = tmp_path / "other.toml"
    path.write_text(HEAD + '[[steps]]\nid = "a"\ndo = "x"\n')
    with pytest.raises(PlaybookError) as caught:
        load_file(path)
    assert str(caught.value.problems[0]) == (
        f"{path}:1:1: id: id 'pb' must match the file name 'other.toml'"
    )


def test_every_shipped_playbook_loads() -> None:
    files = sorted(default_dir().glob("*.toml"))
    assert {f.stem for f in files} >= {
        "general",
        "not-delivered",
        "wrong-item",
        "refund-request",
        "hostile-caller",
        "stopped-working",
        "heard",
    }
    for path in files:
        playbook = load_file(path, origin="default")
        assert playbook.summary and playbook.goodwill_limit
        assert any(s.follow_up for s in playbook.steps), path
        for step in playbook.steps:
            assert step.say is None or len(step.say) <= 250, (path, step.id)


def test_user_playbook_overrides_default_and_broken_ones_are_reported(tmp_path: Path) -> None:
    folder = tmp_path / "playbooks"
    folder.mkdir()
    (folder / "general.toml").write_text(
        'id = "general"\ntitle = "My own"\n[[steps]]\nid = "a"\ndo = "x"\n'
    )
    (folder / "broken.toml").write_text('id = "broken"\n')
    catalog = load_catalog(tmp_path)
    general = catalog.get("general")
    assert general is not None and general.title == "My own" and general.origin == "user"
    assert "broken" not in catalog.playbooks
    assert [e.problems[0].path for e in catalog.broken] == [str(folder / "broken.toml")]


def test_broken_override_hides_the_default_rather_than_walking_it_silently(tmp_path: Path) -> None:
    folder = tmp_path / "playbooks"
    folder.mkdir()
    (folder / "general.toml").write_text('id = "general"\ntitle = 3\n')
    catalog = load_catalog(tmp_path)
    assert catalog.get("general") is None and len(catalog.broken) == 1


def test_key_positions_cover_tables_inline_tables_and_arrays() -> None:
    text = (
        "a = 1\n"
        "[t]\n"
        'b.c = "x"  # comment\n'
        "[[arr]]\n"
        "d = { e = [1, { f = \"}\" }], g = '''multi\n]line''' }\n"
        "[[arr]]\n"
        'h = """\n[[not]]\n"""\n'
        "[[arr.sub]]\n"
        "i = true\n"
    )
    positions = key_positions(text)
    assert positions[("a",)] == (1, 1)
    assert positions[("t",)] == (2, 1)
    assert positions[("t", "b", "c")] == (3, 3)
    assert positions[("arr", 0, "d", "e", 1, "f")] == (5, 17)
    assert positions[("arr", 0, "d", "g")] == (5, 29)
    assert positions[("arr", 1, "h")] == (8, 1)
    assert positions[("arr", 1, "sub", 0, "i")] == (12, 1)
    assert ("not",) not in positions


def test_a_byte_order_mark_is_accepted() -> None:
    raw = b"\xef\xbb\xbf" + (HEAD + '[[steps]]\nid = "a"\ndo = "x"\n').encode()
    assert parse_playbook(raw, "pb.toml").id == "pb"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('goodwill_limit = "50.00\\n"', "goodwill_limit: not a valid amount"),
        (
            '[[steps]]\nid = "a"\noffer = [{ id = "r", label = "R", amount = "${order_value" }]',
            "steps[0].offer[0].amount: not a valid amount",
        ),
    ],
)
def test_amounts_must_match_exactly(line: str, message: str) -> None:
    text = HEAD + line + '\n[[steps]]\nid = "z"\ndo = "x"\n'
    assert any(message in p for p in problems(text))


def test_condition_messages_speak_toml() -> None:
    text = HEAD + (
        '[[steps]]\nid = "a"\n'
        'ask = { key = "size", prompt = "?", type = "choice", choices = ["s", "l"] }\n'
        '[[steps]]\nid = "b"\nwhen = { size = true }\ndo = "x"\n'
        '[[steps]]\nid = "c"\nwhen = { size = 0 }\ndo = "x"\n'
    )
    assert problems(text) == [
        "pb.toml:8:10: steps[1].when.size: 'size' is not yes/no: compare it with one of s, l",
        "pb.toml:12:10: steps[2].when.size: "
        "a condition compares with true, false, a text value or a list of them",
    ]
