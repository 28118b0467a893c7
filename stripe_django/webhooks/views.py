"""The webhook view: verify, store, process, answer. The logic lives in
:mod:`.verification` and :mod:`.processing`; this module only speaks HTTP.

Answers: 200 once the event is stored and processed (or was before, or its type is not
mirrored), and also for a verified event that is stored but can never be processed (its
payload is refused: a redelivery would fail the same way; the row says why); 400 for a
request that is not signed by Stripe (413 for a body over ``WEBHOOK_MAX_BODY_SIZE``),
nothing stored; 404 for an unknown named endpoint; 500 when processing fails for a
reason that may pass (database busy, API unreachable), so that Stripe delivers it again.
Answers never carry a traceback or the payload.
"""

from __future__ import annotations

import logging
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.utils.decorators import method_decorator
from django.views import View
from django.db import transaction
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_variables

from . import processing, verification

logger = logging.getLogger("stripe_django.webhooks")

__all__ = ["WebhookView"]


@method_decorator(csrf_exempt, name="dispatch")
@method_decorator(transaction.non_atomic_requests, name="dispatch")
class WebhookView(View):
    """Receives Stripe events. Subclass and override a step to change it:
    :meth:`get_endpoint`, :meth:`read_body`, :meth:`verify`, :meth:`handle_event`.
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
        except verification.WebhookRequestRefused as refusal:
            logger.warning("stripe_django: refused a webhook request to %s from %s: %s",
                           f"endpoint {endpoint.name!r}" if endpoint.name else "the default endpoint",
                           request.META.get("REMOTE_ADDR", "?"), refusal)
            return HttpResponse(f"refused: {refusal}\n", status=refusal.status_code,
                                content_type="text/plain")
        except verification.UnusableEvent as problem:
            # Signed by Stripe, so kept, though it cannot be processed.
            outcome = processing.receive_event(None, endpoint=endpoint.name, raw=body,
                                               problem=str(problem))
        else:
            outcome = self.handle_event(event, endpoint)
        if not outcome.ok:
            if outcome.transient:
                return HttpResponse("processing failed; the event is stored and will be retried\n",
                                    status=500, content_type="text/plain")
            return HttpResponse("stored; it cannot be processed (the stored event says why)\n",
                                content_type="text/plain")
        answer = "already processed" if outcome.status == processing.DUPLICATE else (
            "stored (object type not mirrored)" if outcome.ignored else "processed")
        return HttpResponse(answer + "\n", content_type="text/plain")

    # --- steps ---------------------------------------------------------------------

    def get_endpoint(self, name: str | None) -> verification.Endpoint:
        return verification.get_endpoint(name)

    def read_body(self, request: HttpRequest, endpoint: verification.Endpoint) -> bytes:
        """The body, refused when larger than the endpoint's limit (read no further)."""
        limit = endpoint.max_body_size
        declared = request.META.get("CONTENT_LENGTH")
        try:
            if declared and int(declared) > limit:
                raise verification.RequestTooLarge(f"the body is over {limit} bytes")
        except ValueError:
            raise verification.WebhookRequestRefused("invalid Content-Length") from None
        body = request.read(limit + 1)
        if len(body) > limit:
            raise verification.RequestTooLarge(f"the body is over {limit} bytes")
        return body

    def verify(self, request: HttpRequest, body: bytes, endpoint: verification.Endpoint) -> dict[str, Any]:
        verification.verify_signature(body, request.headers.get("Stripe-Signature"), endpoint)
        return verification.parse_event(body)

    def handle_event(self, event: dict[str, Any], endpoint: verification.Endpoint) -> processing.Outcome:
        return processing.receive_event(event, endpoint=endpoint.name)
