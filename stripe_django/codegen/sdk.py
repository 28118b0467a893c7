"""Read the field lists of every Stripe object type from the installed ``stripe`` SDK.

The SDK's resource classes carry type annotations for each top-level field of the
object (``amount_due: int``, ``customer: Optional[ExpandableField["Customer"]]``, ...).
This module turns those annotations into a neutral description (:class:`SdkField`)
that the model generator renders and that the drift test compares with the models.

References to other resources are written as forward references whose names are the
aliases of ``if TYPE_CHECKING:`` imports (``Card as CardResource``), so each module's
import statements are read with :mod:`ast` to resolve an alias to its object name.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import typing
from dataclasses import dataclass
from decimal import Decimal

from stripe._list_object import ListObject
from stripe._object_classes import OBJECT_CLASSES, V2_OBJECT_CLASSES
from stripe._stripe_object import StripeObject

# Field kinds, shared with the renderer and the drift test.
STRING = "string"
ENUM = "enum"  # a string restricted by a Literal[...]: short, indexed-friendly
INTEGER = "integer"
FLOAT = "float"
DECIMAL = "decimal"
BOOLEAN = "boolean"
OBJECT = "object"  # nested object or array of objects: a JSON column
REF = "ref"  # reference to one resource type: a foreign key
POLY_REF = "poly_ref"  # reference to one of several resource types: the id as a string
REF_LIST = "ref_list"  # list of references: a JSON list of ids
EMBEDDED_LIST = "embedded_list"  # ListObject[...]: rows of the child model
JSON = "json"  # anything else (metadata, untyped objects)


@dataclass(frozen=True)
class SdkField:
    name: str
    kind: str
    nullable: bool
    # object names this field refers to (REF, POLY_REF, REF_LIST, EMBEDDED_LIST)
    targets: tuple[str, ...] = ()


@dataclass(frozen=True)
class SdkType:
    object_name: str
    class_name: str
    module: str
    fields: tuple[SdkField, ...]


def all_object_classes() -> dict[str, tuple[str, str]]:
    """Object name -> (module, class) of every v1 and v2 resource class of the SDK.

    v2 classes are named ``v2.<namespace>.<type>`` (``v2.core.account``); the v2 page
    wrapper shares the name ``list`` with the v1 one and is left out (neither is an
    object of its own: ``type_table.EXCLUDED_TYPES``).
    """
    classes = dict(OBJECT_CLASSES)
    for object_name, location in V2_OBJECT_CLASSES.items():
        classes.setdefault(object_name, location)
    return classes


def class_to_object_name() -> dict[tuple[str, str], str]:
    """(module, class) -> object name of the SDK's resource classes (the first name of a
    class several object names share). Also read by ``stripe_django.mirror.services``."""
    mapping: dict[tuple[str, str], str] = {}
    for object_name, (module, cls) in all_object_classes().items():
        mapping.setdefault((module, cls), object_name)
    return mapping


def import_aliases(module) -> dict[str, tuple[str, str]]:
    """alias -> (module, class) for every ``from X import Y [as Z]`` in a module (the
    SDK's annotations name classes imported under ``TYPE_CHECKING``)."""
    tree = ast.parse(inspect.getsource(module))
    aliases: dict[str, tuple[str, str]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                aliases[alias.asname or alias.name] = (node.module, alias.name)
    return aliases


def _strip_optional(tp) -> tuple[object, bool]:
    args = typing.get_args(tp)
    if typing.get_origin(tp) is typing.Union and type(None) in args:
        rest = tuple(a for a in args if a is not type(None))
        return (rest[0] if len(rest) == 1 else typing.Union[rest]), True
    return tp, False


def _forward_names(tp) -> list[str]:
    """Names of forward references among a Union's members (``ExpandableField``)."""
    members = typing.get_args(tp) if typing.get_origin(tp) is typing.Union else (tp,)
    names = []
    for member in members:
        if isinstance(member, typing.ForwardRef):
            names.append(member.__forward_arg__)
        elif inspect.isclass(member) and issubclass(member, StripeObject) and getattr(
            member, "OBJECT_NAME", None
        ):
            names.append(member.__name__)
    return names


class _Resolver:
    def __init__(self) -> None:
        self.by_class = class_to_object_name()

    def resolve(self, module, names: list[str], owner: str) -> tuple[str, ...]:
        aliases = import_aliases(module)
        found = []
        for name in names:
            if name in aliases:
                key = aliases[name]
            else:  # a reference to a class of the same module (Invoice.latest_revision)
                key = (module.__name__, name)
            object_name = self.by_class.get(key)
            if object_name is None and name == owner:
                object_name = self.by_class.get((module.__name__, owner))
            if object_name is None:
                raise LookupError(f"{module.__name__}: cannot resolve reference {name!r}")
            found.append(object_name)
        return tuple(found)


def _classify(tp, module, owner: str, resolver: _Resolver) -> tuple[str, bool, tuple[str, ...]]:
    if isinstance(tp, str):  # a bare string annotation: ``alert: "Alert"``
        tp = typing.ForwardRef(tp)
    tp, nullable = _strip_optional(tp)
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is str:
        return STRING, nullable, ()
    if tp is bool:
        return BOOLEAN, nullable, ()
    if tp is int:
        return INTEGER, nullable, ()
    if tp is float:
        return FLOAT, nullable, ()
    if tp is Decimal:
        return DECIMAL, nullable, ()
    if origin is typing.Literal:
        if all(isinstance(a, bool) for a in args):
            return BOOLEAN, nullable, ()
        return ENUM, nullable, ()
    if origin is typing.Union:
        if any(typing.get_origin(a) is typing.Literal for a in args) and all(
            a is str or typing.get_origin(a) is typing.Literal for a in args
        ):
            return ENUM, nullable, ()
        if str in args and len(args) > 1:
            names = _forward_names(tp)
            if names and len(names) == len(args) - 1:
                targets = resolver.resolve(module, names, owner)
                return (REF if len(set(targets)) == 1 else POLY_REF), nullable, targets
        return JSON, nullable, ()
    if inspect.isclass(origin) and issubclass(origin, ListObject):
        names = _forward_names(typing.Union[args]) if args else []
        targets = resolver.resolve(module, names, owner) if names else ()
        return EMBEDDED_LIST, nullable, targets
    if origin in (list, typing.List):
        (item,) = args
        item_kind, _, targets = _classify(item, module, owner, resolver)
        if item_kind in (REF, POLY_REF):
            return REF_LIST, nullable, targets
        if isinstance(item, typing.ForwardRef) or (
            inspect.isclass(item) and issubclass(item, StripeObject) and getattr(item, "OBJECT_NAME", None)
        ):
            # a list of full resources that is not a ListObject (default_tax_rates)
            names = _forward_names(item)
            return REF_LIST, nullable, resolver.resolve(module, names, owner)
        return OBJECT if item_kind in (OBJECT, JSON) else JSON, nullable, ()
    if isinstance(tp, typing.ForwardRef):
        return REF, nullable, resolver.resolve(module, [tp.__forward_arg__], owner)
    if inspect.isclass(tp) and issubclass(tp, StripeObject):
        if getattr(tp, "OBJECT_NAME", None) and tp.__qualname__.count(".") == 0:
            return REF, nullable, resolver.resolve(module, [tp.__name__], owner)
        return OBJECT, nullable, ()
    if inspect.isclass(origin) and issubclass(origin, StripeObject):
        return JSON, nullable, ()  # UntypedStripeObject[str]: metadata and friends
    if isinstance(tp, typing.TypeVar) or tp is typing.Any or tp is dict or origin in (dict, typing.Dict):
        return JSON, nullable, ()
    raise TypeError(f"{module.__name__}.{owner}: unsupported annotation {tp!r}")


def sdk_types() -> dict[str, SdkType]:
    """Every object type the SDK maps, keyed by object name (``checkout.session``)."""
    resolver = _Resolver()
    result: dict[str, SdkType] = {}
    for object_name, (module_name, class_name) in all_object_classes().items():
        module = importlib.import_module(module_name)
        cls = getattr(module, class_name)
        if getattr(cls, "OBJECT_NAME", object_name) != object_name:
            continue  # an alias such as "file_upload" for "file"
        fields = []
        for name, tp in cls.__annotations__.items():
            if name.isupper() or name.startswith("_"):
                continue
            kind, nullable, targets = _classify(tp, module, class_name, resolver)
            fields.append(SdkField(name, kind, nullable, targets))
        result[object_name] = SdkType(object_name, class_name, module_name, tuple(fields))
    return result


def sdk_version() -> tuple[str, str]:
    import stripe

    return stripe.VERSION, stripe.api_version
