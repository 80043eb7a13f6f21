"""The message to the customer as built, parsed back the way a mail client would read
it: the exact headers, the thread, drafts, mailto: URLs, and header injection tried
every way the customer's name and subject could carry it."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime, timedelta, timezone
from email import message_from_bytes
from email import policy as email_policy
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recovery_cli.errors import ExitStatus, RecoverError
from recovery_cli.mail.outgoing import (
    MAILTO_LIMIT,
    NAME_LIMIT,
    REFERENCES_LIMIT,
    SMTP_POLICY,
    AddressError,
    Outgoing,
    build_message,
    draft_bytes,
    fits_mailto,
    header_text,
    mailto_url,
    new_message_id,
    reply_subject,
)

DATE = datetime(2026, 12, 1, 10, 30, tzinfo=timezone(timedelta(hours=1)))
OWN_ID = "<179600000.1.2@shop.example>"
BASE = {
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "MIME-Version",
    "Content-Type",
    "Content-Transfer-Encoding",
}
THREAD = {"In-Reply-To", "References"}


def make(**changes: Any) -> Outgoing:
    fields: dict[str, Any] = {
        "sender": "help@shop.example",
        "sender_name": "Sam at Acme Books",
        "to_address": "dana@example.com",
        "to_name": "Dana Reyes",
        "subject": "Re: Broken mug",
        "body": "Hi Dana,\n\nA new mug is on its way.\n\nBest wishes,\nSam\n",
        "message_id": OWN_ID,
        "date": DATE,
    }
    fields.update(changes)
    return Outgoing(**fields)


def parse(data: bytes) -> EmailMessage:
    parsed = message_from_bytes(data, policy=email_policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def sent(out: Outgoing, *, draft: bool = False) -> tuple[bytes, EmailMessage]:
    """The message as it goes on the wire (SMTP's CRLF bytes) and parsed back."""
    data = build_message(out, draft=draft).as_bytes(policy=SMTP_POLICY)
    return data, parse(data)


def only_address(message: EmailMessage, name: str) -> tuple[str, str]:
    """The one address of a header: its display name (spaces collapsed: Python
    reads a space between two encoded words of a display name, which RFC 2047
    does not) and its addr-spec."""
    addresses = message[name].addresses
    assert len(addresses) == 1
    return " ".join(addresses[0].display_name.split()), addresses[0].addr_spec


def squeezed(text: str) -> str:
    return "".join(text.split())


def check_safe(data: bytes, message: EmailMessage, expected: set[str]) -> None:
    """Exactly the expected headers, each once; one To (the customer) and one From
    (the seller); nothing decodes to a line break; every line fits SMTP's limit."""
    assert sorted(message.keys()) == sorted(expected)
    assert only_address(message, "To")[1] == "dana@example.com"
    assert only_address(message, "From")[1] == "help@shop.example"
    for name, value in message.items():
        assert not re.search(r"[\r\n]", str(value)), name
    assert data.isascii()
    assert all(len(line) <= 78 for line in data.split(b"\r\n")), data
    head = data.split(b"\r\n\r\n", 1)[0]
    starts = [line.split(b":", 1)[0] for line in head.split(b"\r\n") if line[:1] not in b" \t"]
    assert sorted(s.decode() for s in starts) == sorted(expected)


# -- the headers ------------------------------------------------------------------


def test_the_message_has_exactly_the_expected_headers() -> None:
    data, message = sent(make())
    assert sorted(message.keys()) == sorted(BASE)
    assert str(message["From"]) == "Sam at Acme Books <help@shop.example>"
    assert str(message["To"]) == "Dana Reyes <dana@example.com>"
    assert message["Subject"] == "Re: Broken mug"
    assert message["Date"] == format_datetime(DATE)
    assert message["Date"].datetime == DATE
    assert message["Message-ID"] == OWN_ID
    assert message["MIME-Version"] == "1.0"
    assert message.get_content_type() == "text/plain"
    assert message.get_content_charset() == "utf-8"
    assert message["Content-Transfer-Encoding"] == "7bit"
    assert message.get_content().replace("\r\n", "\n") == make().body
    check_safe(data, message, BASE)


def test_an_empty_display_name_gives_a_bare_address() -> None:
    _, message = sent(make(to_name="", sender_name=""))
    assert str(message["To"]) == "dana@example.com"
    assert str(message["From"]) == "help@shop.example"


def test_a_display_name_with_specials_is_quoted() -> None:
    data, message = sent(make(to_name='Reyes, Dana "D" <boss@evil.example> @ home'))
    assert only_address(message, "To") == (
        'Reyes, Dana "D" <boss@evil.example> @ home',
        "dana@example.com",
    )
    assert b'To: "Reyes, Dana \\"D\\" <boss@evil.example> @ home" <dana@example.com>' in data
    check_safe(data, message, BASE)


def test_the_body_is_never_8bit() -> None:
    data, message = sent(make(body="Grüße, und Entschuldigung – 日本語\n"))
    assert message["Content-Transfer-Encoding"] in ("quoted-printable", "base64")
    assert data.isascii()
    assert message.get_content().replace("\r\n", "\n") == "Grüße, und Entschuldigung – 日本語\n"


def test_a_date_without_time_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="time zone"):
        build_message(make(date=datetime(2026, 12, 1, 10, 30)))


