"""Every command of ``recover``: its name, where it lives, and its line in ``--help``.

A command is a module of this package, imported only when it runs (see
:func:`recovery_cli.cli.load_command`). A target is ``module:function`` for one
command, or ``module:app`` for a Typer app with subcommands. The summary is the
command's short help: ``recover --help`` lists these without importing anything.
Order here is the order of ``--help``. A new command is a module here and one line.
"""

from __future__ import annotations

COMMANDS: dict[str, tuple[str, str]] = {
    "new": ("walk:new_case", "Start a case on a live call and walk its playbook."),
    "resume": ("walk:resume", "Carry on with a paused or interrupted case."),
    "list": ("cases:list_cases", "List cases, newest first."),
    "show": ("cases:show_case", "Show one case in full."),
    "followups": ("due:due", "Follow-ups to do: overdue, today, the next 7 days."),
    "followup": ("followups:app", "Record what came of a follow-up, or plan one."),
    "reply": ("reply:reply", "Compose the reply to a customer's email, edit it, and send it."),
    "email": ("email:app", "Add a customer's later email to its case."),
    "close": ("close:close_case", "Record how a case ended, and how to prevent it."),
    "prevent": ("prevent:app", "Prevention actions across cases; mark one done."),
    "customer": ("customer:history", "A customer's history: cases, remedies, outcomes."),
    "orders": ("orders:app", "Import order exports; list, show or forget orders."),
    "stats": ("stats:stats", "What recoveries cost and return, with charts."),
    "report": ("report:report_page", "The monthly review as one HTML page to read or print."),
    "export": ("export:export", "Export cases as CSV, JSON or JSON Lines."),
    "playbook": ("playbook:app", "List, show, create, edit and check playbooks."),
    "config": ("config:app", "Show or change your settings."),
    "sync": ("sync:app", "Share the home with your other machines through git."),
    "log": ("history:log", "The history of the home, or of one case, from git."),
    "doctor": ("doctor:doctor", "Check the home, and fix what is safe to fix."),
}
