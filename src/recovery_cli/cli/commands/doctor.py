"""``recover doctor``: what in the home needs attention, and what to do about it."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.text import Text

from ... import clock
from ... import doctor as doctoring
from ...errors import ExitStatus, Reported
from .. import State
from ..console import console, print_json, warn
from ..options import JsonOption

_STYLES = {"error": "bold red", "warning": "yellow", "info": "dim"}


def doctor(
    ctx: typer.Context,
    fix: Annotated[
        bool,
        typer.Option(
            "--fix",
            help="Fix what is safe to fix: permissions, leftover temporary files, the index.",
        ),
    ] = False,
    reindex: Annotated[
        bool,
        typer.Option(
            "--reindex", help="Rebuild the summary index from the case files, then check."
        ),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Check the home: permissions, leftover temporary files, damaged or newer case
    files, cases open elsewhere, playbooks that no longer load, cases whose playbook
    is gone, a summary index out of step with the case files. Changes nothing unless
    --fix or --reindex. Exit 1 when something needs attention."""
    state: State = ctx.obj
    now = clock.now().timestamp()
    report = doctoring.run(state.home, now, fix_safe=fix, rebuild=reindex, warn=warn)
    if as_json:
        print_json(report.as_json())
    else:
        _show(report, fixing=fix)
    if report.needs_attention:
        raise Reported(ExitStatus.ERROR)


def _show(report: doctoring.Report, *, fixing: bool) -> None:
    out = console()
    out.print(Text(f"Home: {report.home}", style="bold"))
    orders = f", {report.orders:,} imported orders" if report.orders else ""
    out.print(f"{report.cases} case files, {report.playbooks} playbooks in use{orders}.")
    for line in report.fixed:
        out.print(Text(f"Fixed: {line}", style="green"))
    for finding in report.findings:
        out.print(Text(f"{finding.severity}: {finding.message}", style=_STYLES[finding.severity]))
        if finding.advice:
            out.print(Text(f"  {finding.advice}"))
    if not report.needs_attention:
        out.print(Text("Nothing needs attention.", style="green"))
        return
    fixable = sum(f.fixable for f in report.findings)
    if fixable and not fixing:
        out.print(f"{fixable} of these can be fixed safely with: recover doctor --fix")
