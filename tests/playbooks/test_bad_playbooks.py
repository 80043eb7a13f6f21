"""A corpus of broken playbooks, and a property: nothing makes the loader fail badly.

Every file in ``tests/playbooks/bad/`` must be refused with a problem on the line of
the offending key or table, and a message that says what is wrong. Whatever bytes the
loader is fed, it returns a ``Playbook`` or raises ``PlaybookError`` with positioned
problems: never another exception.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recovery_cli.errors import PlaybookError, Problem
from recovery_cli.playbooks.check import parse_playbook
from recovery_cli.playbooks.model import Playbook
from tests.conftest import SAMPLE

BAD = Path(__file__).parent / "bad"

# (file, line of the offending key or table, fragment of ``str(problem)``)
CASES: list[tuple[str, int, str]] = [
    # Broken TOML: the position comes from tomllib.
    ("toml-unterminated-string.toml", 6, "TOML syntax: Illegal character '\\n'"),
    ("toml-unterminated-multiline-string.toml", 6, "TOML syntax: Unterminated string"),
    ("toml-unclosed-array-at-end.toml", 7, "TOML syntax: Unclosed array"),
    ("toml-missing-equals.toml", 6, "TOML syntax: Expected '=' after a key"),
    ("toml-duplicate-key.toml", 8, "TOML syntax: Cannot overwrite a value"),
    ("toml-duplicate-table.toml", 12, "Cannot declare ('steps', 'follow_up') twice"),
    ("toml-inline-table-missing-comma.toml", 6, "TOML syntax: Unclosed inline table"),
    ("toml-inline-table-trailing-comma.toml", 10, "TOML syntax: Invalid initial character"),
    ("toml-inline-table-over-two-lines.toml", 6, "TOML syntax: Invalid initial character"),
    ("toml-invalid-escape.toml", 6, "TOML syntax: Unescaped '\\' in a string"),
    ("toml-array-missing-comma.toml", 3, "TOML syntax: Unclosed array"),
    ("toml-dotted-key-extends-inline-table.toml", 7, "Cannot mutate immutable namespace"),
    ("toml-invalid-date.toml", 4, "TOML syntax: Invalid date or datetime"),
    ("toml-unclosed-table-header.toml", 8, "Expected ']]' at the end of an array declaration"),
    ("toml-bare-word-value.toml", 7, "TOML syntax: Invalid value"),
    ("toml-control-character.toml", 6, "TOML syntax: Illegal character '\\x1b'"),
    ("toml-deeply-nested-array.toml", 7, "nest"),
    # Wrong types, deep in arrays of tables.
    ("offer-amount-is-a-float.toml", 38, "steps[3].offer[2].amount: expected text in quotes"),
    ("pick-is-a-number.toml", 10, "steps[0].pick: Input should be 'one' or 'many'"),
    ("tags-is-a-string.toml", 4, "tags: expected a list"),
    ("choices-contain-a-number.toml", 14, "steps[0].ask.choices[2]: expected text in quotes"),
    ("ask-is-a-string.toml", 10, "steps[1].ask: expected a table"),
    ("steps-is-a-table.toml", 4, "steps: expected a list"),
    ("steps-are-strings.toml", 5, "steps[1]: expected a table"),
    ("steps-table-from-dotted-header.toml", 5, "steps: expected a list"),
    ("ask-required-is-a-string.toml", 6, "steps[0].ask.required: expected true or false"),
    ("follow-up-after-is-a-date.toml", 7, "steps[0].follow_up.after: expected text in quotes"),
    ("goodwill-limit-is-a-number.toml", 3, "goodwill_limit: expected text in quotes"),
    ("when-value-is-a-number.toml", 10, "steps[1].when.arrived: "),
    # Unknown keys, with a suggestion for a near miss.
    ("unknown-key-at-top-level.toml", 3, "sumary: unknown key (did you mean 'summary'?)"),
    ("unknown-key-in-step.toml", 10, "steps[1].titel: unknown key (did you mean 'title'?)"),
    ("unknown-key-in-ask.toml", 9, "ask.promt: unknown key (did you mean 'prompt'?)"),
    ("unknown-key-in-offer.toml", 15, "offer[0].ammount: unknown key (did you mean 'amount'?)"),
    ("unknown-key-in-follow-up.toml", 9, "follow_up.aftre: unknown key (did you mean 'after'?)"),
    ("unknown-quoted-key-with-escape.toml", 7, "unknown key"),
    ("unknown-table-from-dotted-header.toml", 8, "step: unknown key (did you mean 'steps'?)"),
    # Duplicates.
    ("duplicate-step-id.toml", 13, "steps[2].id: duplicate step id 'listen'"),
    ("duplicate-offer-id.toml", 9, "steps[0].offer[2].id: duplicate offer id 'refund'"),
    ("duplicate-answer-key.toml", 10, "'complaint' is already used as an answer key"),
    (
        "answer-key-is-a-case-field.toml",
        6,
        "'email' is already used as an answer key or case field",
    ),
    ("duplicate-choice.toml", 6, "steps[0].ask.choices: duplicate choice"),
    # Placeholders.
    ("placeholder-misspelled.toml", 10, "unknown placeholder $custmer (did you mean $customer?)"),
    ("placeholder-dunder.toml", 10, "steps[1].ask.prompt: unknown placeholder $__class__"),
    ("placeholder-attribute-access.toml", 6, "steps[0].say: a '$' must start a placeholder"),
    ("placeholder-lone-dollar.toml", 8, "offer[1].label: a '$' must start a placeholder"),
    ("placeholder-names-later-answer.toml", 6, "steps[0].say: unknown placeholder $complaint"),
    ("offer-amount-is-a-text-answer.toml", 10, "$complaint is not a money answer"),
    # Conditions.
    ("when-unknown-key.toml", 10, "when.arived: no earlier step captures 'arived'"),
    ("when-names-a-later-step.toml", 6, "when.arrived: no earlier step captures 'arrived'"),
    ("when-on-text-answer.toml", 10, "conditions can test yes/no, choice and offer answers only"),
    ("when-yesno-compared-with-string.toml", 10, "compare it with true or false"),
    ("when-choice-value-not-in-choices.toml", 10, "'xl' is not one of small, large"),
    ("when-offer-value-not-offered.toml", 13, "'refnud' is not one of refund, credit"),
    ("when-is-empty.toml", 10, "steps[1].when: an empty condition"),
    ("when-value-is-an-empty-list.toml", 13, "steps[1].when.remedy: "),
    ("when-choice-compared-with-true.toml", 10, "steps[1].when.size: "),
    # The shape of a step.
    (
        "step-does-nothing.toml",
        8,
        "steps[1]: a step needs something to say, write, do, ask or offer",
    ),
    ("step-with-ask-and-offer.toml", 7, "steps[0].offer: a step can ask or offer, not both"),
    ("choice-with-one-choice.toml", 6, "a choice needs at least two choices"),
    ("choices-without-choice-type.toml", 11, 'choices only go with type = "choice"'),
    ("default-yesno-in-quotes.toml", 11, "ask.default: a yes/no default is true or false"),
    ("default-not-a-choice.toml", 6, "ask.default: the default must be one of small, large"),
    ("default-on-a-text-question.toml", 10, "a default only goes with yes/no and choice questions"),
    # Values in the wrong format.
    ("follow-up-delay-3x.toml", 7, "follow_up.after: not a delay"),
    ("follow-up-delay-three-days.toml", 10, "follow_up.after: not a delay"),
    ("offer-amount-bad-text.toml", 8, "steps[0].offer[1].amount: not a valid amount"),
    ("offer-amount-three-decimals.toml", 10, "steps[0].offer[0].amount: not a valid amount"),
    ("goodwill-limit-not-an-amount.toml", 4, "goodwill_limit: not a valid amount"),
    ("step-id-not-a-slug.toml", 9, "steps[1].id: use lowercase letters, digits and dashes"),
    ("ask-key-not-an-identifier.toml", 6, "ask.key: use lowercase letters, digits and underscores"),
    ("ask-type-unknown.toml", 10, "steps[0].ask.type: Input should be 'text', 'yesno'"),
    ("offer-kind-unknown.toml", 8, "steps[0].offer[1].kind: Input should be 'refund'"),
    # Missing, empty and file-level problems.
    (
        "id-does-not-match-file-name.toml",
        3,
        "id: id 'not-delivered' must match the file name 'id-does-not-match-file-name.toml'",
    ),
    ("missing-id.toml", 1, "id: missing required key"),
    ("missing-title.toml", 1, "title: missing required key"),
    ("missing-steps.toml", 1, "steps: missing required key"),
    ("empty-steps-list.toml", 4, "steps: must not be empty"),
    ("missing-ask-prompt.toml", 10, "steps[1].ask.prompt: missing required key"),
    ("empty-file.toml", 1, "the file is empty"),
    ("only-comments-and-whitespace.toml", 1, "id: missing required key"),
    ("not-utf8.toml", 6, "not UTF-8 text"),
]


def _cases() -> list[object]:
    return [
        pytest.param(name, line, fragment, id=name.removesuffix(".toml"))
        for name, line, fragment in CASES
    ]


def _refused(raw: bytes, path: Path) -> list[Problem]:
    with pytest.raises(PlaybookError) as caught:
        parse_playbook(raw, str(path), stem=path.stem)
    return caught.value.problems


@pytest.mark.parametrize(("name", "line", "fragment"), _cases())
def test_bad_playbook_is_refused_at_the_offending_line(name: str, line: int, fragment: str) -> None:
    path = BAD / name
    raw = path.read_bytes()
    problems = _refused(raw, path)
    shown = "\n".join(str(p) for p in problems)
    assert any(p.line == line and fragment in str(p) for p in problems), shown
    last_line = raw.count(b"\n") + 1
    for problem in problems:
        assert problem.path == str(path)
        assert 1 <= problem.line <= last_line and problem.column >= 1, shown
        assert problem.message, shown


def test_every_corpus_file_has_expectations() -> None:
    names = [name for name, _, _ in CASES]
    assert len(names) == len(set(names)), "a file is listed twice in CASES"
    assert sorted(p.name for p in BAD.iterdir()) == sorted(names)
    assert len(names) >= 28


def test_five_megabyte_file_is_refused_before_parsing(tmp_path: Path) -> None:
    step = '[[steps]]\nid = "listen"\nsay = "Hello, $customer."\n'
    text = 'id = "huge"\ntitle = "Huge"\n' + step * (5_000_000 // len(step) + 1)
    path = tmp_path / "huge.toml"
    path.write_bytes(text.encode()[:5_000_000])
    problems = _refused(path.read_bytes(), path)
    assert [str(p) for p in problems] == [f"{path}:1:1: too large for a playbook (5,000,000 bytes)"]


def test_utf8_cut_off_at_the_end_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "cut-off.toml"
    # The euro sign (e2 82 ac) lost its last byte on line 5, column 17.
    path.write_bytes(b'id = "cut-off"\ntitle = "T"\n[[steps]]\nid = "a"\nsay = "It costs \xe2\x82')
    assert [str(p) for p in _refused(path.read_bytes(), path)] == [f"{path}:5:17: not UTF-8 text"]


# --------------------------------------------------------------------------------------
# Property: the loader is total. Documents are built from pieces of playbook syntax,
# random keys and values, and unbalanced brackets and quotes, so most examples get past
# the TOML parser and exercise the structural and cross-reference checks too.

KEYS = st.sampled_from(
    [
        "id",
        "title",
        "summary",
        "tags",
        "goodwill_limit",
        "steps",
        "say",
        "do",
        "ask",
        "offer",
        "pick",
        "follow_up",
        "when",
        "key",
        "prompt",
        "type",
        "choices",
        "required",
        "label",
        "kind",
        "amount",
        "after",
        "k",
        "ask.type",
        "when.k",
        '"quoted key"',
        "'literal'",
        '"r\\u00e9sum\\u00e9"',
    ]
) | st.from_regex(r"[A-Za-z0-9_-]{1,8}", fullmatch=True)

WORDS = st.sampled_from(
    [
        "a",
        "b",
        "k",
        "pb",
        "one",
        "many",
        "yesno",
        "choice",
        "money",
        "refund",
        "3d",
        "3x",
        "19.50",
        "9.999",
        "$order_value",
        "$k",
        "$x",
        "$5",
        "${__class__}",
        "${customer.name}",
        "{x.__class__}",
        "$$",
        "",
    ]
)

SCALARS = st.one_of(
    WORDS.map(json.dumps),
    st.text(max_size=12).map(lambda s: json.dumps(s, ensure_ascii=False)),
    st.integers().map(str),
    st.floats().map(repr),
    st.sampled_from(["true", "false", "2024-05-01", "1979-05-27T07:32:00Z", "'lit'", '"""m"""']),
)

VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3).map(lambda xs: "[" + ", ".join(xs) + "]"),
        st.lists(st.tuples(KEYS, inner), max_size=3).map(
            lambda kvs: "{" + ", ".join(f"{k} = {v}" for k, v in kvs) + "}"
        ),
    ),
    max_leaves=8,
)

PIECES = st.sampled_from(
    [
        "[[steps]]",
        "[steps]",
        "[steps.ask]",
        "[steps.follow_up]",
        "[[steps.offer]]",
        'id = "pb"',
        'id = "a"',
        'id = "b"',
        'title = "T"',
        'say = "$x"',
        'say = "Hi $customer, ${first_name}"',
        'do = "x"',
        'ask = {key="k", prompt="p"}',
        'ask = {key="k", prompt="p", type="yesno"}',
        'ask = {key="c", prompt="p", type="choice", choices=["x", "y"]}',
        'ask = {key="m", prompt="p", type="money"}',
        'offer = [{id="r", label="R", amount="$order_value"}, {id="s", label="S", amount="$m"}]',
        "when = {k = true}",
        'when = {c = "x"}',
        'when = {b = ["r", "s"]}',
        "when = {}",
        'pick = "one"',
        'follow_up = {after="3d", say="s $k"}',
        'goodwill_limit = "50.00"',
        "steps = []",
        '"',
        "'",
        "[",
        "]",
        "[[",
        "{",
        "}",
        '"""',
        "'''",
        "=",
        "# comment",
        ",",
        ".",
        "\\",
        "",
    ]
)

