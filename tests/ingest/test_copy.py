"""A page of objects new to the table: on PostgreSQL they go in by COPY (the writer's
``_copy_new``), which must store exactly what the upsert stores, and must give way to
the upsert when another writer stored one of them after the look-up."""

import copy
import datetime as dt
import threading

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from stripe_django import models, type_table
from stripe_django.ingest import columns
from stripe_django.ingest.writer import COPY_MIN_ROWS
from stripe_django.sync import upsert, upsert_many
from stripe_django.testing import payloads

NOW = 1_800_000_000
# Examples whose key is not their own id (so copies with other ids would collapse into
# one row) and the file's own defects (see test_stripe_examples).
NOT_COPIED = {"product_feature", "deleted_discount", "line_item"}


def _copies_apart(obj: dict, suffix: str) -> dict:
    return {**copy.deepcopy(obj), "id": f"{obj['id']}_{suffix}"}


def _row(model, pk) -> dict:
    values = {f.attname: getattr(obj, f.attname)
              for obj in [model.objects.get(pk=pk)] for f in model._meta.concrete_fields}
    values["stripe_data"] = {k: v for k, v in values["stripe_data"].items() if k != "id"}
    for name in ("id", "stripe_data_hash"):
        del values[name]
    return values


@pytest.mark.django_db
def test_a_page_of_new_objects_is_stored_as_one_object_alone_is(stripe_examples):
    mirrored = columns.mirrored_types()
    examples = {key: obj for key, obj in stripe_examples.items()
                if obj.get("object") in mirrored and key not in NOT_COPIED
                and obj["object"] not in type_table.SYNTHETIC_KEYS
                and obj["object"] not in type_table.ALTERNATE_ID_FIELDS
                and isinstance(obj.get("id"), str) and obj["id"]}
    assert len(examples) >= 100
    page = [_copies_apart(obj, f"p{n}") for obj in examples.values() for n in range(COPY_MIN_ROWS)]
    with CaptureQueriesContext(connection) as queries:
        result = upsert_many(page, stamp=NOW, batch_size=len(page))
    assert not result.errors, result.errors[:3]
    for obj in examples.values():
        upsert_many([_copies_apart(obj, "alone")], stamp=NOW)
    copied = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("COPY ")]
    if connection.vendor == "postgresql":
        # One COPY per model of the page (some examples share a model).
        # Deletion marks (only id, object and deleted) are no rows of data: not copied.
        tables = {columns.model_for(o["object"])._meta.db_table for o in examples.values()
                  if not o.keys() <= {"id", "object", "deleted"}}
        assert {sql.split('"')[1] for sql in copied} == tables
    else:
        assert copied == []
    for key, obj in examples.items():
        model = columns.model_for(type_table.OBJECT_ALIASES.get(obj["object"], obj["object"]))
        assert _row(model, f"{obj['id']}_p0") == _row(model, f"{obj['id']}_alone"), key


@pytest.mark.django_db(transaction=True)
def test_a_row_another_writer_stores_after_the_look_up_keeps_its_newer_state():
    if connection.vendor != "postgresql":
        pytest.skip("COPY is PostgreSQL's: elsewhere new rows are written by the upsert")
    page = [payloads.customer_current(f"cus_race{i:02d}", email=f"old{i}@example.com")
            for i in range(COPY_MIN_ROWS)]
    newer = payloads.customer_current("cus_race05", email="newer@example.com")

    def other_writer() -> None:
        try:
            upsert(newer, stamp=NOW + 60)  # commits on a connection of its own
        finally:
            connections.close_all()

    def store_one_first(execute, sql, params, many, context):
        if sql.startswith("COPY ") and not raced:
            raced.append(sql)
            thread = threading.Thread(target=other_writer)
            thread.start()
            thread.join()
        return execute(sql, params, many, context)

    raced: list[str] = []
    with connection.execute_wrapper(store_one_first), CaptureQueriesContext(connection) as queries:
        result = upsert_many(page, stamp=NOW)
    assert raced, "the COPY did not go through the connection's execute wrappers"
    assert not result.errors and models.Customer.objects.filter(pk__startswith="cus_race").count() == 20
    assert models.Customer.objects.get(pk="cus_race05").email == "newer@example.com"
    assert models.Customer.objects.get(pk="cus_race04").email == "old4@example.com"
    assert models.Customer.objects.get(pk="cus_race05").stripe_snapshot_at == dt.datetime.fromtimestamp(
        NOW + 60, tz=dt.timezone.utc)
    statements = [q["sql"].split(" ", 1)[0] for q in queries.captured_queries]
    # The COPY failed in its savepoint, which was rolled back; one upsert then stored
    # all the rows under the staleness guard, in the batch's transaction (not object
    # by object, as after a value the database refuses).
    assert statements.count("COPY") == 1 and statements.count("INSERT") == 1
    assert statements.count("ROLLBACK") == 1
    assert statements[-1] == "COMMIT"


