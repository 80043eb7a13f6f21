"""The two ways recover cleans text it did not write itself.

* :func:`strip_controls`, for text that reaches a terminal or is kept as typed:
  control characters (C0 but tab and newline, DEL, C1) can recolour a terminal, set
  its title or write to the clipboard when echoed, so they are dropped, and every
  escape sequence with them. So are the invisible marks that reorder text for
  right-to-left scripts (embeddings, overrides, isolates): a name holding one could
  show a line's other cells out of order. Right-to-left text itself is kept, in its
  logical order, for the terminal to show.
* :func:`strip_escapes`, for raw keys read from a terminal: a key like an arrow is
  an escape sequence, dropped whole rather than leaving ``[A`` behind.
* :func:`replace_surrogates`, for text that is written out as UTF-8: a lone surrogate
  (bytes a terminal sent that were not UTF-8) cannot be encoded, so it becomes U+FFFD.

Typed input gets both (:func:`typed`). Nothing else in the package cleans text
(``--json`` output escapes C1 characters, which is JSON's own way of writing them).
"""

from __future__ import annotations

import re

_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# CSI (arrows, function keys), SS3 (arrows in application mode), OSC (titles, the
# clipboard), and any other two-character escape.
_ESCAPE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|O.|\][^\x07\x1b]*(?:\x07|\x1b\\)?|.)", re.DOTALL)
_SURROGATE = re.compile("[\ud800-\udfff]")


def strip_controls(text: str) -> str:
    """``text`` without control characters (and so without escape sequences)."""
    return _CONTROL.sub("", text)


def strip_escapes(text: str) -> str:
    """``text`` without terminal escape sequences (other control characters stay)."""
    return _ESCAPE.sub("", text)


def replace_surrogates(text: str) -> str:
    """``text`` with anything that cannot be written as UTF-8 replaced by U+FFFD."""
    return _SURROGATE.sub("\ufffd", text)


def typed(text: str) -> str:
    """A line as typed or given as an option, as it is kept: encodable, without control
    characters, and trimmed."""
    return strip_controls(replace_surrogates(text)).strip()