@pytest.mark.parametrize("bad", ["", "no-brackets@x", "<two words@x>", "<a@b>\r\nBcc: x@y", "<>"])
def test_a_bad_message_id_is_refused(bad: str) -> None:
    with pytest.raises(RecoverError, match="Message-ID"):
        build_message(make(message_id=bad))


def test_new_message_ids_use_the_senders_domain() -> None:
    first, second = new_message_id("help@shop.example"), new_message_id("help@shop.example")
    assert first != second
    assert re.fullmatch(r"<[^<>\s@]+@shop\.example>", first)
    assert new_message_id("not an address").endswith("@recover.invalid>")
    assert new_message_id("").endswith("@recover.invalid>")


# -- the thread ---------------------------------------------------------------------


def test_the_thread_headers() -> None:
    out = make(in_reply_to="<c3@customer.example>", references=("<c1@customer.example>",))
    data, message = sent(out)
    assert message["In-Reply-To"] == "<c3@customer.example>"
    assert message["References"] == "<c1@customer.example> <c3@customer.example>"
    check_safe(data, message, BASE | THREAD)


def test_in_reply_to_already_in_the_thread_keeps_its_place() -> None:
    refs = ("<c1@x>", "<c3@x>", "<s1@shop.example>", "<c1@x>")
    _, message = sent(make(in_reply_to="<c3@x>", references=refs))
    assert message["References"] == "<c1@x> <c3@x> <s1@shop.example>"


def test_ids_that_are_not_msg_ids_and_the_own_id_are_dropped() -> None:
    refs = ("junk", "<a b@x>", "<ok@x>", "<x@y>\r\nBcc: evil@example.com", OWN_ID, "<日本@x>")
    data, message = sent(make(in_reply_to="not-an-id", references=refs))
    assert "In-Reply-To" not in message
    assert message["References"] == "<ok@x>"
    check_safe(data, message, BASE | {"References"})
    _, own = sent(make(in_reply_to=OWN_ID))
    assert "In-Reply-To" not in own and "References" not in own


def test_no_thread_no_thread_headers() -> None:
    _, message = sent(make(in_reply_to="", references=()))
    assert "In-Reply-To" not in message and "References" not in message


def test_references_are_capped_keeping_the_first() -> None:
    refs = tuple(f"<m{i}@customer.example>" for i in range(40))
    _, message = sent(make(in_reply_to="<last@customer.example>", references=refs))
    ids = message["References"].split()
    assert len(ids) == REFERENCES_LIMIT
    assert ids[0] == "<m0@customer.example>"
    assert ids[-1] == "<last@customer.example>"
    assert ids[1:-1] == [f"<m{i}@customer.example>" for i in range(22, 40)]


def test_long_ids_are_folded_between_ids_and_never_encoded() -> None:
    long = "<" + "x" * 150 + "@mail.customer.example>"
    refs = tuple(
        f"<CAF{i:03d}abcdefghijklmnopqrstuvwxyz0123456789@mail.gmail.com>" for i in range(8)
    )
    data, message = sent(make(in_reply_to=long, references=refs))
    assert b"=?" not in data
    assert long.encode() in data
    assert message["In-Reply-To"] == long
    assert message["References"].split() == [*refs, long]
    head = data.split(b"\r\n\r\n", 1)[0].decode()
    for line in head.split("\r\n"):
        assert len(line) <= 78 or len(line.split()) <= 2  # only an id alone may be longer
    assert b"\r\n " + long.encode() + b"\r\n" in data
    assert parse(build_message(make(in_reply_to=long)).as_bytes())["In-Reply-To"] == long


