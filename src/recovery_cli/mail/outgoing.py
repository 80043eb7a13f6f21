"""A message to the customer, built so that nothing the customer wrote can change its
headers: the message itself (``build_message``), as a draft file (``draft_bytes``),
or as a ``mailto:`` URL for the desktop's mail client (``mailto_url``).

Header injection is the danger here. The customer's name and subject reach the
headers, and a CR or LF in them, or an RFC 2047 encoded word that *decodes* to one
(``=?utf-8?q?a=0D=0ABcc:_x@y?=``: the standard library of Python 3.11 decodes it as
the header is set, and writes the decoded line break back out), could add a ``Bcc``
or a second recipient. So every such text goes through ``header_text`` first
(control characters become spaces, whitespace is collapsed, ``=?`` is broken up),
and an address must be one plain ``local@domain`` or the message is refused
(``AddressError``). The library's folder is not trusted with that text either
(see ``_Policy``): ``From``, ``To`` and ``Subject`` are written here, a display
name quoted by ``email.headerregistry.Address`` when it fits one line, else as
words or RFC 2047 encoded words folded between them; then read back by the
library, which must find the one address meant.

Pure: no clock (the date and Message-ID come in), no network, no files.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import EmailPolicy
from email.utils import format_datetime, make_msgid
from typing import Any, Literal
from urllib.parse import quote

from ..errors import ExitStatus, RecoverError

MAILTO_LIMIT = 2000
"""A ``mailto:`` URL this long or longer is not handed to the desktop: some systems
and mail clients cut long URLs short (Windows' ``ShellExecute`` near 2,048)."""

REFERENCES_LIMIT = 20
"""At most this many ids in ``References``: the thread's first, and the latest."""

NAME_LIMIT = 200
"""A display name is cut to this many characters (a longer one is an abuse)."""

LINE_LIMIT = 78
"""The longest header line written (RFC 5322's "SHOULD"; 998 is the hard limit)."""

ID_LIMIT = 250
"""A msg-id longer than this is not used (nor sent)."""

FALLBACK_DOMAIN = "recover.invalid"

# A msg-id as sent: "<...>" of printable ASCII, with no spaces or angle brackets.
_MESSAGE_ID = re.compile(r"<[!-;=?-~]+>")
# RFC 5322 dot-atom local part (no quoted strings, no comments).
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]"
_LOCAL_PART = re.compile(rf"{_ATEXT}+(?:\.{_ATEXT}+)*")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_DOMAIN = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")
_ATOMS = re.compile(rf"{_ATEXT}+(?: {_ATEXT}+)*")
_REPLY_PREFIX = re.compile(r"(?:re|aw|sv)\s*:", re.IGNORECASE)
# Unicode categories replaced by a space in header text: control characters, lone
# surrogates (they cannot be encoded), and the line and paragraph separators.
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cs", "Zl", "Zp"})

Who = Literal["customer", "sender"]


class AddressError(RecoverError):
    """An address that cannot be used to send mail: empty, more than one, or not a
    plain ``local@domain``. The message never repeats the address itself."""

    exit_code: int = ExitStatus.USAGE


@dataclass(frozen=True)
class Outgoing:
    """One message to the customer, as plain values. ``to_name`` and ``subject``
    (when taken from the customer's message) are the customer's text and are never
    trusted: ``build_message`` and ``mailto_url`` clean them."""

    sender: str  # the seller's address (config `from`)
    sender_name: str  # display name, e.g. "Sam at Acme Books" ("" allowed)
    to_address: str  # the customer's address
    to_name: str  # the customer's display name ("" allowed): customer controlled
    subject: str  # customer controlled when derived from their subject
    body: str  # plain text, "\n" line ends
    message_id: str  # "<...>", made with new_message_id
    date: datetime  # aware
    in_reply_to: str = ""  # "<id>" or ""
    references: tuple[str, ...] = ()


class _Folded(str):
    """A header value written out by this module, folded already (``\\n `` between
    lines): stored, and written out, exactly as it is."""

    __slots__ = ()


