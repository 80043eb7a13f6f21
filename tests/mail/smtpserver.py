"""Real SMTP servers on 127.0.0.1 for the mail tests (and the CLI tests that send).

Nothing is mocked: the client under test speaks SMTP over TCP (and TLS) to these.

* ``smtp_server(...)``: a context manager running an aiosmtpd server on a free port
  with a certificate for ``localhost`` and ``127.0.0.1`` made by a trustme CA:
  STARTTLS (required) by default, or implicit TLS, AUTH with one user and password,
  or a ``550`` at the end of DATA. It records every message it accepts.
* ``dropping_server()``: speaks just enough SMTP, then closes the connection in the
  middle of DATA (no TLS: use ``security="none"`` on 127.0.0.1).
* ``silent_server()``: accepts connections and never says a word (a client times out).
* ``unused_port()``: a port nothing listens on (connection refused).

The client trusts the test CA through ``SSL_CERT_FILE``, which
``ssl.create_default_context()`` reads, so the code under test is unchanged:
``server.trust(monkeypatch)``, or the ``smtp_servers`` fixture, which does it.

Use from another test module (the fixture bound to a name of the module, which is
how pytest finds it; an import of the name would trip ruff's F811)::

    from tests.mail import smtpserver

    smtp_servers = smtpserver.smtp_servers

    def test_send(smtp_servers):
        server = smtp_servers(auth=("sam", "secret"))
        ...  # smtp.host = server.host, smtp.port = server.port, smtp.user = "sam"
        assert server.messages[0].message["Subject"] == "Re: Broken mug"

A subprocess (``recover`` run for real) needs ``SSL_CERT_FILE`` in its environment:
``env={**os.environ, "SSL_CERT_FILE": server.ca_file}`` (``trust`` sets it in
``os.environ`` for the test's duration, so ``os.environ`` copied after it has it).
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import socketserver
import ssl
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email import policy as email_policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

HOST = "127.0.0.1"
REJECT_TEXT = "5.7.1 Rejected for testing"


@dataclass(frozen=True)
class Received:
    """One message a test server accepted: the envelope and the raw bytes."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        """The message parsed back (``email.policy.default``)."""
        parsed = message_from_bytes(self.data, policy=email_policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class SmtpServer:
    """A running test server: where it listens, the CA that signed its certificate
    (``ca_file``, a PEM file), and what it accepted (``messages``)."""

    host: str
    port: int
    ca_file: str
    messages: list[Received] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)  # user names that logged in

    def trust(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Make ``ssl.create_default_context()`` trust this server's CA (only it and
        the system directory of CAs) for the rest of the test."""
        monkeypatch.setenv("SSL_CERT_FILE", self.ca_file)


class _Handler:
    """aiosmtpd handler: AUTH checked before MAIL, DATA recorded or refused."""

    def __init__(
        self,
        server: SmtpServer,
        *,
        auth: bool,
        reject_data: int | None,
        reject_rcpt: int | None,
    ) -> None:
        self.server = server
        self.auth = auth
        self.reject_data = reject_data
        self.reject_rcpt = reject_rcpt

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.auth and not session.authenticated:
            return "530 5.7.0 Authentication required"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.reject_rcpt is not None:  # as real servers do, the address in the answer
            return f"{self.reject_rcpt} 5.1.1 <{address}>: Recipient address rejected"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.reject_data is not None:
            return f"{self.reject_data} {REJECT_TEXT}"
        content = envelope.original_content or b""
        self.server.messages.append(
            Received(str(envelope.mail_from), tuple(envelope.rcpt_tos), bytes(content))
        )
        return "250 2.0.0 Accepted"


def _authenticator(
    user: str, password: str, server: SmtpServer
) -> Callable[[SMTP, Session, Envelope, str, Any], AuthResult]:
    def check(
        smtp: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        if isinstance(data, LoginPassword) and (data.login, data.password) == (
            user.encode(),
            password.encode(),
        ):
            server.logins.append(user)
            return AuthResult(success=True)
        return AuthResult(success=False, handled=False)

    return check


class _Controller(Controller):
    """aiosmtpd's Controller on port 0: the port the system chose is read back
    before the controller connects to its own server to check that it runs."""

    def _trigger_server(self) -> None:
        if self.port == 0 and self.server is not None:
            self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


@contextlib.contextmanager
def _ca_files() -> Iterator[tuple[trustme.CA, Path]]:
    folder = Path(tempfile.mkdtemp(prefix="recover-test-ca-"))
    try:
        ca = trustme.CA()
        ca_file = folder / "ca.pem"
        ca.cert_pem.write_to_path(str(ca_file))
        yield ca, ca_file
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def other_ca_file(folder: Path) -> str:
    """A PEM file with a CA that signed none of the test servers' certificates."""
    path = folder / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(path))
    return str(path)


