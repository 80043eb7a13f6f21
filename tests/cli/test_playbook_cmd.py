"""`recover playbook ...`: list, show, new, edit (with a scripted editor), check, schema."""

from __future__ import annotations

import json
import os
import stat
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path

import jsonschema
import pytest

from recovery_cli.playbooks.catalog import default_dir, playbook_files
from recovery_cli.playbooks.model import json_schema
from tests.conftest import SAMPLE, Run

SHIPPED = [p.stem for p in playbook_files(default_dir())]


def test_list_shows_origin_and_json(run: Run, user_playbook: Callable[[str, str], Path]) -> None:
    user_playbook("sample", SAMPLE)
    user_playbook("general", 'id = "general"\ntitle = "Mine"\n[[steps]]\nid = "a"\nsay = "Hi."\n')
    user_playbook("broken", 'id = "broken"\n')
    result = run("playbook", "list")
    assert result.exit_code == 0
    rows = {
        line.split()[0]: line.rstrip() for line in result.stdout.splitlines()[1:] if line.strip()
    }
    assert rows["general"].split()[1:] == ["Mine", "1", "yours,", "overrides", "shipped"]
    assert rows["sample"].endswith("yours")
    assert rows["heard"].endswith("shipped")
    assert "broken.toml does not load (2 problems)" in result.stderr
    data = json.loads(run("playbook", "list", "--json").stdout)
    by_id = {p["id"]: p for p in data["playbooks"]}
    assert set(by_id) == {*SHIPPED, "sample"}
    assert by_id["sample"] == {
        "id": "sample",
        "title": "Sample recovery",
        "steps": 7,
        "origin": "yours",
        "path": str(Path(os.environ["RECOVER_HOME"]) / "playbooks" / "sample.toml"),
    }
    assert data["broken"][0]["path"].endswith("broken.toml")


def test_show_reads_like_the_walk(run: Run, user_playbook: Callable[[str, str], Path]) -> None:
    user_playbook("sample", SAMPLE)
    out = run("playbook", "show", "sample").stdout
    for fragment in (
        "Sample recovery (sample)",
        "Goodwill limit: 25.00",
        "2. Apologize  [sorry]",
        "SAY     I'm sorry, $first_name. That should not have happened.",
        "ASK     Did it arrive now? (yesno) → $arrived",
        "OFFER   1. Send it again  (exchange)",
        "2. Full refund  (refund · $order_value)",
        "ONLY IF remedy is refund",
        "ONLY IF arrived is no",
        "LATER   after 3d: Is everything working now",
    ):
        assert fragment in out, fragment
    missing = run("playbook", "show", "nope")
    assert missing.exit_code == 4 and "no playbook 'nope'" in missing.stderr


def test_new_scaffold_is_valid_commented_and_carries_the_schema(run: Run, home: Path) -> None:
    result = run("playbook", "new", "my-shop")
    assert result.exit_code == 0, result.output
    path = home / "playbooks" / "my-shop.toml"
    assert result.stdout == f"{path}\n"
    text = path.read_text()
    assert text.startswith("#:schema ./playbook.schema.json\n# A recovery playbook")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    schema = json.loads((home / "playbooks" / "playbook.schema.json").read_text())
    assert schema == json_schema()
    jsonschema.Draft4Validator(schema).validate(tomllib.loads(text))
    check = run("playbook", "check", str(path))
    assert check.exit_code == 0 and check.stdout == ""
    assert "1 file checked: 0 errors, 0 warnings" in check.stderr
    # It is offered and walkable at once.
    walked = run("new", "-p", "my-shop", answers=["", "", "", "", "", "late", ":pause"])
    assert walked.exit_code == 0 and "Step 1 of 6 · Stop talking, listen" in walked.stdout


def test_new_refuses_to_overwrite_and_checks_the_id(run: Run, home: Path) -> None:
    assert run("playbook", "new", "mine").exit_code == 0
    again = run("playbook", "new", "mine")
    assert again.exit_code == 2 and "mine.toml already exists" in again.stderr
    bad = run("playbook", "new", "../evil")
    assert bad.exit_code == 2 and "is not a playbook id" in bad.stderr
    assert not (home / "evil.toml").exists()


def test_new_from_another_and_overriding_a_shipped_one(run: Run, home: Path) -> None:
    result = run("playbook", "new", "calm", "--from", "hostile-caller")
    assert result.exit_code == 0, result.output
    copy = (home / "playbooks" / "calm.toml").read_text()
    shipped = (default_dir() / "hostile-caller.toml").read_text()
    assert 'id = "calm"' in copy and copy.count("[[steps]]") == shipped.count("[[steps]]")
    override = run("playbook", "new", "heard")
    assert "Your copy now replaces the shipped 'heard'." in override.stderr
    listed = json.loads(run("playbook", "list", "--json").stdout)["playbooks"]
    assert {p["id"]: p["origin"] for p in listed}["heard"] == "yours, overrides shipped"
    assert run("playbook", "new", "x", "--from", "nope").exit_code == 4


