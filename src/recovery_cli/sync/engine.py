"""``recover sync``: the home as a git repository, shared through a remote.

* :func:`init` makes the home a repository with the ``.gitignore``, ``.gitattributes``
  and merge drivers recover needs, gives this machine its letter for case ids (see
  :mod:`.ids`), and joins a remote if one is given (the remote's cases come in first).
* :func:`record` commits what one command changed, after its output is on screen: one
  commit per command, with a message like "case B17: follow-up 1 done".
* :func:`sync` commits anything left, fetches, merges (case files by their own
  structure, through the ``recover-case`` driver of :mod:`.driver`; playbooks and
  settings as text, through ``recover-text``, which never leaves conflict markers),
  pushes, and brings the index up to date for the files that came in.

Every git command of one home runs under this machine's sync lock, which the git
processes inherit: a git left running by a recover that was killed still holds it, and
the next sync waits for it rather than meddle. A sync cut short anywhere (mid-commit,
mid-merge, mid-push) is picked up by the next one: a merge left half made is undone
(the local commits are intact, as they were made first), lock files git left behind
are removed, and everything is done again.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import CaseBusyError, StorageError, UsageError
from ..fileio import ensure_private_dir, write_atomic
from .git import Done, Git, SyncError, quote, version
from .ids import ID_FILE, MACHINES, claim, letter_of
from .ignores import THEIRS, write_ignores

if TYPE_CHECKING:
    from ..case import Case
    from ..store import Store

BRANCH = "main"

GITATTRIBUTES = """\
# Written by recover. Case files merge by their structure (every answer from both
# machines is kept); playbooks and settings merge as text, never with conflict markers.
* merge=recover-text
cases/*.json merge=recover-case
machines/*.json -merge
"""

REMOTE = "origin"


def is_repository(home: Path) -> bool:
    """Whether the home is synced with git (``recover sync init`` was run)."""
    return (home / ".git").is_dir()


@contextlib.contextmanager
def locked(home: Path) -> Iterator[int]:
    """This machine's sync lock for the home, waited for if another sync or a
    command's commit holds it (yields its descriptor, for git to inherit)."""
    from ..store.files import CaseFiles

    path = CaseFiles(home).lock_path("sync")
    ensure_private_dir(path.parent)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise StorageError(f"cannot lock {path}: {exc.strerror or exc}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.set_inheritable(fd, True)
        yield fd
    finally:
        os.close(fd)


def _repository(home: Path, fd: int) -> Git:
    if not is_repository(home):
        raise UsageError(
            f"{home} is not synced yet",
            hint="Run `recover sync init` (with the remote's URL, if you have one) first.",
        )
    git = Git(home, keep_fd=fd)
    _mend(git)
    return git


def _driver_command(kind: str) -> list[str]:
    return [sys.executable, "-m", "recovery_cli.cli.gitmerge", kind]


def _configure(git: Git) -> None:
    """The merge drivers (this machine's Python, so they follow a moved install), and
    an identity for commits if the user has none."""
    case_driver = quote([*_driver_command("case"), "%O", "%A", "%B", "%P"])
    text_driver = quote([*_driver_command("text"), "%O", "%A", "%B"])
    settings = {
        "merge.recover-case.name": "recover case files, merged by their structure",
        "merge.recover-case.driver": case_driver,
        "merge.recover-text.name": "recover text files, never with conflict markers",
        "merge.recover-text.driver": text_driver,
        "core.autocrlf": "false",
        "pull.rebase": "false",
        "gc.auto": "0" if os.environ.get("RECOVER_GIT_NO_GC") else "6700",
    }
    current = dict(
        line.split("\n", 1)
        for line in git.run("config", "--local", "-z", "--list").out.split("\0")
        if "\n" in line
    )
    for key, value in settings.items():
        if current.get(key) != value:
            git.out("config", "--local", key, value)
    if not git.run("config", "user.email").out.strip():
        import socket

        host = "".join(c for c in socket.gethostname() if c.isalnum() or c in "-.") or "machine"
        git.out("config", "--local", "user.name", f"recover on {host}")
        git.out("config", "--local", "user.email", f"recover@{host}.invalid")


def _mend(git: Git) -> None:
    """Pick up after a sync that was cut short: remove the lock files git left, and
    end a merge left half made, keeping every file as it is (the merge is made again). Called
    with the sync lock held, which every git of recover's inherits, so no git of
    recover's is running."""
    gitdir = git.home / ".git"
    for lock in ("index.lock", "HEAD.lock", "config.lock", "ORIG_HEAD.lock", "FETCH_HEAD.lock"):
        with contextlib.suppress(FileNotFoundError):
            (gitdir / lock).unlink()
    refs = gitdir / "refs"
    if refs.is_dir():
        for path in refs.rglob("*.lock"):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
    with contextlib.suppress(FileNotFoundError):
        (gitdir / "packed-refs.lock").unlink()
    if (gitdir / "MERGE_HEAD").exists():
        # Never undone with `git merge --abort`: that resets the files the merge
        # touched, and a command here may have saved one of them since (an answer).
        # No file recover keeps ever holds a conflict marker (each merges through a
        # driver that leaves this side's version unmarked), so the files stay as they
        # are, with every change made here; they are committed as this machine's, and
        # the merge is made again from the start.
        unmerged = git.zlines("diff", "--name-only", "-z", "--diff-filter=U")
        if unmerged:
            _must(git.run("add", "-A", "--", *unmerged), "git add")
        _must(git.run("merge", "--quit"), "git merge --quit")


# -- init and remote ---------------------------------------------------------------------
@dataclass
class Joined:
    """What ``recover sync init`` did."""

    home: Path
    letter: str
    remote: str | None = None
    came_in: int = 0  # case files the remote brought
    pushed: bool = False
    pending: str | None = None  # why the first push did not happen
    made: bool = True  # False: the home was a repository already


def init(home: Path, remote: str | None, *, machine: str, name: str) -> Joined:
    """Make the home a repository (or bring an existing one up to recover's needs),
    join ``remote`` if given, and give this machine its letter. A remote that cannot
    be reached, or a home that cannot join it, leaves the home as it was: a letter is
    only ever taken from the letters the remote shows as taken."""
    version()
    ensure_private_dir(home)
    made = not is_repository(home)
    had_attributes = (home / ".gitattributes").exists()
    with locked(home) as fd:
        git = Git(home, keep_fd=fd)
        try:
            joined = _init(git, home, remote, made, machine=machine, name=name)
        except BaseException:
            if made:  # as it was: not a repository
                shutil.rmtree(home / ".git", ignore_errors=True)
                if not had_attributes:
                    (home / ".gitattributes").unlink(missing_ok=True)
            raise
    return joined


def _init(
    git: Git, home: Path, remote: str | None, made: bool, *, machine: str, name: str
) -> Joined:
    if made:
        _must(git.run("init", "-q"), "git init")
        _must(git.run("symbolic-ref", "HEAD", f"refs/heads/{BRANCH}"), "git init")
    else:
        _on_main(git, rename=True)
    _mend(git)
    _configure(git)
    write_ignores(home)
    _write(home / ".gitattributes", GITATTRIBUTES)
    joined = Joined(home=home, letter="", made=made)
    if remote is not None:
        _set_remote(git, remote)
        joined.remote = remote
        fetched = git.run("fetch", "-q", REMOTE, network=True)
        if not fetched.ok:
            raise SyncError(
                f"the remote could not be reached or read: {fetched.first_error()}",
                hint="Nothing was changed. Run `recover sync init` again when it can be "
                "reached (this machine's letter for case ids comes from it).",
            )
        theirs = _remote_head(git)
        if theirs is not None and not _has_head(git):
            _check_no_overlap(git, home, machine)
            joined.came_in = _join_remote(git, home)
        elif theirs is not None and not git.run("merge-base", "HEAD", theirs).ok:
            raise _apart()
    letter = letter_of(home, machine) or claim(home, machine, name)
    joined.letter = letter
    _commit_all(git, f"machine {letter} joined" if made or remote else "recover sync init")
    if remote is not None:
        joined.pending = _push_claim(git, home, machine, name, joined)
        joined.pushed = joined.pending is None
    return joined


def _on_main(git: Git, *, rename: bool = False) -> None:
    """The home's git must be on branch main (it is what recover syncs); a repository
    made on another branch, with no main, is renamed once when it joins."""
    head = git.run("symbolic-ref", "-q", "HEAD")
    current = head.out.strip() if head.ok else ""
    if current == f"refs/heads/{BRANCH}":
        return
    has_main = git.run("rev-parse", "-q", "--verify", f"refs/heads/{BRANCH}").ok
    if rename and current and not has_main:
        _must(git.run("branch", "-M", BRANCH), "git branch")
        return
    where = current.removeprefix("refs/heads/") or "no branch (a detached HEAD)"
    raise SyncError(
        f"the home's git is on {where}, and recover syncs the branch {BRANCH}",
        hint=f"Go back to it first: git -C {git.home} checkout {BRANCH}",
    )


def _write(path: Path, text: str) -> None:
    if not path.exists() or path.read_text(encoding="utf-8", errors="replace") != text:
        write_atomic(path, text.encode())


def _must(done: Done, what: str) -> None:
    if not done.ok:
        raise SyncError(f"{what} failed: {done.first_error()}")


def _set_remote(git: Git, url: str) -> None:
    if not url.strip() or url.startswith("-") or any(c in url for c in "\n\r\0"):
        raise UsageError("that is not a remote: give a path or URL, like /mnt/usb/shop.git")
    if git.run("remote", "get-url", REMOTE).ok:
        _must(git.run("remote", "set-url", REMOTE, url), "git remote")
    else:
        _must(git.run("remote", "add", REMOTE, url), "git remote")


def set_remote(home: Path, url: str) -> str | None:
    """Point the home's sync at another remote; returns the one it had. A remote whose
    history was started apart from this home's (another shop, or the same shop's
    cases made twice) is refused, and the remote stays as it was."""
    with locked(home) as fd:
        git = _repository(home, fd)
        before = git.run("remote", "get-url", REMOTE)
        _set_remote(git, url)
        fetched = git.run("fetch", "-q", REMOTE, network=True)
        theirs = _remote_head(git) if fetched.ok else None
        if theirs is not None and _has_head(git) and not git.run("merge-base", "HEAD", theirs).ok:
            if before.ok:
                _set_remote(git, before.out.strip())
            else:
                git.run("remote", "remove", REMOTE)
            raise _apart()
        return before.out.strip() if before.ok else None


def _apart() -> SyncError:
    return SyncError(
        "the remote's history was started apart from this home's: they cannot be synced "
        "(their case ids could collide); nothing was changed",
        hint="Join that remote with an empty home instead: recover --home NEW sync init URL",
    )


def _remote_head(git: Git) -> str | None:
    done = git.run("rev-parse", "-q", "--verify", f"refs/remotes/{REMOTE}/{BRANCH}^{{commit}}")
    return done.out.strip() if done.ok else None


def _has_head(git: Git) -> bool:
    return git.run("rev-parse", "-q", "--verify", "HEAD^{commit}").ok


def _check_no_overlap(git: Git, home: Path, machine: str) -> None:
    """A home with cases of its own cannot join a remote that has cases, or whose
    machines took the letter this home's cases were made with: they were made apart
    (two shops' worth of case 1). Nothing is changed, and the message says why. A letter
    this home took but never used is given up: it is taken again from the remote's."""
    if _has_head(git):
        return
    local = {name.removesuffix(".json") for name in _names(home / "cases") if ID_FILE.match(name)}
    remote_files = git.zlines("ls-tree", "-r", "-z", "--name-only", f"{REMOTE}/{BRANCH}")
    theirs = {
        name.removeprefix("cases/").removesuffix(".json")
        for name in remote_files
        if name.startswith("cases/") and ID_FILE.match(name.removeprefix("cases/"))
    }
    mine = letter_of(home, machine)
    owner = _remote_owner(git, mine) if mine is not None else None
    clash = owner is not None and owner != machine
    if local and (local & theirs or clash):
        both = sorted(local & theirs) or sorted(local)
        raise SyncError(
            f"this home has cases of its own ({', '.join(both[:3])}"
            f"{', …' if len(both) > 3 else ''}), made apart from the remote's with the same "
            "letter: they cannot be joined without their ids colliding",
            hint="Join with an empty home on this machine (recover --home NEW sync init "
            "REMOTE), or sync this home to a remote of its own.",
        )
    if mine is not None and not local:
        (home / MACHINES / f"{mine}.json").unlink(missing_ok=True)


def _remote_owner(git: Git, letter: str) -> str | None:
    """The machine that took ``letter`` on the remote (None: nobody did)."""
    import json

    done = git.run("show", f"{REMOTE}/{BRANCH}:{MACHINES}/{letter}.json")
    if not done.ok:
        return None
    with contextlib.suppress(ValueError):
        data = json.loads(done.out)
        if isinstance(data, dict) and isinstance(data.get("machine"), str):
            return str(data["machine"])
    return ""


def _names(folder: Path) -> list[str]:
    try:
        return os.listdir(folder)
    except OSError:
        return []


def _join_remote(git: Git, home: Path) -> int:
    """Bring the remote's history into a home that has none of its own yet: as it is,
    when this home has nothing the remote lacks; else this home's files are committed
    and merged with the remote's (and a file both have, differently, stops the join,
    named). recover's own files (.gitignore, .gitattributes, .stignore) come from the
    remote, and are brought up to this version after."""
    cases = sum(
        1
        for name in git.zlines("ls-tree", "-z", "--name-only", f"{REMOTE}/{BRANCH}", "cases/")
        if ID_FILE.match(name.removeprefix("cases/"))
    )
    remote_files = set(git.zlines("ls-tree", "-r", "-z", "--name-only", f"{REMOTE}/{BRANCH}"))
    for own in (".gitignore", ".gitattributes", ".stignore"):
        if own in remote_files:
            (home / own).unlink(missing_ok=True)
    if not _own_files(git):
        # Nothing here that the remote does not have as it is (an empty home): the
        # remote's history becomes this home's, with no merge.
        _must(git.run("reset", "-q", f"{REMOTE}/{BRANCH}"), "git reset")
        _must(git.run("checkout", "-q", "--", "."), "git checkout")
    else:
        _commit_all(git, "this machine's files before it joined")
        done = git.run(
            "merge", "-q", "--no-edit", "--allow-unrelated-histories", f"{REMOTE}/{BRANCH}"
        )
        if not done.ok:
            both = git.zlines("diff", "--name-only", "-z", "--diff-filter=U")
            _abort(git)
            named = ", ".join(both[:3]) + (" …" if len(both) > 3 else "")
            raise SyncError(
                f"this home and the remote both have {named or 'files'}, different: "
                "the home cannot join as it is",
                hint="Move those files out of the home (or make them the same), then run "
                "recover sync init again; nothing was changed.",
            )
    write_ignores(home)
    _write(home / ".gitattributes", GITATTRIBUTES)
    return cases


def _own_files(git: Git) -> list[str]:
    """The files of a home that is not a repository yet whose content the remote does
    not have at the same path (its settings, cases of its own)."""
    local = git.zlines("ls-files", "-z", "--others", "--exclude-standard")
    if not local:
        return []
    theirs = {}
    for line in git.zlines("ls-tree", "-r", "-z", f"{REMOTE}/{BRANCH}"):
        info, _, path = line.partition("\t")
        theirs[path] = info.split()[-1]
    hashed = git.run("hash-object", "--stdin-paths", input="\n".join(local).encode() + b"\n")
    if not hashed.ok:
        return local
    ours = hashed.out.split()
    return [path for path, sha in zip(local, ours, strict=True) if theirs.get(path) != sha]


def _push_claim(git: Git, home: Path, machine: str, name: str, joined: Joined) -> str | None:
    """Push this machine's letter; if another machine took the same letter first
    (the push is refused, and the remote's claim of that letter collides with ours),
    take the next one: this machine has made no case with it yet."""
    for _ in range(5):
        pushed = git.run("push", "-q", REMOTE, f"HEAD:refs/heads/{BRANCH}", network=True)
        if pushed.ok:
            return None
        fetched = git.run("fetch", "-q", REMOTE, network=True)
        if not fetched.ok:
            return _unreachable(fetched)
        if git.run("merge-base", "--is-ancestor", f"{REMOTE}/{BRANCH}", "HEAD").ok:
            return _refused(pushed)  # not a race: the remote will not take it
        merged = git.run("merge", "-q", "--no-edit", f"{REMOTE}/{BRANCH}")
        if merged.ok:
            continue
        conflicted = git.zlines("diff", "--name-only", "-z", "--diff-filter=U")
        _abort(git)
        claim_file = f"{MACHINES}/{joined.letter}.json"
        last = git.zlines("diff", "--name-only", "-z", "HEAD~1", "HEAD")
        if conflicted != [claim_file] or last != [claim_file]:
            raise SyncError(f"the remote's changes could not be merged: {merged.first_error()}")
        # Our claim collides, and it is the last commit, alone: undo it, claim again.
        _must(git.run("reset", "-q", "--keep", "HEAD~1"), "git reset")
        (home / claim_file).unlink(missing_ok=True)
        _must(git.run("merge", "-q", "--no-edit", f"{REMOTE}/{BRANCH}"), "git merge")
        joined.letter = claim(home, machine, name)
        _commit_all(git, f"machine {joined.letter} joined")
    return "the remote kept changing; run recover sync again"


def _refused(done: Done) -> str:
    return f"the remote refused it: {done.first_error()}"


# -- committing ----------------------------------------------------------------------------
# What a synced home commits. Not the order book: orders are imported on each machine
# from the shop's own exports, so that `recover orders forget` stays true (git would
# keep every version of it, on every machine and the remote, for ever).
_TRAVELS = (
    "cases",
    "playbooks",
    MACHINES,
    "config.toml",
    ".gitignore",
    ".gitattributes",
    ".stignore",
)


def _commit_all(git: Git, message: str) -> bool:
    """Commit everything of recover's that changed in the home (not files of the
    seller's own left there, an export say); whether there was anything."""
    paths = [p for p in _TRAVELS if os.path.lexists(git.home / p)]
    _must(git.run("add", "-A", "--", *paths), "git add")
    return _commit(git, message)


def _machine_line(home: Path) -> str:
    """The line that says which machine made a commit (``recover log`` shows it)."""
    from ..machine import machine_id

    with contextlib.suppress(OSError, StorageError):
        machine = machine_id(home, create=False)
        letter = letter_of(home, machine) if machine else None
        if letter is not None:
            return f"\n\nMachine: {letter}"
    return ""


def _commit(git: Git, message: str) -> bool:
    if git.run("diff", "--cached", "--quiet").ok:
        return False
    message += _machine_line(git.home)
    done = git.run("commit", "-q", "--no-verify", "--allow-empty-message", "-m", message)
    if not done.ok:
        raise SyncError(f"git commit failed: {done.first_error()}")
    return True


def record(
    home: Path,
    message: str,
    cases: Iterable[str] = (),
    *,
    everything: bool = False,
) -> bool:
    """Commit what one command changed (its cases' files, and the home's small
    folders; ``everything``: the whole cases folder too, for a command that changed
    cases around the store, as ``doctor --fix`` does), after its output is on screen.
    Never fails the command: a commit that cannot be made now is made by the next
    command or sync."""
    if not is_repository(home):
        return False
    with contextlib.suppress(OSError, SyncError, StorageError), locked(home) as fd:
        git = Git(home, keep_fd=fd)
        if (home / ".git" / "MERGE_HEAD").exists():
            return False  # a sync was cut short in a merge: the next sync commits it
        paths = [f"cases/{case_id}.json" for case_id in cases]
        paths += [p for p in _TRAVELS if (everything or p != "cases") and os.path.lexists(home / p)]
        if not git.run("add", "-A", "--", *paths).ok:
            return False
        return _commit(git, message)
    return False


def describe(command: str, cases: list[tuple[Case, int]], since: datetime) -> str:
    """The message of a command's commit: what it did to each case it wrote, from the
    events it added to the case's log ("case B17: follow-up done #1"), else what it
    was. ``cases``: each case with the number of events its log had before."""
    if not cases:
        return f"recover {command}"
    parts = []
    for case, before in cases[:5]:
        events = [
            f"{e.event} {e.detail.split(':')[0]}" if e.detail.startswith("#") else e.event
            for e in case.log[before:]
        ]
        answered = sum(1 for r in case.steps if r.ended_at >= since)
        if answered and "created" not in events:
            events.insert(0, f"{answered} step{'s' * (answered != 1)} answered")
        what = "; ".join(dict.fromkeys(events)) or f"changed by recover {command}"
        parts.append(f"case {case.id}: {what}")
    more = f" (and {len(cases) - 5} more cases)" if len(cases) > 5 else ""
    return "; ".join(parts)[:200] + more


# -- sync ------------------------------------------------------------------------------------
@dataclass
class Change:
    """One file a sync brought in."""

    path: str
    status: str  # A added, M modified, D deleted

    @property
    def case_id(self) -> str | None:
        if not self.path.startswith("cases/"):
            return None
        match = ID_FILE.match(self.path.removeprefix("cases/"))
        return f"{match.group(1)}{match.group(2)}" if match else None


@dataclass
class Synced:
    """What ``recover sync`` did."""

    committed: int = 0  # local commits made now
    came_in: list[Change] = field(default_factory=list)
    went_out: int = 0  # commits the remote did not have, now pushed (or pending)
    pushed: bool = False
    pending: str | None = None  # why the push did not happen
    deferred: list[str] = field(default_factory=list)  # cases open in a walk here
    merged: list[str] = field(default_factory=list)  # cases changed on both machines
    remote: str | None = None
    notes: list[str] = field(default_factory=list)


def sync(home: Path, store: Store, *, keep: Iterable[str] = ()) -> Synced:
    """Commit, fetch, merge, push, and bring the index up to date (see the module)."""
    version()
    report = Synced()
    kept = {_relative(home, path) for path in keep}
    with locked(home) as fd:  # after a command's commit still being made, if any
        git = _repository(home, fd)
        _on_main(git)
        _configure(git)
        write_ignores(home)
        _write(home / ".gitattributes", GITATTRIBUTES)
        if _commit_all(git, "changes made outside recover's commands"):
            report.committed += 1
        url = git.run("remote", "get-url", REMOTE)
        if not url.ok:
            report.pending = "no remote is set (recover sync remote URL sets one)"
            return report
        report.remote = url.out.strip()
        for _ in range(3):  # again if another machine pushed in between
            if not _exchange(git, home, store, report, kept):
                break
        for path in [*home.glob(f"*{THEIRS}"), *home.glob(f"*/*{THEIRS}")]:
            if _relative(home, path).removesuffix(THEIRS) in kept:
                path.unlink()
    _refresh(store, report.came_in)
    return report