@contextlib.contextmanager
def smtp_server(
    *,
    starttls: bool = True,
    tls: bool = False,
    auth: tuple[str, str] | None = None,
    reject_data: int | None = None,
    reject_rcpt: int | None = None,
) -> Iterator[SmtpServer]:
    """A real SMTP server on 127.0.0.1 (aiosmtpd), stopped on leaving.

    ``starttls``: STARTTLS offered and required before anything else. ``tls``:
    implicit TLS from the first byte instead (``starttls`` is then ignored).
    ``auth=(user, password)``: that pair alone logs in (AUTH PLAIN and LOGIN, over
    TLS only), and MAIL needs a login. ``reject_data=550``: DATA is answered
    ``550 5.7.1 Rejected for testing`` (nothing recorded). ``reject_rcpt=550``:
    every RCPT is answered ``550 5.1.1 <address>: Recipient address rejected``
    (the address in it, as real servers write). The certificate is for
    ``localhost`` and ``127.0.0.1``, signed by the CA in ``ca_file``."""
    with _ca_files() as (ca, ca_file):
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("localhost", HOST).configure_cert(context)
        server = SmtpServer(host=HOST, port=0, ca_file=str(ca_file))
        handler = _Handler(
            server, auth=auth is not None, reject_data=reject_data, reject_rcpt=reject_rcpt
        )
        options: dict[str, Any] = {}
        if tls:
            options["ssl_context"] = context
            # aiosmtpd counts only STARTTLS as TLS for AUTH; the connection is
            # encrypted from the start here.
            options["auth_require_tls"] = False
        elif starttls:
            options["tls_context"] = context
            options["require_starttls"] = True
            options["auth_require_tls"] = True
        if auth is not None:
            options["authenticator"] = _authenticator(auth[0], auth[1], server)
        controller = _Controller(
            handler, hostname=HOST, port=0, server_hostname="localhost", **options
        )
        controller.start()
        try:
            server.port = controller.port
            yield server
        finally:
            controller.stop()


@dataclass
class PlainServer:
    """A hand-written server: where it listens, and what it was sent."""

    host: str
    port: int
    received: list[bytes] = field(default_factory=list)
    connections: int = 0


class _DroppingHandler(socketserver.StreamRequestHandler):
    timeout = 5
    owner: PlainServer

    def handle(self) -> None:
        owner = self.server.owner  # type: ignore[attr-defined]
        owner.connections += 1
        self.wfile.write(b"220 localhost ESMTP dropping test server\r\n")
        while line := self.rfile.readline(1024):
            owner.received.append(line)
            verb = line[:4].upper()
            if verb in (b"EHLO", b"HELO"):
                self.wfile.write(b"250 localhost\r\n")
            elif verb == b"DATA":
                self.wfile.write(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                owner.received.append(self.rfile.readline(1024))  # a little of it
                return  # and hang up mid-DATA
            elif verb == b"QUIT":
                self.wfile.write(b"221 Bye\r\n")
                return
            else:
                self.wfile.write(b"250 OK\r\n")


class _HangingHandler(_DroppingHandler):
    """Takes the whole message, final dot and all, then never answers (the lost
    reply of RFC 1047): the client cannot know whether it was queued."""

    def handle(self) -> None:
        owner = self.server.owner  # type: ignore[attr-defined]
        owner.connections += 1
        self.wfile.write(b"220 localhost ESMTP hanging test server\r\n")
        while line := self.rfile.readline(1024):
            verb = line[:4].upper()
            if verb in (b"EHLO", b"HELO"):
                self.wfile.write(b"250 localhost\r\n")
            elif verb == b"DATA":
                self.wfile.write(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                message = b""
                while (part := self.rfile.readline(65536)) and part != b".\r\n":
                    message += part
                owner.received.append(message)
                while self.rfile.readline(1024):  # silent, until the client gives up
                    pass
                return
            else:
                self.wfile.write(b"250 OK\r\n")


class _TCPServer(socketserver.TCPServer):
    allow_reuse_address = True
    owner: PlainServer


@contextlib.contextmanager
def _plain_server(handler: type[socketserver.StreamRequestHandler]) -> Iterator[PlainServer]:
    """A hand-written server on 127.0.0.1, speaking through ``handler``."""
    tcp = _TCPServer((HOST, 0), handler)
    owner = PlainServer(host=HOST, port=tcp.server_address[1])
    tcp.owner = owner
    thread = threading.Thread(target=tcp.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield owner
    finally:
        tcp.shutdown()
        thread.join(10)
        tcp.server_close()


@contextlib.contextmanager
def dropping_server() -> Iterator[PlainServer]:
    """A plain-text SMTP server on 127.0.0.1 that answers 220, EHLO/HELO, MAIL and
    RCPT, says 354 to DATA, reads a line of the message and closes the connection."""
    with _plain_server(_DroppingHandler) as owner:
        yield owner


@contextlib.contextmanager
def hanging_server() -> Iterator[PlainServer]:
    """A plain-text SMTP server on 127.0.0.1 that takes a whole message and never
    says whether it accepted it; ``received`` holds each message it took."""
    with _plain_server(_HangingHandler) as owner:
        yield owner


@contextlib.contextmanager
def silent_server() -> Iterator[PlainServer]:
    """A socket on 127.0.0.1 that takes connections (the system's listen backlog
    completes them) and never answers: no 220, ever."""
    listener = socket.create_server((HOST, 0), backlog=8)
    try:
        yield PlainServer(host=HOST, port=listener.getsockname()[1])
    finally:
        listener.close()


def unused_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (just released by the system)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.fixture
def smtp_servers(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., SmtpServer]]:
    """Start test servers with ``smtp_servers(**options)`` (the options of
    ``smtp_server``, plus ``trust=True``: the client trusts its CA through
    ``SSL_CERT_FILE``). All are stopped when the test ends."""
    with contextlib.ExitStack() as stack:

        def start(*, trust: bool = True, **options: Any) -> SmtpServer:
            server = stack.enter_context(smtp_server(**options))
            if trust:
                server.trust(monkeypatch)
            return server

        yield start
