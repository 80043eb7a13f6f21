"""The house rules of the code, read from the source with ``ast`` (nothing is run):

* no import circle between the package's modules (outside ``cli/``, whose modules
  may know each other);
* nothing below ``cli/`` imports ``cli/``: the core never imports upward;
* SQL is spoken in the store's two caches alone: ``store/index.py`` (the case
  index) and ``store/ordercache.py`` (the order look-up table);
* Typer and Rich are imported in ``cli/`` alone;
* a command handler is at most 40 lines of body: it parses options, makes one call
  below ``cli/``, and renders what comes back;
* every command named in the registry exists, and no module reads the wall clock but
  ``clock.py``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from recovery_cli.cli.commands import COMMANDS

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "recovery_cli"
MAX_HANDLER_LINES = 40


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}
TREES = {name: ast.parse(path.read_text("utf-8")) for name, path in MODULES.items()}


def imported(name: str) -> Iterator[str]:
    """Every module name an import in ``name`` reaches, at any depth of the file (an
    import inside a function is a tie all the same)."""
    is_package = MODULES[name].name == "__init__.py"
    for node in ast.walk(TREES[name]):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".")
                base = base if is_package else base[:-1]
                base = base[: len(base) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            yield target
            yield from (f"{target}.{alias.name}" for alias in node.names)


def ours(target: str) -> str | None:
    """The nearest module of the package that an import names (None: not ours)."""
    parts = target.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in MODULES:
            return candidate
        parts.pop()
    return None


def edges() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for name in MODULES:
        deps = {ours(target) for target in imported(name)}
        found[name] = {d for d in deps if d is not None and d not in (name, "recovery_cli")}
    return found


def in_cli(name: str) -> bool:
    return name == "recovery_cli.cli" or name.startswith("recovery_cli.cli.")


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in graph[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def test_the_core_has_no_import_circle() -> None:
    core = [c for c in circles(edges()) if not all(in_cli(m) for m in c)]
    assert core == []


def test_nothing_below_the_cli_imports_it() -> None:
    upward = {
        name: sorted(d for d in deps if in_cli(d))
        for name, deps in edges().items()
        if not in_cli(name) and name not in ("recovery_cli.entry", "recovery_cli.__main__")
    }
    assert {name: deps for name, deps in upward.items() if deps} == {}


def top_packages(name: str) -> set[str]:
    return {target.split(".")[0] for target in imported(name)}


def test_sql_is_spoken_in_the_store_caches_alone() -> None:
    speakers = sorted(name for name in MODULES if "sqlite3" in top_packages(name))
    assert speakers == ["recovery_cli.store.index", "recovery_cli.store.ordercache"]


def test_typer_and_rich_live_in_the_cli_alone() -> None:
    outside = sorted(
        name
        for name in MODULES
        if not in_cli(name) and top_packages(name) & {"typer", "rich", "click"}
    )
    assert outside == []


def test_no_module_imports_the_click_that_typer_bundles() -> None:
    assert sorted(name for name in MODULES if "click" in top_packages(name)) == []


def handlers() -> Iterator[tuple[str, ast.FunctionDef]]:
    """Every command handler: the functions the registry names, and those registered
    with ``@app.command`` or ``@app.callback`` in a command module."""
    named = {tuple(target.split(":")) for target, _ in COMMANDS.values()}
    for name, tree in TREES.items():
        if not name.startswith("recovery_cli.cli.commands."):
            continue
        short = name.rsplit(".", 1)[1]
        for node in tree.body:
            if not isinstance(node, ast.FunctionDef):
                continue
            decorated = any(
                isinstance(d, ast.Call)
                and isinstance(d.func, ast.Attribute)
                and d.func.attr in ("command", "callback")
                for d in node.decorator_list
            )
            if decorated or (short, node.name) in named:
                yield f"{name}.{node.name}", node


def body_lines(function: ast.FunctionDef) -> int:
    """Lines from the first statement after the docstring to the end."""
    body = function.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    if not body:
        return 0
    return (function.end_lineno or function.lineno) - body[0].lineno + 1


def test_command_handlers_are_short() -> None:
    found = dict(handlers())
    assert len(found) >= len(COMMANDS)
    long = {name: body_lines(node) for name, node in found.items()}
    assert {n: lines for n, lines in long.items() if lines > MAX_HANDLER_LINES} == {}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_registered_command_exists(command: str) -> None:
    module, attribute = COMMANDS[command][0].split(":")
    tree = TREES[f"recovery_cli.cli.commands.{module}"]
    names = {
        getattr(node, "name", None) or getattr(getattr(node, "targets", [None])[0], "id", None)
        for node in tree.body
    }
    assert attribute in names


def test_only_the_clock_reads_the_time() -> None:
    readers = []
    for name, tree in TREES.items():
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("now", "utcnow", "today")
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id in ("datetime", "date")
            ):
                readers.append(name)
    assert sorted(set(readers)) == ["recovery_cli.clock"]


@pytest.mark.parametrize(
    "command", sorted(name for name, (target, _) in COMMANDS.items() if target.endswith(":app"))
)
def test_a_registered_app_is_a_group_of_subcommands(command: str) -> None:
    """Typer makes an app of one command and no callback into that command: `recover
    NOUN SUB` would then quietly stop working."""
    from recovery_cli.cli import load_command

    loaded = load_command(command)
    assert hasattr(loaded, "list_commands") and loaded.list_commands(None)
