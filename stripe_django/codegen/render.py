"""Turn the SDK's field lists and the type table into model modules.

Run ``python -m stripe_django.codegen`` after upgrading the ``stripe`` SDK; the output
(``stripe_django/models/<family>.py``) is committed and reviewed like hand-written code.
"""

from __future__ import annotations

import keyword
from dataclasses import dataclass, field

from .. import type_table as table
from . import names as names_mod
from . import sdk

# Hand-written model modules of the app's own state, re-exported by models/__init__.py.
APP_MODELS: dict[str, tuple[str, ...]] = {
    "sync_state": ("SyncCursor", "SyncRateLimit", "SyncRun", "SyncShard"),
    "verification": ("VerificationRun",),
}

# Names Django reserves, or that the base model already defines.
BASE_FIELDS = {"id", "object", "deleted"}


@dataclass
class FieldSpec:
    name: str
    constructor: str  # e.g. 'Timestamp()' or 'Reference("Customer")'
    kind: str
    target: str | None = None  # referenced object name, for Reference
    related_name: str | None = None
    legacy: bool = False


@dataclass
class ModelSpec:
    object_name: str
    model_name: str
    family: str
    fields: list[FieldSpec] = field(default_factory=list)
    mixin: str | None = None


def model_name(object_name: str, class_name: str) -> str:
    if object_name in table.MODEL_NAMES:
        return table.MODEL_NAMES[object_name]
    if "." not in object_name:
        return class_name
    namespace = "".join(part.capitalize() for part in object_name.split(".")[0].split("_"))
    return class_name if class_name.startswith(namespace) else namespace + class_name


def family(object_name: str) -> str:
    if object_name in table.FAMILY_OF_TYPE:
        return table.FAMILY_OF_TYPE[object_name]
    if "." in object_name:
        return table.FAMILY_OF_NAMESPACE[object_name.split(".")[0]]
    raise KeyError(f"type_table.FAMILY_OF_TYPE has no family for {object_name!r}")


def is_timestamp(name: str) -> bool:
    if name in table.NOT_TIMESTAMPS:
        return False
    return name in table.TIMESTAMP_NAMES or name.endswith(table.TIMESTAMP_SUFFIXES)


def _scalar(kind: str, name: str, object_name: str = "") -> str:
    if kind == sdk.INTEGER:
        return "Timestamp()" if is_timestamp(name) else "Integer()"
    if (kind == sdk.STRING and object_name.startswith(table.V2_OBJECT_PREFIX)
            and is_timestamp(name)):
        return "Timestamp()"  # an RFC 3339 string
    if kind == sdk.STRING and name.endswith("_decimal"):
        return "Decimal()"
    return {
        sdk.STRING: "String()",
        sdk.ENUM: "Enum()",
        sdk.FLOAT: "Float()",
        sdk.DECIMAL: "Decimal()",
        sdk.BOOLEAN: "Boolean()",
        sdk.OBJECT: "Json()",
        sdk.JSON: "Json()",
        sdk.POLY_REF: "PolymorphicReference()",
        sdk.REF_LIST: "IdList()",
        sdk.EMBEDDED_LIST: "EmbeddedList()",
        "timestamp": "Timestamp()",
    }[kind]


