"""What one list shard does: a full pass (resumable, and cut into created windows when
it is long), then on later runs only what is new (``created`` filter where the list has
one; a nested list walks only the parents created since, and all of them again every
``SYNC_EMPTY_LISTS_EVERY``), or everything again where the server does not filter by
``created``.

Each strategy is a method of :class:`ShardListing`, which reads the shard's cursor state
and puts its pages in an :class:`~.shards.Outbox`; the cursor fields that go with a page
are stored with its rows, so a run stopped anywhere resumes after the last stored page.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any, Generator, Iterator

import stripe
from django.utils import timezone

from .. import type_table as table
from ..conf import stripe_settings
from .evented import whole_walk_due
from .fetcher import Fetcher, describe, is_unavailable
from .marks import Found, HighWater, LowWater, created_of, pass_done
from .parents import Page as ParentPage, Publisher
from .shards import Outbox, Page, Shard, list_spec
from .windows import find_windows, list_windows

__all__ = ["ShardListing", "PAGES_BEFORE_WINDOWS", "shared_parent_params", "embedded_fields", "parent_key"]

# Pages of a first pass listed in one go before the rest may be cut into windows: a list
# this short never pays for the search and the windows' first requests.
PAGES_BEFORE_WINDOWS = 5


class ShardListing:
    """The listing of one shard: :meth:`run` picks the strategy its cursor calls for."""

    def __init__(self, shard: Shard, fetcher: Fetcher, out: Outbox) -> None:
        self.shard = shard
        self.fetcher = fetcher
        self.out = out

    def run(self) -> None:
        shard = self.shard
        spec, state, report = list_spec(shard), shard.state, shard.report
        params = dict(spec.params)
        if not state.get("complete"):
            if state.get("slices"):
                report.mode = "resumed"
                list_windows(shard, self.fetcher, self.out, params, state["slices"])
                return
            report.mode = "resumed" if state.get("starting_after") else "full"
            self.full_pass(params)
            return
        if state.get("found_objects") is False:
            # Empty at its last listing, and due again (.evented): listed whole, parents
            # and all, so that a new child of an old parent is found too.
            report.mode = "rechecked"
            self.relist(params)
            return
        if whole_walk_due(shard, timezone.now(), stripe_settings.empty_lists_every):
            # The parents created since would not show a new child of an old parent.
            report.mode = "rewalked"
            self.relist(params)
            return
        since = state.get("created_after")
        parent = table.SYNC_LISTS[spec.parent] if spec.parent else spec
        if parent.created_filter and since is not None:
            report.mode = "incremental"
            try:
                self.incremental(params, since)
                return
            except (stripe.InvalidRequestError, stripe.APIError) as error:
                if report.fetched or is_unavailable(error):
                    raise
                # The server does not filter this list by ``created`` (localstripe on most
                # lists): list it all again, which the staleness-safe ingest absorbs.
                report.note(f"the server does not filter this list by created; listed in full "
                            f"({describe(error)})")
        report.mode = "relisted"
        self.relist(params)

    # --- a full pass -----------------------------------------------------------------

    def full_pass(self, params: dict[str, Any]) -> None:
        """Everything, from where the cursor's pass stands (``starting_after``)."""
        if list_spec(self.shard).parent:
            self._full_pass_by_parents()
        else:
            self._full_pass_of_list(params)

    def _full_pass_by_parents(self) -> None:
        # One stored page per page of parents, so that the cursor (the last parent whose
        # children are stored) moves on even where children are few.
        shard, state = self.shard, self.shard.state
        started = state.get("pass_started_at") or timezone.now()
        high = HighWater.of(state)
        found = Found(state.get("found_objects"))
        finish = pass_done(started)
        walk_state: dict[str, Any] = {}
        for parents, has_more, resume in self._parent_pages(None, state.get("starting_after")):
            stamp = int(time.time())
            high.add(parents)
            children = self._children(parents, walk_state)
            cursor = {"pass_started_at": started, **high.fields(),
                      **found.fields(children, final=not has_more)}
            if has_more:
                cursor["starting_after"] = resume
            else:
                cursor.update(finish, last_synced_at=timezone.now())
            self.out.put(Page(shard, children, stamp, cursor, fetched=len(children)))

    def _full_pass_of_list(self, params: dict[str, Any]) -> None:
        # A full pass of a long list, with threads to spare, is cut into created windows
        # once its first pages in this run show it is long (see .slices); a resumed pass
        # too, below where it stands.
        shard, fetcher, state = self.shard, self.fetcher, self.shard.state
        started = state.get("pass_started_at") or timezone.now()
        finish = pass_done(started)
        may_slice = bool(list_spec(shard).created_filter and fetcher.workers > 1)
        # From its start, the list is read once for its nested lists too (.parents): with
        # their expansions, which are kept for them and left out of what is stored.
        publisher = None if state.get("starting_after") else self._publisher()
        pages = self._pages(params, publisher, state.get("starting_after"))
        try:
            self._walk(pages, params, publisher, may_slice, started, finish)
        finally:
            if publisher is not None:
                publisher.close()  # a list not walked to its end: the nested lists list it

    def _walk(self, pages: Any, params: dict[str, Any], publisher: Publisher | None,
              may_slice: bool, started: dt.datetime, finish: dict[str, Any]) -> None:
        shard, fetcher, state = self.shard, self.fetcher, self.shard.state
        high = HighWater.of(state)
        found = Found(state.get("found_objects"))
        listed, first_created, low = 0, None, LowWater(None, ())
        for number, (objs, has_more, stamp, resume) in enumerate(pages, 1):
            for obj in objs:
                fetcher.complete_embedded(obj, shard.account, shard.report)
            high.add(objs)
            listed += len(objs)
            if first_created is None and objs:
                first_created = created_of(objs[0])
            if may_slice:
                low.add(objs)
            cursor = {"pass_started_at": started, **high.fields(),
                      **found.fields(objs, final=not has_more)}
            if has_more and may_slice and number >= PAGES_BEFORE_WINDOWS:
                may_slice = False
                cut = find_windows(shard, fetcher, params, objs[-1], listed, first_created)
                if cut:
                    pages.close()
                    if publisher is not None:
                        publisher.close()  # the windows list the rest, without expansions
                    self.out.put(Page(shard, objs, stamp, {**cursor, "slices": cut},
                                      fetched=len(objs)))
                    list_windows(shard, fetcher, self.out, params, cut, started, high,
                                 frozenset(low.ids))
                    return
            if has_more:
                cursor["starting_after"] = resume
            else:
                cursor.update(finish, last_synced_at=timezone.now())
            self.out.put(Page(shard, objs, stamp, cursor, fetched=len(objs)))

    # --- later runs ------------------------------------------------------------------

    def incremental(self, params: dict[str, Any], since: int) -> None:
        """Objects created at or after ``since`` (``created[gt]=since-1``: the same for whole
        seconds, and accepted by servers that only know ``gt``), minus those already seen at
        that second. The new high-water mark is stored with the last page only: a list that
        comes newest first must not move it before the older new objects are stored."""
        high = HighWater(since, self.shard.state.get("created_seen") or ())
        # What is new says nothing of whether the list is empty: only a find is noted.
        found = Found(self.shard.state.get("found_objects"), whole=False)
        self._list_new(params, high, found, created={"gt": since - 1}, skip=set(high.ids))

    def relist(self, params: dict[str, Any]) -> None:
        """Everything again (a list without a usable ``created`` filter, an empty list due
        again, a nested list's walk of all its parents). Unchanged rows cost a hash
        comparison; the high-water mark only moves at the end, with the listing's start
        as ``pass_started_at`` (when the last whole listing began: see
        :func:`.evented.whole_walk_due`)."""
        self._list_new(params, HighWater.of(self.shard.state), Found(None), created=None,
                       skip=set(), whole_since=timezone.now())

    def _list_new(self, params: dict[str, Any], high: HighWater, found: Found,
                  created: dict[str, int] | None, skip: set[str],
                  whole_since: dt.datetime | None = None) -> None:
        """List a type (directly, or through its parents) and put its pages out; the cursor
        (the new high-water mark) goes with the last page only. Objects whose ids are in
        ``skip`` (already stored at the high-water second) are left out. ``whole_since``:
        when a listing of everything began (stored as ``pass_started_at``)."""
        shard, fetcher = self.shard, self.fetcher

        def final_cursor(objs: list[dict], has_more: bool) -> dict[str, Any] | None:
            if has_more:
                found.fields(objs, final=False)
                return None
            cursor = {**high.fields(), **found.fields(objs, final=True),
                      "last_synced_at": timezone.now(), "last_error": ""}
            if whole_since is not None:
                cursor["pass_started_at"] = whole_since
            return cursor

        if list_spec(shard).parent:
            walk_state: dict[str, Any] = {}
            pending: list[dict] = []
            for parents, has_more, _resume in self._parent_pages(created, None):
                parents = [p for p in parents if p.get("id") not in skip]
                high.add(parents)
                pending.extend(self._children(parents, walk_state))
                if has_more and len(pending) < fetcher.page_size:
                    continue
                self.out.put(Page(shard, pending, int(time.time()), final_cursor(pending, has_more),
                                  fetched=len(pending)))
                pending = []
            return
        list_params = params if created is None else {**params, "created": created}
        # Listed whole: read once for its nested lists too, as in a full pass.
        publisher = self._publisher() if created is None else None
        try:
            for objs, has_more, stamp, _resume in self._pages(list_params, publisher):
                objs = [o for o in objs if o.get("id") not in skip]
                for obj in objs:
                    fetcher.complete_embedded(obj, shard.account, shard.report)
                high.add(objs)
                self.out.put(Page(shard, objs, stamp, final_cursor(objs, has_more),
                                  fetched=len(objs)))
        finally:
            if publisher is not None:
                publisher.close()

    def _pages(self, params: dict[str, Any], publisher: Publisher | None,
               starting_after: str | None = None) -> Generator[tuple[list[dict], bool, int, str | None], None, None]:
        """The list's pages from ``starting_after``: (objects, has_more, stamp, resume
        point). With a ``publisher`` (the list read from its start for its nested lists
        too), every page is published, and asked with the nested lists' expansions while
        the publisher keeps the pages; once it stops keeping them (a list too long to
        keep, see .parents), the rest is asked as a plain listing from where it stands:
        the expansions would cost Stripe's time and the bytes on every later page, for
        parents nobody keeps."""
        shard, fetcher = self.shard, self.fetcher
        service = list_spec(shard).service
        asked = shared_parent_params(shard.name)[0] if publisher is not None else params
        while True:
            pages = fetcher.pages(service, (), asked, shard.account, shard.report, starting_after)
            try:
                for objs, has_more, stamp in pages:
                    # (taken as the page comes: the thread's last v2 page token is this page's)
                    resume = fetcher.resume_point(service, objs) if has_more else None
                    if publisher is not None:
                        publisher.add(objs, has_more, resume)
                    yield objs, has_more, stamp, resume
                    if publisher is not None and not publisher.keeping and asked != params and resume:
                        break
                else:
                    return
            finally:
                pages.close()
            asked, starting_after = params, resume

    # --- nested lists (listed per parent) --------------------------------------------

    def _publisher(self) -> Publisher | None:
        """Where this list, listed whole from its start, publishes its pages for its
        nested lists of the run (None: it has none, or one of them lists it already)."""
        shard = self.shard
        if (shard.name, shard.account) not in self.fetcher.parents.wanted:
            return None
        params, stripped = shared_parent_params(shard.name)
        return self.fetcher.parents.publish(parent_key(list_spec(shard), shard.account, params, None),
                                            keep=embedded_fields(shard.name), strip=stripped)

    def _parent_pages(self, created: dict | None, starting_after: str | None) -> Iterator[ParentPage]:
        shard = self.shard
        parent_name = list_spec(shard).parent
        if parent_name is None:
            raise TypeError(f"{shard.name} is not a nested list")
        parent = table.SYNC_LISTS[parent_name]
        # With the expansions of the nested lists it embeds (their first items come with
        # each parent: see _children), as the parent's own list publishes it.
        params, _stripped = shared_parent_params(parent_name)
        if created:
            params["created"] = created

        def listing() -> Iterator[ParentPage]:
            # The resume point as each page comes (see .parents.Page): the pages are read
            # ahead of the walk, and may be walked by another nested list's thread.
            fetcher = self.fetcher
            for objs, has_more, _stamp in fetcher.pages(parent.service, (), params, shard.account,
                                                        shard.report, starting_after):
                yield objs, has_more, fetcher.resume_point(parent.service, objs) if has_more else None

        # Listed once per run for all the nested lists of this parent (see .parents).
        key = parent_key(parent, shard.account, params, starting_after)
        yield from self.fetcher.parents.pages(key, listing, keep=embedded_fields(parent_name))

    def _children(self, parents: list[dict], state: dict[str, Any]) -> list[dict]:
        shard, fetcher, spec = self.shard, self.fetcher, list_spec(self.shard)
        out: list[dict] = []

        def take(objs: list[dict]) -> None:
            for obj in objs:
                fetcher.complete_embedded(obj, shard.account, shard.report)
            out.extend(objs)

        for parent in parents:
            embedded = parent.get(spec.embedded) if spec.embedded else None
            if isinstance(embedded, dict) and isinstance(embedded.get("data"), list) \
                    and not embedded.get("has_more"):
                take(embedded["data"])  # all of this parent's children came embedded in it
                continue
            # Listed on their own: the list is not embeddable, the server did not embed
            # it, or it holds more than the embedded first items (listed from the start).
            params = dict(spec.params)
            args: tuple = ()
            if spec.parent_param:
                params[spec.parent_param] = parent["id"]
            else:
                args = (parent["id"],)
            try:
                for objs, _more, _stamp in fetcher.pages(spec.service, args, params, shard.account,
                                                         shard.report):
                    take(objs)
            except stripe.StripeError as error:
                if not is_unavailable(error):
                    raise
                if not state.get("child_ok"):
                    raise  # the first parent already fails: the list itself is not served
                shard.report.note(f"skipped children of {parent['id']}: {describe(error)}")
                continue
            state["child_ok"] = True
        return out


