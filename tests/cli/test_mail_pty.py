"""A complaint email in a real terminal: the message piped from a mail client into
``recover new --from-mail -``, walked in a pseudo-terminal read through a VT100
emulator, the composed reply edited in $EDITOR, and sent through a real SMTP server
on 127.0.0.1 in the customer's thread."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli.test_mail import COMPLAINT, PASSWORD, WRITTEN, editor
from tests.conftest import read_case
from tests.mail import smtpserver
from tests.mail.smtpserver import SmtpServer
from tests.screen import ENTER, open_screen
from tests.terminal import run

pytestmark = pytest.mark.pty
smtp_servers = smtpserver.smtp_servers  # a fixture


def configured(home: Path, server: SmtpServer) -> None:
    for key, value in (
        ("seller", "Sam"), ("business", "Sam's Templates"), ("from", "help@example.com"),
        ("smtp.host", server.host), ("smtp.port", str(server.port)), ("smtp.user", "sam"),
    ):  # fmt: skip
        done = run(home, "config", "set", key, value)
        assert done.returncode == 0, done.stderr
    playbooks = home / "playbooks"
    playbooks.mkdir()
    (playbooks / "written.toml").write_text(WRITTEN, encoding="utf-8")


def test_a_piped_complaint_is_walked_edited_and_sent_in_its_thread(
    tmp_path: Path, smtp_servers: Callable[..., SmtpServer]
) -> None:
    home = tmp_path / "home"
    server = smtp_servers(auth=("sam", PASSWORD))
    configured(home, server)
    message = tmp_path / "complaint.eml"
    message.write_bytes(COMPLAINT.replace(b"\n", b"\r\n"))
    env = {
        "EDITOR": editor(tmp_path, "PS: I've added a bonus template to your account."),
        "SSL_CERT_FILE": os.environ["SSL_CERT_FILE"],
        "RECOVER_SMTP_PASSWORD": PASSWORD,
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
    }
    args = ("new", "--from-mail", "-", "-p", "written")
    with open_screen(home, *args, cols=100, env=env, piped=message) as screen:
        screen.wait_prompt(1)
        assert screen.find("Email from Reyes, Dana · Order #1042 never arrived") is not None
        assert screen.find("Order value (USD): ") is not None, screen.dump()
        screen.send("29" + ENTER)
        screen.wait_prompt(2)
        text = screen.text()
        assert "EMAIL" in text and "the download link never came." in text, screen.dump()
        assert "WRITE Thank you for writing" in " ".join(text.split())
        # The email's words are on the line, ready to edit; Enter keeps them.
        row = screen.prompt_row("What went wrong?:")
        assert "I paid for the template pack" in screen.row(row), screen.dump()
        screen.send(ENTER)
        screen.wait_prompt(3)
        screen.send("1,2" + ENTER)
        screen.wait_prompt(4)
        screen.send(ENTER)
        screen.wait_prompt(5)
        assert screen.find("How should it go?") is not None, screen.dump()
        assert screen.find("1. Send it now through your mail server") is not None
        screen.send("1" + ENTER)
        screen.wait_prompt(6)
        shown = screen.text()
        assert 'To: "Reyes, Dana" <dana@example.com>' in shown, screen.dump()
        assert "Subject: Re: Order #1042 never arrived" in shown
        assert "PS: I've added a bonus template to your account." in shown
        screen.send("y" + ENTER)
        screen.wait_prompt(7)
        assert screen.find("Sent the reply to dana@example.com.") is not None, screen.dump()
        screen.send("n" + ENTER)
        assert screen.finish() == 0, screen.dump()
    [received] = server.messages
    sent = received.message
    assert sent["In-Reply-To"] == "<complaint-1@mail.example.com>"
    assert sent["Subject"] == "Re: Order #1042 never arrived"
    body = sent.get_content().replace("\r\n", "\n")
    assert body.startswith("Hi Dana,\n\nThank you for writing")
    assert "- A full refund: 29.00 USD" in body and "PS: I've added a bonus" in body
    case = read_case(home)
    assert case["customer"]["channel"] == "email"
    assert case["mail"]["sent"][0]["message_id"] == sent["Message-ID"]
    assert sys.executable  # the child ran this interpreter (tests/screen.py)


def test_a_follow_up_is_offered_by_email_and_saved_as_a_draft(tmp_path: Path) -> None:
    home = tmp_path / "home"
    message = tmp_path / "complaint.eml"
    message.write_bytes(COMPLAINT)
    filed = run(home, "new", "--from-mail", str(message), "--no-input", "-p", "general")
    assert filed.returncode == 0, filed.stderr
    assert run(home, "followup", "add", "1", "--in", "1d").returncode == 0
    with open_screen(home, "followup", "1", cols=100) as screen:
        screen.wait_prompt(1)
        assert screen.find("How should it go?") is not None, screen.dump()
        assert screen.find("2. Open it in your mail client") is not None  # no SMTP set up
        screen.send("1" + ENTER)
        screen.wait_prompt(2)
        default = home / "drafts" / "case-1-follow-up-1.eml"
        shown = "".join(screen.text().split())
        assert f"Savethedraftas[{default}]:" in shown, screen.dump()
        screen.send(ENTER)
        assert screen.finish() == 0, screen.dump()
        assert screen.find("Record what came of it when they answer: recover followup 1")
    assert default.exists()
    assert read_case(home)["mail"]["sent"][0]["status"] == "drafted"