class _Policy(EmailPolicy):
    """``email.policy.default``, except for ``_Folded`` values, kept and written out
    as they are (the library reads them back as it reads any header).

    The standard library's folder (Python 3.11) is not to be trusted with text the
    customer chose: folding a long display name, it drops the quotes around
    specials and can write an empty line in the middle of ``To`` (which ends the
    headers there); a long msg-id in ``References`` comes out as RFC 2047 encoded
    words, which no mail client takes for an id. So ``From``, ``To``, ``Subject``
    and the msg-id headers are written by this module, in ASCII lines of at most
    78 characters (an id or an address longer than that alone on its line)."""

    def header_store_parse(self, name: str, value: Any) -> tuple[str, Any]:
        """A ``_Folded`` value as it is; anything else as the default policy does."""
        if isinstance(value, _Folded):
            return name, value
        return super().header_store_parse(name, value)

    def fold(self, name: str, value: str) -> str:
        """A ``_Folded`` value as written, with this policy's line ends."""
        if isinstance(value, _Folded):
            return name + ": " + self.linesep.join(value.split("\n")) + self.linesep
        return str(super().fold(name, value))

    def fold_binary(self, name: str, value: str) -> bytes:
        """As ``fold``, in ASCII bytes."""
        if isinstance(value, _Folded):
            return self.fold(name, value).encode("ascii")
        return super().fold_binary(name, value)


POLICY = _Policy(cte_type="7bit")
"""The policy of the messages built here: ``email.policy.default``, but ``_Folded``
values are kept as written, and the body is never ``8bit`` (quoted-printable or
base64 instead): smtplib does not ask the server for ``BODY=8BITMIME``, so an
8-bit body may be refused or mangled on the way. Write a message out with this
policy (``as_bytes()`` and smtplib do) or ``SMTP_POLICY``: another policy refolds
a line longer than 78 characters its own way."""

SMTP_POLICY = POLICY.clone(linesep="\r\n")
"""``POLICY`` with CRLF line ends, as SMTP and ``.eml`` files want them."""


def header_text(text: str, limit: int | None = None) -> str:
    """Text made safe for a header: every control character, line or paragraph
    separator (CR and LF among them) becomes a space, runs of whitespace become one
    space, the ends are trimmed, and ``=?`` is written ``= ?`` (so that no part of
    it is taken as an RFC 2047 encoded word, which could decode to a line break).
    Cut to ``limit`` characters when given."""
    spaced = "".join(" " if unicodedata.category(c) in _UNSAFE_CATEGORIES else c for c in text)
    cleaned = " ".join(spaced.split()).replace("=?", "= ?")
    if limit is not None and len(cleaned) > limit:
        cleaned = cleaned[:limit].rstrip()
    return cleaned


def _address_failure(who: Who) -> AddressError:
    if who == "customer":
        return AddressError(
            "the customer's email address cannot be used to send mail",
            hint="It must be one address, like name@example.org: correct it on the case.",
        )
    return AddressError(
        "the `from` setting is not an address mail can be sent from",
        hint="It must be one address like you@example.com: recover config set from you@example.com",
    )


def usable_address(address: str, who: Who) -> Address:
    """``address`` as a single ``local@domain`` (an internationalized domain in its
    ASCII form), or AddressError naming ``who`` (never the address). Nothing is
    trimmed: an address with any whitespace in it is refused."""
    text = address
    local, at, domain = address.rpartition("@")
    if (
        not at
        or len(text) > 254
        or len(local) > 64
        or any(c.isspace() or unicodedata.category(c) in _UNSAFE_CATEGORIES for c in text)
        or any(c in text for c in ',<>"()[]\\;:')
        or "@" in local
        or not _LOCAL_PART.fullmatch(local)
    ):
        raise _address_failure(who)
    try:
        ascii_domain = domain if domain.isascii() else domain.encode("idna").decode("ascii")
    except UnicodeError:
        raise _address_failure(who) from None
    if len(ascii_domain) > 253 or not _DOMAIN.fullmatch(ascii_domain):
        raise _address_failure(who)
    try:
        parsed = Address(addr_spec=f"{local}@{ascii_domain}")
    except Exception:  # the parser raises several kinds (ValueError, IndexError...)
        raise _address_failure(who) from None
    if parsed.addr_spec != f"{local}@{ascii_domain}":
        raise _address_failure(who)
    return parsed


def is_message_id(value: str) -> bool:
    """Whether ``value`` is one ``<...>`` msg-id fit to send: printable ASCII, no
    spaces, at most ID_LIMIT characters."""
    return len(value) <= ID_LIMIT and bool(_MESSAGE_ID.fullmatch(value))


