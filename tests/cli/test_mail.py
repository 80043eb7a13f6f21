"""``recover new --from-mail``, ``recover email add``, ``recover reply`` and the
follow-up's ways out, through the CLI with scripted input; what the user sees and
what is on disk."""

from __future__ import annotations

import contextlib
import email
import email.policy
import json
import os
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from recovery_cli.cli import app
from tests.conftest import Run, read_case
from tests.mail import keyring_backend, smtpserver
from tests.mail.keyring_backend import MemoryKeyring
from tests.mail.smtpserver import (
    SmtpServer,
    dropping_server,
    hanging_server,
    silent_server,
    unused_port,
)

smtp_servers = smtpserver.smtp_servers  # fixtures
test_keyring = keyring_backend.test_keyring

COMPLAINT = b"""\
From: "Reyes, Dana" <dana@example.com>
To: help@example.com
Subject: Order #1042 never arrived
Date: Mon, 30 Nov 2026 09:15:00 +0000
Message-ID: <complaint-1@mail.example.com>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

Hello,

I paid for the template pack last week and the download link never came.
Can you help?

Dana

On Mon, 23 Nov 2026 at 10:00, Sam <help@example.com> wrote:
> Thanks for your order!
"""

ANSWER = b"""\
From: Dana Reyes <dana@example.com>
To: help@example.com
Subject: Re: Order #1042 never arrived
Date: Tue, 01 Dec 2026 08:00:00 +0000
Message-ID: <answer-2@mail.example.com>
In-Reply-To: <complaint-1@mail.example.com>
References: <complaint-1@mail.example.com>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b1"

--b1
Content-Type: text/plain; charset=utf-8

It works now, thank you!

--b1
Content-Type: application/pdf
Content-Disposition: attachment; filename="receipt.pdf"
Content-Transfer-Encoding: base64

JVBERi0xLjQKJcfsj6IKMSAwIG9iago8PD4+CmVuZG9iagp0cmFpbGVyCjw8Pj4KJSVFT0YK

--b1--
"""


@pytest.fixture
def complaint(tmp_path: Path) -> Path:
    path = tmp_path / "complaint.eml"
    path.write_bytes(COMPLAINT)
    return path


def cases(home: Path) -> list[str]:
    return sorted(p.stem for p in (home / "cases").glob("*.json"))


def filed(run: Run, path: Path, *more: str) -> str:
    result = run("new", "--from-mail", str(path), "--no-input", "-p", "general", *more)
    assert result.exit_code == 0, result.output
    return str(result.stdout.strip())


def test_a_complaint_email_files_a_case(run: Run, home: Path, complaint: Path) -> None:
    case_id = filed(run, complaint)
    case = read_case(home, case_id)
    assert case["customer"] == {
        "name": "Reyes, Dana", "email": "dana@example.com", "order": "1042",
        "order_value": None, "channel": "email",
    }  # fmt: skip
    [message] = case["mail"]["messages"]
    assert message["message_id"] == "<complaint-1@mail.example.com>"
    assert message["subject"] == "Order #1042 never arrived"
    assert message["date"] == "2026-11-30T09:15:00Z"
    assert len(message["digest"]) == 64
    listen = case["steps"][0]
    assert listen["key"] == "complaint" and listen["status"] == "answered"
    assert "the download link never came" in listen["answer"]
    assert "Thanks for your order" not in listen["answer"]  # quoted history trimmed
    assert case["walk_completed_at"] is None  # the rest waits for `recover resume`


def test_the_same_email_again_finds_its_case(run: Run, home: Path, complaint: Path) -> None:
    first = filed(run, complaint)
    before = (home / "cases" / f"{first}.json").read_bytes()
    assert filed(run, complaint) == first
    assert cases(home) == [first]
    assert (home / "cases" / f"{first}.json").read_bytes() == before
    shown = run("new", "--from-mail", str(complaint), "-p", "general", answers=[":pause"])
    assert shown.exit_code == 0, shown.output
    assert f"Case {first} began with this message; carrying on with it." in shown.stdout
    assert "Step 1 of" in shown.stdout and f"Paused. Case {first} is saved." in shown.output
    assert cases(home) == [first]


def test_an_email_without_a_message_id_is_known_by_its_bytes(
    run: Run, home: Path, tmp_path: Path
) -> None:
    bare = tmp_path / "bare.eml"
    bare.write_bytes(COMPLAINT.replace(b"Message-ID: <complaint-1@mail.example.com>\n", b""))
    first = filed(run, bare)
    assert read_case(home, first)["mail"]["messages"][0]["message_id"] == ""
    assert filed(run, bare) == first and cases(home) == [first]


