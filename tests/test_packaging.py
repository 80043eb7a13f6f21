"""The default playbooks ship inside the wheel and are found by both a regular and an
editable install. Each install goes into a fresh virtual environment that borrows
this environment's dependencies (no network), never the checkout's source tree."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = sorted(p.name for p in (ROOT / "playbooks").glob("*.toml"))
PROBE = (
    "import recovery_cli.playbooks.catalog as p, pathlib, sys, json;"
    "c = p.load_catalog(pathlib.Path(sys.argv[1]));"
    "print(p.__file__); print(p.default_dir());"
    "print(json.dumps(sorted(c.playbooks))); print(len(c.broken))"
)


def pip(*args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q", *args],
        check=True,
        capture_output=True,
        timeout=300,
    )


def fresh_env(where: Path) -> Path:
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(where)], check=True, timeout=120
    )
    python = where / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    # Dependencies come from this environment, appended after the env's own packages.
    Path(site, "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return python


def probe(python: Path, tmp_path: Path) -> list[str]:
    result = subprocess.run(
        [str(python), "-c", PROBE, str(tmp_path / "home")],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        check=True,
    )
    return result.stdout.splitlines()


def test_wheel_carries_the_playbooks_and_a_fresh_install_finds_them(tmp_path: Path) -> None:
    pip("wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", str(tmp_path), str(ROOT))
    (wheel,) = tmp_path.glob("recovery_cli-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert sorted(n.split("/")[-1] for n in names if "/playbooks/shipped/" in n) == SHIPPED
    assert "recovery_cli/cli/__init__.py" in names

    python = fresh_env(tmp_path / "env")
    pip("--python", str(python), "install", "--no-deps", "--no-index", str(wheel))
    module, folder, ids, broken = probe(python, tmp_path)
    assert module.startswith(str(tmp_path / "env"))
    assert folder == str(Path(module).parent / "shipped")
    assert len(json.loads(ids)) == len(SHIPPED) and broken == "0"
    version = subprocess.run(
        [str(tmp_path / "env" / "bin" / "recover"), "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert version.stdout.startswith("recover ")
    # The report's templates travel in the wheel, and the installed tool finds them.
    assert {"recovery_cli/templates/report.html.j2", "recovery_cli/templates/report.css"} <= set(
        names
    )
    page = subprocess.run(
        [str(tmp_path / "env" / "bin" / "recover"), "report", "--month", "2026-11", "-o", "-"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={**os.environ, "RECOVER_HOME": str(tmp_path / "home")},
    )
    assert page.stdout.startswith("<!DOCTYPE html>") and "Recoveries, November 2026" in page.stdout


def test_editable_install_finds_the_playbooks_in_the_checkout(tmp_path: Path) -> None:
    python = fresh_env(tmp_path / "env")
    pip(
        "--python",
        str(python),
        "install",
        "--no-deps",
        "--no-build-isolation",
        "--no-index",
        "-e",
        str(ROOT),
    )
    module, folder, ids, broken = probe(python, tmp_path)
    assert module == str(ROOT / "src" / "recovery_cli" / "playbooks" / "catalog.py")
    assert folder == str(ROOT / "playbooks")
    assert len(json.loads(ids)) == len(SHIPPED) and broken == "0"
