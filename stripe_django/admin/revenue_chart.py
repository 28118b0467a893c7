"""MRR month by month as inline SVG, drawn on the server (no JavaScript): each month a
bar of its starting MRR, the gains (new, expansion, reactivation) stacked on top and the
losses (contraction, churn) hanging from it, and a dot at the ending MRR."""

from __future__ import annotations

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from ..analytics.report import MonthRow
from ..money import format_amount

COLOURS = {"starting": "#90a4ae", "new": "#43a047", "expansion": "#7cb342", "reactivation": "#26a69a",
           "contraction": "#fb8c00", "churn": "#e53935"}
GAINS = ("new", "expansion", "reactivation")
LOSSES = ("contraction", "churn")
WIDTH, HEIGHT = 720, 220
LEFT, BOTTOM, TOP = 70, 24, 10


def legend() -> list[tuple[str, str]]:
    return list(COLOURS.items())


def mrr_by_month(rows: list[MonthRow], currency: str) -> SafeString:
    """The chart of one currency's rows (every value in it is a number or escaped)."""
    rows = [r for r in rows if r.currency == currency]
    peak = max([r.starting + sum(getattr(r, k) for k in GAINS) for r in rows] + [1])
    plot = HEIGHT - BOTTOM - TOP
    slot = (WIDTH - LEFT) / max(len(rows), 1)
    bar = slot * 0.7

    def y_of(amount: float) -> float:
        return HEIGHT - BOTTOM - plot * amount / peak

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="stripe-django-chart" role="img" width="{WIDTH}" '
        f'height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" aria-label="MRR by month, {escape(currency)}" '
        'font-family="sans-serif" font-size="11">',
        f'<line x1="{LEFT}" y1="{HEIGHT - BOTTOM}" x2="{WIDTH}" y2="{HEIGHT - BOTTOM}" stroke="#999"/>',
        f'<text x="{LEFT - 4}" y="{TOP + 4}" text-anchor="end" fill="currentColor">'
        f'{escape(format_amount(peak, currency))}</text>',
        f'<text x="{LEFT - 4}" y="{HEIGHT - BOTTOM}" text-anchor="end" fill="currentColor">0</text>',
    ]
    for index, row in enumerate(rows):
        x = LEFT + index * slot + (slot - bar) / 2
        tip = f"{row.start:%Y-%m}: {format_amount(row.starting, currency)} to {format_amount(row.ending, currency)}"
        tip += "".join(f", {k} {format_amount(getattr(row, k), currency)}" for k in (*GAINS, *LOSSES)
                       if getattr(row, k))
        parts.append(f"<g><title>{escape(tip)}</title>")
        # the starting MRR less this month's losses, then the losses above it, then the gains
        kept = row.starting + row.contraction + row.churn
        level = 0
        for kind, amount in (("starting", kept), *((k, -getattr(row, k)) for k in LOSSES),
                             *((k, getattr(row, k)) for k in GAINS)):
            if amount <= 0:
                continue
            top = y_of(level + amount)
            # a loss is drawn pale: MRR that was there at the start and is gone at the end
            opacity = ' fill-opacity="0.45"' if kind in LOSSES else ""
            parts.append(f'<rect x="{x:.1f}" y="{top:.1f}" width="{bar:.1f}" height="{y_of(level) - top:.1f}" '
                         f'fill="{COLOURS[kind]}" data-kind="{kind}" data-amount="{amount}"{opacity}/>')
            level += amount
        parts.append(f'<circle cx="{x + bar / 2:.1f}" cy="{y_of(row.ending):.1f}" r="3" fill="#263238" '
                     f'data-ending="{row.ending}"/>')
        parts.append("</g>")
        parts.append(f'<text x="{x + bar / 2:.1f}" y="{HEIGHT - 8}" text-anchor="middle" '
                     f'fill="currentColor">{row.start:%b %y}</text>')
    parts.append("</svg>")
    return mark_safe("".join(parts))
