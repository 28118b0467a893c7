"""The admin's declarative table names real types and fields; money is shown right."""

from __future__ import annotations

from stripe_django.admin import display, table
from stripe_django.admin.options import list_columns
from stripe_django.ingest.columns import mirrored_types


def test_every_listed_column_is_a_field_of_its_model():
    models = mirrored_types()
    for object_type, columns in table.LIST_COLUMNS.items():
        assert object_type in models, object_type
        names = {f.name for f in models[object_type]._meta.concrete_fields}
        missing = set(columns) - names
        assert not missing, (object_type, missing)


def test_types_not_in_the_table_get_a_few_default_columns():
    models = mirrored_types()
    plain = [t for t in models if t not in table.LIST_COLUMNS]
    assert len(plain) > 80
    for object_type in plain:
        columns = list_columns(models[object_type])
        assert len(columns) <= table.MAX_DEFAULT_COLUMNS
        assert set(columns) <= set(table.DEFAULT_COLUMNS)
    assert list_columns(models["issuing.card"])[:2] == ("type", "status")


def test_the_generated_admin_classes_pass_djangos_checks():
    # `manage.py migrate` and `runserver` refuse to start on an admin check error (a
    # generated column taking the name of a Stripe field, for example).
    from django.contrib import admin
    from django.core import checks

    errors = [m for m in checks.run_checks(tags=[checks.Tags.admin]) if m.is_serious()]
    assert errors == []
    assert len(admin.site._registry) > 140
