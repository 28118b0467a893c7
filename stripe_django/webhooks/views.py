"""The webhook view: verify, store, process, answer. The logic lives in
:mod:`.verification` and :mod:`.processing`; this module only speaks HTTP.

Answers: 200 once the event is stored and processed (or was before, or its type is not
mirrored; with ``EVENTS_ON_TASKS``, once it is stored and its processing enqueued), and also for a verified event that is stored but can never be processed (its
payload is refused: a redelivery would fail the same way; the row says why); 400 for a
request that is not signed by Stripe (413 for a body over ``WEBHOOK_MAX_BODY_SIZE``),
nothing stored; 404 for an unknown named endpoint; 500 when processing fails for a
reason that may pass (database busy, API unreachable), so that Stripe delivers it again.
Answers never carry a traceback or the payload.
"""

from __future__ import annotations

import logging
from typing import Any, TypedDict, Unpack

from django.http import Http404, HttpRequest, HttpResponse
from django.utils.decorators import method_decorator
from django.views import View
from django.db import transaction
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_variables

from ..conf import stripe_settings
from . import processing, verification

logger = logging.getLogger("stripe_django.webhooks")

__all__ = ["WebhookView"]

# A body over the limit is read (not kept) up to this many times the limit to check
# whether Stripe signed it; a larger one is refused unread.
TOO_LARGE_TO_CHECK = 16


class ReceiveOptions(TypedDict, total=False):
    """Keyword arguments of :meth:`WebhookView.receive`, passed on to
    ``processing.receive_event`` (or ``tasks.receive_event_later``)."""

    raw: bytes | None  # the body of an event that cannot be parsed or processed
    problem: str  # why it cannot be processed ("" when it can)
    using: str | None  # the database alias