def test_a_reply_in_the_thread_is_added_as_a_note(
    run: Run, home: Path, complaint: Path, tmp_path: Path
) -> None:
    case_id = filed(run, complaint)
    answer = tmp_path / "answer.eml"
    answer.write_bytes(ANSWER)
    added = run("email", "add", str(answer))
    assert added.exit_code == 0, added.output
    assert added.stdout == (
        f"Added the message to case {case_id}, with 1 attachment noted. "
        f"See it with: recover show {case_id}\n"
    )
    messages = read_case(home, case_id)["mail"]["messages"]
    assert [m["message_id"] for m in messages] == [
        "<complaint-1@mail.example.com>",
        "<answer-2@mail.example.com>",
    ]
    assert messages[1]["attachments"] == [
        {"name": "receipt.pdf", "size": 54, "type": "application/pdf"}
    ]
    assert "It works now" in messages[1]["text"]
    assert not list(home.rglob("receipt.pdf"))  # noted, never copied
    again = run("email", "add", str(answer))
    assert again.stdout == f"Case {case_id} has this message already; nothing changed.\n"
    # Given to `new`, a message of the thread goes to its case too.
    result = run("new", "--from-mail", str(answer), "--no-input")
    assert result.exit_code == 0 and cases(home) == [case_id]
    shown = run("show", case_id).stdout
    assert "Email thread" in shown and "attachment receipt.pdf (54 bytes)" in shown
    assert "Re: Order #1042 never arrived" in shown


def test_a_message_of_no_known_thread_is_not_found(run: Run, home: Path, tmp_path: Path) -> None:
    stray = tmp_path / "stray.eml"
    stray.write_bytes(ANSWER.replace(b"complaint-1@", b"elsewhere@"))
    result = run("email", "add", str(stray))
    assert result.exit_code == 4
    assert "no case has a message this one replies to" in result.stderr
    assert "Dana" not in result.output and "Traceback" not in result.output


def test_an_mbox_is_searched_for_the_message_id(run: Run, home: Path, tmp_path: Path) -> None:
    box = tmp_path / "Inbox.mbox"
    other = COMPLAINT.replace(b"complaint-1@", b"other@").replace(b"Dana", b"Kim")
    box.write_bytes(
        b"From dana@example.com Mon Nov 30 09:15:00 2026\n" + other + b"\n"
        b"From dana@example.com Mon Nov 30 09:16:00 2026\n" + COMPLAINT + b"\n"
    )
    needed = run("new", "--from-mail", str(box), "--no-input")
    assert needed.exit_code == 7 and "--message-id" in needed.stderr
    case_id = filed(run, box, "--message-id", "<complaint-1@mail.example.com>")
    assert read_case(home, case_id)["customer"]["name"] == "Reyes, Dana"
    missing = run("new", "--from-mail", str(box), "--message-id", "<nope@x>", "--no-input")
    assert missing.exit_code == 7 and cases(home) == [case_id]


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", "empty"),
        (b"\x00\x01\x02 not a message at all", "not"),
    ],
)
def test_an_email_that_cannot_be_read_is_one_message(
    run: Run, home: Path, tmp_path: Path, data: bytes, words: str
) -> None:
    path = tmp_path / "bad.eml"
    path.write_bytes(data)
    result = run("new", "--from-mail", str(path), "--no-input")
    assert result.exit_code == 7, result.output
    assert words in result.stderr and "Traceback" not in result.output
    assert not (home / "cases").exists() or cases(home) == []


def test_options_go_with_from_mail_only_as_they_can(run: Run, complaint: Path) -> None:
    lonely = run("new", "--message-id", "<x@y>", "--no-input")
    assert lonely.exit_code == 2 and "--message-id goes with --from-mail" in lonely.stderr
    both = run("new", "--from-mail", str(complaint), "--answers", str(complaint))
    assert both.exit_code == 2


def test_options_win_over_what_the_email_says(run: Run, home: Path, complaint: Path) -> None:
    case_id = filed(run, complaint, "--name", "Dana Reyes", "--order", "A-7")
    customer = read_case(home, case_id)["customer"]
    assert customer["name"] == "Dana Reyes" and customer["order"] == "A-7"
    assert customer["email"] == "dana@example.com"


def test_the_sellers_order_pattern_finds_the_reference(
    run: Run, home: Path, tmp_path: Path
) -> None:
    assert run("config", "set", "mail.order_pattern", r"SHOP-(\d{5})").exit_code == 0
    path = tmp_path / "shop.eml"
    path.write_bytes(COMPLAINT.replace(b"Order #1042", b"Order SHOP-00417"))
    case_id = filed(run, path)
    assert read_case(home, case_id)["customer"]["order"] == "00417"
    bad = run("config", "set", "mail.order_pattern", "(unclosed")
    assert bad.exit_code == 1 and "not a regular expression" in bad.stderr


# -- the reply -----------------------------------------------------------------------------
def editor(tmp_path: Path, add: str) -> str:
    """An $EDITOR that appends a line to the file it is given (as a seller would)."""
    script = tmp_path / "editor.py"
    script.write_text(
        "import sys\n"
        "path = sys.argv[1]\n"
        "text = open(path, encoding='utf-8').read()\n"
        f"open(path, 'w', encoding='utf-8').write(text + {add!r} + '\\n')\n",
        encoding="utf-8",
    )
    return f"{sys.executable} {script}"


def walked_email_case(run: Run, home: Path, complaint: Path) -> str:
    """An email case walked to its end with the sample-like general playbook."""
    case_id = filed(run, complaint)
    result = run("resume", case_id, answers=["" for _ in range(40)])
    assert result.exit_code in (0, 130), result.output
    return case_id


