"""Damaged, foreign and newer case files among good ones, through the real CLI.

The contract (README, "Contract with the user"): a damaged or newer-version case file is
reported and left untouched, and every other case still lists and exports. Each command
that reads the whole store names the file on stderr, shows no customer data and no
traceback, and carries on; each command that takes the damaged case's id exits 5 with a
message; no command, `doctor --fix` included, ever rewrites the file.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from recovery_cli.cli import app
from tests.conftest import Run

# The good cases around the damaged one, and the customer of the damaged one: none of
# its details may ever be printed once its file is damaged.
GOOD = {"1": "Good One", "2": "Good Two", "4": "Good Four", "5": "Good Five"}
DAMAGED_ID = "3"
SECRETS = ("Secret Sam", "secret.sam@example.org", "SECRET-ORDER-77", "Secret complaint")
OLD_NS = 1_000_000_000_123_456_789  # an mtime no save could ever write


# -- the store: four good cases and, as case 3, a case whose file is then damaged --------
def _answers(tmp: Path, name: str, email: str, order: str, complaint: str) -> Path:
    path = tmp / f"{email}.json"
    path.write_text(
        json.dumps(
            {
                "playbook": "general",
                "customer": {"name": name, "email": email, "order": order, "order_value": "30"},
                "answers": {"complaint": complaint, "remedy": ["credit"], "happy_now": True},
            }
        ),
        encoding="utf-8",
    )
    return path


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home made through the CLI: cases 1, 2, 4, 5 good (each with a follow-up to do
    and a prevention action), case 3 for a customer whose details are secret."""
    root = tmp_path_factory.mktemp("damaged-template")
    home = root / "home"
    runner = CliRunner()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RECOVER_HOME", str(home))
        mp.setenv("NO_COLOR", "1")
        mp.setenv("COLUMNS", "200")
        mp.delenv("TERM", raising=False)
        for number in ("1", "2", "3", "4", "5"):
            if number == DAMAGED_ID:
                source = _answers(root, *SECRETS)
            else:
                name = GOOD[number]
                email = f"good{number}@example.com"
                source = _answers(root, name, email, f"G-{number}", f"complaint {number}")
            made = runner.invoke(app, ["new", "--answers", str(source), "--no-input"])
            assert made.exit_code == 0 and made.stdout == f"{number}\n", made.output
            closed = runner.invoke(
                app,
                [
                    *("close", number, "--outcome", "kept", "--tag", f"tag{number}"),
                    *("--prevention", f"Prevent {number}", "--no-input"),
                ],
            )
            assert closed.exit_code == 0, closed.output
    original = (home / "cases" / f"{DAMAGED_ID}.json").read_bytes()
    assert b'"done_at": null' in original  # it had a follow-up to do
    assert all(s.encode() in original for s in SECRETS)
    return home


def _secret_case(template: Path) -> tuple[bytes, dict[str, Any]]:
    raw = (template / "cases" / f"{DAMAGED_ID}.json").read_bytes()
    return raw, json.loads(raw)


def _without(data: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k not in keys}


def _wrong_types(data: dict[str, Any]) -> dict[str, Any]:
    changed = json.loads(json.dumps(data))
    changed["steps"][0] = "listen"
    changed["revision"] = "two"
    changed["customer"]["order_value"] = ["30.00"]
    changed["follow_ups"][0]["due_at"] = 17
    return changed


def _newer(data: dict[str, Any]) -> dict[str, Any]:
    return {**data, "schema_version": 2, "added_in_v2": {"anything": True}}


def _huge_integer(raw: bytes) -> bytes:
    # Valid JSON: an integer longer than Python will convert by default (4300 digits).
    return re.sub(rb'"revision": \d+', b'"revision": ' + b"9" * 5000, raw, count=1)


def _deeply_nested(raw: bytes) -> bytes:
    # Valid JSON nested deeper than the decoder's recursion limit.
    return raw.replace(b'"log": [', b'"x": ' + b"[" * 100_000 + b"]" * 100_000 + b', "log": [', 1)


def _bad_utf8(raw: bytes) -> bytes:
    return raw.replace(b"Secret Sam", b"Secret \xff\xfe Sam", 1)