LINES = st.one_of(
    PIECES,
    st.builds(lambda k, v: f"{k} = {v}", KEYS, VALUES),
    KEYS.map(lambda k: f"[[{k}]]"),
    KEYS.map(lambda k: f"[{k}]"),
)

DOCUMENTS = st.builds(
    lambda head, lines, newline: (head + "\n".join(lines)).replace("\n", newline),
    st.sampled_from(["", 'id = "pb"\ntitle = "T"\n']),
    st.lists(LINES, max_size=25),
    st.sampled_from(["\n", "\r\n"]),
)


STEP_LINES = st.sampled_from(
    [
        'say = "Hello $customer"',
        'say = "You said $k"',
        'do = "Listen."',
        'title = "A title"',
        'ask = { key = "k", prompt = "Yes?", type = "yesno" }',
        'ask = { key = "c", prompt = "Which?", type = "choice", choices = ["x", "y"] }',
        'ask = { key = "m", prompt = "How much?", type = "money" }',
        'ask = { key = "t", prompt = "What?" }',
        'offer = [{ id = "r", label = "R", amount = "$order_value" }, { id = "s", label = "S" }]',
        'offer = [{ id = "r", label = "R", amount = "$m" }]',
        'pick = "one"',
        "when = { k = true }",
        'when = { c = ["x", "y"] }',
        'when = { s1 = "r" }',
        'when = { t = "x" }',
        'follow_up = { after = "2d", say = "Still ok, $first_name?" }',
    ]
)


