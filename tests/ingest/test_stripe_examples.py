"""Conformance: Stripe's published example object of every mirrored type ingests, and
every top-level field lands in its column (typed) or, failing that, in stripe_data."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import models as dj

from stripe_django import type_table
from stripe_django.exceptions import IngestError
from stripe_django.ingest import columns
from stripe_django.ingest.redaction import redact
from stripe_django.sync import upsert, upsert_many

pytestmark = pytest.mark.django_db

# The published file's own defects: an object whose id is the empty string cannot be
# keyed, and ingest must refuse it rather than store a row under "".
EMPTY_ID_EXAMPLES = {"product_feature", "deleted_discount"}
# The published invoice line carries an ``il_tmp_`` id: a line of an upcoming invoice
# (a preview), which ingest refuses to store as a real object.
PREVIEW_EXAMPLES = {"line_item"}


def _mirrored_examples(stripe_examples):
    mirrored = columns.mirrored_types()
    return {key: obj for key, obj in stripe_examples.items() if obj.get("object") in mirrored}


def test_the_examples_cover_most_mirrored_types(stripe_examples):
    covered = {obj["object"] for obj in _mirrored_examples(stripe_examples).values()}
    assert len(covered) >= 120


def test_every_example_of_a_mirrored_type_ingests(stripe_examples):
    examples = _mirrored_examples(stripe_examples)
    result = upsert_many(examples.values())
    no_id = {e.object_type for e in result.errors if e.field == "id"}
    previews = {e.object_type for e in result.errors if "preview" in e.reason}
    assert result.failed == len(EMPTY_ID_EXAMPLES) + len(PREVIEW_EXAMPLES), result.errors
    assert no_id == {examples[k]["object"] for k in EMPTY_ID_EXAMPLES}
    assert previews == {examples[k]["object"] for k in PREVIEW_EXAMPLES}


def test_empty_ids_are_refused_with_a_clear_error(stripe_examples):
    with pytest.raises(IngestError, match=r"product_feature \(no id\) field 'id'"):
        upsert(stripe_examples["product_feature"])


def test_unmirrored_examples_are_refused_naming_the_reason(stripe_examples):
    for key, obj in stripe_examples.items():
        object_type = obj.get("object")
        if object_type in type_table.EXCLUDED_TYPES:
            with pytest.raises(IngestError, match="not mirrored"):
                upsert(obj)


@pytest.mark.parametrize("key", [
    "invoice", "customer", "subscription", "charge", "checkout.session", "credit_note",
    "payment_intent", "account", "quote", "issuing.card", "treasury.financial_account", "balance",
])
def test_every_top_level_field_lands_in_its_column_or_in_stripe_data(stripe_examples, key):
    payload = stripe_examples[key]
    row = upsert(payload)
    for name in set(type_table.REDACTED_FIELDS) | set(
            type_table.REDACTED_FIELDS_OF_TYPE.get(payload["object"], ())):
        assert name not in row.stripe_data
        assert not hasattr(row, name)
    model = type(row)
    field_names = {f.name: f for f in model._meta.concrete_fields}
    for name, value in redact(payload).items():
        assert row.stripe_data[name] == value, name
        field = field_names.get(name)
        if field is None or name == "id":
            continue
        stored = getattr(row, field.attname)
        if value is None:
            assert stored is None, name
        elif isinstance(field, dj.ForeignKey) or name in columns.BASE_COLUMNS:
            continue
        elif isinstance(field, dj.DateTimeField):
            assert stored == dt.datetime.fromtimestamp(value, tz=dt.timezone.utc), name
        elif isinstance(field, dj.DecimalField):
            assert stored == Decimal(str(value)), name
        elif isinstance(field, dj.JSONField) and isinstance(value, dict) and value.get("object") == "list":
            assert stored == [item.get("id") for item in value["data"]], name
        elif isinstance(field, dj.JSONField) and isinstance(value, list):
            assert len(stored) == len(value), name
        else:
            assert stored == value, name


def test_deleted_examples_mark_rows_deleted(stripe_examples):
    for key, obj in stripe_examples.items():
        if key.startswith("deleted_") and key not in EMPTY_ID_EXAMPLES:
            if obj.get("object") in columns.mirrored_types():
                assert upsert(obj).deleted is True, key
