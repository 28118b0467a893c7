"""Checking that a webhook request really comes from Stripe, before anything is stored.

The signature check itself is stripe-python's (``stripe.WebhookSignature.verify_header``):
an HMAC-SHA256 of ``"<t>.<body>"`` with the endpoint's signing secret, plus a bound on
the age of ``t``. Everything refused here raises :class:`WebhookRequestRefused` (a
``SuspiciousOperation``), which the view turns into a 400 (413 for an oversized body).
Messages never contain a secret, a signature or the body.

A body whose signature checks out is authentic even when it is not a usable event (not
JSON, fields of the wrong type): :func:`parse_event` raises :class:`UnusableEvent` for
it, and the view stores it all the same, marked failed, so that nothing Stripe signed
is lost.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Any, Iterable

import stripe
from django.core.exceptions import ImproperlyConfigured, SuspiciousOperation
from django.views.decorators.debug import sensitive_variables

from ..conf import SETTING_NAME, stripe_settings
from ..ingest.redaction import MAX_NESTING, nested_deeper_than

__all__ = [
    "DEFAULT_ENDPOINT",
    "Endpoint",
    "UnknownEndpoint",
    "WebhookRequestRefused",
    "RequestTooLarge",
    "UnusableEvent",
    "PAYLOAD_KINDS",
    "get_endpoint",
    "parse_event",
    "payload_problem",
    "verify_signature",
    "verify_streamed",
]

#: The name stored in ``Event.webhook_endpoint`` for the default endpoint (``webhook/``).
DEFAULT_ENDPOINT = ""


class WebhookRequestRefused(SuspiciousOperation):
    """A webhook request that is not a verified Stripe event. Answered with 400."""

    status_code = 400


class RequestTooLarge(WebhookRequestRefused):
    """A body over ``WEBHOOK_MAX_BODY_SIZE``. Answered with 413 unless it is signed."""

    status_code = 413


class UnusableEvent(ValueError):
    """A correctly signed body that cannot be processed as an event. It is stored (marked
    failed, with this reason) and answered 200: Stripe sending it again cannot help."""


class UnknownEndpoint(LookupError):
    """A named endpoint that ``WEBHOOK_ENDPOINTS`` does not define. Answered with 404."""


@dataclass(frozen=True)
class Endpoint:
    """A webhook endpoint: its name ("" for the default one) and its settings."""

    name: str
    secrets: tuple[str, ...]
    tolerance: int | None
    max_body_size: int
    # What the endpoint accepts (its "PAYLOAD"): "snapshot" events, "thin" event
    # notifications, or "any" (either, as each verifies).
    payload: str = "any"

    def __repr__(self) -> str:  # never show the secrets
        return f"<Endpoint {self.name or '(default)'!s}: {len(self.secrets)} secret(s)>"


# What a WEBHOOK_ENDPOINTS entry may hold. "API_KEY" names the API_KEYS entry whose
# platform the endpoint receives events of.
ENDPOINT_KEYS = {"SECRETS", "TOLERANCE", "MAX_BODY_SIZE", "API_KEY", "PAYLOAD"}
# The values of an endpoint's "PAYLOAD" (an event destination's ``event_payload``, or both).
PAYLOAD_KINDS = ("any", "snapshot", "thin")


@sensitive_variables("secrets", "config")
def get_endpoint(name: str | None = None) -> Endpoint:
    """The endpoint ``name`` (None or "": the default one) from the settings.

    The default endpoint uses ``WEBHOOK_SECRETS``; a named one uses
    ``WEBHOOK_ENDPOINTS[name]["SECRETS"]``, and may override ``TOLERANCE`` and
    ``MAX_BODY_SIZE``. A missing secret is ``ImproperlyConfigured`` (a server error, so
    Stripe keeps retrying until it is fixed); an undefined name is ``UnknownEndpoint``.
    """
    tolerance = stripe_settings.WEBHOOK_TOLERANCE
    max_body_size = stripe_settings.WEBHOOK_MAX_BODY_SIZE
    secrets: list[str] | str | None  # one secret alone is taken as a list of one
    payload = "any"
    if not name:
        secrets = stripe_settings.require("WEBHOOK_SECRETS")
        name = DEFAULT_ENDPOINT
    else:
        endpoints = stripe_settings.WEBHOOK_ENDPOINTS or {}
        if name not in endpoints:
            raise UnknownEndpoint(name)
        config = endpoints[name]
        if not isinstance(config, dict):
            raise ImproperlyConfigured(f"{SETTING_NAME}['WEBHOOK_ENDPOINTS'][{name!r}] must be a dict")
        unknown = set(config) - ENDPOINT_KEYS
        if unknown:
            raise ImproperlyConfigured(
                f"{SETTING_NAME}['WEBHOOK_ENDPOINTS'][{name!r}] has unknown key(s): "
                + ", ".join(sorted(unknown))
            )
        secrets = config.get("SECRETS")
        if not secrets:
            raise ImproperlyConfigured(
                f"{SETTING_NAME}['WEBHOOK_ENDPOINTS'][{name!r}]['SECRETS'] is not set"
            )
        tolerance = config.get("TOLERANCE", tolerance)
        max_body_size = config.get("MAX_BODY_SIZE", max_body_size)
        payload = config.get("PAYLOAD", payload)
        if payload not in PAYLOAD_KINDS:
            raise ImproperlyConfigured(
                f"{SETTING_NAME}['WEBHOOK_ENDPOINTS'][{name!r}]['PAYLOAD'] must be one of "
                f"{', '.join(map(repr, PAYLOAD_KINDS))}, not {payload!r}")
    if isinstance(secrets, str):
        secrets = [secrets]
    return Endpoint(name=name, secrets=tuple(secrets), tolerance=tolerance,
                    max_body_size=int(max_body_size), payload=payload)


@sensitive_variables("endpoint", "secret")
def verify_signature(body: bytes, header: str | None, endpoint: Endpoint) -> None:
    """Raise :class:`WebhookRequestRefused` unless ``header`` signs ``body`` with one of
    the endpoint's secrets, at a time within its tolerance.

    Each secret is tried in turn (several during a rotation). A signature that matches
    but is too old is refused as stale.
    """
    if not header:
        raise WebhookRequestRefused("no Stripe-Signature header")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise WebhookRequestRefused("the body is not UTF-8") from None
    # A signature check without a tolerance would accept a replayed request forever;
    # 0 or None in the settings turns the age check off (stripe-python's convention).
    tolerance = endpoint.tolerance or None
    reason = "no signature matches any of the endpoint's secrets"
    for secret in endpoint.secrets:
        try:
            stripe.WebhookSignature.verify_header(text, header, secret, tolerance)
            return
        except stripe.SignatureVerificationError as error:
            message = str(getattr(error, "user_message", None) or error)
            if "tolerance" in message:
                # The signature matched this secret: the request is authentic but old.
                raise WebhookRequestRefused(
                    f"the signature's timestamp is older than the tolerance ({endpoint.tolerance} s)"
                ) from None
            if "Unable to extract" in message or "expected scheme" in message:
                raise WebhookRequestRefused("the Stripe-Signature header is malformed") from None
    raise WebhookRequestRefused(reason)


@sensitive_variables("endpoint", "secret", "macs")
def verify_streamed(chunks: Iterable[bytes], header: str | None, endpoint: Endpoint) -> int:
    """Check the signature of a body too large to keep in memory, reading it chunk by
    chunk (the same scheme as :func:`verify_signature`: HMAC-SHA256 of ``"<t>.<body>"``).
    Returns the body's size; raises :class:`WebhookRequestRefused` if it is not signed."""
    if not header:
        raise WebhookRequestRefused("no Stripe-Signature header")
    pairs = [part.split("=", 1) for part in header.split(",") if "=" in part]
    timestamps = [value for key, value in pairs if key.strip() == "t"]
    signatures = [value.strip() for key, value in pairs if key.strip() == "v1"]
    if len(timestamps) != 1 or not timestamps[0].strip().isdigit() or not signatures:
        raise WebhookRequestRefused("the Stripe-Signature header is malformed")
    timestamp = int(timestamps[0])
    macs = [hmac.new(secret.encode(), f"{timestamp}.".encode(), hashlib.sha256)
            for secret in endpoint.secrets]
    size = 0
    for chunk in chunks:
        size += len(chunk)
        for mac in macs:
            mac.update(chunk)
    digests = [mac.hexdigest() for mac in macs]
    if not any(hmac.compare_digest(d, s) for d in digests for s in signatures):
        raise WebhookRequestRefused("no signature matches any of the endpoint's secrets")
    if endpoint.tolerance and timestamp < time.time() - endpoint.tolerance:
        raise WebhookRequestRefused(
            f"the signature's timestamp is older than the tolerance ({endpoint.tolerance} s)")
    return size