def _exchange(git: Git, home: Path, store: Store, report: Synced, kept: set[str]) -> bool:
    """Fetch, merge and push once; whether to go round again (the push was refused
    because the remote moved on since the fetch)."""
    fetched = git.run("fetch", "-q", REMOTE, network=True)
    if not fetched.ok:
        report.pending = _unreachable(fetched)
        report.went_out = _ahead(git)
        return False
    theirs = _remote_head(git)
    if theirs is not None and not git.run("merge-base", "--is-ancestor", theirs, "HEAD").ok:
        if not git.run("merge-base", "HEAD", theirs).ok:
            raise _apart()
        incoming = _incoming(git, theirs)
        busy = _busy(store, incoming)
        if busy:
            report.deferred = busy
            report.pending = (
                "cases open in a walk on this machine get the other machine's changes "
                "at the next sync, once they are closed"
            )
            report.went_out = _ahead(git)
            return False
        with _holding(store, incoming):
            came_in, merged, told = _merge(git, home, theirs, kept)
        report.came_in += came_in
        report.notes += told
        report.merged = sorted({*report.merged, *merged})
    report.went_out = _ahead(git)
    if not report.went_out and theirs is not None:
        return False
    pushed = git.run("push", "-q", REMOTE, f"HEAD:refs/heads/{BRANCH}", network=True)
    if pushed.ok:
        report.pushed, report.pending = True, None
        return False
    moved = "fetch first" in pushed.err or "non-fast-forward" in pushed.err
    report.pending = _refused(pushed) if moved else _unreachable(pushed)
    return moved


