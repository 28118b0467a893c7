"""The models follow the installed stripe SDK: every field it declares is a column, or
is left out on purpose with a reason in type_table."""

import pytest

from stripe_django import type_table
from stripe_django.codegen import render, sdk
from stripe_django.ingest.columns import mirrored_types


@pytest.fixture(scope="module")
def sdk_types():
    return sdk.sdk_types()


def test_every_sdk_type_is_mirrored_or_excluded_with_a_reason(sdk_types):
    mirrored = mirrored_types()
    for object_name in sdk_types:
        if object_name in type_table.EXCLUDED_TYPES:
            assert type_table.EXCLUDED_TYPES[object_name].strip(), object_name
            assert object_name not in mirrored
        else:
            assert object_name in mirrored, f"{object_name} has no model"


def test_every_sdk_field_is_a_model_field_or_omitted_with_a_reason(sdk_types):
    mirrored = mirrored_types()
    omitted = {"id", "object", "deleted"}  # the base model's own columns
    for object_name, sdk_type in sdk_types.items():
        model = mirrored.get(object_name)
        if model is None:
            continue
        names = {f.name for f in model._meta.get_fields()}
        secrets = {**type_table.REDACTED_FIELDS, **type_table.REDACTED_FIELDS_OF_TYPE.get(object_name, {})}
        for field in sdk_type.fields:
            if field.name in secrets:
                assert secrets[field.name].strip()
                assert field.name not in names, f"{object_name}.{field.name} holds a secret"
                continue
            name = render.model_field_name(field.name)  # from_ -> type_table.KEYWORD_FIELDS
            assert name in names | omitted, f"{object_name}.{field.name} is not a model field"


def test_generated_modules_are_up_to_date():
    """Fails after an SDK upgrade until `make models` is run and the result committed."""
    from pathlib import Path

    models_dir = Path(render.__file__).resolve().parent.parent / "models"
    stale = [name for name, source in render.render_all().items()
             if (models_dir / name).read_text() != source]
    assert stale == []


@pytest.mark.django_db
def test_the_migrations_match_the_models():
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("makemigrations", "stripe_django", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()


def test_the_sdk_api_version_is_the_one_the_models_follow():
    import stripe

    assert stripe.api_version.startswith("2026-10-28")


def test_the_embedded_list_children_table_names_the_sdk_child_types(sdk_types):
    """type_table.EMBEDDED_LIST_CHILDREN must agree with the SDK's list annotations."""
    for (parent, list_field), (child, meaning) in type_table.EMBEDDED_LIST_CHILDREN.items():
        assert meaning in (None, "removed")
        assert (parent, list_field) in type_table.EMBEDDED_LISTS
        if parent in sdk_types:
            field = next(f for f in sdk_types[parent].fields if f.name == list_field)
            assert field.targets == (child,), (parent, list_field, field.targets)


def test_every_v2_class_of_the_sdk_has_a_model_or_a_documented_exclusion(sdk_types):
    """stripe-python's v2 classes (V2_OBJECT_CLASSES) are read like the v1 ones; their
    page wrapper shares the name "list" with v1's, excluded with a reason."""
    from stripe._object_classes import V2_OBJECT_CLASSES

    mirrored = mirrored_types()
    assert len(V2_OBJECT_CLASSES) >= 29
    for object_name in V2_OBJECT_CLASSES:
        assert object_name in sdk_types
        if object_name in type_table.EXCLUDED_TYPES:
            assert type_table.EXCLUDED_TYPES[object_name].strip()
        else:
            model = mirrored[object_name]
            assert model.__name__ == "V2" + V2_OBJECT_CLASSES[object_name][1]
            assert model.__module__ == "stripe_django.models.v2"
