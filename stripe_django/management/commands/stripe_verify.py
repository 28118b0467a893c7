"""``manage.py stripe_verify [TYPE ...]``: compare the mirror with Stripe.

The work is :func:`stripe_django.verify.verify`; this command parses arguments and prints.
Exit status 1 when differences remain (not healed) or a type could not be verified.
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from ...sync.progress import default_progress
from ..arguments import add_account_arguments
from ...sync.service import list_names
from ...verify import format_verify_summary, verify


class Command(BaseCommand):
    help = ("Compare the mirror with Stripe: objects missing from it, rows no longer at Stripe, "
            "stale rows. Writes nothing unless --heal. Without TYPE, every listable type.")

    def add_arguments(self, parser) -> None:
        parser.add_argument("types", nargs="*", metavar="TYPE",
                            help="types to verify (e.g. customer invoice); stripe_sync --list shows them")
        add_account_arguments(parser)
        parser.add_argument("--sample", type=int, metavar="N",
                            help="retrieve N random rows per type instead of listing everything, "
                                 "and bound the share that differ (95%% confidence)")
        parser.add_argument("--heal", action="store_true",
                            help="store what Stripe returned for the differing objects, and mark "
                                 "deleted the rows Stripe answers 404 for")
        parser.add_argument("--rate-limit", type=float, metavar="REQ_PER_S",
                            help='requests per second (default STRIPE_DJANGO["SYNC_RATE_LIMIT"], '
                                 "else 100 live / 25 test)")
        parser.add_argument("--quiet", action="store_true", help="no progress display")
        parser.add_argument("--list", action="store_true", help="print the type names and exit")
        parser.add_argument("--database", default=None, help="database alias to read and heal")

    def handle(self, *args, **options) -> None:
        if options["list"]:
            self.stdout.write("\n".join(list_names()))
            return
        if options["sample"] is not None and options["sample"] < 1:
            raise CommandError("--sample must be at least 1")
        quiet = options["quiet"] or options["verbosity"] < 1
        try:
            report = verify(
                options["types"] or None,
                account=options["account"],
                all_accounts=options["all_accounts"],
                sample=options["sample"],
                heal=options["heal"],
                key=options["key"],
                progress=default_progress(self.stderr._out, quiet=quiet),
                rate_limit=options["rate_limit"],
                using=options["database"],
            )
        except (ValueError, ImproperlyConfigured) as error:
            raise CommandError(str(error)) from None
        if options["verbosity"] >= 1:
            self.stdout.write(format_verify_summary(report))
        if not report.ok:
            failed = (", ".join(t.name for t in report.failed)
                      or ("the key was refused" if report.key_refused else "interrupted"))
            raise CommandError(f"stripe_verify: not everything was verified ({failed})", returncode=1)
        if not report.clean:
            left = len(report.differences) - sum(t.healed for t in report.verified)
            raise CommandError(f"stripe_verify: {left} difference(s) between the mirror and Stripe"
                               + ("" if options["heal"] else " (--heal repairs them)"), returncode=1)
