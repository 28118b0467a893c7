"""Acting on Stripe from the mirror: ``row.stripe.<method>()``, ``Model.objects.stripe``.

Every call goes through the mirrored client, so its answer is stored before the call
returns, and the call returns what was stored: the row (re-read, one query), a list of
rows for a list page, unsaved instances for a preview. What cannot be shown as rows (an
answer of a type that is not mirrored, a PDF, an answer the mirror failed to store with
``MIRROR_FAILURES = "log"``) is returned as the SDK returned it.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import weakref
from typing import TYPE_CHECKING, Any, TypeVar

import stripe
from django.core.exceptions import FieldDoesNotExist
from django.core.signals import setting_changed
from django.db import router

from .. import type_table as table
from ..client import new_http_client
from ..conf import api_key_for, key_for_platform_account, stripe_settings
from ..exceptions import NoStripeMethods, StripeDjangoError
from ..ingest.completion import client_pages, complete_lists, cut_off_lists
from .hook import Answer, capture, is_mirrored, store
from .previews import unsaved_instances
from .services import Service, all_services, owners_of, service_of

if TYPE_CHECKING:
    from ..models.base import StripeModel

    _Instance = TypeVar("_Instance", bound=StripeModel)

logger = logging.getLogger("stripe_django.mirror")

__all__ = ["ServiceProxy", "for_row", "for_model", "refresh_from_stripe", "default_client"]

# The mirrored clients built from the settings, by API_KEYS name (None: API_KEY), shared
# by row and model methods. The SDK's async HTTP session belongs to the event loop it
# was opened in, so async calls share clients per loop (one, under an ASGI server).
_default_clients: dict[str | None, stripe.StripeClient] = {}
_loop_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[
    str | None, stripe.StripeClient]] = weakref.WeakKeyDictionary()


# The SDK HTTP clients of each loop's mirrored clients, closed with the loop (below).
_loop_http_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, list[stripe.HTTPClient]] = (
    weakref.WeakKeyDictionary())
_loop_closers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any] = weakref.WeakKeyDictionary()


def default_client(key: str | None = None, *,
                   loop: asyncio.AbstractEventLoop | None = None) -> stripe.StripeClient:
    """The mirrored client of ``API_KEY``, or of the ``API_KEYS`` entry ``key``; with
    ``loop``, the one for async calls in that event loop."""
    clients = _default_clients if loop is None else _loop_clients.setdefault(loop, {})
    client = clients.get(key)
    if client is None:
        from . import mirrored_client

        if loop is None:
            client = clients[key] = mirrored_client(key=key)
        else:
            http = new_http_client()
            _loop_http_clients.setdefault(loop, []).append(http)
            client = clients[key] = mirrored_client(key=key, http_client=http)
    return client


async def close_clients_with_this_loop() -> None:
    """Close this event loop's HTTP sessions (aiohttp's or httpx's) when the loop ends.

    A sync view calling ``row.stripe.<method>_async()`` through ``async_to_sync`` runs
    each call in a new loop (``asyncio.run``), and a session left open when its loop
    is gone is a leak (aiohttp warns "Unclosed client session"). ``asyncio.run`` closes
    the loop's unfinished async generators before closing the loop: one per loop, whose
    ``finally`` closes the sessions, is the hook asyncio offers. A loop that lives on
    (an ASGI server's) keeps its sessions for reuse."""
    loop = asyncio.get_running_loop()
    if loop not in _loop_closers:
        closer = _closing_the_sessions()
        _loop_closers[loop] = closer
        await closer.asend(None)


async def _closing_the_sessions():
    try:
        yield
    finally:
        # Every entry of the loop goes: asyncio's finalizer hook, kept on this generator,
        # refers to the loop, so an entry left in the weak maps would keep it alive.
        loop = asyncio.get_running_loop()
        _loop_closers.pop(loop, None)
        _loop_clients.pop(loop, None)
        for http in _loop_http_clients.pop(loop, []):
            try:
                await http.close_async()
            except Exception:  # one session that fails to close leaves the others to close
                logger.warning("stripe_django: closing an HTTP session failed", exc_info=True)


def _forget_client(*, setting: str, **kwargs: Any) -> None:
    if setting == "STRIPE_DJANGO":
        _default_clients.clear()
        _loop_clients.clear()


def route(account: str | None) -> tuple[str | None, str | None]:
    """How to reach a row of ``stripe_account`` ``account``: (the ``API_KEYS`` name to
    call with, None for ``API_KEY``; the Stripe-Account header to send).

    With one key, a row of a connected account is reached with the header. With several
    platforms (``API_KEYS``), a platform's own rows carry its ``ACCOUNT``: they are
    reached with its key and no header; a connected account's rows with the key of the
    platform its ``Account`` row was read from (one query), and the header.
    """
    if not account or not stripe_settings.API_KEYS:
        return None, account
    name = key_for_platform_account(account)
    if name is not None:
        return name, None
    from ..models import Account

    owner = (Account._default_manager.filter(pk=account)
             .values_list("stripe_account", flat=True).first())
    return key_for_platform_account(owner), account


setting_changed.connect(_forget_client)


class ServiceProxy:
    """The methods of one SDK service, with leading path arguments (a row's key) and the
    Connect account already given. Keyword arguments are the API parameters;
    ``options=`` passes request options (``idempotency_key``, ``stripe_account``) and
    ``params=`` a parameter dict (for a parameter named like those two)."""

    def __init__(self, path: tuple[str, ...], *, bound: tuple[str, ...] = (),
                 account: str | None = None, allowed: frozenset[str] | None = None,
                 client: stripe.StripeClient | None = None, label: str = "") -> None:
        self._path = path
        self._bound = bound
        self._account = account  # the row's stripe_account (see route())
        self._allowed = allowed
        self._client = client
        self._label = label or ".".join(path)

    @property
    def _service(self):
        return all_services()[self._path]

    def _methods(self) -> list[str]:
        methods = self._service.methods
        if self._allowed is not None:
            return sorted(name for name in methods if name in self._allowed)
        return sorted(name for name, args in methods.items() if len(args) >= len(self._bound))

    def __dir__(self) -> list[str]:
        return self._methods() + list(self._service.subservices)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        service = self._service
        if name in service.subservices:
            return ServiceProxy(self._path + (name,), bound=self._bound, account=self._account,
                                client=self._client, label=f"{self._label}.{name}")
        if name.endswith("_async") and name.removesuffix("_async") in self._methods():
            return functools.partial(self._call_async, name.removesuffix("_async"))
        if name not in self._methods():
            raise AttributeError(
                f"{self._label} has no Stripe method {name!r} (stripe-python {stripe.VERSION}); "
                f"it has: {', '.join(dir(self)) or 'none'}")
        return functools.partial(self._call, name)

    def _call(self, name: str, /, *args: Any, params: dict[str, Any] | None = None,
              options: dict[str, Any] | None = None, **more: Any) -> Any:
        method, params, options = self._request(name, params, options, more)
        with capture() as answers:
            result = method(*self._bound, *args, params=params, options=options)
        return as_models(result, answers)

    async def _call_async(self, name: str, /, *args: Any, params: dict[str, Any] | None = None,
                          options: dict[str, Any] | None = None, **more: Any) -> Any:
        """``<method>_async``: the SDK's async method; the rows are read in a thread."""
        from asgiref.sync import sync_to_async

        method, params, options = await sync_to_async(self._request)(
            f"{name}_async", params, options, more, loop=asyncio.get_running_loop())
        if self._client is None:
            await close_clients_with_this_loop()
        with capture() as answers:  # the hook appends from its thread: same context
            result = await method(*self._bound, *args, params=params, options=options)
        return await sync_to_async(as_models)(result, answers)

    def _request(self, name: str, params: dict[str, Any] | None, options: dict[str, Any] | None,
                 more: dict[str, Any], loop: asyncio.AbstractEventLoop | None = None):
        """The SDK method to call, its parameters and request options: the account is the
        caller's ``stripe_account`` option, else the row's, reached as ``route()`` says
        (a platform's ACCOUNT: with its key and no header)."""
        options = dict(options or {})
        key, account = route(options.pop("stripe_account", None) or self._account)
        client = self._client or default_client(key, loop=loop)
        service = service_of(client, self._path)
        params = {**(params or {}), **more}
        if account:
            options["stripe_account"] = account
        return getattr(service, name), params or None, options or None

    def __repr__(self) -> str:
        return f"<Stripe methods of {self._label}>"


def as_models(result: Any, answers: list[Answer]) -> Any:
    """What a call returns: rows or unsaved instances where the answer allows it."""
    if not answers:
        return result  # a streamed answer (a PDF)
    answer = answers[-1]
    payload = answer.payload
    if answer.preview:
        return unsaved_instances(payload, answer.stamp, answer.account)
    stored = answer.result if answer.stored else None
    if stored is None:
        return result
    if isinstance(payload, dict) and is_mirrored(payload):
        return _rows(stored.keys)[0]
    if isinstance(payload, dict) and payload.get("object") in ("list", "search_result"):
        # The page's own rows, item for item; where ingest refused an item (and stored
        # what it embeds instead, say the price of a line), the SDK's page as it came.
        items = payload.get("data")
        rows = _rows(stored.keys)
        if isinstance(items, list) and [r.pk for r in rows] == [
                item.get("id") if isinstance(item, dict) else None for item in items]:
            return rows
    return result


def _rows(keys: list[tuple[type[StripeModel], str]]) -> list[StripeModel]:
    """The rows of ``keys`` in their order: one query per model."""
    by_model: dict[type[StripeModel], list[str]] = {}
    for model, object_id in keys:
        by_model.setdefault(model, []).append(object_id)
    found: dict[tuple[type[StripeModel], str], StripeModel] = {}
    for model, ids in by_model.items():
        alias = router.db_for_write(model)  # just written there: read it back from there
        for row in model._default_manager.using(alias).filter(pk__in=ids):
            found[(model, row.pk)] = row
    return [found[key] for key in keys if key in found]


# --- rows ------------------------------------------------------------------------------

def for_row(instance: StripeModel, client: stripe.StripeClient | None = None) -> ServiceProxy:
    """``instance.stripe``: the methods of its SDK service bound to its key and account."""
    object_type = instance.stripe_object
    service, values = _binding(instance)
    return ServiceProxy(service.path, bound=values, account=instance.stripe_account,
                        allowed=frozenset(service.bound_methods(object_type)), client=client,
                        label=f"{object_type} {instance.pk}")


def _binding(instance: StripeModel) -> tuple[Service, tuple[str, ...]]:
    """The owner service of the row's type whose key the row can fill, and the values."""
    object_type = instance.stripe_object
    owners = owners_of(object_type)
    if not owners:
        raise NoStripeMethods(
            f"{object_type} objects have no service in stripe-python {stripe.VERSION}: they "
            f"are read and changed through their parent objects")
    missing: list[str] = []
    for service in owners:
        key = service.key(object_type) or ()
        values = _key_values(instance, key, missing)
        if values is not None:
            return service, values
    raise NoStripeMethods(
        f"{object_type} {instance.pk} cannot be addressed in the API: its row has no "
        f"{' or '.join(sorted(set(missing)))}")


def _key_values(instance: StripeModel, key: tuple[str, ...], missing: list[str]) -> tuple[str, ...] | None:
    """The row's values of a key: the last is the row's own id (unless the type has no
    id of its own, ``type_table.SYNTHETIC_KEYS``); the others are its fields of the
    same names (``customer`` of a tax id, ``account`` of a person)."""
    synthetic = instance.stripe_object in table.SYNTHETIC_KEYS
    values = []
    for index, name in enumerate(key):
        if index == len(key) - 1 and not synthetic:
            values.append(instance.pk)
            continue
        value = _field_id(instance, name)
        if value is None:
            missing.append(name)
            return None
        values.append(value)
    return tuple(values)


def _field_id(instance: StripeModel, name: str) -> str | None:
    try:
        attname = getattr(instance._meta.get_field(name), "attname", None)
    except FieldDoesNotExist:
        attname = None
    if attname is not None:
        value = getattr(instance, attname)
    else:  # not a column: look in the stored object
        value = (instance.stripe_data or {}).get(name)
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) and value else None


