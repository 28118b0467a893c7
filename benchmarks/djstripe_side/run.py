"""``python -m benchmarks.djstripe_side.run PAYLOADS_DIR``: dj-stripe's side of the
comparison, in a fresh test database, driven through stdin by the parent
(``benchmarks.djstripe_bench``), one command a line:

* ``sync``: ``djstripe_sync_models Customer`` against the stub named by STUB_API_BASE;
* ``ingest NAME``: ``<Model>.sync_from_stripe_data(obj)`` for each object of
  ``PAYLOADS_DIR/NAME.json`` (dj-stripe's way to store a payload it was given), made
  into the SDK's objects beforehand (untimed), as dj-stripe gets them from stripe-python
  (it iterates ``invoice.lines`` as a ``ListObject``);

each into emptied tables, answered ``RESULT <stored> <seconds> <cpu seconds>``.
"""

import io
import json
import os
import sys
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.djstripe_side.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.test.utils import setup_databases, teardown_databases  # noqa: E402


def _empty() -> None:
    from djstripe.models import Customer, Invoice, InvoiceItem, LineItem

    for model in (LineItem, InvoiceItem, Invoice, Customer):
        model.objects.all().delete()


def _sync():
    from djstripe.models import Customer

    out, err = io.StringIO(), io.StringIO()
    call_command("djstripe_sync_models", "Customer", stdout=out, stderr=err)
    errors = err.getvalue().strip().splitlines()
    if errors:
        print("ERRORS " + " | ".join(errors[:3])[:600], flush=True)
    return Customer.objects.count()


def _ingest(objs: list[dict]):
    from djstripe import models

    model = {"customer": models.Customer, "invoice": models.Invoice}[objs[0].object]
    for obj in objs:
        model.sync_from_stripe_data(obj)
    return model.objects.count()


def main(payloads: str) -> None:
    old = setup_databases(verbosity=0, interactive=False)
    try:
        print("READY", flush=True)
        for line in sys.stdin:
            command, *args = line.split()
            _empty()
            if command == "sync":
                work = _sync
            else:
                from stripe import convert_to_stripe_object

                with open(os.path.join(payloads, args[0] + ".json")) as f:
                    objs = [convert_to_stripe_object(obj) for obj in json.load(f)]
                work = lambda: _ingest(objs)  # noqa: E731
            cpu, started = time.process_time(), time.perf_counter()
            try:
                stored = work()
            except Exception as error:  # noqa: BLE001 - reported to the parent
                print(f"ERRORS {type(error).__name__}: {str(error)[:500]}", flush=True)
                stored = 0
            seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
            print(f"RESULT {stored} {seconds:.3f} {cpu:.3f}", flush=True)
    finally:
        from django.db import connections

        connections.close_all()
        teardown_databases(old, verbosity=0)


if __name__ == "__main__":
    main(sys.argv[1])