# -- the subject --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Broken mug", "Re: Broken mug"),
        ("Re: Broken mug", "Re: Broken mug"),
        ("RE: Broken mug", "RE: Broken mug"),
        ("re: broken", "re: broken"),
        ("Aw: Kaputt", "Aw: Kaputt"),
        ("SV: Trasig", "SV: Trasig"),
        ("Fwd: Broken mug", "Re: Fwd: Broken mug"),
        ("Regarding my order", "Re: Regarding my order"),
        ("  Broken\r\nmug  ", "Re: Broken mug"),
        ("", "Your order 1042"),
        (" \r\n\t", "Your order 1042"),
    ],
)
def test_reply_subject(subject: str, expected: str) -> None:
    assert reply_subject(subject, "Your order 1042") == expected


def test_unicode_names_and_subjects_are_encoded_and_decoded_back() -> None:
    out = make(
        to_name="Zoë Ångström 王", sender_name="Søren at Café Öl", subject="Re: Tasse 壊れた ☕"
    )
    data, message = sent(out)
    assert data.isascii()
    assert b"=?utf-8?" in data
    assert only_address(message, "To") == ("Zoë Ångström 王", "dana@example.com")
    assert only_address(message, "From") == ("Søren at Café Öl", "help@shop.example")
    assert message["Subject"] == "Re: Tasse 壊れた ☕"
    check_safe(data, message, BASE)


# -- drafts -------------------------------------------------------------------------


def test_x_unsent_is_in_drafts_only() -> None:
    assert "X-Unsent" not in build_message(make())
    assert build_message(make(), draft=True)["X-Unsent"] == "1"
    assert parse(draft_bytes(make()))["X-Unsent"] == "1"


def test_draft_bytes_use_crlf_and_parse_back_the_same() -> None:
    out = make(
        to_name='Zoë, "the" customer',
        subject="Re: Tasse kaputt – bitte um Ersatz " * 4,
        body="Hallo Zoë,\n\nline two\n" + "long " * 40 + "\n",
        in_reply_to="<c1@customer.example>",
    )
    data = draft_bytes(out)
    assert b"\n" not in data.replace(b"\r\n", b"")
    assert b"\r" not in data.replace(b"\r\n", b"")
    built = build_message(out, draft=True)
    again = parse(data)
    assert [(k, str(v)) for k, v in again.items()] == [(k, str(v)) for k, v in built.items()]
    assert again.get_content().replace("\r\n", "\n") == built.get_content()
    check_safe(data, again, BASE | THREAD | {"X-Unsent"})
    assert parse(again.as_bytes(policy=email_policy.SMTP)).items() == again.items()


# -- header injection -----------------------------------------------------------------

HOSTILE = [
    "Dana\r\nBcc: evil@example.com",
    "Dana\nBcc: evil@example.com",
    "Dana\rBcc: evil@example.com",
    "Hi\r\nBcc: x@y",
    "Hi\r\n\r\nBody starts here",
    "=?utf-8?q?a=0D=0ABcc:_x@y?=",
    "=?UTF-8?B?YQ0KQmNjOiB4QHk=?=",
    "x =?utf-8?q?=0A?= y",
    "Dana\u2028Bcc: evil@example.com",
    "Dana\x85Bcc: evil@example.com",
    "Dana\x00\x0b\x0c\x1bBcc: evil@example.com",
    'Reyes, "Dana" <evil@example.com>, other@example.com',
    "evil@example.com",
    "<evil@example.com>",
    'a\\"b\\',
    "(comment) ;: []",
    "D" * 5000,
    "Dana " * 1000,
]


@pytest.mark.parametrize("hostile", HOSTILE)
@pytest.mark.parametrize("field", ["to_name", "subject", "sender_name"])
def test_hostile_text_cannot_add_a_header_or_a_recipient(field: str, hostile: str) -> None:
    out = make(**{field: hostile}, in_reply_to="<c1@customer.example>")
    data, message = sent(out)
    check_safe(data, message, BASE | THREAD)
    assert "Bcc" not in message
    assert not re.search(rb"\r\n(Bcc|Body)", data, re.IGNORECASE)
    limit = None if field == "subject" else NAME_LIMIT
    cleaned = header_text(hostile, limit)
    if field == "subject":
        assert message["Subject"] == cleaned
    else:
        header = "To" if field == "to_name" else "From"
        assert squeezed(only_address(message, header)[0]) == squeezed(cleaned)
    assert "\r" not in cleaned and "\n" not in cleaned and "=?" not in cleaned