def _relative(home: Path, path: str | Path) -> str:
    """A path given on the command line, as git names it in the home."""
    given = Path(os.path.normpath(path))
    if given.is_absolute():
        with contextlib.suppress(ValueError):
            given = given.resolve().relative_to(home.resolve())
    return given.as_posix()


_STALE_LOCK = re.compile(r"Unable to create '([^'\n]+\.lock)': File exists")


def _unreachable(done: Done) -> str:
    stale = _STALE_LOCK.search(done.err)
    if stale is not None:
        # A push to the remote that was cut short (a kill, a power cut, a USB stick
        # pulled) leaves git's lock there; git never removes it by itself, and recover
        # cannot tell it from another machine's push in progress.
        where = os.path.normpath(stale.group(1))
        return (
            f"the remote is locked by a push that did not finish ({where}); if no other "
            "machine is syncing now, remove that file and run recover sync again"
        )
    return f"the remote could not be reached or read: {done.first_error()}"


def _ahead(git: Git) -> int:
    if not _has_head(git):
        return 0
    base = f"refs/remotes/{REMOTE}/{BRANCH}"
    if _remote_head(git) is None:
        return int(git.out("rev-list", "--count", "HEAD").strip() or 0)
    return int(git.out("rev-list", "--count", f"{base}..HEAD").strip() or 0)


