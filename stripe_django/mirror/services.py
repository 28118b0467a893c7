"""Which stripe-python service acts on which object type, read from the installed SDK.

The SDK's services (``client.v1.invoices``, ``client.v1.customers.tax_ids``, ...) are
generated from Stripe's OpenAPI spec. Each method takes the ids of the path as
positional-only arguments and is annotated with the class it returns. A service *owns*
an object type when its ``retrieve`` returns that type; the positional arguments of
``retrieve`` are the object's *key* (``customers.tax_ids``: customer, id). Every method
of the owner taking that same key acts on one object and is bound to rows; methods
taking fewer (``create``, ``list``, ``create_preview``) are the model's. Nothing here
names a service or a method: a new SDK brings its new methods along.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import re
from dataclasses import dataclass
from functools import lru_cache
from types import ModuleType
from typing import Any

from ..codegen.sdk import class_to_object_name, import_aliases

__all__ = ["Service", "owners_of", "all_services", "service_of"]

ROOT = ("stripe._v1_services", "V1Services")
# The v2 services (``client.v2.core.accounts``) are walked from their own root; their
# paths start with "v2" (v1 has no service of that name), and ``service_of`` reaches
# them from the client itself rather than from ``client.v1``.
V2_ROOT = ("stripe._v2_services", "V2Services")
V2 = "v2"


def service_of(client: Any, path: tuple[str, ...]) -> Any:
    """The SDK service at ``path`` of a ``StripeClient`` (``client.v1.<path>``, or
    ``client.v2.<...>`` for a path starting with "v2")."""
    root = client if path[:1] == (V2,) else client.v1
    return functools.reduce(getattr, path, root)


@dataclass(frozen=True)
class Service:
    path: tuple[str, ...]  # attribute names under ``StripeClient.v1``
    # public method name -> names of its positional (path) arguments
    methods: dict[str, tuple[str, ...]]
    # public method name -> object types its annotation says it returns
    returns: dict[str, frozenset[str]]
    subservices: tuple[str, ...]

    @property
    def dotted(self) -> str:
        return ".".join(self.path)

    def key(self, object_type: str) -> tuple[str, ...] | None:
        """The positional arguments naming one object of ``object_type``: those of
        ``retrieve``, or, for a type this service cannot retrieve, of the method with
        the most that returns it (``invoices.line_items.update``); None: not owned."""
        if object_type in self.returns.get("retrieve", ()):
            return self.methods["retrieve"]
        # Only a method addressing something below the service's own object counts:
        # ``customers.delete_discount(customer)`` acts on the customer.
        own = len(self.methods.get("retrieve", ()))
        keys = [self.methods[name] for name, types in self.returns.items()
                if object_type in types and len(self.methods[name]) > own]
        return max(keys, key=len) if keys else None

    def bound_methods(self, object_type: str) -> tuple[str, ...]:
        """Methods acting on one object: those taking exactly its key."""
        key = self.key(object_type)
        if key is None:
            return ()
        return tuple(sorted(name for name, args in self.methods.items() if len(args) == len(key)))

    def model_methods(self, object_type: str) -> tuple[str, ...]:
        """Methods taking fewer path arguments than the key (create, list, previews)."""
        key = self.key(object_type)
        if key is None:
            return ()
        return tuple(sorted(name for name, args in self.methods.items() if len(args) < len(key)))


@lru_cache(maxsize=1)
def all_services() -> dict[tuple[str, ...], Service]:
    """Every service under ``StripeClient.v1`` and ``StripeClient.v2``, by path."""
    by_class = class_to_object_name()
    found: dict[tuple[str, ...], Service] = {}
    stack: list[tuple[tuple[str, ...], str, str]] = [((), *ROOT), ((V2,), *V2_ROOT)]
    while stack:
        path, module_name, class_name = stack.pop()
        module = importlib.import_module(module_name)
        cls = getattr(module, class_name)
        subservices = getattr(module, "_subservices", {})
        for name, (sub_module, sub_class) in subservices.items():
            stack.append((path + (name,), sub_module, sub_class))
        if path:
            found[path] = _describe(path, cls, module, by_class, tuple(sorted(subservices)))
    return found


@lru_cache(maxsize=None)
def owners_of(object_type: str) -> tuple[Service, ...]:
    """The services owning ``object_type``, shortest key first (``tax_ids`` before
    ``customers.tax_ids``), then by path."""
    candidates = [s for s in all_services().values() if s.key(object_type) is not None]
    retrievable = [s for s in candidates if object_type in s.returns.get("retrieve", ())]
    chosen = retrievable or candidates
    return tuple(sorted(chosen, key=lambda s: (len(s.key(object_type) or ()), s.path)))


def _describe(path: tuple[str, ...], cls: type, module: ModuleType,
              by_class: dict[tuple[str, str], str], subservices: tuple[str, ...]) -> Service:
    imports = import_aliases(module)
    methods: dict[str, tuple[str, ...]] = {}
    returns: dict[str, frozenset[str]] = {}
    for name, function in vars(cls).items():
        if name.startswith("_") or name.endswith("_async") or not inspect.isfunction(function):
            continue
        signature = inspect.signature(function)
        methods[name] = tuple(p.name for p in signature.parameters.values()
                              if p.kind is p.POSITIONAL_ONLY and p.name != "self")
        returns[name] = _returned_types(signature.return_annotation, imports, by_class)
    return Service(path, methods, returns, subservices)


_NAME = re.compile(r"[A-Za-z_]\w*")


def _returned_types(annotation: object, imports: dict[str, tuple[str, str]],
                    by_class: dict[tuple[str, str], str]) -> frozenset[str]:
    """Object types named by a return annotation (``"Invoice"``, ``"Union[...]"``);
    containers (``ListObject[...]``) return none: they are not the object itself."""
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")
    if not text or "ListObject" in text or "SearchResultObject" in text:
        return frozenset()
    types = set()
    for name in _NAME.findall(text):
        origin = imports.get(name)
        if origin is not None and origin in by_class:
            types.add(by_class[origin])
    return frozenset(types)
