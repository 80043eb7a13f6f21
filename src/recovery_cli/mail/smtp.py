"""Sending a message through the seller's SMTP server, and the password it needs.

The server's certificate is always verified, with ``ssl.create_default_context()``
(the system's authorities; ``SSL_CERT_FILE`` names another bundle). ``security =
"none"`` (no encryption at all) is allowed for a server on this machine alone.

Every failure is one ``SendError`` with a one-line message and a ``kind``; no
message ever holds the password or the message's body, and a server's own words
are cleaned of control characters, of the addresses, and cut short.

The password is kept in the system keyring (service ``recover-smtp``, user name
``user@host``), else read from ``RECOVER_SMTP_PASSWORD``. ``keyring`` is imported
only here, and only when a password is looked up or kept.
"""

from __future__ import annotations

import base64
import contextlib
import ipaddress
import os
import re
import smtplib
import socket
import ssl
import unicodedata
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Literal

from ..errors import ExitStatus, RecoverError

Security = Literal["starttls", "tls", "none"]
SECURITY_CHOICES: tuple[Security, ...] = ("starttls", "tls", "none")
DEFAULT_PORTS: dict[Security, int] = {"starttls": 587, "tls": 465, "none": 25}

KEYRING_SERVICE = "recover-smtp"
PASSWORD_ENV = "RECOVER_SMTP_PASSWORD"
SERVER_TEXT_LIMIT = 200

Kind = Literal["settings", "unreachable", "timeout", "tls", "auth", "refused", "dropped"]


