"""The reply composed from a walk, and the walk's written lines, with no terminal."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from recovery_cli.case import Customer, MailIn, MailOut, MailThread, PlaybookRef, new_case
from recovery_cli.config import Settings
from recovery_cli.errors import PlaybookError
from recovery_cli.mail import compose
from recovery_cli.playbooks.check import parse_playbook
from recovery_cli.walk import Walk

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)

WRITTEN = """\
id = "written"
title = "Written"

[[steps]]
id = "listen"
say = "Tell me what happened, $first_name."
write = "Thank you for writing, and for telling me exactly what happened."
ask = { key = "complaint", prompt = "What went wrong?" }

[[steps]]
id = "sorry"
say = "I'm sorry. That's on me."

[[steps]]
id = "check"
say = "Can you check your inbox while I wait?"
write = ""
ask = { key = "arrived", prompt = "Did it arrive?", type = "yesno" }

[[steps]]
id = "remedy"
say = "What would put it right?"
write = "Here is what I have done to put it right:"
offer = [
  { id = "resend", label = "A fresh download link", kind = "exchange" },
  { id = "refund", label = "A full refund", kind = "refund", amount = "$order_value" },
]

[[steps]]
id = "skipped"
say = "This line was skipped on the call."

[[steps]]
id = "later"
follow_up = { after = "3d", say = "Is everything working now, $first_name?" }
"""


def walked(channel: str = "email", mail: MailThread | None = None) -> Walk:
    playbook = parse_playbook(WRITTEN.encode(), "written.toml", stem="written")
    ref = PlaybookRef(id="written", title="Written", hash=playbook.digest)
    customer = Customer(
        name="Dana Reyes", email="dana@example.com", order_value=Decimal("29.00"), channel=channel
    )
    case = new_case("7", customer=customer, playbook=ref, currency="USD", now=NOW)
    case.mail = mail
    walk = Walk(playbook, case, {"seller": "Sam", "business": "Sam's Templates"})
    for line in ["the link never came", "", "y", "1,2", ":skip", ""]:
        walk.begin(NOW)
        if line == ":skip":
            walk.skip(NOW)
        else:
            walk.submit(line, NOW)
    assert walk.finished
    return walk


def test_the_reply_follows_the_steps_that_ran_in_order() -> None:
    walk = walked()
    settings = Settings(seller="Sam", business="Sam's Templates")
    body = compose.reply_body(walk.case, walk.playbook, settings)
    assert body.split("\n\n") == [
        "Hi Dana,",
        "Thank you for writing, and for telling me exactly what happened.",
        "I'm sorry. That's on me.",
        "Here is what I have done to put it right:",
        "- A fresh download link\n- A full refund: 29.00 USD",
        "I'll check in with you again on Fri 4 Dec, to make sure everything is right.",
        "Best wishes,\nSam\nSam's Templates\n",
    ]


def test_a_reply_without_a_playbook_still_lists_remedies_and_the_promise() -> None:
    walk = walked()
    body = compose.reply_body(walk.case, None, Settings())
    assert body.startswith("Hi Dana,\n\nWhat I've done to put it right:\n- A fresh download link")
    assert "I'll check in with you again" in body and body.endswith("Best wishes,\n")


def test_a_nameless_customer_is_greeted_plainly() -> None:
    walk = walked()
    walk.case.customer.name = ""
    assert compose.reply_body(walk.case, walk.playbook, Settings()).startswith("Hello,\n\n")


def test_the_walk_shows_written_lines_on_written_channels_only() -> None:
    playbook = parse_playbook(WRITTEN.encode(), "written.toml", stem="written")
    ref = PlaybookRef(id="written", title="Written", hash=playbook.digest)
    for channel, written in (("email", True), ("live chat", True), ("phone", False), ("", False)):
        case = new_case(
            "1", customer=Customer(name="Dana", channel=channel), playbook=ref,
            currency="USD", now=NOW,
        )  # fmt: skip
        view = Walk(playbook, case, {}).view()
        assert view.written is written
        assert view.say == (
            "Thank you for writing, and for telling me exactly what happened."
            if written
            else "Tell me what happened, Dana."
        )


def test_the_email_text_is_on_the_line_at_the_listening_step() -> None:
    playbook = parse_playbook(WRITTEN.encode(), "written.toml", stem="written")
    ref = PlaybookRef(id="written", title="Written", hash=playbook.digest)
    case = new_case("1", customer=Customer(channel="email"), playbook=ref, currency="USD", now=NOW)
    text = "My download link\nnever arrived.\n\nPlease help."
    case.mail = MailThread(messages=[MailIn(text=text, added_at=NOW)])
    walk = Walk(playbook, case, {})
    view = walk.view()
    assert view.mail_text == text
    assert view.prefill == "My download link never arrived. Please help."
    walk.begin(NOW)
    walk.submit(view.prefill, NOW, prefilled=True)
    assert case.answers()["complaint"] == "My download link never arrived. Please help."
    assert walk.view().mail_text is None  # only at the listening step


def test_threading_names_every_message_oldest_first() -> None:
    first = MailIn(message_id="<a@x>", date=datetime(2026, 11, 30, tzinfo=UTC), added_at=NOW)
    later = MailIn(message_id="<c@x>", date=datetime(2026, 12, 1, 9, tzinfo=UTC), added_at=NOW)
    ours = MailOut(
        message_id="<b@shop>", what="reply", to="dana@example.com", subject="Re: Help",
        via="smtp", status="sent", at=datetime(2026, 11, 30, 12, tzinfo=UTC),
    )  # fmt: skip
    failed = ours.model_copy(update={"message_id": "<z@shop>", "status": "not_sent"})
    mail = MailThread(messages=[later, first], sent=[ours, failed])
    walk = walked(mail=mail)
    assert compose.thread(walk.case) == ("<c@x>", ("<a@x>", "<b@shop>", "<c@x>"))


def test_the_subject_is_the_customers_own_or_made_from_the_order() -> None:
    walk = walked()
    settings = Settings(business="Sam's Templates")
    assert compose.subject(walk.case, "reply", settings) == "About your message (Sam's Templates)"
    walk.case.customer.order = "A-1042"
    assert (
        compose.subject(walk.case, "follow-up", Settings()) == "Following up on your order A-1042"
    )
    walk.case.mail = MailThread(messages=[MailIn(subject="Where is my file?", added_at=NOW)])
    assert compose.subject(walk.case, "reply", settings) == "Where is my file?"


def test_a_follow_up_message_is_signed_once() -> None:
    walk = walked()
    item = walk.case.follow_ups[0]
    settings = Settings(seller="Sam", business="Sam's Templates")
    assert compose.follow_up_body(walk.case, item, settings) == (
        "Is everything working now, Dana?\n\nSam\nSam's Templates\n"
    )
    item.message = "Hi Dana, all good? Sam"
    assert compose.follow_up_body(walk.case, item, settings) == "Hi Dana, all good? Sam\n"


def test_a_written_line_may_use_its_own_steps_answer() -> None:
    text = WRITTEN.replace(
        'write = "Thank you for writing, and for telling me exactly what happened."',
        'write = "Thank you for writing. You told me: $complaint."',
    )
    playbook = parse_playbook(text.encode(), "written.toml", stem="written")
    walk = walked()
    walk.playbook = playbook
    body = compose.reply_body(walk.case, playbook, Settings())
    assert "Thank you for writing. You told me: the link never came." in body
    # A say line may not: it is spoken before the answer is given.
    spoken = text.replace('say = "Tell me what happened, $first_name."', 'say = "$complaint"')
    with pytest.raises(PlaybookError, match=r"unknown placeholder \$complaint"):
        parse_playbook(spoken.encode(), "written.toml", stem="written")
