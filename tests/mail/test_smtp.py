"""Sending through real SMTP servers on 127.0.0.1 (tests/mail/smtpserver.py): STARTTLS
and implicit TLS with a certificate from a test CA, AUTH, and every way a send can
fail, each one SendError with its kind and never the password. Then the password's
look-up in a test keyring (never the developer's own) and the environment."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from recovery_cli.errors import ExitStatus
from recovery_cli.mail.outgoing import Outgoing, build_message
from recovery_cli.mail.smtp import (
    KEYRING_SERVICE,
    PASSWORD_ENV,
    SendError,
    SmtpSettings,
    check_security,
    find_password,
    is_loopback,
    keyring_name,
    send,
    store_password,
)
from tests.mail import keyring_backend, smtpserver
from tests.mail.keyring_backend import FailingKeyring, MemoryKeyring
from tests.mail.smtpserver import (
    REJECT_TEXT,
    SmtpServer,
    dropping_server,
    other_ca_file,
    silent_server,
    unused_port,
)

# The fixtures of the helpers, in this module's namespace for pytest to find.
smtp_servers = smtpserver.smtp_servers
test_keyring = keyring_backend.test_keyring
failing_keyring = keyring_backend.failing_keyring

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "Zq9-pass-7Xv!kT3-w0rd"  # distinctive: looked for in every message and log
UTF8_PASSWORD = "Zq9-pässwörd-7Xv!kT3"
USER = "sam@shop.example"
NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
Start = Callable[..., SmtpServer]


@pytest.fixture(autouse=True)
def _no_password_in_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PASSWORD_ENV, raising=False)


def outgoing(**changes: Any) -> Outgoing:
    fields: dict[str, Any] = {
        "sender": "help@shop.example",
        "sender_name": "Sam at Acme Books",
        "to_address": "dana@example.com",
        "to_name": "Dana\r\nBcc: evil@example.com",
        "subject": "Re: Broken mug\r\nBcc: x@y",
        "body": "Hi Dana,\n\nA new mug is on its way – sorry.\n.\nSam\n",
        "message_id": "<179600000.1.2@shop.example>",
        "date": NOW,
        "in_reply_to": "<c2@customer.example>",
        "references": ("<c1@customer.example>",),
    }
    fields.update(changes)
    return Outgoing(**fields)


def settings_for(server: Any, **changes: Any) -> SmtpSettings:
    fields: dict[str, Any] = {"host": server.host, "port": server.port, "timeout": 5.0}
    fields.update(changes)
    return SmtpSettings(**fields)


def failure(
    message: Any, settings: SmtpSettings, password: str | None, caplog: pytest.LogCaptureFixture
) -> SendError:
    """The SendError of a send that must fail, checked for the password."""
    caplog.set_level(logging.DEBUG)
    with pytest.raises(SendError) as raised:
        send(message, settings, password)
    error = raised.value
    assert error.exit_code == ExitStatus.ERROR
    shown = f"{error} {error!r} {error.message} {error.hint} {error.args}"
    assert PASSWORD not in shown
    assert PASSWORD not in caplog.text
    assert "\n" not in error.message and "\r" not in error.message
    assert "A new mug" not in shown  # never the body
    assert error.__cause__ is None
    assert error.__context__ is None or error.__suppress_context__
    return error


# -- sending ----------------------------------------------------------------------------


def test_starttls_and_auth_deliver_the_message(
    smtp_servers: Start, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    server = smtp_servers(auth=(USER, PASSWORD))
    send(build_message(outgoing()), settings_for(server, user=USER), PASSWORD)
    assert server.logins == [USER]
    [received] = server.messages
    assert received.mail_from == "help@shop.example"
    assert received.rcpt_tos == ("dana@example.com",)
    message = received.message
    assert sorted(message.keys()) == sorted(
        [
            "From",
            "To",
            "Subject",
            "Date",
            "Message-ID",
            "In-Reply-To",
            "References",
            "MIME-Version",
            "Content-Type",
            "Content-Transfer-Encoding",
        ]
    )
    assert "Bcc" not in message
    assert [a.addr_spec for a in message["To"].addresses] == ["dana@example.com"]
    assert message["To"].addresses[0].display_name == "Dana Bcc: evil@example.com"
    assert message["Subject"] == "Re: Broken mug Bcc: x@y"
    assert message["Message-ID"] == "<179600000.1.2@shop.example>"
    assert message["In-Reply-To"] == "<c2@customer.example>"
    assert message["References"] == "<c1@customer.example> <c2@customer.example>"
    body = message.get_content().replace("\r\n", "\n")
    assert body == "Hi Dana,\n\nA new mug is on its way – sorry.\n.\nSam\n"  # the lone dot too
    out, err = capfd.readouterr()
    assert PASSWORD not in out + err + caplog.text


def test_a_password_that_is_not_ascii(
    smtp_servers: Start, caplog: pytest.LogCaptureFixture
) -> None:
    server = smtp_servers(auth=(USER, UTF8_PASSWORD))
    send(build_message(outgoing()), settings_for(server, user=USER), UTF8_PASSWORD)
    assert server.logins == [USER] and len(server.messages) == 1
    wrong = UTF8_PASSWORD.replace("ä", "a")
    caplog.set_level(logging.DEBUG)
    with pytest.raises(SendError) as raised:
        send(build_message(outgoing()), settings_for(server, user=USER), wrong)
    assert raised.value.kind == "auth"
    assert wrong not in f"{raised.value!r} {raised.value.hint} {caplog.text}"


def test_implicit_tls_delivers_the_message(smtp_servers: Start) -> None:
    server = smtp_servers(tls=True, auth=(USER, PASSWORD))
    send(
        build_message(outgoing()),
        settings_for(server, security="tls", user=USER, host="localhost"),
        PASSWORD,
    )
    [received] = server.messages
    assert received.rcpt_tos == ("dana@example.com",)
    assert received.message["Subject"] == "Re: Broken mug Bcc: x@y"


def test_no_security_is_allowed_to_this_machine(smtp_servers: Start) -> None:
    server = smtp_servers(starttls=False)
    send(build_message(outgoing()), settings_for(server, security="none"), None)
    assert len(server.messages) == 1


def test_a_wrong_password_is_an_auth_error(
    smtp_servers: Start, caplog: pytest.LogCaptureFixture
) -> None:
    server = smtp_servers(auth=(USER, "the right one"))
    error = failure(build_message(outgoing()), settings_for(server, user=USER), PASSWORD, caplog)
    assert error.kind == "auth"
    assert error.message == "the mail server refused the user name or password"
    assert server.messages == []


def test_a_user_without_password_fails_before_connecting(caplog: pytest.LogCaptureFixture) -> None:
    settings = SmtpSettings(host="127.0.0.1", port=unused_port(), user=USER, timeout=1)
    error = failure(build_message(outgoing()), settings, None, caplog)
    assert error.kind == "auth"
    assert "recover config password" in error.message and PASSWORD_ENV in error.message


def test_a_message_refused_at_data_end(
    smtp_servers: Start, caplog: pytest.LogCaptureFixture
) -> None:
    server = smtp_servers(auth=(USER, PASSWORD), reject_data=550)
    error = failure(build_message(outgoing()), settings_for(server, user=USER), PASSWORD, caplog)
    assert error.kind == "refused"
    assert error.message == f"the mail server refused the message: 550 {REJECT_TEXT}"
    assert "dana@example.com" not in error.message
    assert server.messages == []


def test_a_refused_recipient_is_named_without_its_address(
    smtp_servers: Start, caplog: pytest.LogCaptureFixture
) -> None:
    server = smtp_servers(auth=(USER, PASSWORD), reject_rcpt=550)
    message = build_message(outgoing(to_address="Dana.Reyes@Example.com"))
    error = failure(message, settings_for(server, user=USER), PASSWORD, caplog)
    assert error.kind == "refused"
    assert error.message == (
        "the mail server refused the customer's address: "
        "550 5.1.1 <[...]>: Recipient address rejected"
    )
    assert "dana" not in error.message.lower()


def test_a_message_without_a_single_recipient_is_not_sent() -> None:
    message = build_message(outgoing())
    del message["To"]
    message["To"] = "a@example.com, b@example.com"
    with pytest.raises(SendError) as raised:
        send(message, SmtpSettings("127.0.0.1", unused_port(), timeout=1), None)
    assert raised.value.kind == "settings"
    assert "To" in raised.value.message


def test_a_connection_dropped_in_the_middle_of_data(caplog: pytest.LogCaptureFixture) -> None:
    with dropping_server() as server:
        settings = settings_for(server, security="none")
        error = failure(build_message(outgoing()), settings, None, caplog)
        assert server.connections == 1
        assert any(line[:4].upper() == b"DATA" for line in server.received)
    assert error.kind == "dropped"
    assert error.message == "the mail server closed the connection before the message was accepted"


def test_a_silent_server_times_out(caplog: pytest.LogCaptureFixture) -> None:
    with silent_server() as server:
        settings = settings_for(server, timeout=0.5)
        started = time.monotonic()
        error = failure(build_message(outgoing()), settings, None, caplog)
        elapsed = time.monotonic() - started
    assert error.kind == "timeout"
    assert error.message == f"the mail server 127.0.0.1:{server.port} did not answer within 0.5 s"
    assert 0.4 < elapsed < 5


def test_nothing_listening_is_unreachable(caplog: pytest.LogCaptureFixture) -> None:
    port = unused_port()
    error = failure(
        build_message(outgoing()), SmtpSettings("127.0.0.1", port, timeout=2), None, caplog
    )
    assert error.kind == "unreachable"
    assert error.message == f"the mail server 127.0.0.1:{port} refused the connection"


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_a_certificate_from_an_unknown_authority_is_refused(
    security: str,
    smtp_servers: Start,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = smtp_servers(tls=security == "tls", auth=(USER, PASSWORD), trust=False)
    monkeypatch.setenv("SSL_CERT_FILE", other_ca_file(tmp_path))
    settings = settings_for(server, security=security, user=USER)
    error = failure(build_message(outgoing()), settings, PASSWORD, caplog)
    assert error.kind == "tls"
    assert error.message.startswith("the mail server's certificate could not be verified: ")
    assert "certificate" in error.message.split(": ", 1)[1]  # the reason, from OpenSSL
    assert server.messages == [] and server.logins == []


def test_a_server_without_starttls(smtp_servers: Start, caplog: pytest.LogCaptureFixture) -> None:
    server = smtp_servers(starttls=False)
    error = failure(build_message(outgoing()), settings_for(server), None, caplog)
    assert error.kind == "tls"
    assert error.message == f"the mail server 127.0.0.1:{server.port} does not offer STARTTLS"
    assert server.messages == []


def test_tls_to_a_plain_server_is_a_tls_error(
    smtp_servers: Start, caplog: pytest.LogCaptureFixture
) -> None:
    server = smtp_servers(starttls=False)
    error = failure(build_message(outgoing()), settings_for(server, security="tls"), None, caplog)
    assert error.kind == "tls"


def test_no_security_to_another_machine_is_refused_before_connecting(
    caplog: pytest.LogCaptureFixture,
) -> None:
    for host in ("192.0.2.10", "smtp.example.com", "127.0.0.1.example.com"):
        settings = SmtpSettings(host=host, security="none", timeout=30)
        started = time.monotonic()
        error = failure(build_message(outgoing()), settings, None, caplog)
        assert time.monotonic() - started < 1
        assert error.kind == "settings"
        assert "unencrypted" in error.message


@pytest.mark.parametrize(
    ("settings", "problem"),
    [
        (SmtpSettings(host=""), "smtp.host"),
        (SmtpSettings(host="smtp.example.com\r\nx"), "smtp.host"),
        (SmtpSettings(host="smtp.example.com", port=0), "smtp.port"),
        (SmtpSettings(host="smtp.example.com", port=70000), "smtp.port"),
        (SmtpSettings(host="smtp.example.com", security="ssl"), "smtp.security"),  # type: ignore[arg-type]
    ],
)
def test_settings_that_cannot_work(settings: SmtpSettings, problem: str) -> None:
    with pytest.raises(SendError) as raised:
        check_security(settings)
    assert raised.value.kind == "settings"
    assert problem in raised.value.message


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("localhost", True),
        ("LOCALHOST.", True),
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("[::1]", True),
        ("::ffff:127.0.0.1", True),
        ("128.0.0.1", False),
        ("10.0.0.1", False),
        ("localhost.example.com", False),
        ("mylocalhost", False),
        ("", False),
        ("::2", False),
    ],
)
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_the_usual_ports() -> None:
    assert SmtpSettings("h").effective_port == 587
    assert SmtpSettings("h", security="tls").effective_port == 465
    assert SmtpSettings("h", security="none").effective_port == 25
    assert SmtpSettings("h", port=2525, security="tls").effective_port == 2525


# -- the password -----------------------------------------------------------------------

SERVER = SmtpSettings(host="smtp.example.com", user=USER)


def test_the_keyring_name() -> None:
    assert KEYRING_SERVICE == "recover-smtp"
    assert keyring_name(SERVER) == f"{USER}@smtp.example.com"


def test_the_password_from_the_keyring(test_keyring: MemoryKeyring) -> None:
    assert find_password(SERVER) is None
    test_keyring.set_password(KEYRING_SERVICE, keyring_name(SERVER), PASSWORD)
    assert find_password(SERVER) == PASSWORD
    assert find_password(SmtpSettings(host="other.example.com", user=USER)) is None


def test_the_password_from_the_environment(
    test_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PASSWORD_ENV, "from-env")
    assert find_password(SERVER) == "from-env"


def test_the_keyring_wins_over_the_environment(
    test_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PASSWORD_ENV, "from-env")
    test_keyring.set_password(KEYRING_SERVICE, keyring_name(SERVER), PASSWORD)
    assert find_password(SERVER) == PASSWORD


def test_a_failing_keyring_falls_back_to_the_environment(
    failing_keyring: FailingKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert find_password(SERVER) is None
    monkeypatch.setenv(PASSWORD_ENV, "from-env")
    assert find_password(SERVER) == "from-env"


def test_no_user_no_password(test_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSWORD_ENV, "from-env")
    test_keyring.set_password(KEYRING_SERVICE, "@smtp.example.com", PASSWORD)
    assert find_password(SmtpSettings(host="smtp.example.com")) is None


def test_store_password(test_keyring: MemoryKeyring) -> None:
    store_password(SERVER, PASSWORD)
    assert test_keyring.passwords == {(KEYRING_SERVICE, keyring_name(SERVER)): PASSWORD}
    assert find_password(SERVER) == PASSWORD


def test_store_password_without_a_keyring(failing_keyring: FailingKeyring) -> None:
    with pytest.raises(SendError) as raised:
        store_password(SERVER, PASSWORD)
    assert raised.value.message == (
        f"no system keyring to keep the password in; set {PASSWORD_ENV} instead"
    )
    assert raised.value.kind == "settings"
    assert PASSWORD not in repr(raised.value)


def test_a_subprocess_uses_the_test_keyring_backend(tmp_path: Path) -> None:
    """What the CLI tests do: the backend named in PYTHON_KEYRING_BACKEND, importable
    from the project root, keeps one process's password for the next."""
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "PYTHON_KEYRING_BACKEND": "tests.mail.keyring_backend.FileKeyring",
        "RECOVER_TEST_KEYRING": str(tmp_path / "keyring.json"),
    }
    env.pop(PASSWORD_ENV, None)
    code = (
        "import sys, keyring\n"
        "from recovery_cli.mail.smtp import SmtpSettings, find_password, store_password\n"
        "server = SmtpSettings(host='smtp.example.com', user='sam')\n"
        "print(type(keyring.get_keyring()).__name__)\n"
        "if sys.argv[1] == 'store': store_password(server, 'kept-here')\n"
        "print(find_password(server))\n"
    )
    runs = [
        subprocess.run(
            [sys.executable, "-c", code, step],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout.split()
        for step in ("store", "find")
    ]
    assert runs == [["FileKeyring", "kept-here"], ["FileKeyring", "kept-here"]]
