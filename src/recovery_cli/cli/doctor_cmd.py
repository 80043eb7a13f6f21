"""``recover doctor``: what in the home needs attention, and what to do about it."""

from __future__ import annotations

from typing import Annotated

import typer

from . import JsonOption, State, app


@app.command("doctor")
def doctor_command(
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
    from rich.text import Text

    from .. import doctor
    from ..errors import EXIT_ERROR
    from .output import console, print_json

    state: State = ctx.obj
    rebuilt = None
    if reindex and (state.home / "cases").is_dir():
        try:
            rebuilt = f"rebuilt the summary index ({doctor.reindex(state.home)} cases)"
        except OSError as exc:
            from ..errors import StorageError

            raise StorageError(
                f"cannot rebuild the summary index in {state.home}: {exc.strerror or exc}",
                hint="The case files are fine; fix the home's permissions and try again.",
            ) from None
    report = doctor.examine(state.home)
    if fix:
        report = doctor.fix(report)
    if rebuilt is not None:
        report.fixed.insert(0, rebuilt)
    if as_json:
        print_json(
            {
                "home": str(report.home),
                "cases": report.cases,
                "playbooks": report.playbooks,
                "needs_attention": report.needs_attention,
                "findings": [finding.as_json() for finding in report.findings],
                "fixed": report.fixed,
            }
        )
    else:
        out = console()
        out.print(Text(f"Home: {report.home}", style="bold"))
        out.print(f"{report.cases} case files, {report.playbooks} playbooks in use.")
        for line in report.fixed:
            out.print(Text(f"Fixed: {line}", style="green"))
        styles = {"error": "bold red", "warning": "yellow", "info": "dim"}
        for finding in report.findings:
            out.print(
                Text(f"{finding.severity}: {finding.message}", style=styles[finding.severity])
            )
            if finding.advice:
                out.print(Text(f"  {finding.advice}"))
        if not report.needs_attention:
            out.print(Text("Nothing needs attention.", style="green"))
        else:
            fixable = sum(f.fixable for f in report.findings)
            if fixable and not fix:
                out.print(f"{fixable} of these can be fixed safely with: recover doctor --fix")
    if report.needs_attention:
        raise typer.Exit(EXIT_ERROR)
