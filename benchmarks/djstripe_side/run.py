"""``python -m benchmarks.djstripe_side.run N``: in a fresh test database, time
``djstripe_sync_models Customer`` against the stub named by STUB_API_BASE; prints
``DJSTRIPE <stored> <seconds> <cpu seconds>``."""

import io
import os
import sys
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.djstripe_side.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.test.utils import setup_databases, teardown_databases  # noqa: E402


def main(expected: int) -> None:
    old = setup_databases(verbosity=0, interactive=False)
    try:
        from djstripe.models import Customer

        out, err = io.StringIO(), io.StringIO()
        cpu, started = time.process_time(), time.perf_counter()
        call_command("djstripe_sync_models", "Customer", stdout=out, stderr=err)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        stored = Customer.objects.count()
        errors = err.getvalue().strip().splitlines()
        if errors:
            print("ERRORS " + " | ".join(errors[:3])[:600], flush=True)
        print(f"DJSTRIPE {stored} {seconds:.3f} {cpu:.3f}", flush=True)
    finally:
        from django.db import connections

        connections.close_all()
        teardown_databases(old, verbosity=0)


if __name__ == "__main__":
    main(int(sys.argv[1]))
