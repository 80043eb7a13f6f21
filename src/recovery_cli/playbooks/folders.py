"""Where playbook files are: the shipped defaults and the seller's own folder. Plain
paths only (no parsing), so shell completion can list them on every Tab press."""

from __future__ import annotations

from pathlib import Path

# The folder of this package that the wheel ships the default playbooks in.
SHIPPED = "shipped"


def default_dir() -> Path:
    """The shipped playbooks: inside the installed package (``playbooks/shipped``), or
    the source checkout's top-level ``playbooks/`` for an editable install."""
    packaged = Path(__file__).resolve().parent / SHIPPED
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[3] / "playbooks"


def user_dir(home: Path) -> Path:
    """The seller's own playbooks; a file here overrides a default with the same id."""
    return home / "playbooks"


def playbook_files(folder: Path) -> list[Path]:
    """The playbooks in a folder: ``*.toml``, leaving out hidden files (an edit in
    progress is kept as ``.name.toml`` until it is valid)."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("*.toml") if not p.name.startswith("."))