@st.composite
def playbook_like(draw: st.DrawFn) -> str:
    """Mostly well-formed playbooks: some load, the rest break a cross-reference rule
    or carry one line of anything at all."""
    lines = ['id = "pb"', 'title = "T"']
    for i in range(draw(st.integers(1, 5))):
        lines += ["[[steps]]", f'id = "s{i}"']
        lines += draw(st.lists(STEP_LINES, min_size=1, max_size=3, unique=True))
    if draw(st.booleans()):
        lines.insert(draw(st.integers(0, len(lines))), draw(LINES))
    return "\n".join(lines) + "\n"


@st.composite
def mutated_sample(draw: st.DrawFn) -> str:
    """The sample playbook with one span replaced by a piece of syntax."""
    start = draw(st.integers(0, len(SAMPLE)))
    end = draw(st.integers(start, min(len(SAMPLE), start + 40)))
    return SAMPLE[:start] + draw(LINES | st.text(max_size=5)) + SAMPLE[end:]


def outcome(raw: bytes) -> Playbook | PlaybookError:
    try:
        return parse_playbook(raw, "fuzz.toml", stem="pb")
    except PlaybookError as exc:
        return exc


def check_total(raw: bytes) -> None:
    result = outcome(raw)
    if isinstance(result, Playbook):
        return
    shown = "\n".join(str(p) for p in result.problems)
    assert result.problems
    last_line = raw.count(b"\n") + 1
    for problem in result.problems:
        assert problem.path == "fuzz.toml"
        assert 1 <= problem.line <= last_line and problem.column >= 1, shown
        assert problem.message, shown


FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(DOCUMENTS)
def test_toml_like_documents_load_or_fail_with_positions(text: str) -> None:
    check_total(text.encode())


@FUZZ
@given(playbook_like())
def test_playbook_like_documents_load_or_fail_with_positions(text: str) -> None:
    check_total(text.encode())


@FUZZ
@given(mutated_sample())
def test_mutated_playbooks_load_or_fail_with_positions(text: str) -> None:
    check_total(text.encode())


@FUZZ
@given(st.text())
def test_any_text_loads_or_fails_with_positions(text: str) -> None:
    check_total(text.encode("utf-8", errors="surrogatepass"))


@FUZZ
@given(st.binary())
def test_any_bytes_load_or_fail_with_positions(raw: bytes) -> None:
    check_total(raw)
