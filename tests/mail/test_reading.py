"""Reading email that is hostile, huge or odd: every input gives a clear
MailInputError or a sensible Incoming, never another exception; mboxes are searched
line by line; order references are found and prices, years and phone numbers are not.
"""

from __future__ import annotations

import base64
import io
import os
import re
import sys
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recovery_cli.errors import ExitStatus, InputFileError
from recovery_cli.mail.reading import (
    MAX_BYTES,
    Incoming,
    MailInputError,
    find_in_mbox,
    ids_in,
    is_mbox,
    order_candidates,
    parse_message,
    read_message,
)

SIMPLE = (
    b"From: Dana Reyes <dana@example.com>\r\n"
    b"Subject: Broken mug\r\n"
    b"Message-ID: <simple@example.com>\r\n"
    b"\r\n"
    b"The mug arrived broken.\r\n"
)


def _read_or_refuse(data: bytes) -> Incoming | None:
    """What parse_message gives, None when it refuses: nothing else may happen."""
    try:
        incoming = parse_message(data)
    except MailInputError as error:
        refusal = error.message
    else:
        refusal = ""
    if refusal:
        return None
    assert isinstance(incoming, Incoming)
    for field in (incoming.subject, incoming.name, incoming.address, incoming.message_id):
        assert "\n" not in field and "\r" not in field
        field.encode("utf-8")
    incoming.text.encode("utf-8")
    return incoming


def _refusal(data: bytes) -> str:
    with pytest.raises(MailInputError) as caught:
        parse_message(data)
    return caught.value.message


# -- what is refused ---------------------------------------------------------------


def test_the_error_is_a_bad_input() -> None:
    assert issubclass(MailInputError, InputFileError)
    assert MailInputError("x").exit_code == ExitStatus.BAD_INPUT == 7


@pytest.mark.parametrize("data", [b"", b"\r\n\r\n", b"   \n\t\n"])
def test_empty_input_is_refused(data: bytes) -> None:
    assert "empty" in _refusal(data)


@pytest.mark.parametrize(
    "data", [b"just some words, no headers\n", b"\x00\x01\x02\xff", b"From nobody\n"]
)
def test_input_without_headers_is_not_a_message(data: bytes) -> None:
    assert "not an email message" in _refusal(data)


def test_a_message_over_64_mb_is_refused() -> None:
    data = b"Subject: big\r\n\r\n" + b"a" * (65 * 1024 * 1024)
    assert _refusal(data) == "the message is larger than 64 MB"


def test_headers_alone_are_a_message() -> None:
    incoming = parse_message(b"X-Anything: at all\r\n")
    assert incoming == Incoming("", "", None, "", "", (), (), "", ())


# -- arbitrary input ---------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=3000))
def test_any_bytes_give_a_message_or_a_refusal(data: bytes) -> None:
    _read_or_refuse(data)


FRAGMENTS = [
    "=?utf-8?q?",
    "=?utf-8?b?",
    "=?x-unknown?q?a=FF?=",
    "?=",
    "=0D=0A",
    "<",
    ">",
    "@",
    "(",
    ")",
    '"',
    "\\",
    ",",
    ";",
    ":",
    "\r\n ",
    "\r\n",
    "\t",
    "\x1b[31m",
    "\x00",
    "\udcff",
    "multipart/mixed; boundary=b",
    "text/html; charset=",
    "attachment; filename*0*=utf-8''a%FF",
    "base64",
    "quoted-printable",
    "--b\r\n",
    "--b--\r\n",
    "Content-Type: multipart/alternative; boundary=c\r\n\r\n--c\r\n",
]
NAMES = [
    "From",
    "Reply-To",
    "Subject",
    "Message-ID",
    "Date",
    "References",
    "In-Reply-To",
    "Content-Type",
    "Content-Disposition",
    "Content-Transfer-Encoding",
    "MIME-Version",
    "X-Other",
]
pieces = st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=12), max_size=12).map("".join)
headerish = st.tuples(
    st.lists(st.tuples(st.sampled_from(NAMES), pieces), min_size=1, max_size=10), pieces
).map(lambda m: "".join(f"{name}: {value}\r\n" for name, value in m[0]) + "\r\n" + m[1])


