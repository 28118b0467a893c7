"""``manage.py stripe_verify [TYPE ...]``: compare the mirror with Stripe.

The work is :func:`stripe_django.verify.verify`; this command parses arguments and prints.
With ``--enqueue`` the verification is split into shards that Django Tasks workers run
(:mod:`stripe_django.verify.enqueued`); ``--run ID`` prints such a run's summary.
Exit status 1 when differences remain (not healed) or a type could not be verified.
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from ...sync.progress import default_progress
from ...sync.service import list_names
from ...verify import VerifyReport, format_verify_summary, verify
from ..arguments import add_account_arguments
from ..enqueued import EnqueuedRun


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
        parser.add_argument("--workers", type=int, default=1, metavar="N",
                            help="threads listing the created windows of a long list at once "
                                 "(default 1); with --enqueue, those of each shard")
        parser.add_argument("--rate-limit", type=float, metavar="REQ_PER_S",
                            help='requests per second (default STRIPE_DJANGO["SYNC_RATE_LIMIT"], '
                                 "else 100 live / 25 test)")
        parser.add_argument("--enqueue", action="store_true",
                            help="split the verification into (type, account) shards run by "
                                 "Django Tasks workers; prints the run's id")
        parser.add_argument("--wait", action="store_true",
                            help="with --enqueue: wait for the run to finish and print its summary")
        parser.add_argument("--run", type=int, metavar="ID",
                            help="print the summary of an enqueued verification (with --wait: "
                                 "once finished)")
        parser.add_argument("--timeout", type=float, metavar="SECONDS",
                            help="with --wait: stop waiting after SECONDS and print the run as it "
                                 "stands (exit status 2 while it goes on)")
        parser.add_argument("--requeue", action="store_true",
                            help="with --run: queue again the shards a dead worker left running")
        parser.add_argument("--quiet", action="store_true", help="no progress display")
        parser.add_argument("--list", action="store_true", help="print the type names and exit")
        parser.add_argument("--database", default=None, help="database alias to read and heal")

    def handle(self, *args, **options) -> None:
        if options["list"]:
            self.stdout.write("\n".join(list_names()))
            return
        if options["sample"] is not None and options["sample"] < 1:
            raise CommandError("--sample must be at least 1")
        if options["workers"] < 1:
            raise CommandError("--workers must be at least 1")
        if options["timeout"] is not None and (not options["wait"] or options["timeout"] <= 0):
            raise CommandError("--timeout goes with --wait, and must be more than 0 seconds")
        if options["run"] is not None:
            return self._show_run(options["run"], options)
        if options["enqueue"]:
            return self._enqueue(options)
        if options["wait"] or options["requeue"]:
            raise CommandError("--wait goes with --enqueue or --run, --requeue with --run")
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
                workers=options["workers"],
            )
        except (ValueError, ImproperlyConfigured) as error:
            raise CommandError(str(error)) from None
        if options["verbosity"] >= 1:
            self.stdout.write(format_verify_summary(report))
        self._exit_status(report, options["heal"])

    def _exit_status(self, report: VerifyReport, heal: bool, label: str = "") -> None:
        if not report.ok:
            failed = (", ".join(sorted({t.name for t in report.failed}))
                      or ("the key was refused" if report.key_refused else "interrupted"))
            raise CommandError(f"stripe_verify: {label}not everything was verified ({failed})",
                               returncode=1)
        if not report.clean:
            left = len(report.differences) - sum(t.healed for t in report.verified)
            raise CommandError(f"stripe_verify: {label}{left} difference(s) between the mirror "
                               "and Stripe" + ("" if heal else " (--heal repairs them)"),
                               returncode=1)

    def _enqueue(self, options) -> None:
        from ...verify.enqueued import enqueue_verification

        try:
            run = enqueue_verification(
                options["types"] or None, account=options["account"],
                all_accounts=options["all_accounts"], sample=options["sample"],
                heal=options["heal"], key=options["key"], rate_limit=options["rate_limit"],
                using=options["database"], workers=options["workers"])
        except (ValueError, ImproperlyConfigured, ImportError, RuntimeError) as error:
            raise CommandError(str(error)) from None
        self.stdout.write(f"verification run {run.pk}: {run.shards.count()} shard(s) enqueued; "
                          f"`manage.py stripe_verify --run {run.pk}` shows where it stands")
        if options["wait"]:
            self._show_run(run.pk, options)

    def _show_run(self, run_id: int, options) -> None:
        from ...verify.enqueued import verification_report

        shown = EnqueuedRun("verification", "stripe_verify", options, self.stdout, self.stderr)
        run = shown.load(run_id)
        report = verification_report(run, using=options["database"])
        if options["verbosity"] >= 1:
            self.stdout.write(shown.heading(run))
            self.stdout.write(format_verify_summary(report))
        shown.refuse_unfinished(run)
        if run.finished:
            self._exit_status(report, bool(run.options["verify"].get("heal")), f"run {run_id}: ")
