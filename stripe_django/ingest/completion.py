"""Completing embedded lists the API cuts off (``invoice.lines`` past ``has_more``).

An invoice in a list page or an event carries its first lines only; the rest come from
the list named in ``type_table.EMBEDDED_LIST_SOURCES``. Both the sync (through its paced
fetcher) and the webhook processing (through a plain client, before the database
transaction) complete lists here, so that a complete parent list is what ingest stores
and what tells it which children were removed.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Iterable

import stripe

from .. import type_table as table
from . import to_plain

__all__ = ["cut_off_lists", "complete_lists", "client_pages"]

# (service path, positional args, params) -> the objects of every page
ListAll = Callable[[str, tuple, dict[str, Any]], Iterable[dict[str, Any]]]


# object type -> its embedded lists that have a source (looked up once per object)
_LISTS_OF_TYPE: dict[str, tuple[str, ...]] = {}
for _parent_type, _name in table.EMBEDDED_LIST_SOURCES:
    _LISTS_OF_TYPE[_parent_type] = (*_LISTS_OF_TYPE.get(_parent_type, ()), _name)


def cut_off_lists(obj: dict[str, Any]) -> list[str]:
    """The embedded lists of ``obj`` that the API cut off (``has_more`` true)."""
    names = []
    for name in _LISTS_OF_TYPE.get(obj.get("object"), ()):  # type: ignore[arg-type]
        embedded = obj.get(name)
        if isinstance(embedded, dict) and embedded.get("has_more") is True:
            names.append(name)
    return names


def complete_lists(obj: dict[str, Any], list_all: ListAll) -> int:
    """Replace every cut-off embedded list of ``obj`` (in place) by the whole list, read
    with ``list_all``. Returns the number of lists completed."""
    names = cut_off_lists(obj)
    for name in names:
        path, param, fixed = table.EMBEDDED_LIST_SOURCES[(obj["object"], name)]
        params = dict(fixed)
        args: tuple = ()
        if param:
            params[param] = obj["id"]
        else:
            args = (obj["id"],)
        items = list(list_all(path, args, params))
        obj[name] = {**obj[name], "data": items, "has_more": False}
    return len(names)


def client_pages(client: stripe.StripeClient, account: str | None) -> ListAll:
    """A :data:`ListAll` on a plain client (auto-pagination, 100 per page)."""
    options = {"stripe_account": account} if account else None

    def list_all(path: str, args: tuple, params: dict[str, Any]) -> Iterable[dict[str, Any]]:
        service = functools.reduce(getattr, path.split("."), client.v1)
        page = service.list(*args, params={**params, "limit": 100}, options=options)
        return [to_plain(item) for item in page.auto_paging_iter()]

    return list_all
