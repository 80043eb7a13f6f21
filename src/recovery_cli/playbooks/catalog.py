"""Where playbooks come from: the shipped defaults, then the seller's own folder over
them, each file loaded and checked.

Loading goes through the per-machine cache (:mod:`.cache`): a file whose bytes were
checked before is rebuilt from its checked dump, not parsed and checked again; any
other file is checked now. A file that does not load is reported as it always was.
"""

from __future__ import annotations

from pathlib import Path

from .cache import Listing, load_listing, read_file, rebuild
from .check import parse_playbook
from .folders import default_dir, playbook_files, user_dir
from .model import Playbook

__all__ = [
    "Catalog",
    "default_dir",
    "files_in_use",
    "load_catalog",
    "load_file",
    "playbook_files",
    "user_dir",
]


def load_file(path: Path, *, origin: str = "user") -> Playbook:
    """Load and check one playbook file now, without the cache (its id must match the
    file name)."""
    playbook = parse_playbook(read_file(path), str(path), stem=path.stem)
    playbook._origin = origin
    return playbook


class Catalog(Listing[Playbook]):
    """Every playbook in use, by id, as models, plus the files that failed to load."""


def load_catalog(home: Path) -> Catalog:
    """Load the defaults, then the user's folder over them."""
    listing = load_listing(home)
    models = {pid: rebuild(entry) for pid, entry in listing.playbooks.items()}
    return Catalog(models, listing.broken, listing.overridden)


def files_in_use(home: Path) -> list[tuple[Path, str]]:
    """Every playbook file in use, with where it comes from (``default`` or ``user``):
    the shipped ones the seller's own do not replace, then the seller's own."""
    mine = playbook_files(user_dir(home))
    replaced = {p.stem for p in mine}
    files = [(p, "default") for p in playbook_files(default_dir()) if p.stem not in replaced]
    return files + [(p, "user") for p in mine]