def build_specs() -> dict[str, ModelSpec]:
    types = sdk.sdk_types()
    mirrored = {name for name in types if name not in table.EXCLUDED_TYPES}
    mirrored |= set(table.LEGACY_MODELS)
    names = {n: model_name(n, types[n].class_name) for n in mirrored if n in types}
    names.update({n: spec["model"] for n, spec in table.LEGACY_MODELS.items()})

    def ref(owner: str, name: str, target: str, legacy: bool = False) -> FieldSpec:
        if target in table.EXCLUDED_TYPES:
            # Never a row of its own (and often without an id): the object itself is kept.
            return FieldSpec(name, "Json()", sdk.OBJECT, legacy=legacy)
        if target not in names:  # a reference to an unmirrored type: keep the id
            return FieldSpec(name, "PolymorphicReference()", sdk.POLY_REF, legacy=legacy)
        return FieldSpec(name, "", sdk.REF, target=target, legacy=legacy)

    specs: dict[str, ModelSpec] = {}
    for object_name in sorted(mirrored):
        spec = ModelSpec(object_name, names[object_name], family(object_name),
                         mixin=table.MODEL_MIXINS.get(object_name))
        if object_name in types:
            for f in types[object_name].fields:
                if (f.name in BASE_FIELDS or f.name in table.REDACTED_FIELDS
                        or f.name in table.REDACTED_FIELDS_OF_TYPE.get(object_name, {})):
                    continue
                string_ref = table.STRING_REFERENCES.get((object_name, f.name))
                if string_ref:
                    spec.fields.append(ref(object_name, f.name, string_ref))
                elif f.kind == sdk.REF:
                    spec.fields.append(ref(object_name, f.name, f.targets[0]))
                else:
                    constructor = _scalar(f.kind, f.name, object_name)
                    kind = "timestamp" if constructor == "Timestamp()" else f.kind
                    spec.fields.append(FieldSpec(model_field_name(f.name), constructor, kind))
            legacy = table.LEGACY_FIELDS.get(object_name, {})
        else:
            legacy = {k: (v, None) for k, v in table.LEGACY_MODELS[object_name]["fields"].items()}
        present = {f.name for f in spec.fields}
        for name, (kind, _derive) in legacy.items():
            if name in present:
                continue
            if kind.startswith("ref:"):
                spec.fields.append(ref(object_name, name, kind[4:], legacy=True))
            elif kind.startswith("embedded_list:"):
                spec.fields.append(FieldSpec(name, "EmbeddedList()", sdk.EMBEDDED_LIST, legacy=True))
            else:
                spec.fields.append(FieldSpec(name, _scalar(kind, name), kind, legacy=True))
        specs[object_name] = spec

    # Child rows of single-type embedded lists get a link to their parent.
    for (parent, list_field), link in table.EMBEDDED_LISTS.items():
        if parent not in specs:
            continue
        if parent in types:
            lf = next(f for f in types[parent].fields if f.name == list_field)
            children = lf.targets
        else:
            children = (table.LEGACY_MODELS[parent]["fields"][list_field].split(":", 1)[1],)
        if len(children) != 1 or children[0] not in specs:
            continue
        child = specs[children[0]]
        existing = next((f for f in child.fields if f.name == link), None)
        if existing is None:
            child.fields.append(ref(child.object_name, link, parent, legacy=True))
        elif existing.kind != sdk.REF:
            child.fields[child.fields.index(existing)] = ref(child.object_name, link, parent)

    _assign_related_names(specs, names)
    for spec in specs.values():
        for fs in spec.fields:
            if keyword.iskeyword(fs.name) or fs.name.endswith("_") or "__" in fs.name:
                raise ValueError(f"{spec.object_name}.{fs.name}: not a usable Django field name")
            if fs.kind == sdk.REF:
                args = f'"{names[_target(spec, fs)]}"'
                if fs.related_name:
                    args += f', related_name="{fs.related_name}"'
                fs.constructor = f"Reference({args})"
    return specs


def model_field_name(sdk_name: str) -> str:
    """The model field of an SDK attribute: its own name, except for Stripe fields named
    by a Python keyword (the SDK's ``from_`` for ``from``), which the table names."""
    if sdk_name.endswith("_") and keyword.iskeyword(sdk_name[:-1]):
        return table.KEYWORD_FIELDS[sdk_name[:-1]]
    return sdk_name


def _target(spec: ModelSpec, f: FieldSpec) -> str:
    """The object name a reference field refers to (``ref()`` always sets it)."""
    if f.target is None:
        raise ValueError(f"{spec.object_name}.{f.name}: a reference without a target")
    return f.target


# Attributes every model has besides its fields: a reverse accessor must not hide one.
RESERVED_ATTRIBUTES = {"objects", "existing_objects", "pk", "stripe_object"}


def _assign_related_names(specs: dict[str, ModelSpec], names: dict[str, str]) -> None:
    """Every foreign key gets a reverse accessor that reads as English (names.py).

    A name that would clash with a field of the referenced model, or with another
    accessor there, stops the generator: the table must then name it.
    """
    given: dict[str, dict[str, str]] = {}
    clashes = []
    for spec in specs.values():
        for f in spec.fields:
            if f.kind != sdk.REF:
                continue
            target_name = _target(spec, f)
            related_name = f.related_name = names_mod.reverse_name(
                spec.object_name, spec.model_name, f.name, target_name, specs[target_name].model_name)
            target = specs[target_name]
            taken = {g.name for g in target.fields} | BASE_FIELDS | RESERVED_ATTRIBUTES
            owner = f"{spec.object_name}.{f.name}"
            clash = given.setdefault(target_name, {}).get(related_name)
            if related_name in taken or clash:
                clashes.append(f"{target_name}.{related_name} of {owner} clashes with "
                               f"{clash or 'a field of ' + target_name}")
            given[target_name][related_name] = owner
    if clashes:
        raise ValueError("reverse accessors to name in type_table.REVERSE_NAMES: "
                         + "; ".join(clashes))