@method_decorator(csrf_exempt, name="dispatch")
@method_decorator(transaction.non_atomic_requests, name="dispatch")
class WebhookView(View):
    """Receives Stripe events. Subclass and override a step to change it:
    :meth:`get_endpoint`, :meth:`read_body`, :meth:`verify`, :meth:`handle_event`,
    :meth:`handle_too_large`, :meth:`refused`, :meth:`answer`.
    """

    http_method_names = ["post"]
    # The endpoint used when the URL names none ("" or None: the default endpoint).
    endpoint_name: str | None = None

    # Kept out of error reports: the endpoint (its secrets) and what was sent.
    @method_decorator(sensitive_variables("endpoint", "body", "event"))
    def post(self, request: HttpRequest, name: str | None = None) -> HttpResponse:
        try:
            endpoint = self.get_endpoint(name if name is not None else self.endpoint_name)
        except verification.UnknownEndpoint:
            raise Http404("no such webhook endpoint") from None
        try:
            body = self.read_body(request, endpoint)
            event = self.verify(request, body, endpoint)
        except verification.RequestTooLarge as refusal:
            outcome = self.handle_too_large(request, endpoint, refusal)
            if outcome is None:
                return self.refused(request, endpoint, refusal)
        except verification.WebhookRequestRefused as refusal:
            return self.refused(request, endpoint, refusal)
        except verification.UnusableEvent as problem:
            # Signed by Stripe, so kept, though it cannot be processed.
            outcome = self.receive(None, endpoint, raw=body, problem=str(problem))
        else:
            outcome = self.handle_event(event, endpoint)
        return self.answer(outcome)

    def refused(self, request: HttpRequest, endpoint: verification.Endpoint,
                refusal: verification.WebhookRequestRefused) -> HttpResponse:
        logger.warning("stripe_django: refused a webhook request to %s from %s: %s",
                       f"endpoint {endpoint.name!r}" if endpoint.name else "the default endpoint",
                       request.META.get("REMOTE_ADDR", "?"), refusal)
        return HttpResponse(f"refused: {refusal}\n", status=refusal.status_code,
                            content_type="text/plain")

    def answer(self, outcome: processing.Outcome) -> HttpResponse:
        if not outcome.ok:
            if outcome.transient:
                return HttpResponse("processing failed; the event is stored and will be retried\n",
                                    status=500, content_type="text/plain")
            return HttpResponse("stored; it cannot be processed (the stored event says why)\n",
                                content_type="text/plain")
        if outcome.status == processing.QUEUED:
            return HttpResponse("stored; queued for processing\n", content_type="text/plain")
        answer = "already processed" if outcome.status == processing.DUPLICATE else (
            "stored (object type not mirrored)" if outcome.ignored else "processed")
        return HttpResponse(answer + "\n", content_type="text/plain")

    # --- steps ---------------------------------------------------------------------

    def get_endpoint(self, name: str | None) -> verification.Endpoint:
        return verification.get_endpoint(name)

    def read_body(self, request: HttpRequest, endpoint: verification.Endpoint) -> bytes:
        """The body, or :class:`~.verification.RequestTooLarge` (holding what was read)
        when it is larger than the endpoint's limit."""
        limit = endpoint.max_body_size
        declared = request.META.get("CONTENT_LENGTH")
        try:
            declared_size = int(declared) if declared else None
        except ValueError:
            raise verification.WebhookRequestRefused("invalid Content-Length") from None
        if declared_size is not None and declared_size > limit * TOO_LARGE_TO_CHECK:
            raise verification.RequestTooLarge(f"the body is over {limit} bytes")
        body = request.read(limit + 1)
        if len(body) > limit:
            error = verification.RequestTooLarge(f"the body is over {limit} bytes")
            error.head = body
            raise error
        return body

    def handle_too_large(self, request: HttpRequest, endpoint: verification.Endpoint,
                         refusal: verification.RequestTooLarge) -> processing.Outcome | None:
        """A body over the limit is read through once more to check its signature
        (without keeping it; up to TOO_LARGE_TO_CHECK times the limit). Signed by Stripe,
        it is stored as its beginning, marked failed: ``stripe_process_events --since``
        fetches the whole event from the Events API. None: not signed."""
        head = getattr(refusal, "head", None)
        if head is None:
            return None
        limit = endpoint.max_body_size

        def chunks():
            yield head
            remaining = limit * TOO_LARGE_TO_CHECK - len(head)
            while remaining > 0:
                chunk = request.read(min(65536, remaining))
                if not chunk:
                    return
                remaining -= len(chunk)
                yield chunk

        try:
            size = verification.verify_streamed(chunks(), request.headers.get("Stripe-Signature"),
                                                endpoint)
        except verification.WebhookRequestRefused:
            return None
        problem = (f"the body ({size} bytes) is over WEBHOOK_MAX_BODY_SIZE ({limit}); its beginning "
                   "is kept here, and `manage.py stripe_process_events --since` fetches the event "
                   "from the Events API")
        return self.receive(None, endpoint, raw=head[:65536], problem=problem)

    def verify(self, request: HttpRequest, body: bytes, endpoint: verification.Endpoint) -> dict[str, Any]:
        verification.verify_signature(body, request.headers.get("Stripe-Signature"), endpoint)
        event = verification.parse_event(body)
        problem = verification.payload_problem(event, endpoint)
        if problem:
            raise verification.UnusableEvent(problem)
        return event

    def handle_event(self, event: dict[str, Any], endpoint: verification.Endpoint) -> processing.Outcome:
        return self.receive(event, endpoint)

    def receive(self, event: dict[str, Any] | None, endpoint: verification.Endpoint,
                **kwargs: Unpack[ReceiveOptions]) -> processing.Outcome:
        """Store the event, then process it here, or with ``EVENTS_ON_TASKS`` enqueue
        its processing for a worker."""
        if stripe_settings.EVENTS_ON_TASKS:
            from ..tasks import receive_event_later

            return receive_event_later(event, endpoint=endpoint.name, **kwargs)
        return processing.receive_event(event, endpoint=endpoint.name, **kwargs)