EDITOR = """\
import pathlib, sys
state = pathlib.Path(sys.argv[1])
target = pathlib.Path(sys.argv[2])
versions = sorted(state.glob("*.toml"))
done = int((state / "count").read_text()) if (state / "count").exists() else 0
(state / "log").open("a").write(target.read_text() + "\\n=====\\n")
if done < len(versions):
    target.write_text(versions[done].read_text())
(state / "count").write_text(str(done + 1))
sys.exit(int((state / "exit").read_text()) if (state / "exit").exists() else 0)
"""


@pytest.fixture
def editor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Path]:
    """An $EDITOR that writes the given versions of the file, one per opening."""

    def make(*versions: str, exit_code: int = 0) -> Path:
        state = tmp_path / "editor"
        state.mkdir()
        (state / "editor.py").write_text(EDITOR)
        for n, text in enumerate(versions):
            (state / f"{n:02d}.toml").write_text(text)
        if exit_code:
            (state / "exit").write_text(str(exit_code))
        monkeypatch.setenv("VISUAL", f"{sys.executable} {state / 'editor.py'} {state}")
        return state

    return make


BROKEN = SAMPLE.replace('id = "sorry"', 'id = "sorry"\nsya = "typo"')
FIXED = SAMPLE.replace("Sample recovery", "Sample, edited")


def test_edit_reopens_until_valid_and_keeps_the_last_valid_version(
    run: Run, home: Path, editor: Callable[..., Path], user_playbook: Callable[[str, str], Path]
) -> None:
    path = user_playbook("sample", SAMPLE)
    state = editor(BROKEN, FIXED)
    seen_in_between: list[str] = []
    from recovery_cli.cli import prompter

    class Watching(prompter.ScriptedPrompter):
        def ask(self, prompt: str, *, prefill: str = "") -> str:
            seen_in_between.append(path.read_text())  # what a walk would load right now
            return super().ask(prompt)

    run.monkeypatch.setattr(prompter, "open_prompter", lambda console: Watching(["e"]))
    result = run.runner.invoke(run_app(), ["playbook", "edit", "sample"])
    assert result.exit_code == 0, result.output
    assert f"{path}:14:1: steps[1].sya: unknown key (did you mean 'say'?)" in result.stderr
    assert seen_in_between == [SAMPLE]
    assert f"Saved {path}" in result.stdout
    assert path.read_text() == FIXED
    assert (state / "count").read_text() == "2"
    assert not (home / "playbooks" / ".sample.toml").exists()


def run_app() -> object:
    from recovery_cli.cli import app

    return app


def test_edit_discard_leaves_the_file_alone(
    run: Run, home: Path, editor: Callable[..., Path], user_playbook: Callable[[str, str], Path]
) -> None:
    path = user_playbook("sample", SAMPLE)
    editor(BROKEN)
    result = run("playbook", "edit", "sample", answers=["x", "d"])
    assert result.exit_code == 3
    assert "Discarded the change; sample.toml is as it was." in result.stdout
    assert path.read_text() == SAMPLE
    assert not (home / "playbooks" / ".sample.toml").exists()


def test_edit_a_shipped_playbook_copies_it_first(
    run: Run, home: Path, editor: Callable[..., Path]
) -> None:
    shipped = (default_dir() / "heard.toml").read_text()
    editor(shipped.replace('title = "HEARD', 'title = "My HEARD'))
    result = run("playbook", "edit", "heard", answers=[])
    assert result.exit_code == 0, result.output
    assert "Editing a copy of the shipped 'heard'" in result.stdout
    mine = (home / "playbooks" / "heard.toml").read_text()
    assert 'title = "My HEARD' in mine
    assert (default_dir() / "heard.toml").read_text() == shipped
    listed = json.loads(run("playbook", "list", "--json").stdout)["playbooks"]
    assert {p["id"]: p["title"] for p in listed}["heard"].startswith("My HEARD")


def test_edit_without_changes_and_with_a_failing_editor(
    run: Run, home: Path, editor: Callable[..., Path], user_playbook: Callable[[str, str], Path]
) -> None:
    path = user_playbook("sample", SAMPLE)
    state = editor()
    result = run("playbook", "edit", "sample", answers=[])
    assert result.exit_code == 0 and "No changes" in result.stdout
    (state / "count").write_text("0")
    (state / "00.toml").write_text(BROKEN)
    (state / "exit").write_text("1")
    failed = run("playbook", "edit", "sample", answers=[])
    assert failed.exit_code == 1 and "the editor exited with status 1" in failed.stderr
    draft = home / "playbooks" / ".sample.toml"
    assert draft.read_text() == BROKEN and path.read_text() == SAMPLE
    # The next edit carries on with that draft instead of starting over.
    (state / "exit").unlink()
    (state / "01.toml").write_text(FIXED)
    again = run("playbook", "edit", "sample", answers=[])
    assert "Carrying on with the unfinished edit" in again.stdout
    log = (state / "log").read_text().split("\n=====\n")
    assert log[-2] == BROKEN  # the editor opened the kept draft
    assert path.read_text() == FIXED and not draft.exists()


