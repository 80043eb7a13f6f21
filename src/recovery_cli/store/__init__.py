"""Where cases live: the case files (:mod:`.files`), the summary index beside them
(:mod:`.index`, the only module that speaks SQL), and the :class:`Store` facade over
both (:mod:`.store`), which is what the rest of recover uses."""

from ..sync.ids import parse_case_id
from .files import Damaged, Stored, encode, parse
from .store import Notify, Store

__all__ = ["Damaged", "Notify", "Store", "Stored", "encode", "parse", "parse_case_id"]
