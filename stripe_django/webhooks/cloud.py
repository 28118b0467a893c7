"""Events delivered by a cloud event bus: Amazon EventBridge or Azure Event Grid.

An event destination of type ``amazon_eventbridge`` or ``azure_event_grid`` (see
https://docs.stripe.com/event-destinations) puts each event, snapshot or thin, in the
bus's own envelope: EventBridge's ``detail``, Event Grid's CloudEvents ``data``. The bus
authenticates the sender (Stripe's partner event source), so there is no Stripe
signature to check: whoever can call :func:`receive_cloud_event` is trusted, so call it
only with what your queue or function received from the bus.

The envelope is opened by stripe-python (the same code as its
``construct_event_without_verification``), then the event takes the webhook view's
path: stored durably, processed (or queued with ``EVENTS_ON_TASKS``), a failure
recorded on its row and retried by ``manage.py stripe_process_events``.
"""

from __future__ import annotations

import json
from typing import Any

from stripe._webhook import maybe_extract_from_cloud_provider_envelope

from ..conf import stripe_settings
from . import processing, verification

__all__ = ["receive_cloud_event", "CloudEventError", "EVENTBRIDGE", "EVENT_GRID"]

#: ``Event.webhook_endpoint`` of events received from each bus (unless told otherwise).
EVENTBRIDGE = "amazon_eventbridge"
EVENT_GRID = "azure_event_grid"


class CloudEventError(ValueError):
    """A message that is not a Stripe event in an EventBridge or Event Grid envelope
    (nothing is stored: it is not known to come from Stripe)."""


def receive_cloud_event(message: str | bytes | dict[str, Any], *, endpoint: str | None = None,
                        using: str | None = None) -> processing.Outcome:
    """Store and process one event as a cloud event bus delivered it.

    ``message``: the EventBridge event (what an SQS queue or a Lambda function targeted
    by the bus's rule receives) or the Event Grid CloudEvent, as JSON text or parsed; a
    bare Stripe event is taken too. ``endpoint``: the name recorded on the event row (by
    default ``"amazon_eventbridge"`` or ``"azure_event_grid"``); a ``WEBHOOK_ENDPOINTS``
    entry of that name may say which ``API_KEY`` the events belong to.

    Returns the :class:`~.processing.Outcome`: ``ok`` when the event is processed (or
    was before, or is queued); a failure with ``transient`` set may pass (leave the
    message on the queue to be delivered again); one without it never will (the event is
    stored, marked failed, saying why). Raises :class:`CloudEventError` for a message
    that is not an event in a known envelope.
    """
    text = json.dumps(message) if isinstance(message, dict) else message
    try:
        envelope = json.loads(text)
        event = maybe_extract_from_cloud_provider_envelope(text)
    except (TypeError, ValueError, UnicodeDecodeError, AttributeError) as error:
        raise CloudEventError(f"not a Stripe event from EventBridge or Event Grid: {error}") from None
    if not isinstance(event, dict):
        raise CloudEventError("the envelope holds no event object")
    if endpoint is None:
        endpoint = (EVENTBRIDGE if "detail" in envelope else
                    EVENT_GRID if "specversion" in envelope else verification.DEFAULT_ENDPOINT)
    body = json.dumps(event).encode()
    try:
        event = verification.parse_event(body)
    except verification.UnusableEvent as problem:
        return _receive(None, endpoint, using, raw=body, problem=str(problem))
    return _receive(event, endpoint, using)


def _receive(event: dict[str, Any] | None, endpoint: str, using: str | None,
             **kwargs: Any) -> processing.Outcome:
    if stripe_settings.EVENTS_ON_TASKS:
        from ..tasks import receive_event_later

        return receive_event_later(event, endpoint=endpoint, using=using, **kwargs)
    return processing.receive_event(event, endpoint=endpoint, using=using, **kwargs)
