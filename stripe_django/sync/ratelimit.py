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


# --- one pace for every worker of an API key (stripe_sync --enqueue) ----------------------

class SharedRateLimiter:
    """:class:`RateLimiter`'s pacing, shared by every process and machine that syncs with
    one API key: the next free request slot lives in the database
    (:class:`~stripe_django.models.SyncRateLimit`) or in Redis, and each :meth:`acquire`
    takes one slot atomically, ``1/rate`` seconds after the previous one whoever took it.

    The database store takes a slot with a compare-and-set ``UPDATE`` (two statements
    per request, outside any transaction) and uses each machine's wall clock; the Redis
    store takes it with one Lua script on Redis's own clock.
    """

    def __init__(self, key: str, rate: float, store: "SlotStore", *,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if rate <= 0:
            raise ValueError("the rate limit must be a positive number of requests per second")
        self.key = key
        self.rate = float(rate)
        self.interval_us = max(1, int(round(1_000_000 / self.rate)))
        self.store = store
        self._sleep = sleep
        self._lock = threading.Lock()
        self.waited = 0.0
        self.throttled = 0

    def acquire(self) -> None:
        slot, now = self.store.take(self.key, self.interval_us)
        delay = (slot - now) / 1_000_000
        if delay > 0:
            with self._lock:
                self.waited += delay
            self._sleep(delay)

    def pause(self, seconds: float) -> None:
        with self._lock:
            self.throttled += 1
        self.store.push_back(self.key, int(max(0.0, seconds) * 1_000_000))


class SlotStore:
    """Where a :class:`SharedRateLimiter` keeps the next free slot (microseconds)."""

    def take(self, key: str, interval_us: int) -> tuple[int, int]:
        """Take the next slot; returns (slot, now), both in microseconds."""
        raise NotImplementedError

    def push_back(self, key: str, delay_us: int) -> None:
        """No slot before now + ``delay_us`` (a 429's Retry-After)."""
        raise NotImplementedError


class DatabaseSlots(SlotStore):
    """Slots in the ``SyncRateLimit`` table (one row per key)."""

    # A table locked by a writer (SQLite) is tried again for this long.
    LOCKED_TIMEOUT = 30.0

    def __init__(self, using: str) -> None:
        self.using = using

    def _rows(self):
        from ..models import SyncRateLimit

        return SyncRateLimit._default_manager.using(self.using)

    def _cas(self, key: str, change: Callable[[int, int], int]) -> tuple[int, int]:
        from django.db import IntegrityError, OperationalError

        deadline = time.monotonic() + self.LOCKED_TIMEOUT
        while True:
            try:
                now = time.time_ns() // 1000
                rows = self._rows()
                current = rows.filter(key=key).values_list("next_at", flat=True).first()
                if current is None:
                    try:
                        rows.create(key=key, next_at=change(now, now))
                        return now, now
                    except IntegrityError:
                        continue
                if rows.filter(key=key, next_at=current).update(next_at=change(current, now)) == 1:
                    return max(current, now), now
            except OperationalError as error:
                # SQLite: another connection writes (its page transaction); a moment.
                if "locked" not in str(error) or time.monotonic() > deadline:
                    raise
                time.sleep(0.005)

    def take(self, key: str, interval_us: int) -> tuple[int, int]:
        return self._cas(key, lambda current, now: max(current, now) + interval_us)

    def push_back(self, key: str, delay_us: int) -> None:
        self._cas(key, lambda current, now: max(current, now + delay_us))


class RedisSlots(SlotStore):
    """Slots in Redis, on Redis's clock (``TIME``), one key per API key."""

    _TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local slot = math.max(tonumber(redis.call('GET', KEYS[1]) or '0'), now)
redis.call('SET', KEYS[1], slot + tonumber(ARGV[1]), 'PX', 3600000)
return {slot, now}
"""
    _PUSH = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local slot = math.max(tonumber(redis.call('GET', KEYS[1]) or '0'), now + tonumber(ARGV[1]))
redis.call('SET', KEYS[1], slot, 'PX', 3600000)
return slot
"""

    def __init__(self, url: str, prefix: str = "stripe_django:sync:rate:") -> None:
        import redis

        self.redis = redis.Redis.from_url(url)
        self.prefix = prefix
        self._take = self.redis.register_script(self._TAKE)
        self._push = self.redis.register_script(self._PUSH)

    def take(self, key: str, interval_us: int) -> tuple[int, int]:
        slot, now = self._take(keys=[self.prefix + key], args=[interval_us])
        return int(slot), int(now)

    def push_back(self, key: str, delay_us: int) -> None:
        self._push(keys=[self.prefix + key], args=[delay_us])


def shared_limiter(api_key: str, rate: float, *, using: str, redis_url: str | None = None
                   ) -> SharedRateLimiter:
    """The limiter shared by every worker of ``api_key`` (named by a digest of it)."""
    import hashlib

    name = hashlib.sha256(api_key.encode()).hexdigest()[:32]
    store: SlotStore = RedisSlots(redis_url) if redis_url else DatabaseSlots(using)
    return SharedRateLimiter(name, rate, store)
