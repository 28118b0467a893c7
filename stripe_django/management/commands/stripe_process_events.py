"""``manage.py stripe_process_events``: retry failed events, replay a time range from the
Events API, sweep for events that never arrived. The work is in
:mod:`stripe_django.webhooks.recovery`."""

from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from ...webhooks import recovery
from ...webhooks.processing import process_event


def _when(value: str) -> dt.datetime:
    """A Unix timestamp, an ISO date or an ISO date-time (UTC unless it says)."""
    if value.isdigit():
        return dt.datetime.fromtimestamp(int(value), tz=dt.timezone.utc)
    parsed = parse_datetime(value)
    if parsed is None:
        day = parse_date(value)
        if day is None:
            raise ValueError(value)
        parsed = dt.datetime.combine(day, dt.time())
    if timezone.is_naive(parsed):
        parsed = parsed.replace(tzinfo=dt.timezone.utc)
    return parsed


class Command(BaseCommand):
    help = (
        "Process stored events that failed (and pending ones abandoned mid-way); with "
        "--since, replay events of a time range from the Events API; with --sweep, fetch "
        "the events of the last days and process those that are missing (v1 and v2 events)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("event_ids", nargs="*", metavar="EVENT_ID",
                            help="process these stored events (again, with --force)")
        parser.add_argument("--since", type=_when, help="replay events created from this time "
                            "(Unix time, ISO date or date-time, UTC by default)")
        parser.add_argument("--until", type=_when, help="end of the replayed range (default: now)")
        parser.add_argument("--type", dest="types", action="append", default=[],
                            help="replay only this event type (repeatable)")
        parser.add_argument("--sweep", action="store_true",
                            help="fetch the events of the last --days and process the missing ones")
        parser.add_argument("--days", type=float, default=3,
                            help="how far back --sweep looks, in days (default 3, Stripe's retry period)")
        parser.add_argument("--account", action="append", default=[],
                            help="with --since/--sweep: events of this connected account "
                            "(repeatable; default: the platform account)")
        parser.add_argument("--key", metavar="NAME",
                            help='with --since/--sweep: the platform account to read, a name from '
                                 'STRIPE_DJANGO["API_KEYS"] (default: STRIPE_DJANGO["API_KEY"])')
        parser.add_argument("--force", action="store_true",
                            help="process again events that were processed already")
        parser.add_argument("--no-retry", action="store_true",
                            help="do not retry failed events (default: retried whenever no "
                            "EVENT_ID is given)")
        parser.add_argument("--pending-after", type=int, default=300, metavar="SECONDS",
                            help="retry pending events received more than this long ago "
                            "(default 300; -1: never)")
        parser.add_argument("--limit", type=int, help="retry at most this many stored events")
        parser.add_argument("--database", default=None, help="database alias")

    def handle(self, *args, **options) -> None:
        using = options["database"]
        failures: list = []
        if options["event_ids"]:
            for event_id in options["event_ids"]:
                outcome = process_event(event_id, force=options["force"], using=using)
                self.stdout.write(f"{event_id}: {outcome.status}" + (f" ({outcome.error})" if outcome.error else ""))
                if not outcome.ok:
                    failures.append(outcome)
        elif not options["no_retry"]:
            pending_after = options["pending_after"]
            tally = recovery.retry_failed(
                pending_after=None if pending_after < 0 else dt.timedelta(seconds=pending_after),
                limit=options["limit"], using=using,
            )
            self._report("retried", tally)
            failures += tally.failures
            if tally.given_up:
                self.stderr.write(f"{tally.given_up} failed event(s) reached EVENT_MAX_ATTEMPTS and are "
                                  "no longer retried; process them by id once the cause is fixed")
            if tally.kept_as_text:
                self.stderr.write(f"{tally.kept_as_text} event(s) could only be kept as text (see their "
                                  "processing_error); --since fetches them again from the Events API")

        accounts = options["account"] or [None]
        for account in accounts:
            where = f" of {account}" if account else ""
            if options["since"] is not None:
                tally = recovery.replay(since=options["since"], until=options["until"], account=account,
                                        types=options["types"], force=options["force"], using=using,
                                        key=options["key"])
                self._report(f"replayed{where}", tally)
                failures += tally.failures
            if options["sweep"]:
                tally = recovery.sweep(days=options["days"], account=account, using=using,
                                       key=options["key"])
                self._report(f"swept{where}", tally)
                failures += tally.failures
        if failures:
            for outcome in failures[:20]:
                self.stderr.write(f"{outcome.event_id}: {outcome.error}")
            raise CommandError(f"{len(failures)} event(s) failed; they are marked failed and "
                               "will be retried by the next run")

    def _report(self, what: str, tally: recovery.Tally) -> None:
        fetched = f"{tally.fetched} fetched from the API, {tally.missing} missing; " if tally.fetched else ""
        self.stdout.write(f"{what}: {fetched}{tally.processed} processed, "
                          f"{tally.skipped} already processed, {tally.failed} failed")
        if tally.v2_unavailable:
            self.stderr.write(f"{what}: v2 events not read, this key may not read them "
                              f"(GET /v2/core/events: {tally.v2_unavailable})")