class SendError(RecoverError):
    """The message was not sent (or a password could not be kept). ``kind`` says
    why: ``settings``, ``unreachable``, ``timeout``, ``tls``, ``auth``, ``refused``
    or ``dropped``; ``unconfirmed`` when the whole message went and no answer came
    (it may have arrived)."""

    exit_code: int = ExitStatus.ERROR

    def __init__(self, message: str, *, kind: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.kind = kind


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to send. ``port`` None: the usual port of ``security``."""

    host: str
    port: int | None = None
    security: Security = "starttls"
    user: str = ""
    timeout: float = 30.0

    @property
    def effective_port(self) -> int:
        """The port to connect to: ``port``, else 587 (starttls), 465 (tls), 25 (none)."""
        if self.port is not None:
            return self.port
        return DEFAULT_PORTS.get(self.security, 587)

    @property
    def where(self) -> str:
        """``host:port``, as messages name the server."""
        return f"{_clean(self.host)}:{self.effective_port}"


def keyring_name(settings: SmtpSettings) -> str:
    """The user name the password is kept under in the keyring: ``user@host``."""
    return f"{settings.user}@{settings.host}"


def find_password(settings: SmtpSettings) -> str | None:
    """The SMTP password: from the system keyring, else from the environment
    (``RECOVER_SMTP_PASSWORD``); None when neither has one, or no user is set. A
    keyring that is missing, locked or broken counts as having none."""
    if not settings.user:
        return None
    try:
        import keyring

        found = keyring.get_password(KEYRING_SERVICE, keyring_name(settings))
    except Exception:  # any backend failure (none installed, locked, D-Bus down...)
        found = None
    if found:
        return found
    return os.environ.get(PASSWORD_ENV) or None


def store_password(settings: SmtpSettings, password: str) -> None:
    """Keep the password in the system keyring; SendError when there is no keyring
    to keep it in (or it refuses)."""
    try:
        import keyring
        from keyring.errors import NoKeyringError
    except Exception:
        raise _no_keyring() from None
    try:
        keyring.set_password(KEYRING_SERVICE, keyring_name(settings), password)
    except NoKeyringError:
        raise _no_keyring() from None
    except Exception:
        raise SendError(
            f"the system keyring did not keep the password; set {PASSWORD_ENV} instead",
            kind="settings",
        ) from None


def _no_keyring() -> SendError:
    return SendError(
        f"no system keyring to keep the password in; set {PASSWORD_ENV} instead",
        kind="settings",
    )


def is_loopback(host: str) -> bool:
    """Whether ``host`` is this machine: ``localhost``, 127.0.0.0/8 or ``::1``."""
    name = host.strip().rstrip(".").lower()
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    if name == "localhost":
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


def check_security(settings: SmtpSettings) -> None:
    """SendError (``settings``) for settings that cannot send safely: no host, a
    bad port or security, or no encryption to a server on another machine."""
    host = settings.host.strip()
    if not host or any(c.isspace() or unicodedata.category(c)[0] == "C" for c in host):
        raise SendError("smtp.host is not a host name", kind="settings")
    if settings.security not in SECURITY_CHOICES:
        raise SendError("smtp.security must be starttls, tls or none", kind="settings")
    if not 0 < settings.effective_port < 65536:
        raise SendError("smtp.port must be between 1 and 65535", kind="settings")
    if settings.security == "none" and not is_loopback(host):
        raise SendError(
            "smtp.security = none sends the password and the message unencrypted: "
            "it is allowed only for a mail server on this machine",
            kind="settings",
            hint="Use starttls (port 587) or tls (port 465): "
            "recover config set smtp.security starttls",
        )


def send(message: EmailMessage, settings: SmtpSettings, password: str | None) -> None:
    """Send the message through the server, from its ``From`` address to its ``To``
    address. Returns once the server has accepted it; SendError otherwise. The
    connection is closed either way."""
    check_security(settings)
    sender = _single_address(message, "From")
    recipient = _single_address(message, "To")
    if settings.user and not password:
        raise SendError(
            f"no SMTP password: store it with `recover config password`, or set {PASSWORD_ENV}",
            kind="auth",
        )
    secrets = [password] if password else []
    context = ssl.create_default_context()
    host, port, timeout = settings.host.strip(), settings.effective_port, settings.timeout
    connection: smtplib.SMTP | None = None
    stage = "connect"
    try:
        if settings.security == "tls":
            connection = smtplib.SMTP_SSL(host, port, context=context, timeout=timeout)
        else:
            connection = smtplib.SMTP(host, port, timeout=timeout)
        stage = "hello"
        if settings.security == "starttls":
            connection.ehlo()
            if not connection.has_extn("starttls"):
                raise SendError(
                    f"the mail server {settings.where} does not offer STARTTLS",
                    kind="tls",
                    hint="Check smtp.port and smtp.security (tls is port 465).",
                )
            connection.starttls(context=context)
            connection.ehlo()
        if settings.user:
            stage = "login"
            _login(connection, settings.user, password or "")
        stage = "send"
        _transmit(connection, message, sender, recipient)
        stage = "answer"  # the whole message is with the server: only its word is awaited
        code, reply = connection.getreply()
        if code != 250:
            raise smtplib.SMTPDataError(code, reply)
        stage = "sent"
    except SendError:
        raise
    except Exception as error:
        raise _failure(error, settings, stage, [*secrets, sender, recipient]) from None
    finally:
        if connection is not None:
            _close(connection, polite=stage == "sent")


def _transmit(connection: smtplib.SMTP, message: EmailMessage, sender: str, to: str) -> None:
    """MAIL, RCPT and DATA, then the message and its final dot: what ``sendmail``
    does, but stopping short of the server's answer, so that a failure after this
    point is known to be one where the message may have arrived."""
    from .outgoing import SMTP_POLICY

    connection.ehlo_or_helo_if_needed()
    code, reply = connection.mail(sender)
    if code != 250:
        raise smtplib.SMTPSenderRefused(code, reply, sender)
    code, reply = connection.rcpt(to)
    if code not in (250, 251):
        raise smtplib.SMTPRecipientsRefused({to: (code, reply)})
    code, reply = connection.docmd("DATA")
    if code != 354:
        raise smtplib.SMTPDataError(code, reply)
    data = message.as_bytes(policy=SMTP_POLICY)
    # A line that starts with a dot gets another (RFC 5321, 4.5.2), then the end.
    data = re.sub(rb"(?m)^\.", b"..", data)
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    connection.send(data + b".\r\n")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _login(connection: smtplib.SMTP, user: str, password: str) -> None:
    """AUTH: smtplib's ``login`` for ASCII credentials; for others, PLAIN (RFC 4616)
    or LOGIN here, in UTF-8 (smtplib encodes them as ASCII, and fails)."""
    if user.isascii() and password.isascii():
        connection.login(user, password)
        return
    connection.ehlo_or_helo_if_needed()
    if not connection.has_extn("auth"):
        raise smtplib.SMTPNotSupportedError("SMTP AUTH extension not supported by server.")
    offered = connection.esmtp_features["auth"].upper().split()
    if "PLAIN" in offered:
        token = _b64(b"\0" + user.encode("utf-8") + b"\0" + password.encode("utf-8"))
        code, reply = connection.docmd("AUTH", f"PLAIN {token}")
        if code == 334:  # asked again, without the initial response
            code, reply = connection.docmd(token)
    elif "LOGIN" in offered:
        code, reply = connection.docmd("AUTH", f"LOGIN {_b64(user.encode('utf-8'))}")
        if code == 334:
            code, reply = connection.docmd(_b64(password.encode("utf-8")))
    else:
        raise smtplib.SMTPException("No suitable authentication method found.")
    if code != 235:
        raise smtplib.SMTPAuthenticationError(code, reply)


def _close(connection: smtplib.SMTP, *, polite: bool) -> None:
    """QUIT after a send (its answer no longer matters), else just close."""
    if polite:
        with contextlib.suppress(Exception):
            connection.quit()
    with contextlib.suppress(Exception):
        connection.close()


def _single_address(message: EmailMessage, name: str) -> str:
    header = message.get(name)
    addresses = getattr(header, "addresses", None)
    if not addresses or len(addresses) != 1 or not addresses[0].addr_spec:
        raise SendError(f"the message to send has no single {name} address", kind="settings")
    return str(addresses[0].addr_spec)


def _clean(text: str, secrets: list[str] | None = None) -> str:
    """One line of at most SERVER_TEXT_LIMIT characters, with every secret and
    address in ``secrets`` taken out."""
    for secret in secrets or []:
        if secret:
            text = _replace_folded(text, secret, "[...]")
    spaced = "".join(" " if unicodedata.category(c)[0] == "C" else c for c in text)
    line = " ".join(spaced.split())
    if len(line) > SERVER_TEXT_LIMIT:
        line = line[: SERVER_TEXT_LIMIT - 1].rstrip() + "…"
    return line


def _replace_folded(text: str, old: str, new: str) -> str:
    lowered, target = text.casefold(), old.casefold()
    if len(lowered) != len(text):  # casefold changed lengths: only exact matches
        return text.replace(old, new)
    parts: list[str] = []
    start = 0
    while (found := lowered.find(target, start)) >= 0:
        parts.append(text[start:found] + new)
        start = found + len(target)
    parts.append(text[start:])
    return "".join(parts)


def _server_words(code: int, text: bytes | str, secrets: list[str]) -> str:
    said = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return _clean(f"{code} {said}", secrets)


def _timed_out(error: BaseException) -> bool:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, TimeoutError):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def _failure(error: Exception, settings: SmtpSettings, stage: str, secrets: list[str]) -> SendError:
    """The one SendError that says what went wrong."""
    where = settings.where
    if stage == "answer" and _timed_out(error):
        # The whole message went, and the server fell silent instead of answering
        # (RFC 1047's lost reply): it may have queued it. A connection closed at this
        # point is a server that did not take it ("dropped"), a refusal is "refused".
        return SendError(
            f"the mail server {where} took the whole message but never confirmed it: "
            "it may have gone",
            kind="unconfirmed",
        )
    if _timed_out(error):
        return SendError(
            f"the mail server {where} did not answer within {settings.timeout:g} s",
            kind="timeout",
            hint="Check smtp.host and smtp.port, and the network.",
        )
    if isinstance(error, ssl.SSLCertVerificationError):
        reason = _clean(str(error.verify_message or error.reason or "unknown reason"))
        return SendError(
            f"the mail server's certificate could not be verified: {reason}",
            kind="tls",
            hint="Check smtp.host: it must be the name the server's certificate is for.",
        )
    if isinstance(error, ssl.SSLError):
        reason = _clean(str(error.reason or error.strerror or type(error).__name__))
        return SendError(
            f"no secure connection could be made with the mail server {where}: {reason}",
            kind="tls",
            hint="Check smtp.port and smtp.security (starttls is usually port 587, tls 465).",
        )
    if isinstance(error, smtplib.SMTPAuthenticationError):
        return SendError(
            "the mail server refused the user name or password",
            kind="auth",
            hint="Check smtp.user, and store the password again: recover config password",
        )
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        refusals = list(error.recipients.values())
        code, text = refusals[0] if refusals else (0, b"")
        return SendError(
            "the mail server refused the customer's address: " + _server_words(code, text, secrets),
            kind="refused",
        )
    if isinstance(error, smtplib.SMTPSenderRefused):
        return SendError(
            "the mail server refused the sender address (the `from` setting): "
            + _server_words(error.smtp_code, error.smtp_error, secrets),
            kind="refused",
        )
    if stage == "login" and not isinstance(
        error, smtplib.SMTPResponseException | smtplib.SMTPServerDisconnected
    ):
        # SMTPNotSupportedError (no AUTH offered), or no mechanism smtplib knows.
        return SendError(
            f"the mail server {where} offers no way to log in that recover can use",
            kind="auth",
        )
    if isinstance(error, smtplib.SMTPResponseException):
        return SendError(
            "the mail server refused the message: "
            + _server_words(error.smtp_code, error.smtp_error, secrets),
            kind="refused",
        )
    if isinstance(error, smtplib.SMTPServerDisconnected):
        return SendError(
            "the mail server closed the connection before the message was accepted",
            kind="dropped",
        )
    if stage == "connect" and isinstance(error, ConnectionRefusedError):
        return SendError(
            f"the mail server {where} refused the connection",
            kind="unreachable",
            hint="Check smtp.host and smtp.port.",
        )
    if stage == "connect" and isinstance(error, socket.gaierror):
        return SendError(
            f"the mail server's name {_clean(settings.host)} could not be found",
            kind="unreachable",
            hint="Check smtp.host, and the network.",
        )
    if stage == "connect" and isinstance(error, OSError):
        reason = _clean(error.strerror or type(error).__name__)
        return SendError(
            f"the mail server {where} could not be reached: {reason}",
            kind="unreachable",
            hint="Check smtp.host and smtp.port, and the network.",
        )
    if isinstance(error, OSError):
        return SendError(
            "the connection to the mail server was lost before the message was accepted",
            kind="dropped",
        )
    return SendError(
        f"the mail server {where} could not take the message ({type(error).__name__})",
        kind="refused",
    )
