"""Taskwarrior as the peer recover is measured against: installed from the system's
packages when missing, given a private TASKRC, and loaded once with ``task import`` with
one task per case of a store made by ``benchmarks/generate.py``.

Each case becomes a task the way a seller who kept cases in Taskwarrior would write it:

- description: the customer's name and the complaint they gave (cut to 60 characters),
  or the playbook's title when they gave none;
- project: the playbook's id; tags: the case's status (``open``, ``paused``, ``closed``)
  and the channel;
- status, in one of two shapes: every task ``pending``, the case's status only in its
  tags (a seller who never marks a task done: ``task list`` then goes over all 10,000);
  or ``completed`` (ended when the case was closed) for a closed case and ``pending``
  for the rest (``task list`` then goes over the open ones only);
- entry: when the case was opened; modified: its last change;
- due: its next follow-up not yet done, where there is one;
- annotations: the first three answered steps ("title: answer"), at the time each was
  answered.

Each shape has its own data folder, kept beside the generated stores and reused like
they are; it is made again when the mapping (``MAPPING``), the number of cases or
Taskwarrior's version changes.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MAPPING = "2"  # bump when the task shape below changes: cached data folders are remade
NAMESPACE = uuid.UUID("5b0e3f0c-0d7e-4c47-9f0a-6c7a1d2e9b41")

# The private configuration. hooks, confirmation and the verbose messages are off as the
# issue asks; the rest keeps every run non-interactive and alike:
# - news.version: Taskwarrior 2.6 asks on stderr for `task news` to be run; verbose=nothing
#   already silences it, this keeps it quiet should verbose be changed;
# - json.array=on: `task export` writes one JSON array (the default, said out loud);
# - defaultwidth=120: the width used when output is not a terminal, as COLUMNS=120 is
#   for recover;
# - recurrence=off: no task recurs, and this instance never makes recurring tasks;
# - gc=on: Taskwarrior's default. After the import (and one gc) nothing is left for it to
#   move, so no run changes the data. `rc.gc=off` is measured beside it: here it makes
#   `task list` slower (and its peak memory larger), not faster.
TASKRC = """\
data.location={data}
confirmation=off
verbose=nothing
hooks=off
json.array=on
defaultwidth=120
recurrence=off
news.version={version}
gc=on
"""


@dataclass
class Peer:
    """A Taskwarrior ready to run: its program, version and private TASKRC."""

    task: str
    version: str
    shape: str
    rc: Path
    data: Path
    pending: int
    completed: int
    import_seconds: float

    def env(self, base: dict[str, str]) -> dict[str, str]:
        env = dict(base)
        env.update(TASKRC=str(self.rc), TASKDATA=str(self.data))
        return env

    def argv(self, *args: str, gc: bool = True) -> list[str]:
        return [self.task, *args] if gc else [self.task, "rc.gc=off", *args]


def ensure_task() -> tuple[str | None, str]:
    """The ``task`` program, installing Debian's taskwarrior package when it is missing:
    (path, how it was found) or (None, why it could not be had)."""
    found = shutil.which("task")
    if found:
        package = subprocess.run(
            ["dpkg-query", "-W", "-f", "${Version}", "taskwarrior"], capture_output=True,
            text=True, check=False,
        ) if shutil.which("dpkg-query") else None  # fmt: skip
        if package is not None and package.returncode == 0 and package.stdout:
            return found, f"Debian's taskwarrior {package.stdout.strip()}, already installed"
        return found, f"`task` already on PATH at {found}"
    if shutil.which("apt-get") is None:
        return None, "`task` is not on PATH and this system has no apt-get"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    attempts = [
        ["apt-get", "install", "-y", "-qq", "taskwarrior"],
        ["apt-get", "update", "-qq"],
        ["apt-get", "install", "-y", "-qq", "taskwarrior"],
    ]
    why = ""
    for argv in attempts:
        try:
            done = subprocess.run(
                argv, env=env, capture_output=True, text=True, check=False, timeout=600,
                stdin=subprocess.DEVNULL,
            )  # fmt: skip
        except (OSError, subprocess.TimeoutExpired) as error:
            return None, f"`{' '.join(argv)}` failed: {error}"
        if done.returncode != 0:
            lines = (done.stderr or done.stdout).strip().splitlines()
            why = f"`{' '.join(argv)}` exited {done.returncode}: {lines[-1] if lines else ''}"
        elif argv[1] == "install":
            found = shutil.which("task")
            if found:
                return found, "Debian's taskwarrior, installed now with `apt-get install -y`"
            why = "apt-get installed taskwarrior but `task` is not on PATH"
    return None, why


def task_version(task: str) -> str:
    done = subprocess.run(
        [task, "--version"], capture_output=True, text=True, check=False,
        stdin=subprocess.DEVNULL, env={**os.environ, "TASKRC": os.devnull},
    )  # fmt: skip
    return done.stdout.strip() or "?"


def _stamp(value: str | None) -> str | None:
    """An ISO time as the case files hold it (2026-09-20T06:55:04Z) in Taskwarrior's
    JSON form (20260920T065504Z)."""
    if not value:
        return None
    return value.replace("-", "").replace(":", "")


def task_of(case: dict[str, Any], completed: bool) -> dict[str, Any]:
    """The task a seller would have written for ``case`` (one case file, as JSON);
    ``completed``: a closed case is a completed task (else every task is pending)."""
    customer = case.get("customer") or {}
    playbook = case.get("playbook") or {}
    steps = case.get("steps") or []
    complaint = next(
        (s["answer"] for s in steps if s.get("key") == "complaint" and s.get("answer")), None
    )
    what = complaint if isinstance(complaint, str) else playbook.get("title", "case")
    if len(what) > 60:
        what = what[:59] + "…"
    name = customer.get("name") or "(no name)"
    status = case.get("status", "open")
    task: dict[str, Any] = {
        "uuid": str(uuid.uuid5(NAMESPACE, f"case-{case['id']}")),
        "description": f"{name}: {what}",
        "project": playbook.get("id", "general"),
        "tags": [status, customer.get("channel") or "unknown"],
        "status": "completed" if completed and status == "closed" else "pending",
        "entry": _stamp(case.get("created_at")),
        "modified": _stamp(case.get("updated_at") or case.get("created_at")),
    }
    if completed and status == "closed":
        task["end"] = _stamp(case.get("closed_at") or case.get("updated_at"))
    due = sorted(f["due_at"] for f in case.get("follow_ups") or [] if not f.get("done_at"))
    if due:
        task["due"] = _stamp(due[0])
    notes = []
    for step in steps:
        answer = step.get("answer")
        if answer in (None, "", []):
            continue
        if isinstance(answer, list):
            answer = ", ".join(map(str, answer))
        notes.append(
            {
                "entry": _stamp(step.get("ended_at") or case.get("created_at")),
                "description": f"{step.get('title', step.get('id'))}: {answer}",
            }
        )
        if len(notes) == 3:
            break
    if notes:
        task["annotations"] = notes
    return task


def prepare(task: str, store: Path, folder: Path, completed: bool, log=print) -> Peer:  # type: ignore[no-untyped-def]
    """A Taskwarrior data folder in ``folder`` holding one task per case of ``store``
    (a home made by generate.py), imported once with ``task import`` and then reused;
    ``completed``: closed cases are completed tasks (else all are pending)."""
    import time

    version = task_version(task)
    cases = sorted((store / "cases").glob("*.json"), key=lambda p: int(p.stem))
    marker = folder / ".imported"
    shape = "closed cases completed" if completed else "every task pending"
    want = f"mapping {MAPPING}, {shape}, {len(cases)} cases, taskwarrior {version}"
    data = folder / "data"
    rc = folder / "taskrc"
    folder.mkdir(parents=True, exist_ok=True)
    rc.write_text(TASKRC.format(data=data, version=".".join(version.split(".")[:2])))
    if not marker.exists() or not marker.read_text().startswith(want):
        shutil.rmtree(data, ignore_errors=True)
        data.mkdir(parents=True)
        tasks = [task_of(json.loads(p.read_text("utf-8")), completed) for p in cases]
        source = folder / "tasks.json"
        source.write_text(json.dumps(tasks, ensure_ascii=False), encoding="utf-8")
        env = {**os.environ, "TASKRC": str(rc), "TASKDATA": str(data)}
        log(f"  importing {len(tasks)} tasks into Taskwarrior {version}, {shape}", flush=True)
        began = time.perf_counter()
        done = subprocess.run(
            [task, "rc.gc=on", "import", str(source)], env=env, capture_output=True,
            text=True, check=False, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        seconds = time.perf_counter() - began
        if done.returncode != 0:
            raise RuntimeError(f"task import exited {done.returncode}: {done.stderr.strip()}")
        # One garbage collection, so completed tasks sit in completed.data as they
        # would in a long-used Taskwarrior; then no run changes the data.
        subprocess.run(
            [task, "rc.gc=on", "count"], env=env, capture_output=True, check=True,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip
        marker.write_text(f"{want}\nimport took {seconds:.1f} s\n")
    import_seconds = float(marker.read_text().split("import took ")[1].split()[0])
    pending = _lines(data / "pending.data")
    finished = _lines(data / "completed.data")
    return Peer(task, version, shape, rc, data, pending, finished, import_seconds)


def _lines(path: Path) -> int:
    try:
        with path.open("rb") as handle:
            return sum(1 for line in handle if line.strip())
    except OSError:
        return 0
