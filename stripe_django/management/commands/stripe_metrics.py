"""``manage.py stripe_metrics``: MRR at a date and its movements month by month, per
currency, from the mirror. The work is in :mod:`stripe_django.analytics`."""

from __future__ import annotations

import csv
import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ... import analytics
from ...analytics.report import COLUMNS, monthly_table
from ...money import format_amount
from .stripe_process_events import _when


class Command(BaseCommand):
    help = ("Revenue metrics from the mirror: MRR, ARR, paying customers and ARPU at a date, and "
            "a table of MRR movements (new, expansion, contraction, churn, reactivation) for the "
            "last --months months, per currency. Amounts in the smallest currency unit in --json "
            "and --csv. Definitions: docs/guide/revenue-metrics.rst.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--at", type=_when, help="the date (Unix time, ISO date or date-time, UTC "
                            "by default; default now): MRR then, and the end of the table")
        parser.add_argument("--months", type=int, default=12, help="months in the table (default 12; "
                            "0 for no table)")
        parser.add_argument("--currency", help="one currency (usd, eur, ...)")
        parser.add_argument("--account", help="one connected account (acct_...), or 'platform' for "
                            "the platform's own subscriptions (default: all)")
        parser.add_argument("--source", choices=("subscriptions", "invoices"), default="subscriptions",
                            help="MRR from the subscriptions (default: their state at each date inside "
                            "the events window, REVENUE_EVENTS_DAYS, their current state before it) or "
                            "from the invoice lines in force at each date")
        parser.add_argument("--agreement", action="store_true",
                            help="compare MRR at --at from subscriptions and from invoices, with the causes")
        parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
        parser.add_argument("--csv", metavar="FILE", help="also write the table to FILE as CSV")

    def handle(self, *args: Any, **options: Any) -> None:
        account: Any = ...
        if options["account"]:
            account = None if options["account"] == "platform" else options["account"]
        if options["months"] < 0:
            raise CommandError(f"--months must be 0 or more, not {options['months']}")
        at, currency, source = options["at"], options["currency"], options["source"]
        try:
            if source == "invoices":
                now = analytics.mrr_from_invoices(at, currency=currency, account=account)
            else:
                now = analytics.mrr_detail(at, currency=currency, account=account)
            at = now.at
            totals = now.by_currency()
            customers = analytics.subscribers(at, currency=currency, account=account, source=source)
            rows, _ = monthly_table(options["months"], until=at, currency=currency, account=account,
                                    source=source) if options["months"] else ([], [])
            report = analytics.agreement(at, currency=currency, account=account) if options["agreement"] else None
        except ValueError as error:
            raise CommandError(str(error)) from error
        summary = {cur: {"mrr": amount, "arr": amount * 12, "customers": customers.get(cur, 0),
                         "arpu": round(amount / customers[cur]) if customers.get(cur) else None}
                   for cur, amount in totals.items()}
        if options["csv"]:
            try:
                with open(options["csv"], "w", newline="") as out:
                    writer = csv.DictWriter(out, fieldnames=COLUMNS)
                    writer.writeheader()
                    writer.writerows(row.as_dict() for row in rows)
            except OSError as error:
                raise CommandError(f"cannot write --csv {options['csv']}: {error}") from error
        if options["json"]:
            # "source": what the figures at --at come from (subscriptions, events, invoices)
            data: dict[str, Any] = {"at": at.isoformat(), "source": now.source, "rebuilt": now.rebuilt,
                                    "currencies": summary,
                                    "months": [row.as_dict() for row in rows],
                                    "skipped": [{"item": i, "reason": r} for i, r in now.skipped]}
            if report is not None:
                data["agreement"] = {"from_subscriptions": report.from_subscriptions,
                                     "from_invoices": report.from_invoices, "by_cause": report.by_cause()}
            self.stdout.write(json.dumps(data, indent=2))
            return
        self._print(at, now, summary, rows, now.skipped, report)

    def _print(self, at, now, summary, rows, skipped, report) -> None:
        write = self.stdout.write
        write(f"MRR on {at:%Y-%m-%d %H:%M} UTC, from {now.source}"
              + (f" ({now.rebuilt} subscription(s) as the events after it give them)" if now.rebuilt else "")
              + ":")
        if not summary:
            write("  no recurring revenue")
        for cur, figures in summary.items():
            arpu = format_amount(figures["arpu"], cur) if figures["arpu"] is not None else "-"
            write(f"  {format_amount(figures['mrr'], cur):>18}  ARR {format_amount(figures['arr'], cur)}, "
                  f"{figures['customers']} paying customer(s), ARPU {arpu}")
        if skipped:
            write(self.style.WARNING(f"  {len(skipped)} item group(s) not priced, e.g. {skipped[0][0]}: "
                                     f"{skipped[0][1]}"))
        if rows:
            write("")
            header = ("month", "cur", "starting", "new", "expansion", "contraction", "churn", "reactivation",
                      "ending", "customers", "source")
            table = [header] + [(f"{r.start:%Y-%m}", r.currency, *(format_amount(v, r.currency).rsplit(" ", 1)[0]
                                 for v in (r.starting, r.new, r.expansion, r.contraction, r.churn,
                                           r.reactivation, r.ending)), str(r.customers), r.sources) for r in rows]
            widths = [max(len(line[i]) for line in table) for i in range(len(header))]
            for line in table:
                write("  ".join(cell.rjust(w) if 1 < i < len(header) - 1 else cell.ljust(w) for i, (cell, w) in
                                enumerate(zip(line, widths))).rstrip())
        if report is not None:
            write("")
            write("Invoices vs subscriptions (subscriptions - invoices):")
            for cur in sorted(set(report.from_subscriptions) | set(report.from_invoices)):
                a, b = report.from_subscriptions.get(cur, 0), report.from_invoices.get(cur, 0)
                write(f"  {cur}: {format_amount(a, cur)} vs {format_amount(b, cur)}, "
                      f"difference {format_amount(a - b, cur)}")
            for cause, amounts in sorted(report.by_cause().items()):
                write(f"  {cause}: " + ", ".join(format_amount(v, c) for c, v in sorted(amounts.items())))