VARIANTS: dict[str, Callable[[bytes, dict[str, Any]], bytes]] = {
    "truncated": lambda raw, data: raw[: len(raw) // 3],
    "all-nul": lambda raw, data: b"\x00" * len(raw),
    "empty": lambda raw, data: b"",
    "not-json": lambda raw, data: b"Secret Sam <secret.sam@example.org> SECRET-ORDER-77\n",
    "a-list": lambda raw, data: json.dumps([data]).encode(),
    "missing-fields": lambda raw, data: json.dumps(
        _without(data, "id", "created_at", "playbook")
    ).encode(),
    "wrong-types": lambda raw, data: json.dumps(_wrong_types(data)).encode(),
    "invalid-utf8": lambda raw, data: _bad_utf8(raw),
    "newer-schema": lambda raw, data: json.dumps(_newer(data), indent=2).encode(),
    "huge-integer": lambda raw, data: _huge_integer(raw),
    "deeply-nested": lambda raw, data: _deeply_nested(raw),
}


@pytest.fixture(params=sorted(VARIANTS))
def damaged(request: pytest.FixtureRequest, template: Path, home: Path) -> Path:
    """The template home, with case 3's file damaged in one of the ways above; its
    mtime set far in the past so that any rewrite shows."""
    shutil.copytree(template, home)
    path = home / "cases" / f"{DAMAGED_ID}.json"
    raw, data = _secret_case(template)
    content = VARIANTS[request.param](raw, data)
    assert content != raw
    path.write_bytes(content)
    os.chmod(path, 0o600)
    os.utime(path, ns=(OLD_NS, OLD_NS))
    return path


def untouched(path: Path, content: bytes) -> None:
    stat = path.stat()
    assert path.read_bytes() == content, f"{path} was rewritten"
    assert stat.st_mtime_ns == OLD_NS, f"{path} was written to (mtime changed)"


def no_traceback(result: Any) -> None:
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )


def no_secrets(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"customer data of the damaged case printed: {secret!r}"


# -- what each whole-store command must still show -------------------------------------
def _ids_in_table(out: str) -> set[str]:
    return {line.split()[0] for line in out.splitlines()[1:] if line.strip()}


def _csv_ids(out: str) -> set[str]:
    return {row["id"] for row in csv.DictReader(io.StringIO(out, newline=""))}


def _names(out: str) -> set[str]:
    return {number for number, name in GOOD.items() if name in out}


def _stats_cases(out: str) -> set[str]:
    match = re.search(r"^Cases\s+(\d+)\s*$", out, re.MULTILINE)
    assert match, out
    return set(GOOD) if int(match.group(1)) == len(GOOD) else {"count:" + match.group(1)}


def _prevent(out: str) -> set[str]:
    return {number for number in GOOD if f"Prevent {number}" in out}


READERS: dict[str, tuple[list[str], Callable[[str], set[str]]]] = {
    "list": (["list"], _ids_in_table),
    "list --json": (["list", "--json"], lambda out: {c["id"] for c in json.loads(out)}),
    "export csv": (["export", "-f", "csv"], _csv_ids),
    "export json": (["export", "-f", "json"], lambda out: {c["id"] for c in json.loads(out)}),
    "export jsonl": (
        ["export", "-f", "jsonl"],
        lambda out: {json.loads(line)["id"] for line in out.splitlines()},
    ),
    "stats": (["stats"], _stats_cases),
    "followups": (["followups"], _names),
    "followups --all --json": (
        ["followups", "--all", "--json"],
        lambda out: {f["case_id"] for f in json.loads(out)},
    ),
    "customer": (["customer", "example.com"], _names),
    "prevent": (["prevent"], _prevent),
}


@pytest.mark.parametrize("reader", sorted(READERS))
def test_whole_store_commands_report_the_damaged_file_and_show_the_rest(
    run: Run, damaged: Path, reader: str
) -> None:
    args, shown = READERS[reader]
    content = damaged.read_bytes()
    result = run(*args)
    untouched(damaged, content)
    no_traceback(result)
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if str(damaged) in line]
    assert len(warnings) == 1, f"{reader} did not name {damaged} on stderr: {result.stderr!r}"
    assert warnings[0].startswith("Warning: ") and "left untouched" in warnings[0]
    no_secrets(result.stderr)
    no_secrets(result.stdout)
    assert shown(result.stdout) == set(GOOD), result.stdout