def shared_parent_params(name: str) -> tuple[dict[str, Any], tuple[str, ...]]:
    """The parameters of the one listing of the parent list ``name`` (a SYNC_LISTS name)
    that its own shard and its nested lists share: its own, with the expansions of the
    nested lists it embeds added (``type_table.parent_expand``); and the fields those
    add to each parent, which a plain listing of the parent leaves out (at the API
    version the requests are made with: see ``ListSpec.embedded_unasked_before``)."""
    spec = table.SYNC_LISTS[name]
    params = dict(spec.params)
    own = list(params.get("expand") or ())
    extra = [e for e in table.parent_expand(name) if e not in own]
    if extra:
        params["expand"] = sorted({*own, *extra})
    # (a version is a date, with a release name after it since 2024-09: "2026-10-28.endive")
    version = (stripe_settings.API_VERSION or stripe.api_version)[:10]
    unasked = {nested.embedded for nested in table.SYNC_LISTS.values()
               if nested.parent == name and nested.embedded and nested.embedded_unasked_before
               and version < nested.embedded_unasked_before}
    return params, tuple(f for f in _fields(extra) if f not in unasked)


def embedded_fields(name: str) -> list[str]:
    """The fields of the parent list ``name``'s objects that hold its nested lists'
    first items when expanded (``ListSpec.embedded``)."""
    return _fields(table.parent_expand(name))


def _fields(expand: list[str]) -> list[str]:
    return [e.removeprefix("data.") for e in expand]


def parent_key(parent: table.ListSpec, account: str | None, params: dict[str, Any],
               starting_after: str | None) -> tuple[Any, ...]:
    """The key of a parent listing in :class:`~.parents.ParentPages`."""
    return (parent.service, account, repr(sorted(params.items())), starting_after)

