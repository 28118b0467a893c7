"""Signals of stripe_django. All are sent after the transaction that stored the change
has committed, so a receiver sees the rows and may enqueue work that reads them.

``event_processed``
    Sent once an event (delivered to the webhook view, or fetched from the Events API
    by ``manage.py stripe_process_events``) has been processed: its object, if mirrored,
    is in the database. ``sender`` is the :class:`~stripe_django.models.Event` model;
    keyword arguments: ``event`` (the stored ``Event`` row) and ``event_type``
    (``"invoice.paid"``). For a thin event notification (``event_type`` like
    ``"v1.invoice.paid"`` or ``"v2.core.account[requirements].updated"``), also
    ``related_object`` (the object fetched from the API, a ``StripeObject``; None when
    the notification names none or it is gone) and ``notification`` (the SDK's event
    notification, whose ``fetch_event()`` reads the full event).

    Use :func:`on_event` to receive only some event types.

``mirror_drift_found``
    Sent by ``manage.py stripe_verify`` (:func:`stripe_django.verify.verify`) for each
    (type, account) whose verification found differences, once its
    :class:`~stripe_django.models.VerificationRun` row is stored. ``sender`` is the
    ``VerificationRun`` model; keyword argument ``verification`` (the row: its counts and
    ``differences``). A project may alert on it.

Receivers of ``event_processed`` must be idempotent: Stripe delivers an event at least once, and when any
receiver raises, the exception is logged, the event is marked ``failed`` and answered
with 500, and the retry (by Stripe, or by ``stripe_process_events``) sends the signal to
every receiver again.
"""

from __future__ import annotations

import fnmatch
import logging
from typing import TYPE_CHECKING, Any, Callable, TypeVar

from django.dispatch import Signal

if TYPE_CHECKING:
    from .models import Event, VerificationRun

__all__ = ["event_processed", "on_event", "send_event_processed", "mirror_drift_found",
           "send_mirror_drift_found"]

logger = logging.getLogger("stripe_django.webhooks")

event_processed = Signal()
mirror_drift_found = Signal()

# A receiver: called with ``sender``, ``event``, ``event_type`` and further keyword arguments.
_Receiver = TypeVar("_Receiver", bound=Callable[..., Any])


def _matcher(patterns: tuple[str, ...]) -> Callable[[str], bool]:
    exact = frozenset(p for p in patterns if "*" not in p)
    globs = tuple(p for p in patterns if "*" in p)

    def matches(event_type: str) -> bool:
        return event_type in exact or any(fnmatch.fnmatchcase(event_type, g) for g in globs)

    return matches


def on_event(*event_types: str, dispatch_uid: str | None = None) -> Callable[[_Receiver], _Receiver]:
    """Connect the decorated function to :data:`event_processed` for some event types.

    ::

        @on_event("invoice.paid", "invoice.payment_failed")
        def invoice_settled(sender, event, event_type, **kwargs):
            ...

    A pattern may end in ``*`` (``"customer.subscription.*"``). The function is kept
    with a strong reference (it is usually a module-level function, but a closure works
    too), and connecting the same function twice has no effect.
    """
    if not event_types or not all(isinstance(t, str) and t for t in event_types):
        raise TypeError("on_event() needs at least one event type, e.g. on_event('invoice.paid')")
    matches = _matcher(event_types)

    def decorator(func: _Receiver) -> _Receiver:
        def receiver(sender: Any, event_type: str, **kwargs: Any) -> Any:
            if matches(event_type):
                return func(sender=sender, event_type=event_type, **kwargs)
            return None

        receiver.__name__ = getattr(func, "__name__", "receiver")
        receiver.__qualname__ = getattr(func, "__qualname__", receiver.__name__)
        receiver.__wrapped__ = func  # type: ignore[attr-defined]
        uid = dispatch_uid or (
            f"stripe_django.on_event:{getattr(func, '__module__', '')}."
            f"{getattr(func, '__qualname__', id(func))}:{','.join(event_types)}"
        )
        event_processed.connect(receiver, weak=False, dispatch_uid=uid)
        func.stripe_django_receiver = receiver  # type: ignore[attr-defined]
        func.disconnect = lambda: event_processed.disconnect(dispatch_uid=uid)  # type: ignore[attr-defined]
        return func

    return decorator


def send_event_processed(event: Event, **extra: Any) -> list[tuple[Callable[..., Any], BaseException]]:
    """Send :data:`event_processed` for a stored ``Event`` (``extra``: further keyword
    arguments for the receivers); return the receivers that raised, each with its
    exception (already logged)."""
    responses = event_processed.send_robust(sender=type(event), event=event, event_type=event.type,
                                            **extra)
    failures = [(receiver, result) for receiver, result in responses if isinstance(result, BaseException)]
    for receiver, error in failures:
        name = getattr(receiver, "__qualname__", repr(receiver))
        logger.error("stripe_django: receiver %s of event %s (%s) raised", name, event.id, event.type,
                     exc_info=(type(error), error, error.__traceback__))
    return failures


def send_mirror_drift_found(verification: VerificationRun) -> None:
    """Send :data:`mirror_drift_found` for a stored verification; a receiver that raises
    is logged, and the others still receive it."""
    responses = mirror_drift_found.send_robust(sender=type(verification), verification=verification)
    for receiver, result in responses:
        if isinstance(result, BaseException):
            name = getattr(receiver, "__qualname__", repr(receiver))
            logger.error("stripe_django: receiver %s of mirror_drift_found raised", name,
                         exc_info=(type(result), result, result.__traceback__))
