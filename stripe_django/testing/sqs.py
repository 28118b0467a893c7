"""A stand-in for a boto3 SQS client, for tests of :mod:`stripe_django.webhooks.sqs`:
a queue in memory with the two calls the poller makes (``receive_message``,
``delete_message``) and SQS's redelivery of what is received but not deleted."""

from __future__ import annotations

import itertools
from typing import Any

__all__ = ["MemoryQueue"]


class MemoryQueue:
    """Messages in memory. A received message that is not deleted is delivered again by
    the next receive (a visibility timeout of one poll). :attr:`deleted` lists the
    bodies deleted, :attr:`waiting` those still on the queue."""

    def __init__(self, queue_url: str = "https://sqs.example/123/stripe") -> None:
        self.queue_url = queue_url
        self._handles = itertools.count(1)
        self._waiting: list[str] = []
        self._in_flight: dict[str, str] = {}  # receipt handle -> body
        self.deleted: list[str] = []

    def send(self, body: str) -> None:
        self._waiting.append(body)

    @property
    def waiting(self) -> list[str]:
        return [*self._in_flight.values(), *self._waiting]

    def receive_message(self, *, QueueUrl: str, MaxNumberOfMessages: int = 1,  # noqa: N803
                        WaitTimeSeconds: int = 0) -> dict[str, Any]:
        self._check(QueueUrl)
        self._waiting[:0] = self._in_flight.values()  # their visibility timeout is over
        self._in_flight.clear()
        batch, self._waiting = self._waiting[:MaxNumberOfMessages], self._waiting[MaxNumberOfMessages:]
        messages = []
        for body in batch:
            handle = f"rh-{next(self._handles)}"  # a new one for each delivery, as in SQS
            self._in_flight[handle] = body
            messages.append({"MessageId": handle, "ReceiptHandle": handle, "Body": body})
        return {"Messages": messages} if messages else {}

    def delete_message(self, *, QueueUrl: str, ReceiptHandle: str) -> dict[str, Any]:  # noqa: N803
        self._check(QueueUrl)
        self.deleted.append(self._in_flight.pop(ReceiptHandle))
        return {}

    def _check(self, url: str) -> None:
        if url != self.queue_url:
            raise ValueError(f"no such queue: {url}")