def _incoming(git: Git, theirs: str) -> list[Change]:
    """The files the other side changed since the histories parted."""
    if not _has_head(git):
        names = git.zlines("ls-tree", "-r", "-z", "--name-only", theirs)
        return [Change(name, "A") for name in names]
    parts = git.zlines("diff", "--name-status", "-z", "--no-renames", f"HEAD...{theirs}")
    return [Change(parts[i + 1], parts[i][0]) for i in range(0, len(parts) - 1, 2)]


def _busy(store: Store, incoming: list[Change]) -> list[str]:
    """The cases the merge would change that a walk on this machine has open."""
    return [
        c.case_id
        for c in incoming
        if c.case_id is not None and not store.files.lock_is_free(c.case_id)
    ]


@contextlib.contextmanager
def _holding(store: Store, incoming: list[Change]) -> Iterator[None]:
    """Hold the case of every file the merge may change, so that no walk opens one
    while the merge writes it; CaseBusyError if one was opened since it was checked."""
    held: list[str] = []
    try:
        for change in incoming:
            case_id = change.case_id
            if case_id is None or not (store.cases_dir / f"{case_id}.json").exists():
                continue
            if not store.files.try_lock(case_id):
                raise CaseBusyError(
                    f"case {case_id} was opened in a walk while the sync began",
                    hint="Nothing changed; run recover sync again once it is paused or done.",
                )
            held.append(case_id)
        yield
    finally:
        for case_id in held:
            store.files.release(case_id)


