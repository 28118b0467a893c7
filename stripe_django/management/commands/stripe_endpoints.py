"""``manage.py stripe_endpoints``: list the account's webhook endpoints and event
destinations; with ``--create URL [--thin]``, create (or update) the one that sends
this site the events the mirror processes. The work is in
:mod:`stripe_django.webhooks.endpoints`."""

from __future__ import annotations

import stripe
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError, CommandParser

from ...client import get_client
from ...conf import api_key_for
from ...webhooks import endpoints


class Command(BaseCommand):
    help = ("List the Stripe account's webhook endpoints and event destinations. With --create "
            "URL, create one sending every event the mirror processes to URL (thin event "
            "notifications with --thin), or update the one there is; a new one's signing "
            "secret is printed once, with the settings line to add. It is never stored.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--create", metavar="URL",
                            help="the URL of this site's webhook route (https://.../stripe/webhook/)")
        parser.add_argument("--thin", action="store_true",
                            help="with --create: an event destination of thin event notifications")
        parser.add_argument("--name", help="with --create: its name (default 'stripe_django mirror')")
        parser.add_argument("--key", metavar="NAME",
                            help='the platform account, a name from STRIPE_DJANGO["API_KEYS"] '
                                 '(default: STRIPE_DJANGO["API_KEY"])')

    def handle(self, *args, **options) -> None:
        if options["thin"] and not options["create"]:
            raise CommandError("--thin goes with --create URL")
        url = options["create"]
        if url is not None and not url.startswith(("https://", "http://")):
            raise CommandError(f"--create takes the full URL of the webhook route, not {url!r}")
        try:
            client = get_client(api_key_for(options["key"]))
        except ImproperlyConfigured as error:
            raise CommandError(str(error)) from None
        try:
            if url is None:
                self._list(client)
            else:
                self._create(client, url, thin=options["thin"], name=options["name"])
        except stripe.StripeError as error:
            raise CommandError(f"Stripe refused: {error.user_message or error}") from None

    def _list(self, client: stripe.StripeClient) -> None:
        found = endpoints.list_destinations(client)
        if not found:
            self.stdout.write("No webhook endpoint or event destination.")
        for d in found:
            events = ("all events" if d.enabled_events == ("*",)
                      else f"{len(d.enabled_events)} event type(s)")
            kind = "webhook endpoint" if d.kind == "webhook_endpoint" else "event destination"
            self.stdout.write(f"{d.id}  {kind}  {d.payload}  {d.status}  {d.url or '-'}  {events}")

    def _create(self, client: stripe.StripeClient, url: str, *, thin: bool, name: str | None) -> None:
        done = endpoints.ensure_destination(client, url, thin=thin, name=name)
        d = done.destination
        what = "event destination (thin)" if thin else "webhook endpoint (snapshot)"
        self.stdout.write(f"{done.action.capitalize()}: {what} {d.id} for {url}, "
                          f"{len(d.enabled_events)} event type(s)"
                          f"{' (all)' if d.enabled_events == ('*',) else ''}.")
        if done.secret:
            self.stdout.write("Its signing secret, shown this once and stored nowhere; add it to "
                              "your settings (or to the environment they read it from):")
            self.stdout.write("    " + endpoints.settings_line(url, done.secret, thin=thin))
        elif done.action != "created":
            self.stdout.write("Stripe shows a signing secret only when it is created: use the one "
                              "in your settings (roll it in the Dashboard if it is lost).")