def test_a_five_thousand_character_name_is_cut_short() -> None:
    data, message = sent(make(to_name="N" * 5000))
    name, address = only_address(message, "To")
    assert (squeezed(name), address) == ("N" * NAME_LIMIT, "dana@example.com")
    check_safe(data, message, BASE)


def test_header_text() -> None:
    assert header_text("  a\r\n\tb\x00c\u2028d  ") == "a b c d"
    assert header_text("=?utf-8?q?x?=") == "= ?utf-8?q?x?="
    assert header_text("=?=?") == "= ?= ?"
    assert header_text("abcdef  ", 3) == "abc"
    assert header_text("ab cdef", 3) == "ab"


HOSTILE_CHARS = st.lists(
    st.sampled_from(
        [*'\r\n\t "\\,;:<>()[]@=?_.aZé日\x00\x0b\x85\u2028\u2029\ufeff', "=?utf-8?q?", "0" * 40]
    ),
    max_size=40,
).map("".join)
ANY_TEXT = st.one_of(st.text(max_size=200), HOSTILE_CHARS, st.text(min_size=300, max_size=1000))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(to_name=ANY_TEXT, subject=ANY_TEXT, sender_name=ANY_TEXT)
def test_no_text_changes_the_headers(to_name: str, subject: str, sender_name: str) -> None:
    out = make(to_name=to_name, subject=subject, sender_name=sender_name)
    for draft, expected in ((False, BASE), (True, BASE | {"X-Unsent"})):
        data = build_message(out, draft=draft).as_bytes(policy=SMTP_POLICY)
        message = parse(data)
        check_safe(data, message, expected)
        to = only_address(message, "To")
        assert (squeezed(to[0]), to[1]) == (
            squeezed(header_text(to_name, NAME_LIMIT)),
            "dana@example.com",
        )
        sender = only_address(message, "From")
        assert squeezed(sender[0]) == squeezed(header_text(sender_name, NAME_LIMIT))
        assert message["Subject"] == header_text(subject)
    assert draft_bytes(out) == build_message(out, draft=True).as_bytes(policy=SMTP_POLICY)


# -- addresses ------------------------------------------------------------------------

BAD_ADDRESSES = [
    "",
    "   ",
    "dana",
    "dana@",
    "@example.com",
    "dana@@example.com",
    "dana@x@example.com",
    "dana@example.com, evil@example.com",
    "dana@example.com,evil@example.com",
    "Dana <dana@example.com>",
    "<dana@example.com>",
    "dana@example.com>",
    "dana @example.com",
    "dana@exa mple.com",
    "dana@example.com\r\nBcc: evil@example.com",
    "dana@example.com\n",
    '"da na"@example.com',
    '"dana"@example.com',
    "dana(comment)@example.com",
    "dané@example.com",
    "dana@[127.0.0.1]",
    "dana@-example.com",
    "dana@example..com",
    ".dana@example.com",
    "da..na@example.com",
    "dana@example.com;evil@example.com",
    "x" * 65 + "@example.com",
    "dana@" + "a" * 250 + ".com",
]


@pytest.mark.parametrize("address", BAD_ADDRESSES)
def test_an_unusable_customer_address_is_refused_without_repeating_it(address: str) -> None:
    with pytest.raises(AddressError) as raised:
        build_message(make(to_address=address))
    error = raised.value
    assert error.exit_code == ExitStatus.USAGE
    assert "customer" in error.message
    if address.strip():
        assert address.strip() not in f"{error.message} {error.hint}"
    assert "\n" not in error.message
    assert "dana" not in f"{error.message} {error.hint}"
    with pytest.raises(AddressError):
        mailto_url(make(to_address=address))


@pytest.mark.parametrize("address", BAD_ADDRESSES[:12])
def test_an_unusable_from_setting_is_refused_and_named(address: str) -> None:
    with pytest.raises(AddressError) as raised:
        build_message(make(sender=address))
    assert "`from`" in raised.value.message
    assert "customer" not in raised.value.message
    assert "dana" not in raised.value.message