@settings(max_examples=200, deadline=None)
@given(headerish)
def test_any_header_text_gives_a_message_or_a_refusal(text: str) -> None:
    _read_or_refuse(text.encode("utf-8", "surrogatepass"))


# -- hostile structure -------------------------------------------------------------


def test_a_50_mb_attachment_is_measured_not_read() -> None:
    size = 50_000_000
    encoded = base64.b64encode((bytes(range(256)) * (size // 256 + 1))[:size])
    # 996-character lines (under the 998 a line may have): in MIME's usual 76, 50 MB
    # of base64 is 68.4 MB of message, over the 64 MiB a message may be.
    lines = b"\r\n".join(encoded[i : i + 996] for i in range(0, len(encoded), 996))
    data = (
        b"From: Dana <dana@example.com>\r\nSubject: video\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="XX"\r\n\r\n'
        b"--XX\r\nContent-Type: text/plain\r\n\r\nThe video of the box is attached.\r\n"
        b'--XX\r\nContent-Type: video/mp4\r\nContent-Disposition: attachment; filename="box.mp4"'
        b"\r\nContent-Transfer-Encoding: base64\r\n\r\n" + lines + b"\r\n--XX--\r\n"
    )
    assert len(data) <= MAX_BYTES
    incoming = parse_message(data)
    assert incoming.text == "The video of the box is attached."
    assert [(a.name, a.size, a.content_type) for a in incoming.attachments] == [
        ("box.mp4", size, "video/mp4")
    ]


def _nested(levels: int) -> bytes:
    opening = "".join(
        f'Content-Type: multipart/mixed; boundary="b{i}"\r\n\r\n--b{i}\r\n' for i in range(levels)
    )
    closing = "".join(f"\r\n--b{i}--\r\n" for i in reversed(range(levels)))
    return (
        "From: Dana <dana@example.com>\r\nSubject: deep\r\nMIME-Version: 1.0\r\n"
        + opening
        + "Content-Type: text/plain\r\n\r\nhello from the bottom\r\n"
        + closing
    ).encode()


def test_multiparts_nested_2000_deep_give_the_headers() -> None:
    incoming = parse_message(_nested(2000))
    assert incoming.subject == "deep"
    assert incoming.address == "dana@example.com"
    assert incoming.text == ""


def test_parts_deeper_than_50_levels_are_ignored() -> None:
    assert parse_message(_nested(10)).text == "hello from the bottom"
    assert parse_message(_nested(60)).text == ""


def test_at_most_1000_parts_are_walked() -> None:
    part = (
        b'--b\r\nContent-Type: image/png\r\nContent-Disposition: attachment; filename="p.png"'
        b"\r\n\r\nx\r\n"
    )
    data = (
        b'From: a@example.com\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n'
        + part * 3000
        + b"--b--\r\n"
    )
    incoming = parse_message(data)
    assert 900 < len(incoming.attachments) < 1000


def test_an_encoded_word_bomb_is_cut_short() -> None:
    words = "=?utf-8?q?a?= " * 50_000
    data = (
        f"From: {words}<dana@example.com>\r\nSubject: {words}\r\n"
        f"Message-ID: <bomb@example.com>\r\n\r\nhello\r\n"
    ).encode()
    incoming = parse_message(data)
    assert len(incoming.subject) <= 300
    assert incoming.subject.startswith("aaaa")
    assert len(incoming.name) <= 200
    assert incoming.address == "dana@example.com"
    assert incoming.message_id == "<bomb@example.com>"
    assert incoming.text == "hello"


@pytest.mark.parametrize(
    "header",
    [
        "Content-Type: text/plain; " + "(" * 5000,
        "Content-Type: text/plain; " + "a=b; " * 5000,
        "Content-Disposition: attachment; " + "filename*%d*=utf-8''a%%20; " * 2000,
        "From: " + "(" * 5000 + "<dana@example.com>",
        "Reply-To: " + '"' * 5001,
        "Content-Transfer-Encoding: " + "(" * 5000,
        "Date: " + "9" * 5000,
        "References: " + "<" * 5000,
        "Content-Type: multipart/mixed; boundary=",
        "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64",
        "Content-Type: text/plain; charset=rot13",
        "Content-Type: text/plain; charset=idna",
        "Content-Type: text/plain; charset=" + "x" * 5000,
    ],
)
def test_hostile_headers_give_a_message(header: str) -> None:
    data = f"Subject: hostile\r\n{header}\r\n\r\nThe body =FF, still here.\r\n".encode()
    incoming = _read_or_refuse(data)
    assert incoming is not None
    assert incoming.subject == "hostile"


def test_an_attached_message_is_noted_and_an_inline_one_read() -> None:
    inner = b"From: Dana <dana@example.com>\r\nSubject: first\r\n\r\nMy first complaint.\r\n"
    outer = (
        b'From: Dana <dana@example.com>\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: message/rfc822\r\nContent-Disposition: DISPOSITION\r\n\r\n"
        + inner
        + b"\r\n--b--\r\n"
    )
    attached = parse_message(outer.replace(b"DISPOSITION", b'attachment; filename="first.eml"'))
    assert attached.text == ""
    [note] = attached.attachments
    assert (note.name, note.content_type) == ("first.eml", "message/rfc822")
    assert note.size >= len(inner) - 10
    inline = parse_message(outer.replace(b"DISPOSITION", b"inline"))
    assert inline.text == "My first complaint."
    assert inline.attachments == ()


def test_a_long_text_is_cut_at_a_line_end() -> None:
    body = "".join(f"line {n} of a very long complaint\r\n" for n in range(5000))
    incoming = parse_message(f"Subject: long\r\n\r\n{body}".encode())
    assert len(incoming.text) <= 20_000
    assert incoming.text.endswith("complaint\n[…]")


def test_text_that_would_make_a_pattern_backtrack() -> None:
    # Each would take minutes with a pattern that can split a run of spaces, or scan
    # a line again from every word, in many ways.
    assert order_candidates("order" + " " * 20_000 + "x", "order" + "\t " * 10_000 + ":#") == []
    text = "On 1 Dec " + "wrote " * 3000 + "\n" + ("On 1 wrote " * 3000 + ":\n") * 5
    incoming = parse_message(f"Subject: x\r\n\r\n{text}".encode())
    assert incoming.text.startswith("On 1 Dec wrote wrote")


def test_header_fields_are_one_clean_line() -> None:
    data = (
        b"From: =?utf-8?q?Dana=0D=0ABcc:_evil@x?= <dana@example.com>\r\n"
        b"Subject: =?utf-8?q?Hi=0AThere=09=1B[2J?= \x1b]0;pwned\x07now\r\n"
        b"Message-ID:   <id@example.com>   \r\n\r\nx\r\n"
    )
    incoming = parse_message(data)
    assert incoming.name == "Dana Bcc: evil@x"
    assert incoming.subject == "Hi There now"
    assert incoming.message_id == "<id@example.com>"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("<abc@host>", "<abc@host>"),
        ("  <abc@host> (comment)", "<abc@host>"),
        ("abc@host", "<abc@host>"),
        ("<abc\r\n @host>", "<abc@host>"),
        ("two words", ""),
        ("<>", ""),
    ],
)
def test_message_ids(value: str, expected: str) -> None:
    data = f"Subject: x\r\nMessage-ID: {value}\r\n\r\nx".encode()
    assert parse_message(data).message_id == expected


def test_ids_in() -> None:
    value = "<a@b> junk <c@d>\r\n <a@b> <not an id> <e@f>(x)"
    assert ids_in(value) == ("<a@b>", "<c@d>", "<e@f>")
    assert ids_in("") == ()


def test_reply_to_names_the_customer_to_answer() -> None:
    data = b"From: Shop Form <no-reply@shop.example>\r\nReply-To: customer@example.com\r\n\r\nx"
    incoming = parse_message(data)
    assert (incoming.name, incoming.address) == ("Shop Form", "customer@example.com")
    data = b"From: Dana <dana@Example.COM>\r\nReply-To: not an address\r\n\r\nx"
    assert parse_message(data).address == "dana@example.com"


# -- reading files and standard input ----------------------------------------------


def test_reading_a_file(tmp_path: Path) -> None:
    path = tmp_path / "m.eml"
    path.write_bytes(SIMPLE)
    assert read_message(str(path)) == SIMPLE
    assert read_message(str(path), message_id="<simple@example.com>") == SIMPLE
    assert read_message(str(path), message_id=" simple@example.com ") == SIMPLE


def test_a_single_message_must_have_the_id_asked_for(tmp_path: Path) -> None:
    path = tmp_path / "m.eml"
    path.write_bytes(SIMPLE)
    with pytest.raises(MailInputError, match=r"m\.eml has no message with the Message-ID"):
        read_message(str(path), message_id="<other@example.com>")


def test_file_problems_name_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "nothing.eml"
    with pytest.raises(MailInputError, match=r"nothing\.eml does not exist"):
        read_message(str(missing))
    with pytest.raises(MailInputError, match="is a folder"):
        read_message(str(tmp_path))
    empty = tmp_path / "empty.eml"
    empty.write_bytes(b"\r\n")
    with pytest.raises(MailInputError, match=r"empty\.eml is empty"):
        read_message(str(empty))
    big = tmp_path / "big.eml"
    big.write_bytes(b"Subject: x\r\n\r\n" + b"a" * MAX_BYTES)
    with pytest.raises(MailInputError, match=r"big\.eml is larger than 64 MB"):
        read_message(str(big))


@pytest.mark.skipif(
    sys.platform == "win32" or os.geteuid() == 0, reason="permissions do not stop root"
)
def test_an_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "locked.eml"
    path.write_bytes(SIMPLE)
    path.chmod(0)
    with pytest.raises(MailInputError, match="permission denied"):
        read_message(str(path))


def test_reading_standard_input() -> None:
    assert read_message("-", stdin=io.BytesIO(SIMPLE)) == SIMPLE


def test_standard_input_is_read_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    class Stdin:
        buffer = io.BytesIO(SIMPLE)

    monkeypatch.setattr(sys, "stdin", Stdin())
    assert read_message("-") == SIMPLE


def test_empty_or_closed_standard_input() -> None:
    with pytest.raises(MailInputError, match="no message on standard input"):
        read_message("-", stdin=io.BytesIO(b""))
    closed = io.BytesIO(SIMPLE)
    closed.close()
    with pytest.raises(MailInputError, match="no message on standard input"):
        read_message("-", stdin=closed)


def test_too_much_on_standard_input() -> None:
    with pytest.raises(MailInputError, match="standard input is larger than 64 MB"):
        read_message("-", stdin=io.BytesIO(b"Subject: x\r\n\r\n" + b"a" * MAX_BYTES))


# -- mboxes ------------------------------------------------------------------------


def _entry(number: int, body: str = "") -> bytes:
    return (
        f"From customer{number}@example.com Mon Dec  1 09:00:00 2025\n"
        f"From: Customer {number} <customer{number}@example.com>\n"
        f"Subject: Complaint number {number}\n"
        f"Message-ID: <m{number}@example.com>\n"
        f"\n"
        f"{body or f'Message {number}: my order arrived broken.'}\n"
        f"\n"
    ).encode()


def test_is_mbox() -> None:
    assert is_mbox(b"From dana@example.com Mon Dec  1 09:00:00 2025\n")
    assert not is_mbox(b"From: dana@example.com\n")
    assert not is_mbox(b"")


def test_an_mbox_of_10000_messages_is_searched_in_flat_memory(tmp_path: Path) -> None:
    path = tmp_path / "Inbox.mbox"
    with path.open("wb") as out:
        for number in range(10_000):
            out.write(_entry(number))
    tracemalloc.start()
    try:
        found = find_in_mbox(path, "<m9990@example.com>")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20 * 1024 * 1024
    incoming = parse_message(found)
    assert incoming.message_id == "<m9990@example.com>"
    assert incoming.subject == "Complaint number 9990"
    assert incoming.text == "Message 9990: my order arrived broken."
    assert found.startswith(b"From: Customer 9990")
    assert found.endswith(b"broken.\n")


def test_mbox_ids_are_found_with_or_without_brackets_and_folded(tmp_path: Path) -> None:
    folded = (
        b"From x Mon Dec  1 09:00:00 2025\nSubject: folded\nMessage-ID:\n <folded@example.com>\n"
        b"\nFolded id.\n\n"
    )
    path = tmp_path / "mbox"
    path.write_bytes(_entry(1) + folded + _entry(2))
    assert parse_message(find_in_mbox(path, "m2@example.com")).subject == "Complaint number 2"
    assert parse_message(find_in_mbox(path, " <folded@example.com> ")).subject == "folded"
    assert parse_message(read_message(str(path), message_id="<m1@example.com>")).text == (
        "Message 1: my order arrived broken."
    )


def test_only_headers_are_compared(tmp_path: Path) -> None:
    decoy = _entry(1, body="Message-ID: <m2@example.com>\nquoting another message")
    path = tmp_path / "mbox"
    path.write_bytes(decoy + _entry(2))
    assert parse_message(find_in_mbox(path, "<m2@example.com>")).subject == "Complaint number 2"


def test_from_lines_are_unescaped_and_only_split_after_a_blank_line(tmp_path: Path) -> None:
    body = "First line\nFrom here it got worse\n>From the start\n>>From quoted\nend"
    path = tmp_path / "mbox"
    path.write_bytes(_entry(1, body=body) + _entry(2))
    found = find_in_mbox(path, "<m1@example.com>")
    text = parse_message(found).text
    assert text == "First line\nFrom here it got worse\nFrom the start\nend"  # ">From" quotes
    assert b"\nFrom the start\n>From quoted\nend\n" in found


def test_an_mbox_needs_a_message_id(tmp_path: Path) -> None:
    path = tmp_path / "Inbox"
    path.write_bytes(_entry(1))
    with pytest.raises(
        MailInputError, match="Inbox is an mbox: name the message with --message-id"
    ):
        read_message(str(path))


def test_an_id_not_in_the_mbox(tmp_path: Path) -> None:
    path = tmp_path / "Inbox"
    path.write_bytes(_entry(1) + _entry(2))
    with pytest.raises(MailInputError) as caught:
        read_message(str(path), message_id="<m3@example.com>")
    assert caught.value.message == f"no message with the Message-ID <m3@example.com> in {path}"
    assert "Complaint" not in caught.value.message  # never a message's words
    with pytest.raises(MailInputError, match="no message with the Message-ID"):
        find_in_mbox(path, "<>")
    with pytest.raises(MailInputError, match="does not exist"):
        find_in_mbox(tmp_path / "missing", "<m1@example.com>")


def test_an_mbox_on_standard_input() -> None:
    data = _entry(1) + _entry(2)
    found = read_message("-", message_id="<m2@example.com>", stdin=io.BytesIO(data))
    assert parse_message(found).subject == "Complaint number 2"
    with pytest.raises(MailInputError, match="standard input is an mbox"):
        read_message("-", stdin=io.BytesIO(data))


# -- order references --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("About order #1234, it broke", ["1234"]),
        ("Order 1234 is late", ["1234"]),
        ("my order no. 1234", ["1234"]),
        ("Order number: A-1234.", ["A-1234"]),
        ("it was #1234", ["1234"]),
        ("Order ID 3141592653", ["3141592653"]),
        ("order#77123 and ORDER: #88123", ["77123", "88123"]),
        ("meine Bestellnummer: 7788", ["7788"]),
        ("el pedido 5521 llegó", ["5521"]),
    ],
)
def test_default_order_patterns(text: str, expected: list[str]) -> None:
    assert order_candidates("", text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "It cost £12.50 and $30",
        "I bought it in 2026",
        "call me on 07700 900123 or +44 20 7946 0958",
        "I ordered 3 mugs on 12/03/2026",
        "my order arrived on time, order of 25 cups",
        "order 12 was fine",
        "&#1234; #12",
    ],
)
def test_numbers_that_are_not_order_references(text: str) -> None:
    assert order_candidates("", text) == []


def test_candidates_come_from_the_subject_first_each_once_at_most_five() -> None:
    subject = "Re: order #2000"
    text = "order 1001, #2000, order 1002, order 1003, order 1004, order 1005, order 1006"
    assert order_candidates(subject, text) == ["2000", "1001", "1002", "1003", "1004"]


def test_the_sellers_pattern() -> None:
    text = "Re SHOP-0042 and ref 9911, also order #1234"
    assert order_candidates("", text, r"SHOP-\d+") == ["SHOP-0042"]
    assert order_candidates("", text, r"ref (\d{4})") == ["9911"]
    assert order_candidates("SHOP-1", text, r"SHOP-(\d+)?") == ["1", "0042"]
    with pytest.raises(re.error):
        order_candidates("", text, r"(unclosed")
