"""Reading a customer's email: the message from a file, an mbox or standard input,
and what a case needs of it (:class:`Incoming`).

Nothing a message holds can make reading it fail with anything but
:class:`MailInputError`, nor make it slow: headers are read raw and parsed here,
only their first few thousand characters; the parts are walked without recursion, to
a depth of 50 and at most 1,000 of them; an attachment is measured, never decoded
into text. Every string kept goes through :func:`~recovery_cli.text.strip_controls`
and :func:`~recovery_cli.text.replace_surrogates`, so an escape sequence in a subject
or a body cannot reach the terminal.

The complaint is the message's own words: the first ``text/plain`` part that is not
an attachment (else the first ``text/html`` one, as text), without the history it
quotes. The text is cut at the first line that starts quoted history: ``On ...
wrote:`` (also wrapped over two lines, and its Spanish, German and French forms),
``-----Original Message-----``, an Outlook ``From:``/``Sent:`` block; lines quoted
with ``>`` are dropped wherever they are (an answer written between quoted lines is
kept), and so is a signature after ``-- ``. A *forwarded* message (``----------
Forwarded message ---------``, ``Begin forwarded message:``, or an Outlook block in
a message whose subject begins ``Fwd:``) keeps what was forwarded: a seller who
forwards a customer's email to themselves, or a customer who forwards what they
wrote before, wants those words; only the forward's own header lines (From:, Date:,
Subject:, To:...) are dropped. The sender stays the one of the message itself.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import io
import re
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from email import message_from_bytes
from email import policy as email_policy
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.policy import EmailPolicy
from email.utils import parseaddr, parsedate_to_datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Protocol
from urllib.parse import unquote_to_bytes

from ..errors import InputFileError
from ..text import replace_surrogates, strip_controls, strip_escapes

MAX_BYTES = 64 * 1024 * 1024  # the largest message read
_TOO_LARGE = "larger than 64 MB"

_MAX_DEPTH = 50  # multipart levels walked
_MAX_PARTS = 1000  # parts walked
# A message declaring more multipart boundaries than this is read for its headers
# only: the standard parser recurses once per level, and a few hundred levels exhaust
# the stack (slowly).
_MAX_BOUNDARIES = 200
_RAW_HEADER_MAX = 65536  # characters of a header kept by the parser
_WORDS_MAX = 4000  # characters of a Subject decoded (RFC 2047 bombs)
# Characters of a From or Reply-To parsed: the address parser is quadratic on some
# input (runs of quotes, commas, comments), 70 ms at this length.
_MAILBOX_MAX = 1000
_PARAMS_MAX = 8000  # characters of a Content-Type or Content-Disposition read
_SUBJECT_MAX = 300
_NAME_MAX = 200
_FILENAME_MAX = 255
_ADDRESS_MAX = 254
_ID_MAX = 996  # inside the angle brackets: a header line is at most 998 characters
_BODY_BYTES = 1_200_000  # bytes of the chosen text part decoded
_BODY_CHARS = 300_000  # characters of it cleaned (quoted history among them)
_HTML_CHARS = 200_000  # characters of an HTML part read (html.parser does ~300K a second)
_TEXT_MAX = 20_000
_CUT = "\n[…]"
_MBOX_CHUNK = 65536
_MBOX_HEADER_MAX = 1024 * 1024


class MailInputError(InputFileError):
    """A message that cannot be read: missing, empty, too large, not an email, or an
    mbox without the message asked for. The message names the file, never what the
    email says."""


@dataclass(frozen=True)
class Attachment:
    """A file that came with the message, as noted (its bytes are not kept)."""

    name: str  # cleaned base name, "" if none given
    size: int  # decoded payload size in bytes
    content_type: str  # e.g. "application/pdf"


@dataclass(frozen=True)
class Incoming:
    """What a case takes from a message. Every string is cleaned; a field the
    message does not give (or gives unreadably) is empty."""

    message_id: str  # "<abc@host>", or ""
    subject: str  # one line, at most 300 characters
    date: datetime | None  # UTC
    name: str  # the display name of the address below (else From's), one line, <= 200 chars
    address: str  # Reply-To's address when it is one, else From's
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    text: str  # the complaint, without quoted history, at most 20,000 characters
    attachments: tuple[Attachment, ...]


# -- parsing -----------------------------------------------------------------------


if TYPE_CHECKING:
    _Policy = EmailPolicy[EmailMessage]
else:  # not subscriptable at run time
    _Policy = EmailPolicy


class _RawHeaders(_Policy):
    """``policy.default``'s parsing, with every header read back as its raw text.

    The header registry's parsers raise on hostile values (an encoded CR/LF in a
    display name is a ValueError, nested comments a RecursionError) and are slow on
    long ones, and the parser itself reads Content-Type through them; so headers are
    parsed by this module instead. A header longer than 64K characters keeps its
    first and last 32K: the address of a From comes last, and so do the newest ids
    of a References."""

    def header_source_parse(self, sourcelines: list[str]) -> tuple[str, str]:
        name, value = super().header_source_parse(sourcelines)
        if len(value) > _RAW_HEADER_MAX:
            half = _RAW_HEADER_MAX // 2
            value = f"{value[:half]} {value[-half:]}"
        return name, value

    def header_fetch_parse(self, name: str, value: str) -> str:
        return _unfold(value)


_POLICY = _RawHeaders()


def parse_message(data: bytes) -> Incoming:
    """The message in ``data``, as a case takes it.

    Raises MailInputError (and nothing else, whatever ``data`` holds) when there is
    nothing to read: empty input, more than 64 MB, or no header lines at all.
    """
    if len(data) > MAX_BYTES:
        raise MailInputError(f"the message is {_TOO_LARGE}")
    data = bytes(data).lstrip(b"\r\n")
    if not data or data.isspace():
        raise MailInputError("the message is empty")
    try:
        return _parse(data)
    except MailInputError:
        raise
    except Exception as error:  # the last net: a message never shows a traceback
        raise MailInputError(
            f"the message cannot be read as an email ({type(error).__name__})"
        ) from None


def _parse(data: bytes) -> Incoming:
    message: Message[str, str] | None = None
    if _boundaries(data) <= _MAX_BOUNDARIES:
        try:
            message = message_from_bytes(data, policy=_POLICY)
        except RecursionError:
            message = None
    whole = message is not None
    if message is None:
        message = BytesParser(policy=_POLICY).parsebytes(data, headersonly=True)
    headers = _headers(message)
    if not headers:
        raise MailInputError("the input is not an email message: it has no header lines")
    subject = _one_line(_decode_words(_capped(_header_text(headers.get("subject", "")))))
    name, address = _mailbox(headers.get("from", ""))
    reply_name, reply_address = _mailbox(headers.get("reply-to", ""))
    if reply_address:  # the one to answer: a form's or a marketplace's relay names them
        name, address = reply_name or name, reply_address
    text, attachments = "", list[Attachment]()
    if whole:
        text, attachments = _contents(message, _FORWARD_SUBJECT.match(subject) is not None)
    return Incoming(
        message_id=_message_id(headers.get("message-id", "")),
        subject=_cut(subject, _SUBJECT_MAX),
        date=_date(headers.get("date", "")),
        name=_cut(name, _NAME_MAX),
        address=address,
        in_reply_to=ids_in(_header_text(headers.get("in-reply-to", ""))),
        references=ids_in(_header_text(headers.get("references", ""))),
        text=text,
        attachments=tuple(attachments),
    )


def _boundaries(data: bytes) -> int:
    return sum(data.count(spelling) for spelling in (b"boundary=", b"Boundary=", b"BOUNDARY="))


def _headers(part: Message[str, str]) -> dict[str, str]:
    """The first value of each header, raw, by lower-cased name."""
    found: dict[str, str] = {}
    for name, value in part.raw_items():
        found.setdefault(str(name).strip().lower(), str(value))
    return found


# -- headers -----------------------------------------------------------------------

_FOLD = re.compile(r"\r?\n(?=[ \t])")
_EIGHT_BIT = re.compile("[\udc80-\udcff]")
_ENCODED_WORD = re.compile(r"=\?([^?\s]{1,64})\?([qQbB])\?([^?\s]*)\?=")


def _unfold(value: str) -> str:
    return _FOLD.sub("", value)


def _header_text(raw: str) -> str:
    """A raw header as text: unfolded, its 8-bit bytes (kept by the parser as
    surrogates) read as UTF-8, else Windows-1252."""
    raw = _unfold(raw)
    if not _EIGHT_BIT.search(raw):
        return raw
    try:
        data = raw.encode("ascii", "surrogateescape")
    except UnicodeEncodeError:
        return replace_surrogates(raw)
    return _guess(data)


def _capped(value: str, limit: int = _WORDS_MAX) -> str:
    """The first ``limit`` characters, cut at a space when one is near (so that an
    encoded word is not cut in two)."""
    if len(value) <= limit:
        return value
    value = value[:limit]
    space = value.rfind(" ")
    return value[:space] if space > limit * 3 // 4 else value


def _decode_words(value: str) -> str:
    """``value`` with its RFC 2047 encoded words decoded (whitespace between two of
    them dropped, adjacent words in one charset decoded together)."""
    out: list[str] = []
    pending = bytearray()
    pending_charset = ""
    position = 0
    for match in _ENCODED_WORD.finditer(value):
        gap = value[position : match.start()]
        if gap and not (pending_charset and gap.isspace()):
            if pending_charset:
                out.append(_decode(bytes(pending), pending_charset))
                pending, pending_charset = bytearray(), ""
            out.append(gap)
        charset = match.group(1).split("*", 1)[0].lower()
        if pending_charset and charset != pending_charset:
            out.append(_decode(bytes(pending), pending_charset))
            pending = bytearray()
        pending += _word_bytes(match.group(2), match.group(3))
        pending_charset = charset
        position = match.end()
    if pending_charset:
        out.append(_decode(bytes(pending), pending_charset))
    out.append(value[position:])
    return "".join(out)


def _word_bytes(encoding: str, text: str) -> bytes:
    data = text.encode("ascii", "replace")
    try:
        if encoding in "qQ":
            return binascii.a2b_qp(data, header=True)
        data = data[: len(data) // 4 * 4] if len(data.rstrip(b"=")) % 4 == 1 else data
        return base64.b64decode(data + b"=" * (-len(data) % 4))
    except (binascii.Error, ValueError):
        return b""


def _clean(text: str) -> str:
    """``text`` without escape sequences (whole) and other control characters, and
    encodable."""
    return replace_surrogates(strip_controls(strip_escapes(text)))


def _one_line(text: str) -> str:
    text = text.replace("\r", " ").replace("\n", " ").replace("\t", " ")
    return " ".join(_clean(text).split())


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _defang(value: str) -> str:
    """``value`` with CR and LF inside its encoded words made spaces: the address
    parser refuses a display name holding them."""

    def fix(match: re.Match[str]) -> str:
        raw = _word_bytes(match.group(2), match.group(3))
        if b"\r" not in raw and b"\n" not in raw:
            return match.group(0)
        clean = raw.replace(b"\r", b" ").replace(b"\n", b" ")
        return f"=?{match.group(1)}?b?{base64.b64encode(clean).decode('ascii')}?="

    return _ENCODED_WORD.sub(fix, value)


_ANGLE = re.compile(r"<[^<>]*>")
_ADDRESS = re.compile(r'^[^\s<>@",;:()\[\]\\]+@[^\s<>@",;:()\[\]\\]+$')


def _mailbox(raw: str) -> tuple[str, str]:
    """(display name, address) of the first mailbox a From or Reply-To names; the
    address is "" unless it is one."""
    value = _header_text(raw).replace("\r", " ").replace("\n", " ")
    if len(value) > _MAILBOX_MAX:  # keep the address of a name too long to read
        angles = list(_ANGLE.finditer(value))
        tail = f" {angles[-1].group(0)}" if angles and len(angles[-1].group(0)) < 300 else ""
        head = value[: angles[-1].start()] if tail else value
        value = _capped(head, _MAILBOX_MAX - len(tail)) + tail
    value = _defang(value)
    if not value.strip():
        return "", ""
    name, local, domain = "", "", ""
    try:
        header = email_policy.default.header_factory("from", value)
        for address in header.addresses:
            name, local, domain = address.display_name, address.username, address.domain
            break
    except Exception:  # the registry's parser gave up: the simpler one reads it
        found_name, found = _parseaddr(value)
        name = _decode_words(found_name)
        local, _, domain = found.rpartition("@")
    if not name:  # "dana@example.com (Dana Reyes)"
        comment_name, found = _parseaddr(value)
        if comment_name and found == f"{local}@{domain}":
            name = _decode_words(comment_name)
    return _one_line(str(name)), _address(str(local), str(domain))


def _parseaddr(value: str) -> tuple[str, str]:
    try:
        return parseaddr(value)
    except Exception:  # nested comments exhaust its recursion too
        return "", ""


def _address(local: str, domain: str) -> str:
    local, domain = strip_controls(local), strip_controls(domain).lower()
    address = replace_surrogates(f"{local}@{domain}")
    if len(address) > _ADDRESS_MAX or not _ADDRESS.match(address):
        return ""
    if "." not in domain or domain.startswith(".") or domain.endswith(".") or ".." in domain:
        return ""
    return address


_ID = re.compile(rf"<[^<>\s]{{1,{_ID_MAX}}}>")
_BRACKETED = re.compile(r"<([^<>]*)>")


def ids_in(header_value: str) -> tuple[str, ...]:
    """The message ids (``<...>``, without whitespace inside) a References or
    In-Reply-To value names, in order, each once."""
    clean = _clean(header_value)
    return tuple(dict.fromkeys(_ID.findall(clean)))


def _message_id(raw: str) -> str:
    value = _clean(_header_text(raw[:_WORDS_MAX])).strip()
    found = ids_in(value)
    if found:
        return found[0]
    bracketed = _BRACKETED.search(value)
    if bracketed:  # "<abc @host>": whitespace a mailer folded into it
        inner = "".join(bracketed.group(1).split())
    else:
        inner = value if len(value.split()) == 1 else ""
    if not inner or "<" in inner or ">" in inner or len(inner) > _ID_MAX:
        return ""
    return f"<{inner}>"


def _date(raw: str) -> datetime | None:
    value = _one_line(_header_text(raw[:200]))
    if not value:
        return None
    try:
        when = parsedate_to_datetime(value)
        if when.tzinfo is None:  # "-0000": a time in UTC, of an unknown zone
            when = when.replace(tzinfo=UTC)
        return when.astimezone(UTC)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


# -- parts -------------------------------------------------------------------------

_PARAM = re.compile(r';\s*([^\s=;"]+)\s*=\s*("(?:[^"\\]|\\.)*"?|[^;]*)', re.DOTALL)
_MEDIA = re.compile(r"\s*([A-Za-z0-9!#$&^_.+-]+/[A-Za-z0-9!#$&^_.+-]+)")
_QUOTED_PAIR = re.compile(r"\\(.)", re.DOTALL)


def _params(raw: str) -> tuple[str, dict[str, str]]:
    """(the value before the first ``;``, lower-cased; the parameters by lower-cased
    name, unquoted, the first of each name) of a Content-Type or -Disposition."""
    value = _header_text(raw[:_PARAMS_MAX])
    head, _, rest = value.partition(";")
    params: dict[str, str] = {}
    for match in _PARAM.finditer(";" + rest):
        found = match.group(2).strip()
        if found.startswith('"'):
            found = _QUOTED_PAIR.sub(r"\1", found[1:-1] if found.endswith('"') else found[1:])
        params.setdefault(match.group(1).lower(), found)
        if len(params) >= 100:
            break
    return head.strip().lower(), params


def _param(params: dict[str, str], name: str) -> str:
    """A parameter's value, RFC 2231 (``name*``, ``name*0*``...) and RFC 2047
    encodings decoded; "" if absent."""
    if f"{name}*" in params:
        return _extended([params[f"{name}*"]], [True])
    sections: list[str] = []
    encoded: list[bool] = []
    for number in range(100):
        if f"{name}*{number}*" in params:
            sections.append(params[f"{name}*{number}*"])
            encoded.append(True)
        elif f"{name}*{number}" in params:
            sections.append(params[f"{name}*{number}"])
            encoded.append(False)
        else:
            break
    if sections:
        return _extended(sections, encoded)
    return _decode_words(params.get(name, ""))


def _extended(sections: list[str], encoded: list[bool]) -> str:
    charset = "utf-8"
    data = bytearray()
    for number, (section, is_encoded) in enumerate(zip(sections, encoded, strict=True)):
        if number == 0 and is_encoded and section.count("'") >= 2:
            charset, _language, section = section.split("'", 2)
        data += unquote_to_bytes(section) if is_encoded else section.encode("utf-8", "replace")
    return _decode(bytes(data), charset or "utf-8")


def _contents(message: Message[str, str], forwarded: bool) -> tuple[str, list[Attachment]]:
    """The complaint text and the attachments, from a walk of the parts in order."""
    plain: list[tuple[Message[str, str], str]] = []
    html: list[tuple[Message[str, str], str]] = []
    attachments: list[Attachment] = []
    stack: list[tuple[Message[str, str], int]] = [(message, 0)]
    walked = 0
    while stack and walked < _MAX_PARTS:
        part, depth = stack.pop()
        walked += 1
        headers = _headers(part)
        declared, params = _params(headers.get("content-type", ""))
        valid = _MEDIA.match(declared)
        media = valid.group(1) if valid else "text/plain"
        disposition, disposition_params = _params(headers.get("content-disposition", ""))
        filename = _param(disposition_params, "filename") or _param(params, "name")
        if part.is_multipart():
            if media.startswith("message/") and disposition == "attachment":
                attachments.append(Attachment(_filename(filename), _flat_size(part), media))
            elif depth < _MAX_DEPTH:
                children = part.get_payload()
                if isinstance(children, list):
                    stack.extend(
                        (child, depth + 1)
                        for child in reversed(children[:_MAX_PARTS])
                        if isinstance(child, Message)
                    )
            continue
        if media.startswith("multipart/"):  # declared so, but without its boundary
            media = "text/plain"
        if disposition == "attachment" or (not media.startswith("text/") and filename):
            attachments.append(Attachment(_filename(filename), len(_payload(part)), media))
        elif media == "text/plain":
            plain.append((part, params.get("charset", "")))
        elif media == "text/html":
            html.append((part, params.get("charset", "")))
    for candidates, is_html in ((plain, False), (html, True)):
        for part, charset in candidates:
            text = _decode(_payload(part)[:_BODY_BYTES], charset)
            if text.strip():
                return _complaint(text, is_html, forwarded), attachments
    return "", attachments


def _payload(part: Message[str, str]) -> bytes:
    """The part's payload, its transfer encoding undone (b"" when it cannot be)."""
    try:
        payload = part.get_payload(decode=True)
    except Exception:  # a payload the decoder cannot follow counts as none
        return b""
    return payload if isinstance(payload, bytes) else b""


