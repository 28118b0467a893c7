"""An Amazon SQS consumer of Stripe events routed by EventBridge (used by
``manage.py stripe_sqs_poll``; an example of a cloud event bus consumer).

An EventBridge rule on Stripe's partner event bus targets an SQS queue; each message's
body is the EventBridge event, handed to :func:`~.cloud.receive_cloud_event`. A message
is deleted once its event is stored (processed, or marked failed for a reason that no
redelivery can help: ``stripe_process_events`` retries it from the database). It is
left on the queue when processing failed for a reason that may pass, or when it is not
a Stripe event: SQS delivers it again after its visibility timeout, and a redrive
policy moves it to a dead-letter queue after enough attempts.

``boto3`` is not a dependency of stripe_django: install it to use this module.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Callable

from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError

from .cloud import CloudEventError, receive_cloud_event

logger = logging.getLogger("stripe_django.webhooks")

__all__ = ["SQSTally", "handle_message", "poll", "sqs_client"]

# SQS's limits for one ReceiveMessage call.
MAX_MESSAGES = 10
MAX_WAIT_SECONDS = 20


@dataclass
class SQSTally:
    """What :func:`poll` did."""

    received: int = 0
    processed: int = 0  # stored and processed (or processed before, or queued)
    failed: int = 0  # stored, marked failed (deleted from the queue)
    left: int = 0  # left on the queue to be delivered again


def sqs_client(region: str | None = None) -> Any:
    """A boto3 SQS client (credentials and region from boto3's usual sources)."""
    try:
        import boto3
    except ImportError:
        raise ImproperlyConfigured(
            "reading Stripe events from Amazon SQS needs boto3, which stripe_django does not "
            "install: pip install boto3") from None
    return boto3.client("sqs", region_name=region) if region else boto3.client("sqs")


def handle_message(body: str, *, using: str | None = None) -> str:
    """Store and process the event of one message body; returns what became of it:
    ``"processed"``, ``"failed"`` (stored, marked failed: delete the message) or
    ``"left"`` (leave it on the queue)."""
    try:
        outcome = receive_cloud_event(body, using=using)
    except CloudEventError as error:
        logger.error("stripe_django: an SQS message is not a Stripe event; left on the queue: %s",
                     error)
        return "left"
    except DatabaseError as error:
        # The database is down or busy beyond the store's own retries: the message stays
        # on the queue (SQS delivers it again) and the consumer keeps polling.
        logger.warning("stripe_django: an SQS message could not be stored (%s: %s); left on "
                       "the queue", type(error).__name__, error)
        return "left"
    if outcome.ok:
        return "processed"
    return "left" if outcome.transient else "failed"


def poll(queue_url: str, *, client: Any = None, region: str | None = None,
         wait: int = MAX_WAIT_SECONDS, batch: int = MAX_MESSAGES, once: bool = False,
         using: str | None = None, should_stop: Callable[[], bool] = lambda: False) -> SQSTally:
    """Receive messages from ``queue_url`` (long polling, ``wait`` seconds) and handle
    each; until ``should_stop()`` says so, or after one receive with ``once``.
    ``client``: a boto3 SQS client (default: :func:`sqs_client`)."""
    client = client or sqs_client(region)
    tally = SQSTally()
    while not should_stop():
        answer = client.receive_message(QueueUrl=queue_url,
                                        MaxNumberOfMessages=min(batch, MAX_MESSAGES),
                                        WaitTimeSeconds=min(wait, MAX_WAIT_SECONDS))
        for message in answer.get("Messages", []):
            tally.received += 1
            result = handle_message(message.get("Body", ""), using=using)
            setattr(tally, result, getattr(tally, result) + 1)
            if result != "left":
                client.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        if once:
            break
    return tally
