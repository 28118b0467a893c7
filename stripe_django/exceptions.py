"""Exceptions raised by stripe_django."""

from __future__ import annotations


class StripeDjangoError(Exception):
    """Base class of the app's own errors."""


class IngestError(StripeDjangoError):
    """A payload that cannot be stored: no ``object``/``id``, an unknown type, or a value
    of the wrong type. Names the object type, the id and the field where known.
    """

    def __init__(self, message: str, *, object_type: str | None = None,
                 object_id: str | None = None, field: str | None = None) -> None:
        self.object_type = object_type
        self.object_id = object_id
        self.field = field
        self.reason = message
        where = " ".join(
            part for part in (
                object_type or "object",
                object_id or "(no id)",
                f"field {field!r}" if field else "",
            ) if part
        )
        super().__init__(f"{where}: {message}")


class MirrorError(StripeDjangoError):
    """The mirrored client got an answer from Stripe but could not store it (raised only
    with ``STRIPE_DJANGO["MIRROR_FAILURES"] = "raise"``). The API call itself succeeded:
    ``payload`` is its answer (a plain dict), ``errors`` says why it was not stored.
    """

    def __init__(self, message: str, *, payload: object = None,
                 errors: list[BaseException] | None = None) -> None:
        self.payload = payload
        self.errors = list(errors or [])
        super().__init__(message)


class NoStripeMethods(StripeDjangoError, AttributeError):
    """A row or model has no stripe-python methods: its type has no service in the SDK,
    or the row lacks a parent id its API path needs. An ``AttributeError`` too, so that
    ``hasattr(row, "stripe")`` and ``getattr(row, "stripe", None)`` answer instead of
    raising."""