def test_edit_unknown_and_missing_editor(
    run: Run, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VISUAL", "no-such-editor-anywhere")
    result = run("playbook", "edit", "heard", answers=[])
    assert result.exit_code == 1 and "could not start the editor" in result.stderr
    assert run("playbook", "edit", "nope", answers=[]).exit_code == 4


def test_check_all_in_use_errors_warnings_and_json(
    run: Run, user_playbook: Callable[[str, str], Path]
) -> None:
    clean = run("playbook", "check")
    assert clean.exit_code == 0 and clean.stdout == ""
    assert f"{len(SHIPPED)} files checked: 0 errors, 0 warnings" in clean.stderr
    bad = user_playbook("bad", 'id = "bad"\ntitle = "B"\n[[steps]]\nid = "a"\nsay = "$who"\n')
    quiet = user_playbook(
        "quiet", 'id = "quiet"\ntitle = "Q"\n[[steps]]\nid = "a"\ndo = "Ship it."\n'
    )
    result = run("playbook", "check")
    assert result.exit_code == 3
    lines = result.stdout.splitlines()
    assert f"{bad}:5:1: steps[0].say: unknown placeholder $who" in lines
    assert f"{quiet}:1:1: warning: id: no step schedules a follow-up" in "\n".join(lines)
    assert "1 error, 2 warnings" in result.stderr
    data = json.loads(run("playbook", "check", "--json").stdout)
    assert (data["errors"], data["warnings"]) == (1, 2)
    assert {
        "path": str(bad),
        "line": 5,
        "column": 1,
        "severity": "error",
        "field": "steps[0].say",
        "message": "unknown placeholder $who",
    } in data["problems"]
    warned = run("playbook", "check", str(quiet))
    assert warned.exit_code == 0  # warnings alone do not fail a check
    missing = run("playbook", "check", "/nonexistent/x.toml")
    assert missing.exit_code == 3 and "cannot read" in missing.stdout


def test_schema_validates_every_shipped_playbook_and_rejects_what_the_loader_rejects(
    run: Run,
) -> None:
    result = run("playbook", "schema")
    schema = json.loads(result.stdout)
    assert schema["$schema"] == "http://json-schema.org/draft-04/schema#"
    validator = jsonschema.Draft4Validator(schema)
    validator.check_schema(schema)
    for path in playbook_files(default_dir()):
        validator.validate(tomllib.loads(path.read_text()))
    good = tomllib.loads(SAMPLE)
    for change in (
        lambda d: d.update(colour="red"),
        lambda d: d["steps"][0].update(sya="x"),
        lambda d: d["steps"][3]["offer"][0].update(amount=12.5),
        lambda d: d["steps"][3]["offer"][0].update(amount="ten"),
        lambda d: d["steps"][0]["ask"].update(type="essay"),
        lambda d: d.update(steps=[]),
        lambda d: d["steps"][6]["follow_up"].update(after="3x"),
        lambda d: d.pop("title"),
    ):
        broken = json.loads(json.dumps(good))
        change(broken)
        assert not validator.is_valid(broken), broken


def test_ctrl_c_at_the_edit_again_question_keeps_the_draft(
    run: Run, home: Path, editor: Callable[..., Path], user_playbook: Callable[[str, str], Path]
) -> None:
    path = user_playbook("sample", SAMPLE)
    editor(BROKEN)
    result = run("playbook", "edit", "sample", answers=["^C"])
    assert result.exit_code == 130
    draft = home / "playbooks" / ".sample.toml"
    assert f"Stopped. Your draft is kept in {draft}" in result.stderr
    assert draft.read_text() == BROKEN and path.read_text() == SAMPLE
    # A draft is never offered as a playbook.
    ids = [p["id"] for p in json.loads(run("playbook", "list", "--json").stdout)["playbooks"]]
    assert ids.count("sample") == 1


def test_discarding_an_edit_of_a_shipped_playbook(
    run: Run, home: Path, editor: Callable[..., Path]
) -> None:
    editor(BROKEN)
    result = run("playbook", "edit", "heard", answers=["d"])
    assert result.exit_code == 3
    assert "Discarded the change; the shipped 'heard' stays in use." in result.stdout
    assert not (home / "playbooks" / "heard.toml").exists()
