"""Webhooks: verify Stripe's signature, store the event, process it through ingest.

Public API: :class:`~.views.WebhookView` (routed by ``stripe_django.urls``),
:func:`~.processing.receive_event`, :func:`~.processing.store_event`,
:func:`~.processing.process_event`, and the recovery functions of :mod:`.recovery`.

Events from a cloud event bus (Amazon EventBridge, Azure Event Grid):
:func:`receive_cloud_event`; thin event notifications: :mod:`.thin`.
"""

from typing import Any

__all__ = ["receive_cloud_event"]


def __getattr__(name: str) -> Any:
    # Imported on first use: the package's modules (verification, for the checks) stay
    # importable before the app registry is ready.
    if name == "receive_cloud_event":
        from .cloud import receive_cloud_event

        return receive_cloud_event
    raise AttributeError(name)
