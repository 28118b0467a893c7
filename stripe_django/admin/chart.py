"""A bar chart drawn on the server as inline SVG: no JavaScript, no build step."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

# Bottom to top in each bar; statuses not named here are drawn last, in grey.
STACK = (("processed", "#43a047"), ("stored", "#90a4ae"), ("pending", "#f9a825"),
         ("failed", "#e53935"))
OTHER_COLOUR = "#bdbdbd"

WIDTH, HEIGHT = 720, 180
LEFT, BOTTOM, TOP = 40, 24, 10


def events_per_hour(hours: list[tuple[dt.datetime, dict[str, int]]]) -> SafeString:
    """Stacked bars of events per hour and status, with the hour under every sixth bar
    and each bar's figures in its tooltip (``<title>``)."""
    peak = max([sum(counts.values()) for _, counts in hours] + [1])
    plot_height = HEIGHT - BOTTOM - TOP
    slot = (WIDTH - LEFT) / max(len(hours), 1)
    bar = slot * 0.8
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="stripe-django-chart" role="img" '
        f'width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'aria-label="Webhook events per hour, last 24 hours" font-family="sans-serif" font-size="11">',
        f'<line x1="{LEFT}" y1="{HEIGHT - BOTTOM}" x2="{WIDTH}" y2="{HEIGHT - BOTTOM}" stroke="#999"/>',
        f'<text x="{LEFT - 4}" y="{TOP + 4}" text-anchor="end" fill="currentColor">{peak}</text>',
        f'<text x="{LEFT - 4}" y="{HEIGHT - BOTTOM}" text-anchor="end" fill="currentColor">0</text>',
    ]
    known = {status for status, _ in STACK}
    for index, (utc_hour, counts) in enumerate(hours):
        # Counted per hour in UTC (no time zone tables needed in the database), labelled
        # in the project's time zone like every other date of the admin (a zone half an
        # hour off UTC gets "05:30").
        hour = timezone.localtime(utc_hour)
        x = LEFT + index * slot + (slot - bar) / 2
        y: float = HEIGHT - BOTTOM
        layers = [(s, c, counts.get(s, 0)) for s, c in STACK]
        layers += [(s, OTHER_COLOUR, n) for s, n in sorted(counts.items()) if s not in known]
        total = sum(n for _, _, n in layers)
        tooltip = f"{hour:%H:%M %Z}: {total} event(s)" + "".join(
            f", {n} {s}" for s, _, n in layers if n)
        parts.append(f'<g><title>{escape(tooltip)}</title>')
        # an empty hour still gets a hover target
        parts.append(f'<rect x="{x:.1f}" y="{TOP}" width="{bar:.1f}" height="{plot_height}" '
                     'fill="transparent"/>')
        for status, colour, n in layers:
            if not n:
                continue
            height = plot_height * n / peak
            y -= height
            parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{height:.1f}" '
                         f'fill="{colour}" data-status="{escape(status)}" data-count="{n}"/>')
        parts.append("</g>")
        if index % 6 == 0:
            parts.append(f'<text x="{x + bar / 2:.1f}" y="{HEIGHT - 8}" text-anchor="middle" '
                         f'fill="currentColor">{hour:%H:%M}</text>')
    parts.append("</svg>")
    return mark_safe("".join(parts))  # every value in it is a number or escaped


def legend() -> list[tuple[str, str]]:
    return list(STACK)