def _merge(
    git: Git, home: Path, theirs: str, kept: set[str]
) -> tuple[list[Change], list[str], list[str]]:
    """Merge the other side in; what came in, the cases merged by structure, and what
    the merge of a case has to tell (a version kept beside its case)."""
    incoming = _incoming(git, theirs)
    if not _has_head(git):
        _must(git.run("reset", "-q", theirs), "git reset")
        _must(git.run("checkout", "-q", "--", "."), "git checkout")
        return incoming, [], []
    if git.run("merge-base", "--is-ancestor", "HEAD", theirs).ok:
        _must(git.run("merge", "-q", "--ff-only", theirs), "git merge")
        return incoming, [], []
    ours_changed = set(git.zlines("diff", "--name-only", "-z", "--no-renames", f"{theirs}...HEAD"))
    # Case files changed on both sides are merged here, in this process, by the same
    # code as the driver (which git would start once per file): git is told only that
    # they conflict, and leaves this side's version in place, unmarked.
    done = git.run(
        "-c", "merge.recover-case.driver=false",
        "merge", "-q", "--no-edit", "--no-commit", "--no-ff", theirs,
    )  # fmt: skip
    conflicted = git.zlines("diff", "--name-only", "-z", "--diff-filter=U")
    if not done.ok and not conflicted and not (home / ".git" / "MERGE_HEAD").exists():
        raise SyncError(f"git merge failed: {done.first_error()}")
    cases = [p for p in conflicted if p.startswith("cases/") and p.endswith(".json")]
    told = _merge_cases(git, home, cases) if cases else []
    stopped = []
    for path in conflicted:
        if path in cases:
            continue
        if path in kept:
            _must(git.run("checkout", "--ours", "--", path), "git checkout")
            _must(git.run("add", "--", path), "git add")
        else:
            stopped.append(path)
    if stopped:
        versions = _stages(git, stopped)
        for path in stopped:
            their = versions.get(path, {}).get(3)
            if their is not None:
                write_atomic(home / f"{path}{THEIRS}", their)
        _abort(git)
        names = ", ".join(stopped[:3]) + (" …" if len(stopped) > 3 else "")
        machines = [p for p in stopped if p.startswith(f"{MACHINES}/")]
        if machines:
            raise SyncError(
                f"two machines took the same letter for their case ids ({', '.join(machines)})",
                hint="Their cases may share ids. Nothing was merged; keep one machine "
                "offline and ask for help before syncing again.",
            )
        raise SyncError(
            f"{names} changed on this machine and on the other in the same lines; "
            "nothing was merged, and this machine's version is in place",
            hint=f"The other machine's version is beside it ({stopped[0]}{THEIRS}). Make "
            f"{stopped[0]} what it should be, then run: recover sync --keep {stopped[0]}",
        )
    files = f"{len(incoming)} file{'s' if len(incoming) != 1 else ''}"
    message = f"sync: merged {files} from the other machine" + _machine_line(home)
    _must(git.run("commit", "-q", "--no-verify", "-m", message), "git commit")
    merged = sorted(c.case_id for c in incoming if c.case_id is not None and c.path in ours_changed)
    return incoming, merged, told


