"""``manage.py stripe_sync [TYPE ...]``: pull the Stripe account into the mirror.

The work is :func:`stripe_django.sync.sync`; this command parses arguments and prints.
With ``--enqueue`` the run is split into shards that Django Tasks workers run
(:mod:`stripe_django.sync.distributed`); ``--run ID`` prints such a run's summary.
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from ...sync import sync
from ...sync.progress import default_progress
from ...sync.report import format_summary
from ...sync.service import list_names
from ..arguments import add_account_arguments
from ..enqueued import EnqueuedRun


class Command(BaseCommand):
    help = ("Copy Stripe objects into the database. Without TYPE, every listable type; "
            "later runs fetch only what changed.")

    def add_arguments(self, parser) -> None:
        parser.add_argument("types", nargs="*", metavar="TYPE",
                            help="types to sync (e.g. customer invoice); --list shows them")
        add_account_arguments(parser)
        parser.add_argument("--workers", type=int, default=1, metavar="N",
                            help="threads fetching (type, account) pairs at once, and the "
                                 "created windows of a long list's first pass (default 1)")
        parser.add_argument("--full", action="store_true",
                            help="forget the cursors: list everything again")
        parser.add_argument("--no-events", action="store_true",
                            help="do not apply the Events API (updates and deletions)")
        parser.add_argument("--rate-limit", type=float, metavar="REQ_PER_S",
                            help='requests per second (default STRIPE_DJANGO["SYNC_RATE_LIMIT"], '
                                 "else 100 live / 25 test)")
        parser.add_argument("--enqueue", action="store_true",
                            help="split the run into (type, account) shards run by Django Tasks "
                                 "workers; prints the run's id")
        parser.add_argument("--wait", action="store_true",
                            help="with --enqueue: wait for the run to finish and print its summary")
        parser.add_argument("--run", type=int, metavar="ID",
                            help="print the summary of an enqueued run (with --wait: once finished)")
        parser.add_argument("--timeout", type=float, metavar="SECONDS",
                            help="with --wait: stop waiting after SECONDS and print the run as it "
                                 "stands (exit status 2 while it goes on)")
        parser.add_argument("--requeue", action="store_true",
                            help="with --run: queue again the shards a dead worker left running")
        parser.add_argument("--quiet", action="store_true", help="no progress display")
        parser.add_argument("--list", action="store_true", help="print the type names and exit")
        parser.add_argument("--database", default=None, help="database alias to write to")

    def handle(self, *args, **options) -> None:
        if options["timeout"] is not None and (not options["wait"] or options["timeout"] <= 0):
            raise CommandError("--timeout goes with --wait, and must be more than 0 seconds")
        if options["list"]:
            self.stdout.write("\n".join(list_names()))
            return
        if options["workers"] < 1:
            raise CommandError("--workers must be at least 1")
        if options["run"] is not None:
            return self._show_run(options["run"], options)
        if options["enqueue"]:
            return self._enqueue(options)
        if options["wait"] or options["requeue"]:
            raise CommandError("--wait goes with --enqueue or --run, --requeue with --run")
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
                key=options["key"],
                detail=options["verbosity"] >= 2,
            )
        except (ValueError, ImproperlyConfigured) as error:
            raise CommandError(str(error)) from None
        if options["verbosity"] >= 1:
            self.stdout.write(format_summary(report, verbose=options["verbosity"] >= 2))
        if not report.ok:
            failed = (", ".join(t.name for t in report.failed)
                      or ("the key was refused" if report.key_refused else "interrupted"))
            raise CommandError(f"stripe_sync: not everything was synced ({failed})", returncode=1)

    def _enqueue(self, options) -> None:
        from ...sync.distributed import enqueue_run

        try:
            run = enqueue_run(
                options["types"] or None, account=options["account"],
                all_accounts=options["all_accounts"], key=options["key"], full=options["full"],
                events=not options["no_events"], rate_limit=options["rate_limit"],
                using=options["database"], workers=options["workers"])
        except (ValueError, ImproperlyConfigured, ImportError, RuntimeError) as error:
            raise CommandError(str(error)) from None
        shards = run.shards.count()
        self.stdout.write(f"sync run {run.pk}: {shards} shard(s) enqueued; "
                          f"`manage.py stripe_sync --run {run.pk}` shows where it stands")
        if options["wait"]:
            self._show_run(run.pk, options)

    def _show_run(self, run_id: int, options) -> None:
        from ...sync.distributed import run_report

        shown = EnqueuedRun("sync", "stripe_sync", options, self.stdout, self.stderr)
        run = shown.load(run_id)
        report = run_report(run_id, using=options["database"])
        if options["verbosity"] >= 1:
            self.stdout.write(shown.heading(run))
            self.stdout.write(format_summary(report, verbose=options["verbosity"] >= 2))
        if run.finished and not report.ok:
            failed = ", ".join(sorted({t.name for t in report.failed})) or "failed"
            raise CommandError(f"stripe_sync: run {run_id}: not everything was synced ({failed})",
                               returncode=1)
        shown.refuse_unfinished(run)