@pytest.mark.parametrize(
    "address",
    ["dana@example.com", "dana.reyes+shop@mail.example.co.uk", "o'brien@example.ie", "D@X.IO"],
)
def test_usual_addresses_are_taken_as_they_are(address: str) -> None:
    _, message = sent(make(to_address=address))
    assert message["To"].addresses[0].addr_spec == address


def test_an_international_domain_goes_out_in_its_ascii_form() -> None:
    _, message = sent(make(to_address="dana@bücher.example"))
    assert message["To"].addresses[0].addr_spec == "dana@xn--bcher-kva.example"
    assert mailto_url(make(to_address="dana@bücher.example")).startswith(
        "mailto:dana@xn--bcher-kva.example"
    )


# -- mailto -----------------------------------------------------------------------------


def test_a_mailto_url() -> None:
    out = make(subject="Re: Mug", body="Hi Dana,\nSorry.\n", in_reply_to="<c1@customer.example>")
    assert mailto_url(out) == (
        "mailto:dana@example.com?subject=Re%3A%20Mug&body=Hi%20Dana%2C%0D%0ASorry.%0D%0A"
        "&in-reply-to=%3Cc1%40customer.example%3E"
    )


def test_a_mailto_url_without_thread_or_body() -> None:
    assert mailto_url(make(subject="", body="")) == "mailto:dana@example.com"
    assert mailto_url(make(subject="Hi", body="", in_reply_to="bad")) == (
        "mailto:dana@example.com?subject=Hi"
    )


def test_mailto_encodes_every_reserved_character_and_round_trips() -> None:
    subject = "Re: 50% off & more = #1? a+b/c;d 'e' \"f\" ümlaut 日本 ☕"
    body = "Line 1 & 2 = 3?\r\nLine #2 %41 +plus+\nLine 3\rend ~ok_-."
    out = make(to_address="dana+shop@example.com", subject=subject, body=body)
    url = mailto_url(out)
    parts = urlsplit(url)
    assert parts.scheme == "mailto"
    assert unquote(parts.path) == "dana+shop@example.com"
    query = parts.query
    assert [field.split("=", 1)[0] for field in query.split("&")] == ["subject", "body"]
    for field in query.split("&"):
        value = field.split("=", 1)[1]
        assert re.fullmatch(r"[A-Za-z0-9_.~%-]+", value), value
    assert "%0D%0A" in query and "%20" in query and "%26" in query and "%25" in query
    fields = parse_qs(query, keep_blank_values=True, strict_parsing=True)
    assert fields["subject"] == [subject]
    assert fields["body"] == ["Line 1 & 2 = 3?\r\nLine #2 %41 +plus+\r\nLine 3\r\nend ~ok_-."]
    assert set(fields) == {"subject", "body"}


def test_mailto_cleans_the_subject_and_checks_the_thread_id() -> None:
    out = make(subject="Hi\r\nBcc: x@y", in_reply_to="<a@b>\r\nBcc: x@y", body="")
    fields = parse_qs(urlsplit(mailto_url(out)).query)
    assert fields == {"subject": ["Hi Bcc: x@y"]}


def test_the_mailto_limit() -> None:
    assert MAILTO_LIMIT == 2000
    assert fits_mailto("mailto:a@b.example")
    assert fits_mailto("x" * (MAILTO_LIMIT - 1))
    assert not fits_mailto("x" * MAILTO_LIMIT)
    assert not fits_mailto(mailto_url(make(body="ü" * 400)))  # 400 x 6 characters encoded
    assert fits_mailto(mailto_url(make()))


def test_outgoing_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        make().subject = "x"  # type: ignore[misc]
    assert make().date.tzinfo is not None
    assert make(date=datetime(2026, 1, 1, tzinfo=UTC)).date.utcoffset() == timedelta(0)


def test_a_draft_without_a_sender_leaves_from_to_the_mail_client() -> None:
    data = draft_bytes(make(sender=""))
    message = parse(data)
    assert message["From"] is None and message["X-Unsent"] == "1"
    assert only_address(message, "To")[1] == make().to_address
    with pytest.raises(AddressError):
        build_message(make(sender=""))  # a message that is sent needs its sender
