"""Webhooks: verify Stripe's signature, store the event, process it through ingest.

Public API: :class:`~.views.WebhookView` (routed by ``stripe_django.urls``),
:func:`~.processing.receive_event`, :func:`~.processing.store_event`,
:func:`~.processing.process_event`, and the recovery functions of :mod:`.recovery`.
"""