def test_reply_draft_is_a_message_in_the_customers_thread(
    run: Run, home: Path, complaint: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run("config", "set", "seller", "Sam")
    run("config", "set", "business", "Sam's Templates")
    run("config", "set", "from", "help@example.com")
    case_id = filed(run, complaint)
    monkeypatch.setenv("EDITOR", editor(tmp_path, "PS: a new link is on its way."))
    monkeypatch.delenv("VISUAL", raising=False)
    draft = tmp_path / "reply.eml"
    result = run("reply", case_id, "--draft", str(draft), answers=[])
    assert result.exit_code == 0, result.output
    assert f"Draft saved: {draft}" in result.stdout
    assert stat.S_IMODE(os.stat(draft).st_mode) == 0o600
    raw = draft.read_bytes()
    assert b"\r\n" in raw
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert message["X-Unsent"] == "1"
    assert message["Subject"] == "Re: Order #1042 never arrived"
    assert message["In-Reply-To"] == "<complaint-1@mail.example.com>"
    assert message["References"] == "<complaint-1@mail.example.com>"
    assert str(message["To"]) == '"Reyes, Dana" <dana@example.com>'
    assert message["From"].addresses[0].addr_spec == "help@example.com"
    body = message.get_content().replace("\r\n", "\n")
    assert body.startswith("Hi Dana,\n")  # "Reyes, Dana": the given name after the comma
    assert "PS: a new link is on its way." in body and "Sam's Templates" in body
    case = read_case(home, case_id)
    assert "PS: a new link is on its way." in case["mail"]["reply"]
    [out] = case["mail"]["sent"]
    assert out["via"] == "draft" and out["status"] == "drafted" and out["draft"] == str(draft)
    assert out["message_id"] == message["Message-ID"]
    # Opened again later, the reply is as it was left (the editor adds one more line).
    monkeypatch.setenv("EDITOR", editor(tmp_path, "PPS: thank you."))
    before = draft.read_bytes()
    taken = run("reply", case_id, "--draft", str(draft), "--no-edit", "--no-input")
    assert taken.exit_code == 2 and "exists already: nothing was written over" in taken.stderr
    assert draft.read_bytes() == before
    inside = run("reply", case_id, "--draft", str(home / "cases" / f"{case_id}.json"))
    assert inside.exit_code == 2 and "inside recover's home" in inside.stderr
    assert read_case(home, case_id)["id"] == case_id
    second = tmp_path / "reply-2.eml"
    again = run("reply", case_id, "--draft", str(second), answers=[])
    assert again.exit_code == 0
    text = email.message_from_bytes(second.read_bytes(), policy=email.policy.default)
    assert "PS: a new link" in text.get_content() and "PPS: thank you." in text.get_content()


def test_reply_dry_run_shows_everything_and_records_nothing(
    run: Run, home: Path, complaint: Path
) -> None:
    run("config", "set", "from", "help@example.com")
    case_id = filed(run, complaint)
    before = (home / "cases" / f"{case_id}.json").read_bytes()
    result = run("reply", case_id, "--send", "--dry-run", "--no-input")
    assert result.exit_code == 0, result.output
    assert 'To: "Reyes, Dana" <dana@example.com>' in result.stdout
    assert "Subject: Re: Order #1042 never arrived" in result.stdout
    assert "Nothing was sent or recorded." in result.stdout
    assert (home / "cases" / f"{case_id}.json").read_bytes() == before


def test_reply_without_a_way_or_a_terminal_says_how(run: Run, home: Path, complaint: Path) -> None:
    case_id = filed(run, complaint)
    result = run("reply", case_id, "--no-input")
    assert result.exit_code == 0
    assert "Not sent. Send it with --send, --draft FILE.eml or --open" in result.stdout
    both = run("reply", case_id, "--send", "--open", "--no-input")
    assert both.exit_code == 2 and "choose one of --draft, --open and --send" in both.stderr


def test_reply_open_hands_a_mailto_link_to_the_desktop(
    run: Run, home: Path, complaint: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    seen = tmp_path / "opened.txt"
    opener = bin_dir / "xdg-open"
    opener.write_text(f'#!/bin/sh\nprintf "%s" "$1" > {seen}\n')
    opener.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    run("config", "set", "from", "help@example.com")
    case_id = filed(run, complaint)
    result = run("reply", case_id, "--open", "--no-input")
    assert result.exit_code == 0, result.output
    assert "Opened in your mail client" in result.stdout
    url = seen.read_text()
    assert url.startswith("mailto:dana@example.com?subject=Re%3A%20Order%20%231042")
    assert "in-reply-to=%3Ccomplaint-1%40mail.example.com%3E" in url
    assert read_case(home, case_id)["mail"]["sent"][0]["status"] == "opened"
    # A message too long for a mailto: link is saved as a draft instead, and said so.
    monkeypatch.setenv("EDITOR", editor(tmp_path, "x" * 3000))
    long = run("reply", case_id, "--open", answers=[])
    assert long.exit_code == 0, long.output
    assert "Saved as a draft instead, because it is too long for a mailto: link" in long.stdout
    drafted = home / "drafts" / f"case-{case_id}-reply.eml"
    assert drafted.exists() and stat.S_IMODE(os.stat(drafted).st_mode) == 0o600


def test_config_never_holds_a_password(run: Run, home: Path) -> None:
    bad = run("config", "set", "smtp.password", "hunter2")
    assert bad.exit_code == 1 and "recover config password" in bad.output
    assert "hunter2" not in bad.output
    for key, value in (
        ("from", "help@example.com"), ("smtp.host", "smtp.example.com"),
        ("smtp.port", "587"), ("smtp.security", "starttls"), ("smtp.user", "help@example.com"),
        ("smtp.timeout", "10"),
    ):  # fmt: skip
        assert run("config", "set", key, value).exit_code == 0
    shown = json.loads(run("config", "--json").stdout)
    assert shown["smtp.host"] == "smtp.example.com" and shown["smtp.port"] == 587
    text = (home / "config.toml").read_text()
    assert "[smtp]" in text and 'host = "smtp.example.com"' in text and "port = 587" in text
    for key, value, words in (
        ("from", "two@a.com, three@b.com", "one email address"),
        ("smtp.port", "70000", "port number"),
        ("smtp.security", "ssl", "starttls, tls, none"),
        ("smtp.host", "smtp example com", "host name"),
    ):
        result = run("config", "set", key, value)
        assert result.exit_code == 1 and words in result.stderr, (key, result.output)


# -- sending through a real SMTP server ------------------------------------------------
PASSWORD = "s3cret-Pa55word-7731"


def mail_settings(
    run: Run, host: str, port: int, *, security: str = "starttls", user: str = "sam"
) -> None:
    for key, value in (
        ("seller", "Sam"), ("business", "Sam's Templates"), ("from", "help@example.com"),
        ("smtp.host", host), ("smtp.port", str(port)), ("smtp.security", security),
        ("smtp.user", user), ("smtp.timeout", "2"),
    ):  # fmt: skip
        assert run("config", "set", key, value).exit_code == 0


def nothing_secret_in(home: Path) -> None:
    for path in home.rglob("*"):
        if path.is_file():
            assert PASSWORD.encode() not in path.read_bytes(), path


def test_reply_goes_through_smtp_in_the_customers_thread_once(
    run: Run,
    home: Path,
    complaint: Path,
    smtp_servers: Callable[..., SmtpServer],
    test_keyring: MemoryKeyring,
) -> None:
    server = smtp_servers(auth=("sam", PASSWORD))
    mail_settings(run, server.host, server.port)
    kept = CliRunner().invoke(app, ["config", "password", "--stdin"], input=PASSWORD + "\n")
    assert kept.exit_code == 0, kept.output
    assert "recover-smtp" not in kept.stdout or PASSWORD not in kept.stdout
    case_id = filed(run, complaint)
    result = run("reply", case_id, "--send", "--yes", "--no-input")
    assert result.exit_code == 0, result.output
    assert "Sent the reply to dana@example.com." in result.stdout
    [received] = server.messages
    assert server.logins == ["sam"]
    assert received.rcpt_tos == ("dana@example.com",)
    message = received.message
    assert message["Subject"] == "Re: Order #1042 never arrived"
    assert message["In-Reply-To"] == "<complaint-1@mail.example.com>"
    assert message["References"] == "<complaint-1@mail.example.com>"
    assert str(message["From"]) == "Sam at Sam's Templates <help@example.com>"
    assert str(message["To"]) == '"Reyes, Dana" <dana@example.com>'
    assert message["X-Unsent"] is None
    assert "Thank you for writing" in message.get_content()
    case = read_case(home, case_id)
    [out] = case["mail"]["sent"]
    assert out["status"] == "sent" and out["via"] == "smtp" and out["to"] == "dana@example.com"
    assert out["message_id"] == message["Message-ID"] and out["sent_at"]
    nothing_secret_in(home)
    # Again: it went already, so nothing goes (a script's retry is safe).
    again = run("reply", case_id, "--send", "--yes", "--no-input")
    assert again.exit_code == 1 and "was sent already" in again.stderr
    assert len(server.messages) == 1
    copy = run("reply", case_id, "--send", "--yes", "--no-input", "--again")
    assert copy.exit_code == 0 and len(server.messages) == 2
    # The second copy is a reply in the same thread, under an id of its own.
    second = server.messages[1].message
    assert second["Message-ID"] != message["Message-ID"]
    assert message["Message-ID"] in second["References"]


@pytest.mark.parametrize("failure", ["refused", "dropped", "timeout", "auth", "unreachable"])
def test_a_failed_send_keeps_a_draft_and_is_marked_not_sent(
    run: Run,
    home: Path,
    complaint: Path,
    smtp_servers: Callable[..., SmtpServer],
    monkeypatch: pytest.MonkeyPatch,
    failure: str,
) -> None:
    monkeypatch.setenv("RECOVER_SMTP_PASSWORD", PASSWORD)
    with contextlib.ExitStack() as stack:
        if failure == "refused":
            server: Any = smtp_servers(auth=("sam", PASSWORD), reject_data=550)
            security = "starttls"
        elif failure == "auth":
            server = smtp_servers(auth=("sam", "another password"))
            security = "starttls"
        elif failure == "dropped":
            server = stack.enter_context(dropping_server())
            security = "none"
        elif failure == "timeout":
            server = stack.enter_context(silent_server())
            security = "none"
        else:
            server = type("Nowhere", (), {"host": "127.0.0.1", "port": unused_port()})()
            security = "none"
        user = "" if failure in ("dropped", "timeout", "unreachable") else "sam"
        mail_settings(run, server.host, server.port, security=security, user=user)
        case_id = filed(run, complaint)
        result = run("reply", case_id, "--send", "--yes", "--no-input")
    assert result.exit_code == 1, result.output
    words = {
        "refused": "550", "dropped": "closed the connection", "timeout": "did not answer",
        "auth": "refused the user name or password", "unreachable": "",
    }  # fmt: skip
    assert f"the reply of case {case_id} was not sent" in result.stderr
    assert words[failure] in result.stderr
    assert PASSWORD not in result.output and "Traceback" not in result.output
    drafted = home / "drafts" / f"case-{case_id}-reply.eml"
    assert f"The message is kept as a draft: {drafted}" in result.stderr
    kept = email.message_from_bytes(drafted.read_bytes(), policy=email.policy.default)
    assert kept["X-Unsent"] == "1" and kept["In-Reply-To"] == "<complaint-1@mail.example.com>"
    [out] = read_case(home, case_id)["mail"]["sent"]
    assert out["status"] == "not_sent" and out["draft"] == str(drafted) and out["error"]
    nothing_secret_in(home)


def test_a_send_cut_short_is_not_repeated_without_again(
    run: Run, home: Path, complaint: Path, smtp_servers: Callable[..., SmtpServer],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    server = smtp_servers(auth=("sam", PASSWORD))
    monkeypatch.setenv("RECOVER_SMTP_PASSWORD", PASSWORD)
    mail_settings(run, server.host, server.port)
    case_id = filed(run, complaint)
    path = home / "cases" / f"{case_id}.json"
    data = json.loads(path.read_text())
    data["mail"]["sent"].append(
        {
            "message_id": "<cut-short@example.com>", "what": "reply", "to": "dana@example.com",
            "subject": "Re: Order #1042 never arrived", "via": "smtp", "status": "sending",
            "at": "2026-12-01T10:00:00Z",
        }
    )  # fmt: skip
    path.write_text(json.dumps(data))
    result = run("reply", case_id, "--send", "--yes", "--no-input")
    assert result.exit_code == 1 and "it may have gone" in result.stderr
    assert server.messages == []
    again = run("reply", case_id, "--send", "--yes", "--no-input", "--again")
    assert again.exit_code == 0, again.output
    assert server.messages[0].message["Message-ID"] == "<cut-short@example.com>"


def test_hostile_names_never_add_a_header(
    run: Run, home: Path, tmp_path: Path, smtp_servers: Callable[..., SmtpServer],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    server = smtp_servers(auth=("sam", PASSWORD))
    monkeypatch.setenv("RECOVER_SMTP_PASSWORD", PASSWORD)
    mail_settings(run, server.host, server.port)
    hostile = tmp_path / "hostile.eml"
    hostile.write_bytes(
        COMPLAINT.replace(
            b'From: "Reyes, Dana" <dana@example.com>',
            b"From: =?utf-8?q?Dana=0D=0ABcc:_evil@example.net?= <dana@example.com>",
        ).replace(
            b"Subject: Order #1042 never arrived",
            b"Subject: =?utf-8?q?Help=0D=0ABcc:_evil@example.net=0D=0A?=",
        )
    )
    case_id = filed(run, hostile)
    assert "\n" not in read_case(home, case_id)["customer"]["name"]
    result = run("reply", case_id, "--send", "--yes", "--no-input")
    assert result.exit_code == 0, result.output
    [received] = server.messages
    assert received.rcpt_tos == ("dana@example.com",)
    message = received.message
    assert message["Bcc"] is None and b"\nBcc" not in received.data
    assert [a.addr_spec for a in message["To"].addresses] == ["dana@example.com"]
    headers = {name.lower() for name in message}
    assert headers == {
        "from", "to", "subject", "date", "message-id", "in-reply-to", "references",
        "mime-version", "content-type", "content-transfer-encoding",
    }  # fmt: skip


def test_a_follow_up_goes_out_by_email_and_followups_says_so(
    run: Run, home: Path, complaint: Path, smtp_servers: Callable[..., SmtpServer],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    server = smtp_servers(auth=("sam", PASSWORD))
    monkeypatch.setenv("RECOVER_SMTP_PASSWORD", PASSWORD)
    mail_settings(run, server.host, server.port)
    case_id = filed(run, complaint)
    assert run("followup", "add", case_id, "--in", "1d").exit_code == 0
    due = json.loads(run("followups", "--json", "--all").stdout)
    assert due[0]["sent"] is None
    result = run("followup", case_id, "--send", "--yes", "--no-input")
    assert result.exit_code == 0, result.output
    assert "Sent follow-up 1 to dana@example.com." in result.stdout
    assert f"Record what came of it when they answer: recover followup {case_id}" in result.stdout
    [received] = server.messages
    assert received.message["Subject"] == "Re: Order #1042 never arrived"
    assert "check in about your order 1042" in received.message.get_content()
    due = json.loads(run("followups", "--json", "--all").stdout)
    assert due[0]["sent"]["status"] == "sent" and due[0]["sent"]["via"] == "smtp"
    assert "sent by email" in run("followups", "--all").stdout
    # The follow-up is still to record: sending is not hearing back.
    assert read_case(home, case_id)["follow_ups"][0]["done_at"] is None


def test_security_none_is_refused_for_a_server_elsewhere(
    run: Run, home: Path, complaint: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RECOVER_SMTP_PASSWORD", PASSWORD)
    mail_settings(run, "smtp.example.com", 25, security="none")
    case_id = filed(run, complaint)
    result = run("reply", case_id, "--send", "--yes", "--no-input")
    assert result.exit_code == 1 and "none" in result.stderr
    assert (
        "sent" not in read_case(home, case_id)["mail"]
        or not read_case(home, case_id)["mail"]["sent"]
    )


# -- the whole walk, with scripted input -----------------------------------------------
WRITTEN = """\
id = "written"
title = "Written"

[[steps]]
id = "listen"
say = "Tell me what happened, $first_name."
write = "Thank you for writing, and for telling me exactly what happened."
ask = { key = "complaint", prompt = "What went wrong?" }

[[steps]]
id = "remedy"
say = "What would put it right?"
write = "Here is what I have done to put it right:"
offer = [
  { id = "resend", label = "A fresh download link", kind = "exchange" },
  { id = "refund", label = "A full refund", kind = "refund", amount = "$order_value" },
]

[[steps]]
id = "later"
follow_up = { after = "3d", say = "Is everything working now, $first_name?" }
"""


def test_an_email_walked_to_the_end_is_answered_from_the_editor(
    run: Run,
    home: Path,
    complaint: Path,
    tmp_path: Path,
    user_playbook: Callable[[str, str], Path],
    smtp_servers: Callable[..., SmtpServer],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    user_playbook("written", WRITTEN)
    server = smtp_servers(auth=("sam", PASSWORD))
    monkeypatch.setenv("RECOVER_SMTP_PASSWORD", PASSWORD)
    monkeypatch.setenv("EDITOR", editor(tmp_path, "I've also added a little something."))
    monkeypatch.delenv("VISUAL", raising=False)
    mail_settings(run, server.host, server.port)
    answers = ["29", "", "1,2", "", "1", "y", "n"]
    result = run("new", "--from-mail", str(complaint), "-p", "written", answers=answers)
    assert result.exit_code == 0, result.output
    prompts = run.prompter.asked if run.prompter else []
    assert prompts[:2] == ["Order value (USD): ", "What went wrong?: "]
    # The email's words were on the line at the listening step; Enter kept them.
    assert run.prompter is not None and "the download link never came" in run.prompter.prefills[1]
    assert "EMAIL" in result.stdout and "WRITE" in result.stdout
    assert "Pick 1-3 (Enter: not now): " in prompts
    assert "Send the reply to dana@example.com now? [y/N]: " in prompts
    [received] = server.messages
    body = received.message.get_content().replace("\r\n", "\n")
    assert body.split("\n\n")[:4] == [
        "Hi Dana,",
        "Thank you for writing, and for telling me exactly what happened.",
        "Here is what I have done to put it right:",
        "- A fresh download link\n- A full refund: 29.00 USD",
    ]
    assert "I'll check in with you again on" in body
    assert "Best wishes,\nSam\nSam's Templates\nI've also added a little something." in body
    case = read_case(home, "1")
    assert case["steps"][0]["answer"].startswith("Hello, I paid for the template pack")
    assert case["mail"]["sent"][0]["status"] == "sent"
    assert "I've also added a little something." in case["mail"]["reply"]


# -- bad input, stops and refusals ----------------------------------------------------
def test_a_closed_standard_input_is_one_message(run: Run, home: Path) -> None:
    result = run("new", "--from-mail", "-", "--no-input")
    assert result.exit_code == 7 and "standard input" in result.stderr
    assert "Traceback" not in result.output


def test_a_piped_message_with_no_terminal_to_walk_it_on(home: Path, complaint: Path) -> None:
    env = {**os.environ, "RECOVER_HOME": str(home), "NO_COLOR": "1"}
    command = [sys.executable, "-m", "recovery_cli", "new", "--from-mail", "-"]
    with complaint.open("rb") as stdin:
        # A session of its own: no controlling terminal, as under a mail client's filter.
        done = subprocess.run(
            command, stdin=stdin, capture_output=True, text=True, env=env,
            start_new_session=True, timeout=60, check=False,
        )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "there is no terminal to walk it on" in done.stderr
    assert "--no-input" in done.stderr and "Traceback" not in done.stderr
    with complaint.open("rb") as stdin:
        filed_now = subprocess.run(
            [*command, "--no-input"], stdin=stdin, capture_output=True, text=True, env=env,
            start_new_session=True, timeout=60, check=False,
        )  # fmt: skip
    assert filed_now.returncode == 0 and filed_now.stdout == "1\n"


def test_ctrl_c_at_the_way_out_sends_nothing_and_keeps_the_reply(
    run: Run, home: Path, complaint: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    case_id = filed(run, complaint)
    monkeypatch.setenv("EDITOR", editor(tmp_path, "Kept."))
    result = run("reply", case_id, answers=["^C"])
    assert result.exit_code == 130
    assert f"Stopped; nothing was sent for case {case_id}." in result.output
    mail = read_case(home, case_id)["mail"]
    assert "Kept." in mail["reply"] and mail["sent"] == []


def test_reply_refuses_what_it_cannot_do(run: Run, home: Path, complaint: Path) -> None:
    missing = run("reply", "99", "--draft", "x.eml", "--no-input")
    assert missing.exit_code == 4
    phone = run("new", "--answers", str(answers_file(home)), "--no-input")
    assert phone.exit_code == 0, phone.output
    no_address = run("reply", phone.stdout.strip(), "--draft", "x.eml", "--no-input")
    assert no_address.exit_code == 2 and "no email address" in no_address.stderr
    case_id = filed(run, complaint)
    unset = run("reply", case_id, "--send", "--yes", "--no-input")
    assert unset.exit_code == 1 and "no mail server to send through" in unset.stderr
    assert "recover config set smtp.host" in unset.stderr
    run("config", "set", "smtp.host", "127.0.0.1")
    no_sender = run("reply", case_id, "--send", "--yes", "--no-input")
    assert no_sender.exit_code == 1 and "recover config set from" in no_sender.stderr
    run("config", "set", "from", "help@example.com")
    unconfirmed = run("reply", case_id, "--send", "--no-input")
    assert unconfirmed.exit_code == 2 and "Add --yes" in unconfirmed.stderr
    assert "sent" not in json.dumps(read_case(home, case_id)["mail"]["sent"])


def answers_file(home: Path) -> Path:
    path = home.parent / "phone.toml"
    path.write_text('playbook = "general"\n[customer]\nname = "Kim"\nchannel = "phone"\n')
    return path


def test_config_password_needs_a_keyring_or_says_what_to_do(run: Run, home: Path) -> None:
    for key, value in (("smtp.host", "smtp.example.com"), ("smtp.user", "sam")):
        assert run("config", "set", key, value).exit_code == 0
    runner = CliRunner()
    none = runner.invoke(app, ["config", "password", "--stdin"], input=PASSWORD + "\n")
    assert none.exit_code == 1 and "RECOVER_SMTP_PASSWORD" in none.output
    assert PASSWORD not in none.output
    closed = runner.invoke(app, ["config", "password", "--stdin"], input="")
    assert closed.exit_code == 2 and "no password on standard input" in closed.output
    no_terminal = runner.invoke(app, ["config", "password"])
    assert no_terminal.exit_code == 2 and "--stdin" in no_terminal.output
    nothing_secret_in(home)


def test_an_order_named_in_the_email_fills_the_card_from_the_order_book(
    run: Run, home: Path, complaint: Path, tmp_path: Path
) -> None:
    from tests.orders.exports import write_shopify

    exports = tmp_path / "exports"
    exports.mkdir()
    assert run("orders", "import", str(write_shopify(exports))).exit_code == 0
    case_id = filed(run, complaint)
    customer = read_case(home, case_id)["customer"]
    assert customer["order"] == "#1042" and customer["order_value"] == "48.00"
    assert customer["platform"] == "Shopify" and customer["items"]
    # The email's own name and address stay: they are how the customer wrote in.
    assert customer["name"] == "Reyes, Dana" and customer["email"] == "dana@example.com"


def test_a_message_the_server_never_confirmed_may_have_gone(
    run: Run, home: Path, complaint: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with hanging_server() as server:
        mail_settings(run, server.host, server.port, security="none", user="")
        case_id = filed(run, complaint)
        result = run("reply", case_id, "--send", "--yes", "--no-input")
        assert result.exit_code == 1, result.output
        assert f"the reply of case {case_id} may have gone" in result.stderr
        assert "took the whole message but never confirmed it" in result.stderr
        [out] = read_case(home, case_id)["mail"]["sent"]
        assert out["status"] == "sending" and out["draft"]
        # A retry asks first (nothing goes), and --again keeps the Message-ID.
        retry = run("reply", case_id, "--send", "--yes", "--no-input")
        assert retry.exit_code == 1 and "it may have gone" in retry.stderr
        assert len(server.received) == 1
        again = run("reply", case_id, "--send", "--yes", "--no-input", "--again")
        assert again.exit_code == 1
        assert len(server.received) == 2
    first, second = (
        email.message_from_bytes(data, policy=email.policy.default) for data in server.received
    )
    assert first["Message-ID"] == second["Message-ID"] == out["message_id"]


def test_a_draft_or_the_mail_client_never_opens_the_way_to_a_second_send(
    run: Run, home: Path, complaint: Path, tmp_path: Path,
    smtp_servers: Callable[..., SmtpServer], monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    server = smtp_servers(auth=("sam", PASSWORD))
    monkeypatch.setenv("RECOVER_SMTP_PASSWORD", PASSWORD)
    mail_settings(run, server.host, server.port)
    case_id = filed(run, complaint)
    assert run("reply", case_id, "--send", "--yes", "--no-input").exit_code == 0
    drafted = run("reply", case_id, "--draft", str(tmp_path / "d.eml"), "--no-input")
    assert drafted.exit_code == 0
    again = run("reply", case_id, "--send", "--yes", "--no-input")
    assert again.exit_code == 1 and "was sent already" in again.stderr
    assert len(server.messages) == 1


def test_a_message_with_a_gap_is_never_sent(
    run: Run, home: Path, complaint: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run("config", "set", "from", "help@example.com")
    run("config", "set", "smtp.host", "127.0.0.1")
    case_id = filed(run, complaint)
    assert run("followup", "add", case_id, "--in", "1d").exit_code == 0
    result = run("followup", case_id, "--send", "--yes", "--no-input")
    assert result.exit_code == 2
    assert "the message still has 2 gaps to fill: ‹business›, ‹seller›" in result.stderr
    assert "recover config set business" in result.stderr
    assert read_case(home, case_id)["mail"]["sent"] == []
    # A draft is the seller's to finish: it is saved, with a word about the gaps.
    draft = tmp_path / "f.eml"
    saved = run("followup", case_id, "--draft", str(draft), "--no-input")
    assert saved.exit_code == 0 and "The draft still has gaps to fill" in saved.stdout
    assert draft.exists()
    # An editor that empties the message, or fails, sends nothing.
    monkeypatch.setenv("EDITOR", "false")
    failed = run("followup", case_id, "--draft", str(tmp_path / "g.eml"), "--edit", "--no-input")
    assert failed.exit_code == 0 and "Not sent: the editor exited with status 1" in failed.stdout
    assert not (tmp_path / "g.eml").exists()


def test_the_same_email_given_twice_at_once_makes_one_case(home: Path, complaint: Path) -> None:
    env = {**os.environ, "RECOVER_HOME": str(home), "NO_COLOR": "1"}
    command = [sys.executable, "-m", "recovery_cli", "new", "--from-mail", str(complaint)]
    runs = [
        subprocess.Popen(
            [*command, "--no-input"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
        )
        for _ in range(6)
    ]
    printed = {run.communicate(timeout=60)[0].strip() for run in runs}
    assert all(run.returncode == 0 for run in runs)
    assert printed == {"1"} and cases(home) == ["1"]


def test_a_reply_from_another_address_is_added_with_a_word(
    run: Run, home: Path, complaint: Path, tmp_path: Path
) -> None:
    case_id = filed(run, complaint)
    other = tmp_path / "other.eml"
    other.write_bytes(ANSWER.replace(b"Dana Reyes <dana@example.com>", b"Zoe <zoe@example.net>"))
    added = run("email", "add", str(other))
    assert added.exit_code == 0
    assert "another address than the customer's on case" in added.stderr
    assert "zoe" not in added.output
    # Given to `new` once it is in the case, it is not the one the case began with.
    again = run("new", "--from-mail", str(other), "-p", "general", answers=[":pause"])
    assert f"Case {case_id} has this message; carrying on with it." in again.stdout


def test_a_voicemail_case_is_not_an_email_case(run: Run, home: Path) -> None:
    from recovery_cli.cli.views.mailout import wants_reply
    from tests.conftest import sample_case

    for channel, wanted in (("email", True), ("E-mail", True), ("voicemail", False), ("", False)):
        case = sample_case(email="dana@example.com", channel=channel)
        assert wants_reply(case) is wanted, channel
    assert not wants_reply(sample_case(channel="email"))  # no address to write to


def test_doctor_looks_after_the_drafts_folder(
    run: Run, home: Path, complaint: Path, tmp_path: Path
) -> None:
    case_id = filed(run, complaint)
    drafted = home / "drafts" / f"case-{case_id}-reply.eml"
    assert run("reply", case_id, "--draft", str(drafted), "--no-input").exit_code == 0
    drafted.chmod(0o644)
    (home / "drafts").chmod(0o755)
    leftover = home / "drafts" / ".case-1-reply.eml.x1.tmp"
    leftover.write_bytes(b"")
    os.utime(leftover, (1, 1))
    found = run("doctor")
    assert found.exit_code == 1
    assert f"{drafted} is 0644" in found.stdout and "drafts is 0755" in found.stdout
    assert f"{leftover} is left over" in found.stdout
    fixed = run("doctor", "--fix")
    assert stat.S_IMODE(os.stat(drafted).st_mode) == 0o600 and not leftover.exists()
    assert fixed.exit_code == 0, fixed.stdout