def _flat_size(part: Message[str, str]) -> int:
    """The size of an attached message as written out (0 when it cannot be)."""
    try:
        inner = part.get_payload(0)
        if not isinstance(inner, Message):
            return 0
        return len(inner.as_bytes(policy=email_policy.compat32))
    except Exception:  # a message too odd to write out again is noted without a size
        return 0


def _filename(name: str) -> str:
    base = _one_line(name).replace("\\", "/").rsplit("/", 1)[-1].strip()
    return "" if base in (".", "..") else _cut(base, _FILENAME_MAX)


_CHARSET = re.compile(r"^[a-z0-9._:+-]{1,40}$")


def _codec(charset: str) -> str | None:
    """The codec to read a declared charset with (ISO-8859-1 is read as its superset
    Windows-1252, as browsers do: mail says Latin-1 and means Windows' € and quotes);
    None when undeclared, ASCII or unknown (then the bytes are guessed at)."""
    name = charset.strip().strip("\"'").lower()
    if not _CHARSET.match(name):
        return None
    try:
        found = codecs.lookup(name).name
    except (LookupError, ValueError):
        return None
    if found == "ascii":
        return None
    return "cp1252" if found == "iso8859-1" else found


def _decode(data: bytes, charset: str) -> str:
    """``data`` as text in ``charset``; never raises."""
    codec = _codec(charset)
    if codec is None:
        return _guess(data)
    try:
        return data.decode(codec, errors="replace")
    except (LookupError, UnicodeError, ValueError, TypeError):  # not a text codec
        return _guess(data)


