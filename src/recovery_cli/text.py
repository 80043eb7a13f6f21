"""The two ways recover cleans text it did not write itself.

* :func:`strip_controls`, for text that reaches a terminal or is kept as typed:
  control characters (C0 but tab and newline, DEL, C1) can recolour a terminal, set
  its title or write to the clipboard when echoed, so they are dropped, and every
  escape sequence with them.
* :func:`replace_surrogates`, for text that is written out as UTF-8: a lone surrogate
  (bytes a terminal sent that were not UTF-8) cannot be encoded, so it becomes U+FFFD.

Typed input gets both (:func:`typed`). Nothing else in the package cleans text
(``--json`` output escapes C1 characters, which is JSON's own way of writing them).
"""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def strip_controls(text: str) -> str:
    """``text`` without control characters (and so without escape sequences)."""
    return _CONTROL.sub("", text)


def replace_surrogates(text: str) -> str:
    """``text`` with anything that cannot be written as UTF-8 replaced by U+FFFD."""
    return _SURROGATE.sub("\ufffd", text)


def typed(text: str) -> str:
    """A line as typed or given as an option, as it is kept: encodable, without control
    characters, and trimmed."""
    return strip_controls(replace_surrogates(text)).strip()