def test_doctor_names_the_damaged_file(run: Run, damaged: Path) -> None:
    result = run("doctor", "--json")
    no_traceback(result)
    assert result.exit_code == 1, result.output
    data = json.loads(result.stdout)
    (finding,) = [f for f in data["findings"] if f["path"] == str(damaged)]
    assert finding["check"] == "case-files" and finding["fixable"] is False
    assert data["cases"] == len(GOOD) + 1
    no_secrets(result.output)


ID_COMMANDS: dict[str, list[str]] = {
    "show": ["show", DAMAGED_ID],
    "show --json": ["show", DAMAGED_ID, "--json"],
    "resume": ["resume", DAMAGED_ID],
    "close": ["close", DAMAGED_ID],
    "close --no-input": ["close", DAMAGED_ID, "--outcome", "lost", "--no-input"],
    "followup": ["followup", DAMAGED_ID],
    "followup --no-input": ["followup", DAMAGED_ID, "--not-reached", "--no-input"],
    "followup add": ["followup", "add", DAMAGED_ID, "--in", "2d"],
    "prevent done": ["prevent", "done", DAMAGED_ID],
}


@pytest.mark.parametrize("command", sorted(ID_COMMANDS))
def test_commands_on_the_damaged_case_exit_5_with_a_message(
    run: Run, damaged: Path, command: str
) -> None:
    content = damaged.read_bytes()
    result = run(*ID_COMMANDS[command])
    no_traceback(result)
    assert result.exit_code == 5, (result.exit_code, result.output)
    first = result.stderr.splitlines()[0]
    assert first.startswith(f"Error: {damaged} "), result.stderr
    assert "left untouched" in first
    assert result.stdout == ""
    no_secrets(result.output)
    untouched(damaged, content)


def test_a_newer_case_file_says_to_upgrade(run: Run, template: Path, home: Path) -> None:
    shutil.copytree(template, home)
    path = home / "cases" / f"{DAMAGED_ID}.json"
    raw, data = _secret_case(template)
    path.write_bytes(VARIANTS["newer-schema"](raw, data))
    result = run("show", DAMAGED_ID)
    assert result.exit_code == 5
    assert result.stderr == (
        f"Error: {path} was written by a newer version of recover (schema 2); "
        "it was left untouched\nUpgrade recover to work with this case.\n"
    )


# Beyond the commands above (each of which checks the file is untouched too).
EVERY_OTHER_COMMAND: list[list[str]] = [
    [],
    ["resume"],
    ["list", "--all", "--status", "open"],
    ["followups", "--all", "--ics", "{tmp}/f.ics"],
    ["export", "-f", "csv", "-o", "{tmp}/out.csv"],
    ["export", "-f", "jsonl", "-o", "{tmp}/out.jsonl"],
    ["stats", "--json"],
    ["prevent", "--all", "--json"],
    ["customer", "Secret", "--json"],
    ["doctor"],
    ["doctor", "--json"],
    ["doctor", "--fix"],
    ["doctor", "--fix", "--json"],
]


def test_no_command_ever_rewrites_a_damaged_file(run: Run, damaged: Path, tmp_path: Path) -> None:
    content = damaged.read_bytes()
    others = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in damaged.parent.glob("*.json")}
    for args in EVERY_OTHER_COMMAND:
        run(*(arg.replace("{tmp}", str(tmp_path)) for arg in args))
        untouched(damaged, content)
    # Nothing else was written either: every command here only reads (or fixes modes).
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in others} == others
    assert sorted(p.name for p in damaged.parent.iterdir() if p.name.endswith(".tmp")) == []


# -- files the models accept, with values the commands must still cope with ---------------
def _naive_times(data: dict[str, Any]) -> dict[str, Any]:
    changed = json.loads(json.dumps(data))
    for key in ("created_at", "updated_at"):
        changed[key] = changed[key].replace("Z", "")
    for item in changed["follow_ups"]:
        item["due_at"] = item["due_at"].replace("Z", "")
    return changed


def _absurd_amounts(data: dict[str, Any]) -> dict[str, Any]:
    changed = json.loads(json.dumps(data))
    changed["customer"]["order_value"] = "1E+400"
    changed["remedies"][0]["amount"] = "1E+400"
    return changed


ODD: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "times-without-a-zone": _naive_times,
    "amounts-out-of-range": _absurd_amounts,
}


