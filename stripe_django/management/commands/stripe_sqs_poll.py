"""``manage.py stripe_sqs_poll QUEUE_URL``: consume Stripe events that an EventBridge
rule routes to an Amazon SQS queue. The work is in :mod:`stripe_django.webhooks.sqs`;
boto3 must be installed (it is not a dependency of stripe_django)."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError, CommandParser

from ...webhooks import sqs


class Command(BaseCommand):
    help = ("Receive Stripe events from an Amazon SQS queue (targeted by an EventBridge rule on "
            "Stripe's partner event bus), store and process each, and delete the messages "
            "whose events are stored. Needs boto3.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("queue_url", help="the SQS queue URL")
        parser.add_argument("--region", help="the AWS region (default: boto3's configuration)")
        parser.add_argument("--wait", type=int, default=sqs.MAX_WAIT_SECONDS,
                            help="long polling wait, in seconds (at most 20)")
        parser.add_argument("--once", action="store_true",
                            help="receive once, handle what came, and stop")

    def handle(self, *args, **options) -> None:
        try:
            client = sqs.sqs_client(options["region"])
        except ImproperlyConfigured as error:
            raise CommandError(str(error)) from None
        try:
            tally = sqs.poll(options["queue_url"], client=client, wait=options["wait"],
                             once=options["once"])
        except KeyboardInterrupt:
            self.stdout.write("stopped")
            return
        self.stdout.write(f"{tally.received} message(s): {tally.processed} processed, "
                          f"{tally.failed} stored as failed, {tally.left} left on the queue")
