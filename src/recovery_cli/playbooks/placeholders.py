"""Safe placeholder rendering for playbook text.

Playbook lines use ``$name`` / ``${name}`` placeholders, filled from a plain dict of
strings with :class:`string.Template`. There is no attribute access, indexing or
code: a name is looked up in the dict and that is all. Which names exist is checked
when the playbook loads, so an unknown name never reaches a live call.
"""

from __future__ import annotations

from collections.abc import Mapping
from string import Template
from typing import TYPE_CHECKING

from ..text import strip_controls
from ..values import day_words, format_money

if TYPE_CHECKING:
    from ..case import Case

# Names filled from the case and the settings; answers add their own keys.
CASE_FIELDS: dict[str, str] = {
    "customer": "the customer's name",
    "first_name": "the first word of the customer's name",
    "email": "the customer's email",
    "order": "the order reference",
    "order_value": "the order value",
    "item": "the first (or only) item of the order (from an imported order)",
    "items": "every item of the order, like 'Blue Mug, Tea Towel and Card' (imported)",
    "order_date": "the date of the order, like '5 Mar 2025' (from an imported order)",
    "platform": "where the order was placed: Shopify, Etsy... (from an imported order)",
    "channel": "where the customer got in touch (phone, email, chat...)",
    "seller": "your name (recover config set seller ...)",
    "business": "your business name (recover config set business ...)",
    "currency": "the currency of the case",
    "case_id": "the case id",
}


def names_in(text: str) -> tuple[list[str], bool]:
    """The placeholder names in ``text`` and whether the text is well-formed.

    A lone ``$`` not followed by a name (``$5``) is malformed: write ``$$5``.
    """
    template = Template(text)
    return template.get_identifiers(), template.is_valid()


def missing_marker(name: str) -> str:
    """What a known placeholder with no value shows: visible, so the operator fills it in."""
    return f"‹{name}›"


class _Values(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return missing_marker(key)


def render(text: str, values: Mapping[str, str]) -> str:
    """Fill ``text``'s placeholders from ``values``; a value that is unknown at call
    time (the customer skipped their email) shows as a visible marker."""
    filled = _Values({k: v for k, v in values.items() if v != ""})
    return strip_controls(Template(text).safe_substitute(filled))


def first_name(name: str) -> str:
    """The name to greet someone by: the first word, or, for a name written
    "Reyes, Dana" (as mail clients and exports do), the first word after the comma."""
    family, comma, given = name.partition(",")
    words = (given if comma and given.split() else family).split()
    return words[0].strip(",;") if words else ""


def spoken_list(names: list[str]) -> str:
    """``A``, ``A and B``, ``A, B and C``."""
    if len(names) < 2:
        return "".join(names)
    return f"{', '.join(names[:-1])} and {names[-1]}"


def placeholder_values(case: Case, settings: Mapping[str, str]) -> dict[str, str]:
    """What placeholders are filled with: case fields, settings, and answers so far."""
    customer = case.customer
    found: dict[str, str] = {
        "customer": customer.name,
        "first_name": first_name(customer.name),
        "email": customer.email,
        "order": customer.order,
        "order_value": (
            format_money(customer.order_value) if customer.order_value is not None else ""
        ),
        "item": customer.items[0] if customer.items else "",
        "items": spoken_list(customer.items),
        "order_date": (day_words(customer.order_date) if customer.order_date is not None else ""),
        "platform": customer.platform,
        "channel": customer.channel,
        "currency": case.currency,
        "case_id": case.id,
        "seller": settings.get("seller", ""),
        "business": settings.get("business", ""),
    }
    for record in case.steps:
        if record.key and record.status == "answered":
            found[record.key] = case.answer_text(record)
    return found