def _stages(git: Git, paths: list[str]) -> dict[str, dict[int, bytes]]:
    """The versions of unmerged files, by path and stage (1 the common ancestor, 2
    this side, 3 the other), read through one ``git cat-file --batch``."""
    entries = []
    for line in git.zlines("ls-files", "-u", "-z", "--", *paths):
        info, _, path = line.partition("\t")
        parts = info.split()
        if len(parts) == 3:
            entries.append((path, int(parts[2]), parts[1]))
    blobs = git.blobs([sha for _, _, sha in entries])
    found: dict[str, dict[int, bytes]] = {}
    for (path, stage, _), blob in zip(entries, blobs, strict=True):
        found.setdefault(path, {})[stage] = blob
    return found


def _merge_cases(git: Git, home: Path, paths: list[str]) -> list[str]:
    """Merge each case file both sides changed (see :mod:`.driver`) and stage it; what
    the driver had to tell. A file one side deleted is kept as the other side has it:
    recover deletes no case."""
    import tempfile

    from . import driver

    told: list[str] = []
    versions = _stages(git, paths)
    with tempfile.TemporaryDirectory(dir=home / ".git", prefix="recover-merge-") as tmp:
        folder = Path(tmp)
        for path in paths:
            stages = versions.get(path, {})
            ours, theirs = stages.get(2), stages.get(3)
            target = home / path
            if ours is None or theirs is None:
                kept = ours if ours is not None else theirs
                if kept is not None:
                    write_atomic(target, kept)
                continue
            names = [folder / "base", folder / "ours", folder / "theirs"]
            for name, data in zip(names, (stages.get(1, b""), ours, theirs), strict=True):
                name.write_bytes(data)
            status, note = driver.merge([*map(str, names), str(target)])
            if note is not None:
                told.append(note)
            if status != 0:
                _settle_case(target, theirs)
                continue
            merged = names[1].read_bytes()
            if not target.exists() or target.read_bytes() != merged:
                write_atomic(target, merged)
    for start in range(0, len(paths), 200):
        _must(git.run("add", "-A", "--", *paths[start : start + 200]), "git add")
    _must(git.run("add", "-A", "--", "cases"), "git add")  # copies kept beside a case
    return told