def new_message_id(sender: str) -> str:
    """A new Message-ID in the domain of the sender's address (``recover.invalid``
    when the sender has no usable domain)."""
    try:
        domain = usable_address(sender, "sender").domain
    except AddressError:
        domain = FALLBACK_DOMAIN
    return make_msgid(domain=domain)


def reply_subject(subject: str, fallback: str) -> str:
    """``Re: subject``, unless the subject starts with a reply prefix already (Re:,
    RE:, Aw:, Sv:, in any case), when it is kept as it is; ``fallback`` for an
    empty subject. Cleaned of control characters either way."""
    cleaned = header_text(subject)
    if not cleaned:
        return header_text(fallback)
    if _REPLY_PREFIX.match(cleaned):
        return cleaned
    return f"Re: {cleaned}"


def thread_ids(out: Outgoing) -> tuple[str, list[str]]:
    """``In-Reply-To`` and ``References`` as sent: only well-formed ids, none twice,
    never the message's own id, ``in_reply_to`` last unless the thread holds it, and
    at most ``REFERENCES_LIMIT`` ids (the first one and the latest)."""
    own = out.message_id
    in_reply_to = out.in_reply_to
    if not is_message_id(in_reply_to) or in_reply_to == own:
        in_reply_to = ""
    ids = _unique(out.references)
    ids = [i for i in ids if is_message_id(i) and i != own]
    if in_reply_to and in_reply_to not in ids:
        ids.append(in_reply_to)
    if len(ids) > REFERENCES_LIMIT:
        ids = [ids[0], *ids[-(REFERENCES_LIMIT - 1) :]]
    return in_reply_to, ids


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))


# An RFC 2047 "Q" encoded word holds at most this many characters of encoded text,
# so that "=?utf-8?q?...?=" is at most 69 long and fits a line after "Subject: ".
_WORD_ROOM = 57
# Q-encoded text that is safe in a phrase as well (RFC 2047, 5 (3)).
_Q_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!*+-/")


def _q(text: str) -> str:
    return "".join(
        "_" if byte == 0x20 else chr(byte) if byte in _Q_SAFE else f"={byte:02X}"
        for byte in text.encode("utf-8")
    )


def encoded_words(text: str) -> list[str]:
    """``text`` as RFC 2047 encoded words (UTF-8, "Q", each at most 69 long). A
    word ends after a space where it can (the space encoded in it: a mail client
    joins adjacent encoded words with nothing between them), else between two
    characters of a word too long for one."""
    chunks: list[str] = []
    chunk = ""
    for segment in re.findall(r"\S+\s*|\s+", text):
        piece = _q(segment)
        if chunk and len(chunk) + len(piece) > _WORD_ROOM:
            chunks.append(chunk)
            chunk = ""
        if len(piece) <= _WORD_ROOM:
            chunk += piece
            continue
        for char in segment:  # a word longer than one encoded word
            bit = _q(char)
            if chunk and len(chunk) + len(bit) > _WORD_ROOM:
                chunks.append(chunk)
                chunk = ""
            chunk += bit
    if chunk:
        chunks.append(chunk)
    return [f"=?utf-8?q?{c}?=" for c in chunks]


def _fold(name: str, words: list[str]) -> _Folded:
    """Words joined by spaces, a line break (and a space) before a word that would
    take the line past LINE_LIMIT. A word longer than a line stays whole."""
    lines: list[str] = []
    line = ""
    width = len(name) + 2  # "Name: "
    for word in words:
        if line and width + 1 + len(word) > LINE_LIMIT:
            lines.append(line)
            line, width = word, 1 + len(word)
        else:
            width += (1 if line else 0) + len(word)
            line = f"{line} {word}" if line else word
    lines.append(line)
    return _Folded("\n ".join(lines))


def _address_value(name: str, display: str, address: Address) -> _Folded:
    """``display <local@domain>``: quoted by ``Address`` when it fits one line,
    else folded between words (atoms) or written as encoded words."""
    spec = address.addr_spec
    if not display:
        return _Folded(spec)
    quoted = str(Address(display_name=display, addr_spec=spec))
    if quoted.isascii() and len(name) + 2 + len(quoted) <= LINE_LIMIT:
        return _Folded(quoted)
    words = display.split()
    if not _ATOMS.fullmatch(display) or any(len(w) > LINE_LIMIT - 2 for w in words):
        words = encoded_words(display)
    return _fold(name, [*words, f"<{spec}>"])


