"""Secrets out of the stripe SDK's own log.

stripe-python logs every response body on its ``stripe`` logger at DEBUG, and the
requests (the URL with its query string at INFO, the form-encoded body at DEBUG): a
payment intent's ``client_secret``, a new webhook endpoint's ``secret``, a card number
sent to create a card. The app installs :class:`RedactSecrets` on that logger when
Django starts, so the project's promise that secrets never reach a log holds at any log
level. It rewrites each record's text with
:func:`stripe_django.ingest.redaction.redact_text` (JSON and form values).
``STRIPE_DJANGO["REDACT_SDK_LOGS"] = False`` turns it off (read at each record).

What the SDK prints itself when ``stripe.log = "debug"`` (to stderr, not through
logging) is out of reach: leave ``stripe.log`` unset in production.
"""

from __future__ import annotations

import logging

__all__ = ["RedactSecrets", "install"]

SDK_LOGGER = "stripe"


class RedactSecrets(logging.Filter):
    """Replaces the value of every redacted key in a record's message by
    ``"[redacted]"``; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        from .conf import stripe_settings
        from .ingest.redaction import redact_text

        # A logger's filters run outside the handlers' error handling: anything raised
        # here would reach the SDK call that logged. A record that cannot be read is
        # withheld rather than passed on unredacted.
        try:
            if not stripe_settings.REDACT_SDK_LOGS:
                return True
            message = record.getMessage()
            redacted = redact_text(message)
        except Exception:
            record.msg, record.args = "[a stripe SDK log record withheld: it could not be redacted]", None
            return True
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def install() -> None:
    """Add :class:`RedactSecrets` to the SDK's logger, once."""
    logger = logging.getLogger(SDK_LOGGER)
    if not any(isinstance(f, RedactSecrets) for f in logger.filters):
        logger.addFilter(RedactSecrets())
