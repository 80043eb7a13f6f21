"""The app as a whole: help on every command, version, the one exit point, start-up."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer

from recovery_cli import __version__
from recovery_cli.cli import app
from tests.conftest import Run


def commands() -> list[tuple[tuple[str, ...], object]]:
    found: list[tuple[tuple[str, ...], object]] = []

    def visit(command: Any, path: tuple[str, ...]) -> None:
        found.append((path, command))
        # Through the group's own look-up: the root's commands load only when asked for.
        for name in command.list_commands(None) if hasattr(command, "list_commands") else ():
            visit(command.get_command(None, name), (*path, name))

    visit(typer.main.get_command(app), ())
    return found


def test_every_command_has_help_text(run: Run) -> None:
    found = commands()
    assert {("new",), ("resume",), ("list",), ("show",), ("config",), ("config", "set")} <= {
        path for path, _ in found
    }
    for path, command in found:
        text = (getattr(command, "help", None) or "").strip()
        assert len(text) > 20, f"{path} has no help text"
        result = run(*path, "--help")
        assert result.exit_code == 0, path
        assert text.split("\n")[0][:40] in " ".join(result.stdout.split()), path


def test_version_and_no_arguments(run: Run) -> None:
    assert run("--version").stdout == f"recover {__version__}\n"
    result = run()
    assert result.exit_code == 0 and "Usage:" in result.stdout and "new" in result.stdout


def test_usage_errors_exit_2(run: Run) -> None:
    result = run("frobnicate")
    assert result.exit_code == 2 and "No such command" in result.stderr


def test_debug_shows_the_traceback_otherwise_one_line(run: Run, home: Path) -> None:
    quiet = run("show", "9")
    assert quiet.exit_code == 4 and quiet.stderr.strip().splitlines()[0] == "Error: no case 9"
    loud = run("--debug", "show", "9")
    assert loud.exception is not None and type(loud.exception).__name__ == "NotFoundError"


def test_home_option_wins_over_the_environment(run: Run, home: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    run("--home", str(other), "config", "set", "seller", "Kim")
    assert (other / "config.toml").exists() and not (home / "config.toml").exists()


def _subprocess(*args: str, env_home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={
            "RECOVER_HOME": str(env_home),
            "RECOVER_CACHE_DIR": os.environ["RECOVER_CACHE_DIR"],
            "RECOVER_STATE_DIR": os.environ["RECOVER_STATE_DIR"],
            "PATH": "/usr/bin:/bin",
            "NO_COLOR": "1",
        },
    )


def test_python_dash_m_runs_the_cli(tmp_path: Path) -> None:
    result = _subprocess("-m", "recovery_cli", "--version", env_home=tmp_path)
    assert result.returncode == 0 and result.stdout == f"recover {__version__}\n"


@pytest.mark.parametrize(
    ("args", "extra"),
    # --version is answered before Typer is imported; --help loads Typer, no more.
    [(["--version"], " or m.split('.')[0] in ('typer', 'rich', 'click')"), (["--help"], "")],
)
def test_start_up_imports_nothing_heavy(tmp_path: Path, args: list[str], extra: str) -> None:
    probe = (
        "import sys; sys.argv = ['recover', *sys.argv[1:]]\n"
        "from recovery_cli.entry import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('pydantic', 'tomllib', 'platformdirs', 'sqlite3') "
        "or m.startswith(('recovery_cli.playbooks', 'recovery_cli.store', "
        "'recovery_cli.cli.commands.'))"
        f"{extra})\n"
        "print('HEAVY', heavy, file=sys.stderr)\n"
    )
    result = _subprocess("-c", probe, *args, env_home=tmp_path)
    assert "HEAVY []" in result.stderr, result.stderr


def test_real_process_reports_errors_without_traceback(tmp_path: Path) -> None:
    result = _subprocess("-m", "recovery_cli", "show", "../../x", env_home=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("Error: ") and "Traceback" not in result.stderr


def test_unexpected_errors_get_one_line_and_no_customer_data(tmp_path: Path) -> None:
    probe = (
        "import sys; sys.argv = ['recover', *sys.argv[1:]]\n"
        "import recovery_cli.store as store\n"
        "def boom(self, case_id, **options):\n"
        "    raise ValueError('Dana Reyes, dana@example.com')\n"
        "store.Store.case_json = boom\n"
        "from recovery_cli.cli import main\nmain()\n"
    )
    quiet = _subprocess("-c", probe, "show", "1", env_home=tmp_path)
    assert quiet.returncode == 1
    assert quiet.stderr.startswith("Error: something unexpected went wrong (ValueError).")
    assert "Dana" not in quiet.stderr and "Traceback" not in quiet.stderr
    loud = _subprocess("-c", probe, "--debug", "show", "1", env_home=tmp_path)
    assert "Traceback" in loud.stderr


def test_a_home_that_is_not_a_folder_is_one_clear_error(tmp_path: Path) -> None:
    home = tmp_path / "file"
    home.write_text("x")
    for args in (["list"], ["show", "1"]):
        result = _subprocess("-m", "recovery_cli", *args, env_home=home)
        assert result.returncode == 1, args
        assert result.stderr.startswith("Error: cannot read"), result.stderr
        assert "Traceback" not in result.stderr


def test_a_report_already_on_screen_exits_with_its_code_even_under_debug(
    run: Run, home: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('id = "bad"\n', encoding="utf-8")
    for args, code in ((["playbook", "check", str(bad)], 3), (["doctor"], 1)):
        if args == ["doctor"]:
            home.mkdir(parents=True, exist_ok=True)
            home.chmod(0o755)  # others can read it: doctor needs attention
        for debug in ([], ["--debug"]):
            result = run(*debug, *args)
            assert result.exit_code == code, (debug, args, result.output)
            assert "Traceback" not in result.output, (debug, args)
            assert not isinstance(result.exception, Exception) or isinstance(
                result.exception, SystemExit
            )
