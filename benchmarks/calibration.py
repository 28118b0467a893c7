"""How fast this machine runs Python and PostgreSQL, apart from stripe_django's code.

The machines ``make bench`` runs on differ: a session's 2-core VM ran the same code at
2.5x the speed of the next one's. Its figures are therefore read as ratios to baselines
measured in the same run (:mod:`benchmarks.ratios`); the absolute figures printed
beside them still depend on the machine. These two reference workloads do not involve
the project, so their times say how two machines compare.
"""

from __future__ import annotations

import json
import time

# Rounds of the Python workload: about 0.8 s on the 2 GHz Xeon of docs/guide/performance.rst.
ROUNDS = 20


def python_reference() -> float:
    """Milliseconds for a fixed mix of what ingest does in Python (dict walks, string
    formatting, hashing, JSON text), by the standard library only; best of three."""
    import hashlib

    payload = {"id": "cus_reference", "object": "customer", "metadata": {"k": "v" * 20},
               "address": {"city": "Berlin", "line1": "Str. 1"}, "balance": 0,
               "preferred_locales": ["de", "en"], "created": 1_700_000_000}
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        for r in range(ROUNDS):
            total = 0
            for i in range(2_000):
                obj = dict(payload, id=f"cus_{r}_{i}")
                for key, value in obj.items():
                    if type(value) is dict:
                        total += len(value)
                text = json.dumps(obj)
                total += len(hashlib.blake2b(text.encode(), digest_size=16).hexdigest())
                total += len(json.loads(text))
        best = min(best, time.perf_counter() - started)
    return best * 1000


def postgres_reference(url: str) -> float | None:
    """Milliseconds the server takes to parse, as jsonb, 2,000 small JSON objects and
    sum a field of them; best of five. None when the server is not reachable."""
    try:
        import psycopg
    except ImportError:
        return None
    from urllib.parse import urlparse

    parsed = urlparse(url)
    text = json.dumps([{"id": f"cus_{i}", "email": f"c{i}@example.com", "balance": i,
                        "metadata": {"order": str(i)}} for i in range(2_000)])
    try:
        with psycopg.connect(host=parsed.hostname or "127.0.0.1", port=parsed.port or 5432,
                             user=parsed.username or "postgres", dbname="postgres",
                             connect_timeout=2) as conn:
            best = float("inf")
            for _ in range(5):
                started = time.perf_counter()
                conn.execute("SELECT sum((o->>'balance')::int) FROM jsonb_array_elements(%s::jsonb) o",
                             (text,)).fetchone()
                best = min(best, time.perf_counter() - started)
    except psycopg.OperationalError:
        return None
    return best * 1000
