"""Every complaint email of tests/mail/corpus read as expected.toml says.

The corpus covers transfer encodings (quoted-printable, base64, 8-bit), RFC 2047
subjects and names, Latin-1 and Windows-1252 bodies, HTML-only and alternative
messages, attachments, forwards, replies quoting their history in the usual clients'
ways, missing headers, header injection through encoded words, escape sequences, and
charsets that cannot be read.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from recovery_cli.mail.reading import Incoming, order_candidates, parse_message

CORPUS = Path(__file__).parent / "corpus"
EXPECTED: dict[str, dict[str, Any]] = tomllib.loads(
    (CORPUS / "expected.toml").read_text(encoding="utf-8")
)
# Control characters no field may keep (the text keeps its newlines and tabs).
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def test_the_corpus_is_complete() -> None:
    files = sorted(p.name for p in CORPUS.glob("*.eml"))
    assert len(files) >= 32
    assert files == sorted(EXPECTED), "every message has its expectations, and only those"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_message(name: str) -> None:
    expected = EXPECTED[name]
    incoming = parse_message((CORPUS / name).read_bytes())

    assert incoming.name == expected["name"]
    assert incoming.address == expected["address"]
    assert incoming.subject == expected["subject"]
    assert incoming.message_id == expected["message_id"]
    date = incoming.date.isoformat() if incoming.date is not None else ""
    assert date == expected["date"]
    for phrase in expected["contains"]:
        assert phrase in incoming.text
    for phrase in expected["not_contains"]:
        assert phrase not in incoming.text
    attachments = [
        {"name": a.name, "size": a.size, "content_type": a.content_type}
        for a in incoming.attachments
    ]
    assert attachments == expected["attachments"]
    assert order_candidates(incoming.subject, incoming.text) == expected["orders"]
    if "in_reply_to" in expected:
        assert list(incoming.in_reply_to) == expected["in_reply_to"]
    if "references" in expected:
        assert list(incoming.references) == expected["references"]
    _clean(incoming)


def _clean(incoming: Incoming) -> None:
    """What holds of every message: one-line, control-free header fields, and a text
    without control characters, trailing spaces or runs of blank lines."""
    one_line = [incoming.subject, incoming.name, incoming.address, incoming.message_id]
    one_line += [a.name for a in incoming.attachments]
    for field in one_line:
        assert not CONTROL.search(field)
        assert "\n" not in field and "\t" not in field
        assert field == field.strip()
        assert "  " not in field
    assert not CONTROL.search(incoming.text)
    assert incoming.text == incoming.text.strip()
    assert "\n\n\n" not in incoming.text
    assert all(line == line.rstrip() for line in incoming.text.split("\n"))
    if incoming.date is not None:
        offset = incoming.date.utcoffset()
        assert offset is not None and offset.total_seconds() == 0
