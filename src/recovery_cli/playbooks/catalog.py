"""Where playbooks come from: the shipped defaults, then the seller's own folder over
them, each file loaded and checked."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..errors import PlaybookError, Problem
from .check import parse_playbook
from .folders import default_dir, playbook_files, user_dir
from .model import Playbook

__all__ = ["Catalog", "default_dir", "files_in_use", "load_catalog", "playbook_files", "user_dir"]


def load_file(path: Path, *, origin: str = "user") -> Playbook:
    """Load one playbook file (its id must match the file name)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise PlaybookError(
            [Problem(str(path), 1, 1, "", f"cannot read: {exc.strerror or exc}")]
        ) from None
    playbook = parse_playbook(raw, str(path), stem=path.stem)
    playbook._origin = origin
    return playbook


@dataclass
class Catalog:
    """Every playbook in use, by id, plus the files that failed to load."""

    playbooks: dict[str, Playbook]
    broken: list[PlaybookError]
    overridden: set[str] = field(default_factory=set)

    def get(self, playbook_id: str) -> Playbook | None:
        """The playbook in use with this id (the user's own wins over a default)."""
        return self.playbooks.get(playbook_id)

    def error_for(self, playbook_id: str) -> PlaybookError | None:
        """Why a playbook with this id (its file name) failed to load, if it did."""
        return next(
            (e for e in self.broken if e.problems and Path(e.problems[0].path).stem == playbook_id),
            None,
        )

    def ordered(self) -> list[Playbook]:
        """Playbooks in menu order: by title."""
        return sorted(self.playbooks.values(), key=lambda p: (p.title.lower(), p.id))


def load_catalog(home: Path) -> Catalog:
    """Load the defaults, then the user's folder over them."""
    found: dict[str, Playbook] = {}
    broken: list[PlaybookError] = []
    defaults = {p.stem for p in playbook_files(default_dir())}
    for folder, origin in ((default_dir(), "default"), (user_dir(home), "user")):
        for path in playbook_files(folder):
            try:
                playbook = load_file(path, origin=origin)
            except PlaybookError as exc:
                broken.append(exc)
                # A broken user file must not let the default it meant to override
                # silently take its place on a call.
                found.pop(path.stem, None)
                continue
            found[playbook.id] = playbook
    overridden = {pid for pid, p in found.items() if p.origin == "user" and pid in defaults} | {
        Path(e.problems[0].path).stem for e in broken if e.problems
    } & defaults
    return Catalog(found, broken, overridden)


def files_in_use(home: Path) -> list[tuple[Path, str]]:
    """Every playbook file in use, with where it comes from (``default`` or ``user``):
    the shipped ones the seller's own do not replace, then the seller's own."""
    mine = playbook_files(user_dir(home))
    replaced = {p.stem for p in mine}
    files = [(p, "default") for p in playbook_files(default_dir()) if p.stem not in replaced]
    return files + [(p, "user") for p in mine]
