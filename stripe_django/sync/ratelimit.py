"""One request pacer shared by every sync worker.

Requests are spaced evenly at ``rate`` per second (no bursts: Stripe counts requests in
a sliding window, and a burst at the start would only earn 429s). When the API answers
429, :meth:`RateLimiter.pause` holds every worker back for the ``Retry-After`` the
response asked for.
"""

from __future__ import annotations

import threading
import time
from typing import Callable


class RateLimiter:
    """Thread-safe pacing: :meth:`acquire` returns when the caller may send a request."""

    def __init__(self, rate: float, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if rate <= 0:
            raise ValueError("the rate limit must be a positive number of requests per second")
        self.rate = float(rate)
        self.interval = 1.0 / self.rate
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next = clock()
        self.waited = 0.0  # seconds spent waiting, all workers together
        self.throttled = 0  # 429 answers

    def acquire(self) -> None:
        with self._lock:
            now = self._clock()
            slot = max(self._next, now)
            self._next = slot + self.interval
        delay = slot - now
        if delay > 0:
            self.waited += delay
            self._sleep(delay)

    def pause(self, seconds: float) -> None:
        """Hold every worker back ``seconds`` from now (a 429's ``Retry-After``)."""
        with self._lock:
            self.throttled += 1
            self._next = max(self._next, self._clock() + max(0.0, seconds))