def refresh_from_stripe(instance: _Instance, client: stripe.StripeClient | None = None) -> _Instance:
    """Fetch the row's object from the API, store it, reload the instance; returns it.

    Retrieves with the expansions the mirror keeps (``type_table.RETRIEVE_EXPAND``) and
    completes embedded lists the answer cuts off (``has_more``), so the stored row is
    whole. A deleted object comes back as a deletion stub: the row is marked deleted.
    """
    object_type = instance.stripe_object
    service, values = _binding(instance)
    if "retrieve" not in service.bound_methods(object_type):
        raise StripeDjangoError(f"{object_type} objects cannot be retrieved on their own "
                                f"(stripe-python {stripe.VERSION} has no retrieve for them)")
    key, account = route(instance.stripe_account)
    client = client or default_client(key)
    api = service_of(client, service.path)
    expand = table.RETRIEVE_EXPAND.get(object_type)
    options = {"stripe_account": account} if account else None
    with capture() as answers:
        api.retrieve(*values, params={"expand": list(expand)} if expand else None,
                     options=options)
    answer = answers[-1]
    payload = answer.payload
    stored = answer.stored
    if stored and isinstance(payload, dict) and cut_off_lists(payload):
        from ..client import get_client

        # The rest of the list from a plain client: the pages are parts of this
        # object, stored with it (and its removed children found) in one write, whose
        # failure is handled as the first one's (MIRROR_FAILURES).
        complete_lists(payload, client_pages(get_client(api_key_for(key)), account))
        store(answer, [payload])
    if stored:
        instance.refresh_from_db()
    return instance


# --- models ----------------------------------------------------------------------------

def for_model(model: type[StripeModel], client: stripe.StripeClient | None = None) -> ServiceProxy:
    """``Model.objects.stripe``: every method of the type's SDK service, ids passed by
    the caller (``Invoice.objects.stripe.create_preview(customer=...)``)."""
    object_type = model.stripe_object
    owners = owners_of(object_type)
    if not owners:
        raise NoStripeMethods(f"{object_type} objects have no service in stripe-python "
                                f"{stripe.VERSION}")
    return ServiceProxy(owners[0].path, client=client, label=model.__name__)
