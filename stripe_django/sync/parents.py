"""The parents of nested lists, listed once per run and account.

A nested list (a customer's tax ids, a product's features) is listed parent by parent,
so each needs the parents' ids; without sharing them, every nested list of a parent
lists the parent again (customers five times per account and run, with their own list).
In a first pass the parent's own list *publishes* its pages (:meth:`ParentPages.publish`):
it lists the parents once, with the expansions its nested lists want, stores them as a
plain listing would, and keeps what the nested lists need. Where no shard of the run
publishes a parent list, the first nested list to walk it lists it whole and keeps it
for the others (:meth:`ParentPages.pages`). What is kept of a parent: its id,
``created`` and the lists embedded in it (a customer's first tax ids and sources).

Memory stays flat: a parent list longer than ``MAX_SHARED_PARENTS`` is not kept (each
nested list walks it on its own, as before), and only the last ``MAX_ENTRIES`` parent
lists are kept, so a run over thousands of accounts holds a few accounts' parents at a
time. A published listing that does not end with the whole list kept (too long, cut into
created windows, failed, stopped) hands the listing over to the first nested list that
waits for it, which then lists and keeps it as above.
"""

from __future__ import annotations

import collections
import threading
from typing import Any, Callable, Hashable, Iterator, Sequence

__all__ = ["ParentPages", "Publisher", "Page", "MAX_SHARED_PARENTS", "MAX_ENTRIES"]

# Parents kept for the other nested lists of a run (a few pages of 100).
MAX_SHARED_PARENTS = 1000
# Parent lists kept at once (accounts are synced one after the other).
MAX_ENTRIES = 64

# A page of parents: (objects, has_more, resume point). The resume point (where the list
# continues after the page: its last id, or a v2 list's page token) is taken by the
# thread that fetched the page, as it fetched it: the nested lists walk the pages later,
# from other threads or after reading ahead, when that thread's last token is another
# page's.
Page = tuple[list[dict[str, Any]], bool, "str | None"]
Pages = list[Page]


class _Entry:
    def __init__(self) -> None:
        self.ready = threading.Event()
        self.pages: Pages | None = None  # None: too long to keep, or its listing failed
        # The publishing listing ended without the whole list: a waiting nested list
        # takes the listing over (it is no longer in the entries).
        self.handed_over = False


def _trimmed(objs: list[dict], fields: tuple[str, ...]) -> list[dict]:
    return [{f: o.get(f) for f in fields} for o in objs]


class Publisher:
    """The pages of a parent list as its own shard lists them (:meth:`ParentPages.publish`):
    :meth:`add` each page as it is listed, then :meth:`close`. Only the fields the
    nested lists use are kept (new dicts); the fields ``strip`` (the expansions only the
    nested lists asked for) are then taken out of the caller's objects, which are stored
    as a plain listing has them."""

    def __init__(self, owner: "ParentPages", key: Hashable, entry: _Entry,
                 fields: tuple[str, ...], strip: tuple[str, ...]) -> None:
        self._owner = owner
        self._key = key
        self._entry = entry
        self._fields = fields
        self._strip = strip
        self._kept: Pages | None = []
        self._count = 0

    def add(self, objs: list[dict], has_more: bool, resume: str | None) -> None:
        """A page of the parent list, in order from its start (every page of the
        listing, kept or not: each is stripped), and where the list resumes after it."""
        if self._kept is not None:
            self._kept.append((_trimmed(objs, self._fields), has_more, resume))
            self._count += len(objs)
            if not has_more:
                self.close()
            elif self._count > MAX_SHARED_PARENTS:
                # Too long to keep: the nested lists need not wait for the rest of it.
                self.close()
        for obj in objs:
            for name in self._strip:
                obj.pop(name, None)

    @property
    def keeping(self) -> bool:
        """Whether the pages added are still kept for the nested lists (False once the
        list is too long to keep, or closed)."""
        return self._kept is not None

    def close(self) -> None:
        """The listing has ended (every page added, or not: then the nested lists list
        the parents on their own). Idempotent."""
        kept, self._kept = self._kept, None
        if self._entry.ready.is_set():
            return
        if kept and not kept[-1][1]:  # the last page came: the whole list is kept
            self._entry.pages = kept
        else:
            self._owner._hand_over(self._key, self._entry)
        self._entry.ready.set()


class ParentPages:
    """Parent lists shared by the nested lists of one run (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: collections.OrderedDict[Hashable, _Entry] = collections.OrderedDict()
        # The (parent list name, account) pairs whose nested lists are in the run's
        # current batch: only those are worth publishing (set by the run).
        self.wanted: frozenset[tuple[str, str | None]] = frozenset()
        self.listed = 0  # parent lists read (for tests and the curious)
        self.shared = 0  # parent lists walked from what another list read

    def _new_entry(self, key: Hashable) -> _Entry:
        # under self._lock
        entry = self._entries[key] = _Entry()
        while len(self._entries) > MAX_ENTRIES:
            self._entries.popitem(last=False)
        return entry

    def _hand_over(self, key: Hashable, entry: _Entry) -> None:
        with self._lock:
            entry.handed_over = True
            if self._entries.get(key) is entry:
                del self._entries[key]

    def publish(self, key: Hashable, keep: Sequence[str] = (),
                strip: tuple[str, ...] = ()) -> Publisher | None:
        """A :class:`Publisher` for the parent list ``key`` (as in :meth:`pages`) that the
        caller lists from its start; None when a nested list reads or has read it
        already (the caller then lists it for itself only). ``strip``: see
        :class:`Publisher`."""
        with self._lock:
            if key in self._entries:
                return None
            entry = self._new_entry(key)
            self.listed += 1
        return Publisher(self, key, entry, ("id", "created", *keep), strip)

    def pages(self, key: Hashable, listing: Callable[[], Iterator[Page]],
              keep: Sequence[str] = ()) -> Iterator[Page]:
        """The pages of parents ``listing`` yields (objects, has_more, resume point), listed once per
        ``key`` (the parent list, account, filter, expansions and starting point). What
        is kept of each parent for the other nested lists: its id, ``created`` and the
        fields ``keep`` (the embedded lists the listing expands)."""
        while True:
            with self._lock:
                entry = self._entries.get(key)
                owner = entry is None
                if owner:
                    entry = self._new_entry(key)
                    self.listed += 1
                else:
                    self._entries.move_to_end(key)
            assert entry is not None
            if owner:
                yield from self._list_and_keep(entry, listing, ("id", "created", *keep))
                return
            entry.ready.wait()
            if entry.pages is not None:
                with self._lock:
                    self.shared += 1
                yield from entry.pages
                return
            if not entry.handed_over:
                yield from listing()  # too long to keep: listed on its own
                return
            # The publishing listing ended short: the first to get here lists it.

    @staticmethod
    def _list_and_keep(entry: _Entry, listing: Callable[[], Iterator[Page]],
                       fields: tuple[str, ...]) -> Iterator[Page]:
        # The parent pages are read before any is walked (a page of 100 parents is one
        # request; their children are many more), so the other nested lists wait for
        # the parents' pages only, not for this list's children.
        kept: Pages = []
        count = 0
        pages = listing()
        try:
            for objs, has_more, resume in pages:
                kept.append((_trimmed(objs, fields), has_more, resume))
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
