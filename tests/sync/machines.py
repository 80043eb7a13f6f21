"""Machines for the sync tests: each a home with this machine's own cache and state
folders (so its own id, letter, index and locks), the real ``recover`` run in a
process of its own, and a bare git repository on local disk as the remote."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from recovery_cli.store import Store
from tests.conftest import SAMPLE, sample_builder

ANSWERS = """\
playbook = "sample"

[customer]
name = "Dana Reyes"
order_value = "40.00"

[answers]
complaint = "Link never came"
arrived = true
remedy = ["credit"]
"""


@dataclass
class Done:
    code: int
    out: str
    err: str

    @property
    def output(self) -> str:
        return self.out + self.err


@dataclass
class Machine:
    """One machine of the shop, working in its own home."""

    root: Path
    name: str

    @property
    def home(self) -> Path:
        return self.root / self.name / "home"

    def env(self) -> dict[str, str]:
        return {
            "RECOVER_HOME": str(self.home),
            "RECOVER_CACHE_DIR": str(self.root / self.name / "cache"),
            "RECOVER_STATE_DIR": str(self.root / self.name / "state"),
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.root / self.name),  # no user git config of the developer's
            "NO_COLOR": "1",
            "COLUMNS": "200",
            "TZ": "UTC",
        }

    def run(self, *args: str, timeout: float = 120) -> Done:
        """``recover ARGS`` as this machine, with no terminal and no input."""
        done = subprocess.run(
            [sys.executable, "-m", "recovery_cli", *args],
            env=self.env(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        return Done(done.returncode, done.stdout, done.stderr)

    def settle(self) -> None:
        """Wait for the commit the last command is making in the background (it holds
        this machine's sync lock while it works)."""
        from recovery_cli.sync.engine import locked

        with self.inside(), locked(self.home):
            pass

    def git(self, *args: str) -> str:
        self.settle()
        done = subprocess.run(
            ["git", *args],
            cwd=self.home,
            env=self.env(),
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout

    @contextlib.contextmanager
    def inside(self) -> Iterator[Store]:
        """This process as this machine for a moment (its folders in force), with the
        home's store open."""
        saved = {
            k: os.environ.get(k) for k in ("RECOVER_HOME", "RECOVER_CACHE_DIR", "RECOVER_STATE_DIR")
        }
        env = self.env()
        try:
            for key in saved:
                os.environ[key] = env[key]
            with Store(self.home) as store:
                yield store
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value

    def make_cases(self, count: int, *, label: str = "") -> list[str]:
        """Cases made on this machine (offline: nothing is synced), as a walk makes them."""
        made = []
        with self.inside() as store:
            for n in range(count):
                case = store.create(sample_builder(name=f"{self.name} {label}{n}"))
                store.release(case.id)
                made.append(case.id)
        return made

    def new_case(self) -> str:
        """One case made by ``recover new`` from an answers file; its id."""
        answers = self.root / f"{self.name}-answers.toml"
        answers.write_text(ANSWERS, encoding="utf-8")
        done = self.run("new", "--answers", str(answers), "--no-input")
        assert done.code == 0, done.output
        return done.out.strip().splitlines()[-1]

    def case(self, case_id: str) -> dict[str, object]:
        data: dict[str, object] = json.loads(
            (self.home / "cases" / f"{case_id}.json").read_text(encoding="utf-8")
        )
        return data

    def case_files(self) -> list[str]:
        folder = self.home / "cases"
        return sorted(p.stem for p in folder.glob("*.json") if "." not in p.stem)

    def listed(self) -> list[str]:
        done = self.run("list", "--json", "--all")
        assert done.code == 0, done.output
        return sorted(c["id"] for c in json.loads(done.out))


def shop(root: Path, *names: str) -> tuple[Path, list[Machine]]:
    """A bare remote and machines that all have the sample playbook in their home."""
    remote = root / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
    machines = [Machine(root, name) for name in names]
    for machine in machines:
        (machine.root / machine.name).mkdir(parents=True, exist_ok=True)
    return remote, machines


def add_sample(machine: Machine) -> None:
    folder = machine.home / "playbooks"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    (folder / "sample.toml").write_text(SAMPLE, encoding="utf-8")


def no_markers(home: Path) -> list[str]:
    """Files of the home (outside .git) that hold a conflict marker."""
    found = []
    for path in home.rglob("*"):
        if ".git" in path.relative_to(home).parts or not path.is_file():
            continue
        data = path.read_bytes()
        if b"<<<<<<<" in data or b">>>>>>>" in data:
            found.append(str(path.relative_to(home)))
    return found
