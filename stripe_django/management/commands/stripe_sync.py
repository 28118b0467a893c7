"""``manage.py stripe_sync [TYPE ...]``: pull the Stripe account into the mirror.

The work is :func:`stripe_django.sync.sync`; this command parses arguments and prints.
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from ...sync import sync
from ...sync.progress import default_progress
from ...sync.report import format_summary
from ...sync.service import list_names


class Command(BaseCommand):
    help = ("Copy Stripe objects into the database. Without TYPE, every listable type; "
            "later runs fetch only what changed.")

    def add_arguments(self, parser) -> None:
        parser.add_argument("types", nargs="*", metavar="TYPE",
                            help="types to sync (e.g. customer invoice); --list shows them")
        accounts = parser.add_mutually_exclusive_group()
        accounts.add_argument("--account", metavar="ACCT",
                              help="a connected account (acct_...), read with the Stripe-Account header")
        accounts.add_argument("--all-accounts", action="store_true",
                              help="the platform account and every connected account")
        parser.add_argument("--workers", type=int, default=1, metavar="N",
                            help="(type, account) pairs fetched at once (default 1)")
        parser.add_argument("--full", action="store_true",
                            help="forget the cursors: list everything again")
        parser.add_argument("--no-events", action="store_true",
                            help="do not apply the Events API (updates and deletions)")
        parser.add_argument("--rate-limit", type=float, metavar="REQ_PER_S",
                            help='requests per second (default STRIPE_DJANGO["SYNC_RATE_LIMIT"], '
                                 "else 100 live / 25 test)")
        parser.add_argument("--quiet", action="store_true", help="no progress display")
        parser.add_argument("--list", action="store_true", help="print the type names and exit")
        parser.add_argument("--database", default=None, help="database alias to write to")

    def handle(self, *args, **options) -> None:
        if options["list"]:
            self.stdout.write("\n".join(list_names()))
            return
        if options["workers"] < 1:
            raise CommandError("--workers must be at least 1")
        quiet = options["quiet"] or options["verbosity"] < 1
        try:
            report = sync(
                options["types"] or None,
                account=options["account"],
                all_accounts=options["all_accounts"],
                workers=options["workers"],
                full=options["full"],
                events=not options["no_events"],
                progress=default_progress(self.stderr._out, quiet=quiet),
                rate_limit=options["rate_limit"],
                using=options["database"],
            )
        except (ValueError, ImproperlyConfigured) as error:
            raise CommandError(str(error)) from None
        if options["verbosity"] >= 1:
            self.stdout.write(format_summary(report))
        if not report.ok:
            failed = (", ".join(t.name for t in report.failed)
                      or ("the key was refused" if report.key_refused else "interrupted"))
            raise CommandError(f"stripe_sync: not everything was synced ({failed})", returncode=1)