HEADER = '''"""Stripe {family} objects.

Generated by ``python -m stripe_django.codegen`` from stripe-python {sdk_version}
(API version {api_version}) and ``stripe_django/type_table.py``. Do not edit by hand:
change the table (or upgrade the SDK) and generate again.
Field meanings: Stripe's API reference, https://docs.stripe.com/api
"""

from . import fields
from .base import StripeModel'''


# Kinds of column an index is built on (not JSON, and foreign keys have theirs).
INDEXABLE_KINDS = {sdk.STRING, sdk.ENUM, sdk.INTEGER, sdk.BOOLEAN, "timestamp"}


def indexed_fields(spec: ModelSpec) -> list[str]:
    """The table's filtered-on columns this model has (foreign keys are indexed anyway)."""
    wanted = table.INDEXED_FIELDS + table.INDEXED_FIELDS_OF_TYPE.get(spec.object_name, ())
    present = {f.name for f in spec.fields if f.kind in INDEXABLE_KINDS}
    return [name for name in wanted if name in present]


def render_family(family_name: str, specs: list[ModelSpec]) -> str:
    sdk_version, api_version = sdk.sdk_version()
    out = [HEADER.format(family=family_name.replace("_", " "), sdk_version=sdk_version,
                         api_version=api_version)]
    for mixin in sorted({s.mixin for s in specs if s.mixin}):
        module, cls = mixin.rsplit(".", 1)
        out.insert(1, f"from {module.replace('stripe_django.models', '')} import {cls}")
    for spec in sorted(specs, key=lambda s: s.model_name):
        bases = (spec.mixin.rsplit(".", 1)[1] + ", " if spec.mixin else "") + "StripeModel"
        out.append(f"\n\nclass {spec.model_name}({bases}):")
        out.append(f'    """Stripe object ``{spec.object_name}``."""\n')
        out.append(f'    stripe_object = "{spec.object_name}"\n')
        current = [f for f in spec.fields if not f.legacy]
        legacy = [f for f in spec.fields if f.legacy]
        for f in sorted(current, key=lambda f: f.name):
            out.append(f"    {f.name} = fields.{f.constructor}")
        if legacy:
            out.append("    # Fields of older API versions, or links to a parent (type_table.py)")
            for f in legacy:
                out.append(f"    {f.name} = fields.{f.constructor}")
        out.append("")
        out.append("    class Meta(StripeModel.Meta):")
        singular, plural = names_mod.verbose_names(spec.object_name, spec.model_name)
        out.append(f'        verbose_name = "{singular}"')
        out.append(f'        verbose_name_plural = "{plural}"')
        indexed = indexed_fields(spec)
        if indexed:
            out.append("        indexes = [")
            out += [f'            fields.ColumnIndex(fields=["{name}"]),' for name in indexed]
            out.append("        ]")
    return "\n".join(out) + "\n"


def render_all() -> dict[str, str]:
    """Module file name -> source, for every family, plus the package's __init__."""
    specs = build_specs()
    by_family: dict[str, list[ModelSpec]] = {}
    for spec in specs.values():
        by_family.setdefault(spec.family, []).append(spec)
    files = {f"{fam}.py": render_family(fam, s) for fam, s in sorted(by_family.items())}
    lines = ['"""All mirrored Stripe models. Generated: see stripe_django/codegen."""', ""]
    exported = []
    for fam, fam_specs in sorted(by_family.items()):
        names = sorted(s.model_name for s in fam_specs)
        exported += names
        lines.append(f"from .{fam} import (  # noqa: F401")
        lines += [f"    {n}," for n in names]
        lines.append(")")
    lines.append("")
    lines.append("# Hand-written models of the app's own state (not Stripe objects).")
    for module, app_models in APP_MODELS.items():
        lines.append(f"from .{module} import {', '.join(app_models)}  # noqa: F401")
        exported += list(app_models)
    lines += [
        "",
        "# The seed reference's name for File (Stripe's object was once \"file_upload\").",
        "FileUpload = File",
        "",
        "__all__ = [",
        *[f'    "{n}",' for n in sorted(exported + ["FileUpload"])],
        "]",
    ]
    files["__init__.py"] = "\n".join(lines) + "\n"
    return files
