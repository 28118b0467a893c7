"""Webhooks: verify Stripe's signature, store the event, process it through ingest.

Public API: :class:`~.views.WebhookView` (routed by ``stripe_django.urls``),
:func:`~.processing.receive_event`, :func:`~.processing.store_event`,
:func:`~.processing.process_event`, and the recovery functions of :mod:`.recovery`.

Events from a cloud event bus (Amazon EventBridge, Azure Event Grid):
:func:`receive_cloud_event`; thin event notifications: :mod:`.thin`.
"""

from .cloud import receive_cloud_event

__all__ = ["receive_cloud_event"]
