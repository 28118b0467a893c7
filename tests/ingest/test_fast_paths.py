"""What the per-object CPU work of ingest must keep as it was: the data hash of stored
rows (rows written by earlier versions are told unchanged by it), the look-up of stored
rows by id whatever characters the ids hold (PostgreSQL binds them as one array), and
the refusals the planner's loop decides without a converter call."""

import hashlib
import json

import pytest

from stripe_django import models
from stripe_django.sync import upsert_many
from stripe_django.testing import payloads

NOW = 1_800_000_000


def _hash_as_stored_before(data_json: str, account: str | None, deleted: bool, link: str = "") -> str:
    # The digest as earlier versions wrote it (one blake2b over the text and its suffix).
    text = f"{data_json}|{account or ''}|{int(deleted)}|{link}"
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


@pytest.mark.django_db
def test_the_data_hash_is_the_one_earlier_versions_stored():
    customer = payloads.customer_current("cus_hash", email="h@example.com", name="Zoë Ünicode")
    upsert_many([customer], stamp=NOW, account="acct_1hash")
    row = models.Customer.objects.get(pk="cus_hash")
    stored_text = json.dumps(customer, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    assert row.stripe_data_hash == _hash_as_stored_before(stored_text, "acct_1hash", False)

    invoice = payloads.invoice_current("in_hash", n_lines=2)
    upsert_many([invoice], stamp=NOW)
    line = models.InvoiceLineItem.objects.filter(invoice_id="in_hash").order_by("pk").first()
    line_payload = next(item for item in invoice["lines"]["data"] if item["id"] == line.pk)
    line_text = json.dumps(line_payload, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    assert line.stripe_data_hash in (_hash_as_stored_before(line_text, None, False),
                                     _hash_as_stored_before(line_text, None, False, "in_hash"))


@pytest.mark.django_db
def test_ids_with_quotes_backslashes_and_commas_are_found_stored():
    ids = ['cus_q"uote', "cus_back\\slash", "cus_com,ma", "cus_br{ace}", "cus_NULL", "cus_ sp"]
    customers = [payloads.customer_current(i, email="x@example.com") for i in ids]
    first = upsert_many(customers, stamp=NOW)
    assert first.as_tuple() == (len(ids), 0, 0, 0)
    again = upsert_many(customers, stamp=NOW + 1)
    assert again.as_tuple() == (0, 0, len(ids), 0)
    changed = [{**c, "email": "y@example.com"} for c in customers]
    third = upsert_many(changed, stamp=NOW + 2)
    assert third.as_tuple() == (0, len(ids), 0, 0)
    assert sorted(models.Customer.objects.values_list("pk", flat=True)) == sorted(ids)
    assert set(models.Customer.objects.values_list("email", flat=True)) == {"y@example.com"}


@pytest.mark.django_db
@pytest.mark.parametrize("field, value, message", [
    ("balance", True, "expected an integer, got bool"),
    ("balance", 2 ** 63, "out of the 64-bit range"),
    ("email", 7, "expected a string, got int"),
    ("delinquent", 1, "expected true or false, got int"),
    ("tax_exempt", "x" * 256, "longer than 255 characters"),
])
def test_values_of_the_wrong_type_are_refused_naming_the_field(field, value, message):
    customer = {**payloads.customer_current("cus_wrong", email="w@example.com"), field: value}
    result = upsert_many([customer], stamp=NOW)
    assert result.failed == 1 and not models.Customer.objects.filter(pk="cus_wrong").exists()
    error = result.errors[0]
    assert error.field == field and message in str(error)