@pytest.mark.django_db
def test_text_that_copy_would_read_as_markup_is_stored_as_sent():
    # COPY's text format gives meaning to tabs, newlines, backslashes and \N (NULL).
    tricky = "tab\there\nline\r\\N back\\slash \\. ünïcødé 🎉"
    page = [payloads.customer_current(f"cus_text{i:02d}", name=tricky, description="\\N",
                                      metadata={"note": tricky, "\\N": "\t"})
            for i in range(COPY_MIN_ROWS)]
    with CaptureQueriesContext(connection) as queries:
        assert upsert_many(page, stamp=NOW).created == COPY_MIN_ROWS
    assert any(q["sql"].startswith("COPY ") for q in queries.captured_queries) == (
        connection.vendor == "postgresql")
    for row in models.Customer.objects.filter(pk__startswith="cus_text"):
        assert (row.name, row.description) == (tricky, "\\N")
        assert row.metadata == {"note": tricky, "\\N": "\t"}
        assert row.stripe_data["name"] == tricky


@pytest.mark.django_db
def test_a_page_mixing_new_and_stored_rows_is_written_in_one_sorted_statement():
    # A COPY of the new ids followed by an upsert of the stored one would lock rows out
    # of id order, and deadlock with a writer locking the same ids in one statement.
    upsert(payloads.customer_current("cus_mix02"), stamp=NOW)
    page = [payloads.customer_current(f"cus_mix{i:02d}", email="changed@example.com")
            for i in range(1, COPY_MIN_ROWS + 2)]
    with CaptureQueriesContext(connection) as queries:
        result = upsert_many(page, stamp=NOW + 10)
    assert (result.created, result.updated) == (COPY_MIN_ROWS, 1)
    statements = [q["sql"] for q in queries.captured_queries]
    assert not any(sql.startswith("COPY ") for sql in statements)
    table = connection.ops.quote_name(models.Customer._meta.db_table)
    assert sum(sql.startswith(f"INSERT INTO {table}") for sql in statements) == 1
    assert models.Customer.objects.get(pk="cus_mix02").email == "changed@example.com"


@pytest.mark.django_db
@pytest.mark.parametrize("size", [1, COPY_MIN_ROWS])
def test_a_decimal_the_database_refuses_is_refused_in_a_page_as_alone(size):
    # PostgreSQL's numeric has no signalling NaN; a page must not store what one object
    # alone is refused for.
    def price(price_id):
        return {"id": price_id, "object": "price", "active": True, "currency": "usd",
                "created": NOW, "livemode": False, "metadata": {}, "type": "one_time",
                "unit_amount": None, "unit_amount_decimal": "sNaN", "product": "prod_x"}

    if connection.vendor != "postgresql":
        pytest.skip("COPY is PostgreSQL's: this checks it refuses what the upsert there refuses")
    result = upsert_many([price(f"price_snan{i:02d}") for i in range(size)], stamp=NOW)
    assert result.failed == size and result.created == 0
    assert not models.Price.objects.filter(pk__startswith="price_snan").exists()
