"""The account's webhook endpoints (v1) and event destinations (v2), for
``manage.py stripe_endpoints``: list them, and create (or update) the one that sends
this site the events the mirror processes.

A snapshot endpoint is a v1 webhook endpoint subscribed to every event type (``*``: the
mirror stores every event and mirrors its object when its type has a model). A thin one
is an event destination (https://docs.stripe.com/api/v2/core/event-destinations) with
``event_payload: "thin"``, subscribed to every event notification type the installed
stripe-python knows (v2 destinations take no ``*``). Stripe returns a signing secret
only in the answer to the creation: it is handed to the caller, never stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import stripe
from django.urls import Resolver404, resolve

from ..conf import stripe_settings
from ..ingest import to_plain

__all__ = ["Destination", "Ensured", "list_destinations", "ensure_destination",
           "subscribed_event_types", "settings_line"]

SECRET_FIELD = "webhook_endpoint.signing_secret"


@dataclass(frozen=True)
class Destination:
    """One webhook endpoint or event destination."""

    id: str
    kind: str  # "webhook_endpoint" (v1) or "event_destination" (v2)
    url: str | None
    payload: str  # "snapshot" or "thin"
    status: str
    enabled_events: tuple[str, ...]


@dataclass(frozen=True)
class Ensured:
    """What :func:`ensure_destination` did: ``action`` is "created", "updated" or
    "unchanged"; ``secret`` the signing secret (at creation only)."""

    destination: Destination
    action: str
    secret: str | None = None

    def __repr__(self) -> str:  # never show the secret
        return f"<Ensured {self.action} {self.destination.id}>"


def subscribed_event_types(thin: bool) -> list[str]:
    """The event types a destination created here subscribes to."""
    if not thin:
        return ["*"]
    from stripe.events._event_classes import _V2_EVENT_NOTIFICATION_CLASS_LOOKUP

    return sorted(_V2_EVENT_NOTIFICATION_CLASS_LOOKUP)


def list_destinations(client: stripe.StripeClient) -> list[Destination]:
    """The account's webhook endpoints, then its event destinations."""
    found = [_v1(e) for e in client.v1.webhook_endpoints.list(params={"limit": 100}).auto_paging_iter()]
    found += [_v2(d) for d in client.v2.core.event_destinations.list(
        params={"include": ["webhook_endpoint.url"], "limit": 100}).auto_paging_iter()]
    return found


def ensure_destination(client: stripe.StripeClient, url: str, *, thin: bool,
                       name: str | None = None) -> Ensured:
    """Create the destination sending events to ``url`` (thin notifications with
    ``thin``), or bring the one that does up to date (its event types, enabled)."""
    events = subscribed_event_types(thin)
    kind = "event_destination" if thin else "webhook_endpoint"
    existing = next((d for d in list_destinations(client)
                     if d.url == url and d.kind == kind
                     and d.payload == ("thin" if thin else "snapshot")), None)
    if existing is None:
        if thin:
            made = client.v2.core.event_destinations.create(params={
                "name": name or "stripe_django mirror", "type": "webhook_endpoint",
                "event_payload": "thin", "enabled_events": events,
                "webhook_endpoint": {"url": url}, "include": [SECRET_FIELD, "webhook_endpoint.url"]})
            secret = (to_plain(made).get("webhook_endpoint") or {}).get("signing_secret")
            return Ensured(_v2(made, url), "created", secret)
        # The SDK types event types and API versions as literals; these are read at run time.
        params: Any = {"url": url, "enabled_events": events,
                       "api_version": stripe_settings.API_VERSION or stripe.api_version,
                       "description": name or "stripe_django mirror"}
        endpoint = client.v1.webhook_endpoints.create(params=params)
        return Ensured(_v1(endpoint), "created", to_plain(endpoint).get("secret"))
    if sorted(existing.enabled_events) == sorted(events) and existing.status == "enabled":
        return Ensured(existing, "unchanged")
    if thin:
        updated = client.v2.core.event_destinations.update(existing.id, params={
            "enabled_events": events, "include": ["webhook_endpoint.url"]})
        if existing.status != "enabled":
            updated = client.v2.core.event_destinations.enable(existing.id)
        return Ensured(_v2(updated, url), "updated")
    update: Any = {"enabled_events": events, "disabled": False}
    changed = client.v1.webhook_endpoints.update(existing.id, params=update)
    return Ensured(_v1(changed), "updated")


def settings_line(url: str, secret: str, *, thin: bool) -> str:
    """The settings to add for a new destination's secret: the named endpoint its URL
    routes to in this site (``WEBHOOK_ENDPOINTS``), else the default one."""
    name = None
    try:
        match = resolve(urlsplit(url).path)
        if match.view_name.endswith("webhook"):
            name = match.kwargs.get("name")
    except Resolver404:
        name = "thin" if thin else None
    if name:
        payload = ', "PAYLOAD": "thin"' if thin else ""
        return f'STRIPE_DJANGO["WEBHOOK_ENDPOINTS"]["{name}"] = {{"SECRETS": ["{secret}"]{payload}}}'
    return f'STRIPE_DJANGO["WEBHOOK_SECRETS"] = ["{secret}"]  # add it to those you have'


def _v1(endpoint: Any) -> Destination:
    data = to_plain(endpoint)
    return Destination(id=data["id"], kind="webhook_endpoint", url=data.get("url"),
                       payload="snapshot", status=data.get("status") or "",
                       enabled_events=tuple(data.get("enabled_events") or ()))


def _v2(destination: Any, url: str | None = None) -> Destination:
    data = to_plain(destination)
    endpoint = data.get("webhook_endpoint") or {}
    return Destination(id=data["id"], kind="event_destination", url=endpoint.get("url") or url,
                       payload=data.get("event_payload") or "", status=data.get("status") or "",
                       enabled_events=tuple(data.get("enabled_events") or ()))