def _text_value(name: str, text: str) -> _Folded:
    """Free text (the subject): folded between words when it is plain ASCII, else
    written as encoded words."""
    words = text.split()
    if not text.isascii() or any(len(w) > LINE_LIMIT - len(name) - 2 for w in words):
        words = encoded_words(text)
    return _fold(name, words)


def build_message(out: Outgoing, *, draft: bool = False) -> EmailMessage:
    """The message, ready to send (or, with ``draft``, to save as a draft: it has
    ``X-Unsent: 1``, which Outlook, Thunderbird and Apple Mail open as a draft).

    A draft may have no sender (the ``from`` setting not set yet): it has no From
    header then, and the mail client fills in its own address.

    Raises AddressError for an address that cannot be used, and RecoverError for a
    Message-ID that is not ``<...>``; ValueError for a date with no time zone."""
    sender = usable_address(out.sender, "sender") if out.sender or not draft else None
    to = usable_address(out.to_address, "customer")
    message_id = out.message_id
    if not is_message_id(message_id):
        raise RecoverError("the message has no valid Message-ID (it must look like <id@host>)")
    if out.date.tzinfo is None or out.date.utcoffset() is None:
        raise ValueError("the date of a message must carry its time zone")
    in_reply_to, references = thread_ids(out)
    sender_name = header_text(out.sender_name, NAME_LIMIT)
    to_name = header_text(out.to_name, NAME_LIMIT)

    message = EmailMessage(policy=POLICY)
    if sender is not None:
        message["From"] = _address_value("From", sender_name, sender)
    message["To"] = _address_value("To", to_name, to)
    message["Subject"] = _text_value("Subject", header_text(out.subject))
    message["Date"] = format_datetime(out.date)
    message["Message-ID"] = _Folded(message_id)
    if in_reply_to:
        message["In-Reply-To"] = _Folded(in_reply_to)
    if references:
        message["References"] = _fold("References", references)
    if draft:
        message["X-Unsent"] = "1"
    message["MIME-Version"] = "1.0"
    # A lone surrogate (text read with surrogateescape) cannot be encoded: "?" instead.
    body = out.body.encode("utf-8", "replace").decode("utf-8")
    message.set_content(body, charset="utf-8")
    if sender is not None:
        _check(message, "From", sender)
    _check(message, "To", to)
    return message


def _check(message: EmailMessage, name: str, address: Address) -> None:
    """The header read back names exactly the one address meant (a last guard)."""
    found: tuple[Address, ...] = getattr(message[name], "addresses", ())
    if len(found) != 1 or found[0].addr_spec != address.addr_spec:
        raise RecoverError(f"the {name} header of the message could not be written safely")


def draft_bytes(out: Outgoing) -> bytes:
    """The message as a draft (``X-Unsent: 1``), as the bytes of an ``.eml`` file
    (CRLF line ends)."""
    return build_message(out, draft=True).as_bytes(policy=SMTP_POLICY)


def _crlf(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\r\n")


def mailto_url(out: Outgoing) -> str:
    """The message as a ``mailto:`` URL (RFC 6068): the customer's address, then
    ``subject``, ``body`` (line breaks as ``%0D%0A``) and ``in-reply-to``, every
    character outside RFC 3986's unreserved set percent-encoded (UTF-8)."""
    to = usable_address(out.to_address, "customer")
    fields: list[tuple[str, str]] = []
    subject = header_text(out.subject)
    if subject:
        fields.append(("subject", subject))
    if out.body:
        fields.append(("body", _crlf(out.body)))
    in_reply_to, _ = thread_ids(out)
    if in_reply_to:
        fields.append(("in-reply-to", in_reply_to))
    url = "mailto:" + quote(to.addr_spec, safe="@")
    if fields:
        url += "?" + "&".join(f"{name}={quote(value, safe='')}" for name, value in fields)
    return url


def fits_mailto(url: str) -> bool:
    """Whether a ``mailto:`` URL is short enough to hand to the desktop."""
    return len(url) < MAILTO_LIMIT
