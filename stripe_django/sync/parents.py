"""The parents of nested lists, listed once per run and account.

A nested list (a customer's tax ids, a product's features) is listed parent by parent,
so each needs the parents' ids; without sharing them, every nested list of a parent
lists the parent again (customers four times per account and run). The first nested
list to walk a parent list in a run lists it whole, up to ``MAX_SHARED_PARENTS``, and
keeps the parents' ids, ``created`` and the lists embedded in them (a customer's first tax
ids and sources, asked for with ``expand``); the others of the run walk those. A longer
parent list is not kept (memory stays flat): each nested list walks it on its own, as
before. Only the last ``MAX_ENTRIES`` parent lists are kept, so a run over thousands of
accounts holds a few accounts' parents at a time.
"""

from __future__ import annotations

import collections
import threading
from typing import Any, Callable, Hashable, Iterator, Sequence

__all__ = ["ParentPages", "MAX_SHARED_PARENTS", "MAX_ENTRIES"]

# Parents kept for the other nested lists of a run (a few pages of 100).
MAX_SHARED_PARENTS = 1000
# Parent lists kept at once (accounts are synced one after the other).
MAX_ENTRIES = 64

Pages = list[tuple[list[dict[str, Any]], bool]]


class _Entry:
    def __init__(self) -> None:
        self.ready = threading.Event()
        self.pages: Pages | None = None  # None: too long to keep, or its listing failed


class ParentPages:
    """Parent lists shared by the nested lists of one run (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: collections.OrderedDict[Hashable, _Entry] = collections.OrderedDict()
        self.listed = 0  # parent lists read (for tests and the curious)
        self.shared = 0  # parent lists walked from what another nested list read

    def pages(self, key: Hashable, listing: Callable[[], Iterator[tuple[list[dict], bool]]],
              keep: Sequence[str] = ()) -> Iterator[tuple[list[dict], bool]]:
        """The pages of parents ``listing`` yields (objects, has_more), listed once per
        ``key`` (the parent list, account, filter, expansions and starting point). What
        is kept of each parent for the other nested lists: its id, ``created`` and the
        fields ``keep`` (the embedded lists the listing expands)."""
        with self._lock:
            entry = self._entries.get(key)
            owner = entry is None
            if owner:
                entry = self._entries[key] = _Entry()
                while len(self._entries) > MAX_ENTRIES:
                    self._entries.popitem(last=False)
            else:
                self._entries.move_to_end(key)
        assert entry is not None
        if not owner:
            entry.ready.wait()
            if entry.pages is not None:
                with self._lock:
                    self.shared += 1
                yield from entry.pages
                return
            yield from listing()
            return
        with self._lock:
            self.listed += 1
        yield from self._list_and_keep(entry, listing, ("id", "created", *keep))

    @staticmethod
    def _list_and_keep(entry: _Entry, listing: Callable[[], Iterator[tuple[list[dict], bool]]],
                       fields: tuple[str, ...]) -> Iterator[tuple[list[dict], bool]]:
        # The parent pages are read before any is walked (a page of 100 parents is one
        # request; their children are many more), so the other nested lists wait for
        # the parents' pages only, not for this list's children.
        kept: Pages = []
        count = 0
        pages = listing()
        try:
            for objs, has_more in pages:
                kept.append(([{f: o.get(f) for f in fields} for o in objs], has_more))
                count += len(objs)
                if count > MAX_SHARED_PARENTS and has_more:
                    break
            else:
                entry.pages = kept
        finally:
            entry.ready.set()
        if entry.pages is not None:
            yield from kept
            return
        # Too long to keep: walk what was read, then the rest as it comes.
        yield from kept
        yield from pages
