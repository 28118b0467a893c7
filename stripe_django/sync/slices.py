"""The first full pass of one long list, listed by several threads at once.

Stripe's lists come newest first, one page after another: each page asks for the objects
after the last one of the page before. One list therefore goes at one page per round
trip however many workers a run has: at 300 ms a request, about 330 objects a second,
a night for a few million invoices, while the rate limit would allow thirty times that.

A list that accepts a ``created`` filter is cut instead into windows of creation time
(``created[gte]``/``created[lte]``, whole seconds, no overlap), each listed by a thread
of its own, all behind the run's shared request pace. Where every window stands is kept
in the cursor's ``slices`` and stored with each page, so an interrupted pass resumes
each window where it stopped. This module is the bookkeeping; the listing itself is
``service._list_windows``.
"""

from __future__ import annotations

import threading
from typing import Any

__all__ = ["windows", "SliceBook", "STRIPE_LAUNCH", "WINDOWS_PER_WORKER", "MAX_WINDOWS"]

# Nothing at Stripe was created before its launch: the floor of the search for the oldest
# object of a list (2011-01-01).
STRIPE_LAUNCH = 1_293_840_000
# Windows per thread: a thread that finishes a small window takes the next, so windows
# of uneven size still keep every thread busy.
WINDOWS_PER_WORKER = 4
MAX_WINDOWS = 64
# A window shorter than this is not worth its own first request.
MIN_WINDOW_SECONDS = 3600


def windows(oldest: int, newest: int, count: int) -> list[dict[str, Any]]:
    """``[oldest, newest]`` cut into at most ``count`` windows of equal length, newest
    first. The oldest window has no lower bound, so that an object older than the
    estimate of ``oldest`` is still listed."""
    span = max(1, newest - oldest + 1)
    count = max(1, min(count, span // MIN_WINDOW_SECONDS))
    edges = [oldest + span * i // count for i in range(count + 1)]
    made = []
    for i in range(count):
        window: dict[str, Any] = {"lte": edges[i + 1] - 1, "starting_after": None, "done": False}
        if i > 0:
            window["gte"] = edges[i]
        made.append(window)
    made[-1]["lte"] = newest
    return list(reversed(made))


def created_filter(window: dict[str, Any]) -> dict[str, int]:
    """The ``created`` parameter of a window's list request."""
    bounds = {"lte": window["lte"]}
    if "gte" in window:
        bounds["gte"] = window["gte"]
    return bounds


def in_window(created: int | None, window: dict[str, Any]) -> bool:
    return created is None or (created <= window["lte"] and created >= window.get("gte", created))


class SliceBook:
    """The windows of one pass, shared by the threads that list them.

    A thread records each page it fetched and gets, under the same lock, the state of
    every window to store with that page. Holding the lock while it hands the page on
    makes the pages reach the writer in the order their states were taken: the state
    stored with a page never counts a page of another window not stored before it.
    """

    def __init__(self, slices: list[dict[str, Any]]) -> None:
        self.slices = [dict(window) for window in slices]
        self.lock = threading.Lock()

    def pending(self) -> list[int]:
        return [i for i, window in enumerate(self.slices) if not window["done"]]

    def record(self, index: int, starting_after: str | None, done: bool
               ) -> tuple[list[dict[str, Any]], bool]:
        """Window ``index`` goes on after ``starting_after`` (or is done): the state of
        every window, and whether all are done. Call with :attr:`lock` held."""
        window = self.slices[index]
        window["starting_after"] = None if done else starting_after
        window["done"] = done
        return [dict(w) for w in self.slices], all(w["done"] for w in self.slices)
