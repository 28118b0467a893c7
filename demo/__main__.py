"""``python -m demo``: mirror a Stripe account into SQLite and query it with the ORM.

Without ``STRIPE_API_KEY``: starts localstripe (a fake Stripe, on 127.0.0.1, nothing
kept on disk), fills it with a small billing account (``stripe_django.testing.seed``),
migrates a fresh SQLite database (``demo.sqlite3``), runs ``manage.py stripe_sync``,
prints the summary and a few queries, and stops the server. No key and no network
needed.

With ``STRIPE_API_KEY=sk_test_...``: syncs that test-mode account instead (nothing is
created in it), into the same file, kept between runs: a second run is incremental.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB = ROOT / "demo.sqlite3"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=40,
                        help="customers seeded into the local fake Stripe (default 40)")
    parser.add_argument("--db", default=str(DEFAULT_DB), help=f"SQLite file (default {DEFAULT_DB.name})")
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args(argv)

    key = os.environ.get("STRIPE_API_KEY", "").strip()
    if key and not key.startswith(("sk_test_", "rk_test_")):
        parser.error("STRIPE_API_KEY must be a test-mode key (sk_test_... or rk_test_...); "
                     "the demo does not read live accounts")
    os.environ["STRIPE_DJANGO_DEMO_DB"] = args.db
    os.environ["DJANGO_SETTINGS_MODULE"] = "demo.settings"

    with contextlib.ExitStack() as stack:
        if key:
            print(f"Syncing the Stripe test-mode account of STRIPE_API_KEY into {args.db}")
        else:
            server = stack.enter_context(_local_stripe(args.customers))
            os.environ["STRIPE_DJANGO_DEMO_API_BASE"] = server.api_base
            with contextlib.suppress(FileNotFoundError):
                os.remove(args.db)  # the fake server starts empty: so does the database
        return _sync_and_query(args)


@contextlib.contextmanager
def _local_stripe(customers: int):
    from stripe_django.testing.seed import seed_account
    from stripe_django.testing.localstripe import LocalStripe

    print("Starting localstripe (a fake Stripe API) on 127.0.0.1 ...")
    with LocalStripe() as server:
        started = time.monotonic()
        result = seed_account(server.client(), customers=customers)
        made = ", ".join(f"{n} {k}" for k, n in sorted(result["created"].items()))
        print(f"Seeded in {time.monotonic() - started:.1f} s: {made}")
        if result["skipped"]:
            print(f"  (localstripe could not make: {len(result['skipped'])} kind(s); "
                  f"e.g. {result['skipped'][0][:90]})")
        # Event times have one-second resolution: let the seeding's last second pass,
        # so the sync's snapshots are strictly newer than the seeding's events.
        time.sleep(1.0)
        try:
            yield server
        finally:
            print("Stopping localstripe.")


def _sync_and_query(args: argparse.Namespace) -> int:
    import django

    django.setup()
    from django.core.management import call_command
    from django.core.management.base import CommandError

    print(f"Migrating {args.db} ...")
    call_command("migrate", verbosity=0)
    print("Running: manage.py stripe_sync --workers", args.workers)
    status = 0
    try:
        call_command("stripe_sync", workers=args.workers)
    except CommandError as error:
        print(f"{error} (see the errors above)")
        status = 1
    print()
    _queries()
    # The interpreter running the demo (the Makefile's .venv): a bare "python" outside
    # that environment has neither Django nor the app.
    python = os.path.relpath(sys.executable)
    python = sys.executable if python.startswith("..") else python
    print(f"\nThe database stays at {args.db}; explore it with:\n"
          f"  STRIPE_DJANGO_DEMO_DB={args.db} DJANGO_SETTINGS_MODULE=demo.settings "
          f"{python} -m django shell")
    return status


def _table(rows: list[tuple], head: tuple) -> None:
    rows = [tuple(str(c) for c in r) for r in rows]
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
    for row in [head, tuple("-" * w for w in widths), *rows]:
        print("  " + "  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip())


def _money(cents: int | None, currency: str | None) -> str:
    if cents is None:
        return "-"
    return f"{cents / 100:,.2f} {(currency or '').upper()}"


def _queries() -> None:
    from django.db.models import Count, Q, Sum
    from django.db.models.functions import TruncMonth

    from stripe_django.models import Charge, Customer, Invoice, Plan, SubscriptionItem

    print(f"Customers: {Customer.objects.existing().count()}   "
          f"(Customer.objects.existing().count())")

    print("\nOpen invoices:\n"
          "  Invoice.objects.existing().filter(status='open').select_related('customer')")
    invoices = Invoice.objects.existing().filter(status="open").select_related("customer")
    _table([(i.id, i.customer.email if i.customer else i.customer_id, _money(i.amount_due, i.currency),
             f"{i.created:%Y-%m-%d}") for i in invoices.order_by("-created")[:10]],
           ("invoice", "customer", "amount due", "created"))

    print("\nActive subscriptions per plan:\n"
          "  SubscriptionItem.objects.existing().filter(subscription__status='active')\n"
          "      .values('plan').annotate(subscriptions=Count('subscription', distinct=True), "
          "seats=Sum('quantity'))")
    per_plan = (SubscriptionItem.objects.existing().filter(subscription__status="active")
                .values("plan").annotate(subscriptions=Count("subscription", distinct=True),
                                         seats=Sum("quantity")).order_by("-subscriptions"))
    plans = Plan.objects.in_bulk([row["plan"] for row in per_plan if row["plan"]])
    _table([(plans[r["plan"]].nickname or r["plan"] if r["plan"] in plans else r["plan"],
             _money(plans[r["plan"]].amount, plans[r["plan"]].currency) if r["plan"] in plans else "-",
             r["subscriptions"], r["seats"]) for r in per_plan],
           ("plan", "price", "subscriptions", "seats"))

    print("\nRevenue by month (succeeded charges, less refunds):\n"
          "  Charge.objects.existing().filter(status='succeeded')\n"
          "      .annotate(month=TruncMonth('created')).values('month', 'currency')\n"
          "      .annotate(gross=Sum('amount'), refunded=Sum('amount_refunded'))")
    revenue = (Charge.objects.existing().filter(status="succeeded")
               .annotate(month=TruncMonth("created")).values("month", "currency")
               .annotate(gross=Sum("amount"), refunded=Sum("amount_refunded"),
                         charges=Count("id"), refunds=Count("id", filter=Q(amount_refunded__gt=0)))
               .order_by("month", "currency"))
    _table([(f"{r['month']:%Y-%m}", r["charges"], _money(r["gross"], r["currency"]),
             _money(r["refunded"], r["currency"]),
             _money((r["gross"] or 0) - (r["refunded"] or 0), r["currency"])) for r in revenue],
           ("month", "charges", "gross", "refunded", "net"))


if __name__ == "__main__":
    sys.exit(main())