def _settle_case(target: Path, theirs: bytes) -> None:
    """A case file the driver could not merge (it could not write): the version in
    place stays, and the other is kept beside it for doctor."""
    from .driver import conflict_name

    if not target.exists():
        write_atomic(target, theirs)
    elif target.read_bytes() != theirs:
        write_atomic(conflict_name(target, theirs), theirs)


def _abort(git: Git) -> None:
    if not git.run("merge", "--abort").ok:
        git.run("reset", "-q", "--merge")


def _refresh(store: Store, changes: list[Change]) -> None:
    """Bring the index up to date for the case files a sync brought in (the merge
    changed the cases folder, so the index compares each file with its row and reads
    again those that came in). Never fails the sync: any later reader does the same."""
    if any(c.case_id is not None for c in changes):
        with contextlib.suppress(StorageError):
            store.index.fresh()


# -- history -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Entry:
    """One commit of the home's history."""

    commit: str
    at: str
    author: str
    message: str
    files: tuple[str, ...]
    machine: str = ""  # the letter of the machine that made it, when it says


def history(home: Path, case_id: str | None = None, *, limit: int = 50) -> list[Entry]:
    """The commits of the home, newest first (or those that changed one case)."""
    if not is_repository(home):
        raise UsageError(
            f"{home} has no history: it is not synced with git",
            hint="Run `recover sync init` to start keeping one.",
        )
    with locked(home):  # the last command's commit is in, if it was still being made
        pass
    git = Git(home)
    if not _has_head(git):
        return []
    args = [
        "log",
        f"--max-count={limit}",
        "--name-only",
        "--no-renames",
        "--format=%x1e%h%x1f%aI%x1f%an%x1f%s%x1f%b%x1f",
    ]
    if case_id is not None:
        args += ["--", f"cases/{case_id}.json"]
    done = git.run(*args)
    if not done.ok:
        raise SyncError(f"the history cannot be read: {done.first_error()}")
    entries = []
    for record in done.out.split("\x1e")[1:]:
        parts = record.split("\x1f")
        if len(parts) != 6:
            continue
        files = tuple(n for n in parts[5].splitlines() if n)
        machine = next(
            (line[9:].strip() for line in parts[4].splitlines() if line.startswith("Machine: ")),
            "",
        )
        entries.append(Entry(parts[0], parts[1], parts[2], parts[3], files, machine))
    return entries