def _guess(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


# -- the complaint text ------------------------------------------------------------

_FORWARD_SUBJECT = re.compile(r"^\s*(?:fwd?|wg|rv|tr|enc)\s*:", re.IGNORECASE)
_ATTRIBUTION_START = re.compile(r"^(?:On|El|Am|Le)\s", re.IGNORECASE)
_ATTRIBUTION_VERB = re.compile(r"\b(?:wrote|escribió|schrieb|a\s+écrit)\b", re.IGNORECASE)
_ATTRIBUTION_MAX = 400  # characters: an attribution names a date and a sender, no more
_ORIGINAL = re.compile(
    r"^-{2,}\s*(?:Original Message|Ursprüngliche Nachricht|Mensaje original|"
    r"Message d'origine)\s*-{2,}$",
    re.IGNORECASE,
)
_FORWARD = re.compile(
    r"^(?:-{2,}\s*(?:Forwarded message|Mensaje reenviado|Weitergeleitete Nachricht|"
    r"Message transféré)\s*-{2,}|Begin forwarded message:|"
    r"Anfang der weitergeleiteten Nachricht:|Inicio del mensaje reenviado:)$",
    re.IGNORECASE,
)
_HEADER_LINE = re.compile(
    r"^\*?(?:From|Sent|Date|To|Cc|Subject|Reply-To|Von|Gesendet|Datum|An|Betreff|De|"
    r"Enviado|Fecha|Para|Asunto|Envoyé|À|Objet)\*?\s*:",
    re.IGNORECASE,
)
_FROM_LINE = re.compile(r"^\*?(?:From|Von|De)\*?\s*:", re.IGNORECASE)
_SENT_LINE = re.compile(r"^\*?(?:Sent|Date|Gesendet|Datum|Enviado|Fecha|Envoyé)\*?\s*:", re.I)
_RULE = re.compile(r"^(?:_{10,}|-{10,})$")
_BLANK_RUNS = re.compile(r"\n{3,}")


def _complaint(text: str, is_html: bool, forwarded: bool) -> str:
    """The customer's words of a text part: cleaned, without quoted history."""
    text = _html_text(text[:_HTML_CHARS]) if is_html else text[:_BODY_CHARS]
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _clean(text).replace("\ufeff", "")
    lines = _without_history(text.split("\n"), forwarded)
    text = _BLANK_RUNS.sub("\n\n", "\n".join(line.rstrip() for line in lines)).strip()
    if len(text) <= _TEXT_MAX:
        return text
    limit = _TEXT_MAX - len(_CUT)
    end = text.rfind("\n", 0, limit + 1)
    return text[: end if end > limit // 2 else limit].rstrip() + _CUT


def _without_history(lines: list[str], forwarded: bool) -> list[str]:
    kept: list[str] = []
    wrote = False  # a kept line has words
    index = 0
    while index < len(lines):
        line = lines[index]
        bare = line.strip()
        if line == "-- ":  # a signature follows
            break
        if bare.startswith(">"):
            index += 1
            continue
        if _FORWARD.match(bare) or (
            forwarded and (_ORIGINAL.match(bare) or _outlook_block(lines, index))
        ):
            index = _after_forward_header(lines, index + 1)
            continue
        quote = _quote_starts(lines, index)
        if quote:
            if wrote:
                break
            index += quote  # quoted history first, the answer below it
            continue
        kept.append(line)
        wrote = wrote or bool(bare)
        index += 1
    return kept


def _quote_starts(lines: list[str], index: int) -> int:
    """How many lines the marker of quoted history at ``index`` takes (0: none)."""
    bare = lines[index].strip()
    if _ATTRIBUTION_START.match(bare):
        if _attribution(bare):
            return 1
        if index + 1 < len(lines) and _attribution(f"{bare} {lines[index + 1].strip()}"):
            return 2
    if _ORIGINAL.match(bare):
        return 1
    if _outlook_block(lines, index):
        return 1
    if _RULE.match(bare) and _outlook_block(lines, index + 1, after_rule=True):
        return 1
    return 0


def _attribution(line: str) -> bool:
    """Whether ``line`` is "On <date>, <sender> wrote:" (or its translations)."""
    if len(line) > _ATTRIBUTION_MAX or not line.endswith(":"):
        return False
    verbs = list(_ATTRIBUTION_VERB.finditer(line))
    return (
        bool(verbs)
        and ":" not in line[verbs[-1].end() : -1]
        and any(c.isdigit() or c == "@" for c in line)
    )


def _outlook_block(lines: list[str], index: int, *, after_rule: bool = False) -> bool:
    """Whether an Outlook header block (From:, then Sent: or Date:, To:, Subject:)
    starts at ``index``, after a blank line, a rule, or at the top."""
    if index >= len(lines) or not _FROM_LINE.match(lines[index].strip()):
        return False
    before = lines[index - 1].strip() if index > 0 else ""
    if not (after_rule or index == 0 or not before or _RULE.match(before)):
        return False
    following = [line.strip() for line in lines[index + 1 : index + 5]]
    headers = [line for line in following if _HEADER_LINE.match(line)]
    return len(headers) >= 2 and any(_SENT_LINE.match(line) for line in headers)


def _after_forward_header(lines: list[str], index: int) -> int:
    """The first line after a forward's header block (its From:, Date:... lines and
    the blank lines around them)."""
    seen_header = False
    while index < len(lines):
        bare = lines[index].strip()
        if _HEADER_LINE.match(bare):
            seen_header = True
        elif bare and not (_RULE.match(bare) and not seen_header):
            break
        index += 1
    return index


# Tags that end a line, and those that also leave a blank line after them.
_LINE_TAGS = frozenset({"br", "div", "li", "tr", "dt", "dd", "section", "article", "header"})
_PARAGRAPH_TAGS = frozenset(
    {"p", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "dl", "table", "blockquote", "hr"}
    | {"pre", "footer"}
)
_HIDDEN_TAGS = frozenset(("script", "style", "title"))


class _HTMLText(HTMLParser):
    """The text of an HTML body: script, style and title dropped, block tags as line
    breaks (paragraphs with a blank line), other whitespace as in a browser, entities
    unescaped."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0
        self._pre = 0
        self._breaks = 0  # line breaks owed before the next text

    def _block(self, tag: str, start: bool) -> None:
        if tag == "br":
            self._breaks = min(self._breaks + 1, 2) if start else self._breaks
        elif tag in _PARAGRAPH_TAGS:
            self._breaks = 2
        elif tag in _LINE_TAGS:
            self._breaks = max(self._breaks, 1)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN_TAGS:
            self._hidden += 1
        elif tag == "body":
            self._hidden = 0  # an unclosed <title> hides nothing of the body
        elif tag == "pre":
            self._pre += 1
        self._block(tag, True)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._block(tag, True)

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN_TAGS:
            self._hidden = max(0, self._hidden - 1)
        elif tag == "pre":
            self._pre = max(0, self._pre - 1)
        self._block(tag, False)

    def handle_data(self, data: str) -> None:
        if self._hidden:
            return
        if not self._pre:
            words = data.split()
            if not words:
                if not self._breaks and self.parts:
                    self.parts.append(" ")
                return
            before = " " if data[0].isspace() else ""
            after = " " if data[-1].isspace() else ""
            data = before + " ".join(words) + after
        if self._breaks and self.parts:
            self.parts.append("\n" * self._breaks)
        self._breaks = 0
        self.parts.append(data)


_TAG = re.compile(r"<[^>]*>")
# A "<" that does not open a whole tag before the next "<". html.parser reads again
# from every construct it cannot finish, which makes markup full of them quadratic.
_LONE_LT = re.compile(r"<(?![A-Za-z/!?][^<>]*>)")
_MARKED_SECTION = re.compile(r"<!\[[^<>]*>")  # <![if !mso]>, <![endif]>, <![CDATA[...]]>


def _html_text(html: str) -> str:
    reader = _HTMLText()
    try:
        reader.feed(_whole_constructs(html))
        reader.close()
        text = "".join(reader.parts)
    except Exception:  # markup the parser gives up on: the tags are just dropped
        import html as entities

        text = entities.unescape(_TAG.sub(" ", html))
    return "\n".join(" ".join(line.split()) for line in text.splitlines())


def _whole_constructs(html: str) -> str:
    """``html`` with comments and marked sections dropped (an unclosed comment ends
    the text) and every ``<`` that does not open a whole tag escaped, so that the
    parser finishes every construct it starts."""
    parts: list[str] = []
    position = 0
    while (start := html.find("<!--", position)) != -1:
        parts.append(html[position:start])
        end = html.find("-->", start + 4)
        if end == -1:
            position = len(html)
            break
        position = end + 3
    parts.append(html[position:])
    return _LONE_LT.sub("&lt;", _MARKED_SECTION.sub("", "".join(parts)))


# -- order references --------------------------------------------------------------

_REF = r"(?=[A-Za-z0-9-]*[0-9])[A-Za-z0-9](?:[A-Za-z0-9-]{0,38}[A-Za-z0-9])?"
_ORDER_WORD = r"(?:order|bestellung|bestellnummer|auftragsnummer|auftrag|pedido|commande)"
_QUALIFIER = r"(?:no\.?|nr\.?|num\.?|number|nummer|n[º°o]\.?|número|numero|id|ref\.?|reference)"
_DEFAULT_ORDER = (
    re.compile(
        # Each stretch of whitespace has one place in the pattern: no backtracking
        # across the combinations of a long run of spaces.
        rf"\b{_ORDER_WORD}(?:\s+{_QUALIFIER})?\s*(?:[:#]\s*)?(?:#\s*)?(?P<ref>{_REF})(?![\w-])",
        re.IGNORECASE,
    ),
    re.compile(r"(?<![\w&#])#(?P<ref>[0-9]{3,})(?![\w-])"),
)
_MAX_CANDIDATES = 5


def order_candidates(subject: str, text: str, pattern: str | None = None) -> list[str]:
    """The order references a message mentions, the subject's first, each once, in
    order of appearance, at most five.

    ``pattern`` is the seller's regular expression (``mail.order_pattern``): group 1
    is the reference if it has a group, else the whole match. Without one, the
    defaults find ``order #1234``, ``Order 1234``, ``order no. 1234``, ``order
    number: A-1234``, ``Order ID 3141592653`` (and Bestellung, pedido, commande),
    and ``#1234`` (three digits or more); never a bare number, a price, a year or a
    phone number. Raises re.error for a pattern that is not a regular expression.
    """
    found: dict[str, str] = {}
    for where in (subject, text):
        for reference in _references(where, pattern):
            found.setdefault(reference.upper(), reference)
            if len(found) >= _MAX_CANDIDATES:
                return list(found.values())
    return list(found.values())


def _references(text: str, pattern: str | None) -> list[str]:
    if pattern is not None:
        compiled = re.compile(pattern)
        refs = []
        for match in compiled.finditer(text):
            ref = match.group(1) if compiled.groups else match.group(0)
            if ref and ref.strip():
                refs.append(ref.strip())
            if len(refs) >= _MAX_CANDIDATES:
                break
        return refs
    matches = sorted(
        (match.start(), match.group("ref"))
        for regex in _DEFAULT_ORDER
        for match in regex.finditer(text)
    )
    return [ref for _, ref in matches if len(ref) >= 3]


# -- reading files, mboxes and standard input --------------------------------------


class _Lines(Protocol):
    def readline(self, size: int = ..., /) -> bytes: ...


def is_mbox(head: bytes) -> bool:
    """Whether data starting with ``head`` is an mbox (its first line a ``From ``
    separator) rather than one message."""
    return head.startswith(b"From ")


def read_message(
    source: str, *, message_id: str | None = None, stdin: BinaryIO | None = None
) -> bytes:
    """The bytes of the message ``source`` names: a file, or ``-`` for ``stdin``
    (default: standard input). An mbox needs ``message_id``, the message to take
    from it; a single message given with ``message_id`` must be that message.

    Raises MailInputError naming the file when it cannot be read, is empty, larger
    than 64 MB, an mbox without ``message_id``, or has no such message.
    """
    if source == "-":
        name = "standard input"
        data = _read_stdin(stdin)
        if is_mbox(data):
            return _from_mbox(io.BytesIO(data), message_id, name)
    else:
        name = source
        with _open(Path(source), name) as stream:
            try:
                head = stream.peek(5)
                if is_mbox(head):
                    return _from_mbox(stream, message_id, name)
                data = stream.read(MAX_BYTES + 1)
            except OSError as error:
                raise MailInputError(f"{name} cannot be read ({error.strerror})") from None
        if not data or data.isspace():
            raise MailInputError(f"{name} is empty")
        if len(data) > MAX_BYTES:
            raise MailInputError(f"{name} is {_TOO_LARGE}")
    if message_id is not None:
        wanted = _bare_id(message_id)
        if not wanted or _bare_id(_id_in_header(data)) != wanted:
            raise MailInputError(
                f"{name} has no message with the Message-ID {_shown_id(message_id)}"
            )
    return data


def find_in_mbox(path: Path, message_id: str) -> bytes:
    """The message of an mbox whose Message-ID is ``message_id`` (with or without
    its angle brackets), read line by line: only the matching message is kept, and
    only the headers of the others are looked at. ``>From `` lines are unescaped
    (mboxrd).

    Raises MailInputError when the file cannot be read or has no such message.
    """
    name = str(path)
    with _open(path, name) as stream:
        try:
            return _from_mbox(stream, message_id, name)
        except OSError as error:
            raise MailInputError(f"{name} cannot be read ({error.strerror})") from None


def _open(path: Path, name: str) -> io.BufferedReader:
    try:
        return open(path, "rb")
    except FileNotFoundError:
        raise MailInputError(f"{name} does not exist") from None
    except IsADirectoryError:
        raise MailInputError(f"{name} is a folder, not a message file") from None
    except PermissionError:
        raise MailInputError(f"{name} cannot be read: permission denied") from None
    except OSError as error:
        raise MailInputError(f"{name} cannot be read ({error.strerror})") from None


def _read_stdin(stdin: BinaryIO | None) -> bytes:
    stream: BinaryIO | None = stdin
    if stream is None:
        stream = getattr(sys.stdin, "buffer", None)
    if stream is None:
        raise MailInputError("no message on standard input")
    try:
        if stream.isatty():  # nothing piped in: reading would wait for typing
            raise MailInputError(
                "standard input is a terminal, not a message: pipe the message in, or name its file"
            )
        data = stream.read(MAX_BYTES + 1)
    except (OSError, ValueError):  # closed
        raise MailInputError("no message on standard input") from None
    if not isinstance(data, bytes) or not data or data.isspace():
        raise MailInputError("no message on standard input")
    if len(data) > MAX_BYTES:
        raise MailInputError(f"the message on standard input is {_TOO_LARGE}")
    return data


def _from_mbox(stream: _Lines, message_id: str | None, name: str) -> bytes:
    if message_id is None:
        raise MailInputError(f"{name} is an mbox: name the message with --message-id ID")
    wanted = _bare_id(message_id)
    found = _search(stream, wanted, name) if wanted else None
    if found is None:
        raise MailInputError(f"no message with the Message-ID {_shown_id(message_id)} in {name}")
    return found


def _search(stream: _Lines, wanted: str, name: str) -> bytes | None:
    """The message whose bare Message-ID is ``wanted``, from an mbox read in chunks
    of at most 64K (a line longer than that comes in several)."""
    state = "before"  # "headers", "keep" (the message wanted) or "skip"
    header: list[bytes] = []
    header_size = 0
    kept: list[bytes] = []
    kept_size = 0
    line_start = True  # the next chunk begins a line
    after_blank = True  # the last line was blank (or there was none)
    while True:
        chunk = stream.readline(_MBOX_CHUNK)
        if not chunk:
            break
        begins = line_start
        line_start = chunk.endswith(b"\n")
        if begins and after_blank and chunk.startswith(b"From "):
            if state == "keep":
                return _message_of(kept)
            state, header, header_size = "headers", [], 0
            after_blank = False
            while not line_start:  # the rest of a long separator line
                rest = stream.readline(_MBOX_CHUNK)
                line_start = not rest or rest.endswith(b"\n")
            continue
        blank = begins and chunk in (b"\n", b"\r\n")
        after_blank = blank
        if begins and chunk.startswith(b">") and chunk.lstrip(b">").startswith(b"From "):
            chunk = chunk[1:]
        if state == "headers":
            if blank:
                if _bare_id(_id_in_header(b"".join(header))) == wanted:
                    state, kept, kept_size = "keep", [*header, chunk], header_size + len(chunk)
                else:
                    state = "skip"
            elif header_size < _MBOX_HEADER_MAX:
                header.append(chunk)
                header_size += len(chunk)
        elif state == "keep":
            kept.append(chunk)
            kept_size += len(chunk)
            if kept_size > MAX_BYTES:
                raise MailInputError(f"the message in {name} is {_TOO_LARGE}")
    if state == "keep":
        return _message_of(kept)
    if state == "headers" and _bare_id(_id_in_header(b"".join(header))) == wanted:
        return _message_of(header)
    return None


def _message_of(chunks: list[bytes]) -> bytes:
    data = b"".join(chunks)
    for ending in (b"\r\n\r\n", b"\n\n"):  # the blank line before the next separator
        if data.endswith(ending):
            return data[: -len(ending) // 2]
    return data


def _id_in_header(data: bytes) -> str:
    """The raw Message-ID of the message whose header block starts ``data``."""
    value: bytes | None = None
    for line in data[:_MBOX_HEADER_MAX].lstrip(b"\r\n").splitlines():
        if not line.strip():
            break
        if value is not None:
            if line[:1] in (b" ", b"\t"):
                value += line
                continue
            break
        if line[:11].lower() == b"message-id:":
            value = line[11:]
    return "" if value is None else _message_id(value.decode("ascii", "replace"))


def _bare_id(message_id: str) -> str:
    bare = message_id.strip()
    if bare.startswith("<") and bare.endswith(">"):
        bare = bare[1:-1].strip()
    return bare


def _shown_id(message_id: str) -> str:
    return _cut(_one_line(message_id), 200)
