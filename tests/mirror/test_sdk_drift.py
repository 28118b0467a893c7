"""Row and model methods follow the installed stripe SDK: every method of the service of a
mirrored resource is reachable, bound to the row when it acts on one object.

The oracle here reads the request URL each SDK method sends (its source), independently
of the annotations and positional arguments ``stripe_django.mirror.services`` reads: a
method acts on one object when its URL is the object's URL or below it.
"""

from __future__ import annotations

import importlib
import inspect
import re

import pytest
from stripe._object_classes import OBJECT_CLASSES

from stripe_django.ingest.columns import mirrored_types

_URL = re.compile(r'"(/v1/[^"]*)"')
_PLACEHOLDER = re.compile(r"\{[^}]*\}")


def _services():
    """(dotted path, class) of every service under StripeClient.v1, from the SDK's tables."""
    found, stack = [], [("", "stripe._v1_services", "V1Services")]
    while stack:
        path, module_name, class_name = stack.pop()
        module = importlib.import_module(module_name)
        for name, (sub_module, sub_class) in getattr(module, "_subservices", {}).items():
            stack.append((f"{path}.{name}".lstrip("."), sub_module, sub_class))
        if path:
            found.append((path, getattr(module, class_name)))
    return found


def _urls(cls) -> dict[str, str]:
    """Public method -> the URL template it requests, placeholders as ``{}``."""
    urls = {}
    for name, function in vars(cls).items():
        if name.startswith("_") or name.endswith("_async") or not inspect.isfunction(function):
            continue
        match = _URL.search(inspect.getsource(function))
        if match:
            urls[name] = _PLACEHOLDER.sub("{}", match.group(1))
    return urls


def _top_level_resources():
    """(object type, model, service methods -> URL, the object's URL) for every mirrored
    type whose SDK class has a URL of its own and a service retrieving it there."""
    services = {}
    for path, cls in _services():
        urls = _urls(cls)
        if "retrieve" in urls:
            services.setdefault(urls["retrieve"], (path, urls))
    for object_type, model in sorted(mirrored_types().items()):
        if object_type not in OBJECT_CLASSES:
            continue
        module, class_name = OBJECT_CLASSES[object_type]
        resource = getattr(importlib.import_module(module), class_name)
        try:
            own_url = f"{resource.class_url()}/{{}}"
        except Exception:  # nested resources have no URL of their own
            continue
        if own_url in services:
            path, urls = services[own_url]
            yield object_type, model, path, urls, own_url


RESOURCES = list(_top_level_resources())


def methods_of(proxy) -> set[str]:
    """The methods a ``.stripe`` proxy offers (its sub-services are proxies, not callables)."""
    return {name for name in dir(proxy) if callable(getattr(proxy, name))}


def test_the_oracle_sees_most_resources():
    assert len(RESOURCES) > 90, len(RESOURCES)


@pytest.mark.parametrize("object_type, model, path, urls, own_url", RESOURCES,
                         ids=[r[0] for r in RESOURCES])
def test_row_and_model_methods_cover_the_sdk_service(object_type, model, path, urls, own_url):
    acting_on_one = {name for name, url in urls.items()
                     if url == own_url or url.startswith(own_url + "/")}
    row = model(id=f"{object_type}_drift")
    assert methods_of(row.stripe) == acting_on_one, path
    assert set(urls) <= set(dir(model.objects.stripe)), path


def _nested_resources():
    """(object type, model, parent field, service methods -> URL, the object's URL) for the
    types type_table retrieves below a parent (a customer's tax ids, an account's persons)."""
    from stripe_django import type_table

    services = {}
    for path, cls in _services():
        urls = _urls(cls)
        if "retrieve" in urls:
            services.setdefault(urls["retrieve"], (path, urls))
    for object_type, templates in sorted(type_table.RETRIEVE_PATHS.items()):
        for template in templates or ():
            fields = [name for name in re.findall(r"\{(\w+)\}", template) if name != "id"]
            own_url = _PLACEHOLDER.sub("{}", template)
            if len(fields) == 1 and own_url in services:
                yield object_type, mirrored_types()[object_type], fields[0], *services[own_url], own_url


NESTED = list(_nested_resources())


def test_the_oracle_sees_nested_resources():
    assert {"person", "capability", "card", "bank_account", "fee_refund"} <= {r[0] for r in NESTED}


@pytest.mark.parametrize("object_type, model, parent, path, urls, own_url", NESTED,
                         ids=[f"{r[0]}-{r[3]}" for r in NESTED])
def test_rows_below_a_parent_are_bound_to_it(object_type, model, parent, path, urls, own_url):
    field = model._meta.get_field(parent)
    row = model(id=f"{object_type}_drift", **{field.attname: "parent_1"})
    acting_on_one = {name for name, url in urls.items()
                     if url == own_url or url.startswith(own_url + "/")}
    assert methods_of(row.stripe) == acting_on_one, path