def parse_event(body: bytes) -> dict[str, Any]:
    """The event of a verified body as a plain dict, or :class:`UnusableEvent` saying
    why it cannot be processed."""
    try:
        event = json.loads(body)
    except RecursionError:
        raise UnusableEvent(f"the body is nested deeper than {MAX_NESTING} levels") from None
    except ValueError:
        raise UnusableEvent("the body is not JSON") from None
    if not isinstance(event, dict):
        raise UnusableEvent("the body is not a JSON object")
    # One level takes at least one bracket: a body with fewer needs no walk. The limit
    # is ours, not the JSON parser's (Python 3.13 reads nesting that 3.12 refused).
    if body.count(b"{") + body.count(b"[") > MAX_NESTING and nested_deeper_than(event):
        raise UnusableEvent(f"the body is nested deeper than {MAX_NESTING} levels")
    problems = envelope_problems(event)
    if problems:
        raise UnusableEvent("; ".join(problems))
    return event


def payload_problem(event: dict[str, Any], endpoint: Endpoint) -> str:
    """Why a verified event is not what its endpoint takes ("" when it is): an endpoint
    whose "PAYLOAD" is "thin" takes thin event notifications only, "snapshot" the
    others only."""
    from .thin import is_notification

    kind = "thin" if is_notification(event) else "snapshot"
    if endpoint.payload in ("any", kind):
        return ""
    return (f"the endpoint takes {endpoint.payload} events (its PAYLOAD setting); "
            f"this is a {kind} event")


def envelope_problems(event: dict[str, Any]) -> list[str]:
    """What keeps an event's envelope from being processed (empty when nothing)."""
    from .thin import is_notification, notification_problems

    if is_notification(event):
        return notification_problems(event)
    problems = []
    if event.get("object") != "event":
        problems.append("the body is not an event")
    if not isinstance(event.get("id"), str) or not event["id"]:
        problems.append("the event has no id")
    if not isinstance(event.get("type"), str) or not event["type"]:
        problems.append("the event has no type")
    created = event.get("created")
    if not isinstance(created, int) or isinstance(created, bool):
        problems.append("the event has no created time")
    data = event.get("data")
    if not isinstance(data, dict) or not isinstance(data.get("object"), dict):
        problems.append("the event has no data.object")
    return problems