@pytest.mark.parametrize("odd", sorted(ODD))
@pytest.mark.parametrize("reader", sorted(READERS))
def test_an_odd_but_readable_case_file_never_stops_a_command_for_the_others(
    run: Run, template: Path, home: Path, odd: str, reader: str
) -> None:
    """Case 3 holds values a hand edit could leave (a time without its zone, an amount
    of 1E+400): it may be shown or reported as damaged, but every other case still
    lists and exports, and nothing crashes."""
    shutil.copytree(template, home)
    path = home / "cases" / f"{DAMAGED_ID}.json"
    _, data = _secret_case(template)
    path.write_text(json.dumps(ODD[odd](data)), encoding="utf-8")
    args, shown = READERS[reader]
    result = run(*args)
    no_traceback(result)
    assert result.exit_code == 0, result.output
    if reader == "stats":
        match = re.search(r"^Cases\s+(\d+)\s*$", result.stdout, re.MULTILINE)
        assert match and int(match.group(1)) in (len(GOOD), len(GOOD) + 1), result.stdout
    else:
        assert set(GOOD) <= shown(result.stdout), result.stdout


@pytest.mark.parametrize("odd", sorted(ODD))
def test_an_odd_but_readable_case_file_is_shown_or_reported(
    run: Run, template: Path, home: Path, odd: str
) -> None:
    shutil.copytree(template, home)
    path = home / "cases" / f"{DAMAGED_ID}.json"
    _, data = _secret_case(template)
    path.write_text(json.dumps(ODD[odd](data)), encoding="utf-8")
    result = run("show", DAMAGED_ID)
    no_traceback(result)
    assert result.exit_code in (0, 5), result.output


# -- unknown fields survive real CLI changes ------------------------------------------
EXTRAS: dict[str, Any] = {"from_v9": {"nested": [1, 2.5, None, True, "s"]}, "flag": False}


def _add_extras(data: dict[str, Any]) -> dict[str, Any]:
    data = json.loads(json.dumps(data))
    data.update({"x_top": EXTRAS})
    data["customer"]["x_customer"] = "Annie"
    data["playbook"]["x_playbook"] = [1, 2]
    data["steps"][0]["x_step"] = EXTRAS
    data["steps"][-1]["x_step_last"] = "last"
    data["remedies"][0]["x_remedy"] = {"voucher": "V-1"}
    data["follow_ups"][0]["x_follow_up"] = 3
    data["outcome"]["x_outcome"] = "kept forever"
    data["log"][0]["x_log"] = None
    return data


def _extras_of(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "top": data.get("x_top"),
        "customer": data["customer"].get("x_customer"),
        "playbook": data["playbook"].get("x_playbook"),
        "step": data["steps"][0].get("x_step"),
        "step_last": data["steps"][-1].get("x_step_last"),
        "remedy": data["remedies"][0].get("x_remedy"),
        "follow_up": data["follow_ups"][0].get("x_follow_up"),
        "log": ("x_log" in data["log"][0], data["log"][0].get("x_log")),
    }


def test_unknown_fields_survive_loads_and_saves_through_the_cli(
    run: Run, template: Path, home: Path
) -> None:
    shutil.copytree(template, home)
    path = home / "cases" / "1.json"
    data = _add_extras(json.loads(path.read_bytes()))
    path.write_text(json.dumps(data), encoding="utf-8")
    expected = _extras_of(data)
    assert expected["log"] == (True, None)
    revision = data["revision"]
    changes = [
        ["followup", "add", "1", "--in", "2d", "--note", "Check again"],
        ["prevent", "done", "1"],
        ["followup", "1", "--reached", "--happy", "not-yet", "--note", "n", "--no-input"],
        ["close", "1", "--outcome", "refunded", "--satisfaction", "4", "--no-input"],
    ]
    for args in changes:
        result = run(*args)
        assert result.exit_code == 0, (args, result.output)
        saved = json.loads(path.read_bytes())
        assert saved["revision"] == revision + 1, args  # it really was saved
        revision = saved["revision"]
        assert _extras_of(saved) == expected, args
        if args[0] != "close":  # close records a new outcome in place of the old one
            assert saved["outcome"]["x_outcome"] == "kept forever", args
    shown = json.loads(run("show", "1", "--json").stdout)
    assert _extras_of(shown) == expected
    exported = json.loads(run("export", "-f", "jsonl").stdout.splitlines()[0])
    assert _extras_of(exported) == expected
