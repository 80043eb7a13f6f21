"""``recover stats`` on screen: the figures first, then a bar chart per distribution,
written through the plain writer (:mod:`..plain`): stats starts as fast as the other
everyday views."""

from __future__ import annotations

from ...kinds import OUTCOMES
from ...stats import AGAIN_DAYS, Stats
from ...values import format_money
from ..plain import Column, Output, Table, grid

BAR_WIDTH = 30
# A bar is whole cells and, at its end, the eighth of a cell that is left.
_EIGHTHS = " ▏▎▍▌▋▊▉"


def _percent(share: float | None) -> str:
    return "—" if share is None else f"{share * 100:.0f}%"


def _duration(hours: float) -> str:
    if hours < 1:
        return f"{round(hours * 60)}m"
    if hours < 48:
        return f"{hours:.1f}h"
    return f"{hours / 24:.1f}d"


def render(out: Output, stats: Stats) -> None:
    """The stats screen: figures first, then a bar chart per distribution."""
    span = ""
    if stats.since or stats.until:
        span = (
            f" opened {stats.since.isoformat() if stats.since else '…'}"
            f" to {stats.until.isoformat() if stats.until else 'today'}"
        )
    out.line(f"Recoveries{span}", "bold")
    if not stats.cases:
        out.line("No cases yet." if not span else "No cases in those dates.")
        return
    facts = [("Cases", str(stats.cases))]
    facts.append(
        (
            "Kept",
            f"{_percent(stats.kept_rate)} ({stats.outcomes['kept']} of {stats.with_outcome} "
            "with an outcome)"
            if stats.with_outcome
            else "— (no outcome recorded yet: recover close ID)",
        )
    )
    for currency, money in sorted(stats.money.items()):
        label = "Cost" if len(stats.money) == 1 else f"Cost ({currency})"
        line = (
            f"{format_money(money.cost, currency)}: refunds {format_money(money.refunds)}, "
            f"goodwill {format_money(money.goodwill)}"
        )
        if money.order_value:
            line += (
                f"; {_percent(money.share)} of {format_money(money.order_value, currency)} "
                "order value"
            )
        facts.append((label, line))
    median = stats.median_hours_to_close
    facts.append(
        (
            "Time to close",
            f"median {_duration(median)} ({len(stats.hours_to_close)} closed)"
            if median is not None
            else "— (none closed yet)",
        )
    )
    f = stats.follow_ups
    facts.append(
        (
            "Follow-ups",
            f"{f['on_time']} on time · {f['late']} late · {f['missed']} missed · "
            f"{f['pending']} to come",
        )
    )
    out.table(grid(facts))
    out.line()
    bought_again(out, stats)
    chart(out, "Outcomes", [(o, stats.outcomes[o]) for o in OUTCOMES])
    chart(out, "Cases per playbook", stats.playbooks_ranked())
    chart(out, "Root-cause tags", stats.top_causes(), empty="no tags yet")
    chart(
        out,
        "Satisfaction",
        [(f"{score}/5", stats.satisfaction[score]) for score in range(5, 0, -1)],
        empty="no scores yet",
    )


def bought_again(out: Output, stats: Stats) -> None:
    """Did recovery work: of each outcome's customers, who bought again within
    90 days of the case, and what they spent (only once orders are imported)."""
    if stats.again is None:
        return
    out.line(f"Bought again within {AGAIN_DAYS} days of the case", "bold")
    table = Table(
        [
            Column("Outcome"),
            Column("Bought again", right=True),
            Column("Share", right=True),
            Column("Revenue", wrap=True),
        ],
        indent=2,
    )
    for outcome, again in stats.again.items():
        revenue = " + ".join(format_money(v, c) for c, v in sorted(again.revenue.items()))
        count = f"{again.bought} of {again.cases}"
        if again.waiting:
            count += f" ({again.waiting} still in their window)"
        table.add(outcome, count, _percent(again.share), revenue or "—")
    out.table(table)
    out.line()


def bar(count: int, top: int, width: int = BAR_WIDTH) -> str:
    """A horizontal bar of ``count`` against ``top``, ``width`` cells at most, to the
    eighth of a cell (a count above nothing always shows)."""
    if top <= 0 or count <= 0:
        return ""
    eighths = max(1, round(count / top * width * 8))
    whole, part = divmod(eighths, 8)
    return "█" * whole + (_EIGHTHS[part] if part else "")


def chart(out: Output, title: str, rows: list[tuple[str, int]], *, empty: str = "none") -> None:
    """A titled horizontal bar chart: label, bar (scaled to the largest), count."""
    out.line(title, "bold")
    if not any(count for _, count in rows):
        out.line(f"  {empty}", "dim")
        out.line()
        return
    top = max(count for _, count in rows)
    table = Table([Column(), Column(style="cyan"), Column(right=True)], headers=False, indent=2)
    for label, count in rows:
        table.add(label, bar(count, top).ljust(BAR_WIDTH), str(count))
    out.table(table)
    out.line()
