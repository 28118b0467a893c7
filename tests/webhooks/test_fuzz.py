"""Fuzzing the webhook URL: malformed, wrongly typed, oversized and deeply nested bodies,
signed and unsigned.

Whatever arrives: every signed request is stored (here nothing transient can fail, so
nothing is answered 5xx), nothing unsigned is stored, and no answer carries a traceback
or a secret. Bodies are UTF-8 throughout: Stripe signs the text of a JSON body, so bytes
that are not UTF-8 cannot carry its signature (tests/webhooks/test_verification.py).
"""

from __future__ import annotations

import json
import random
from typing import Any, Callable

import pytest

from stripe_django.models import Event

from .conftest import SECRET, customer, make_event

pytestmark = pytest.mark.django_db

CASES = 160
SEED = 20261122


def _nested(depth: int) -> dict:
    value: dict = {"leaf": True}
    for _ in range(depth):
        value = {"x": value}
    return value


def _set(path: tuple, value: Any) -> Callable[[dict], dict]:
    def mutate(event: dict) -> dict:
        target = event
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        return event

    return mutate


def _drop(key: str) -> Callable[[dict], dict]:
    def mutate(event: dict) -> dict:
        event.pop(key, None)
        return event

    return mutate


# Each mutation turns a valid event into the JSON value of a body, or into raw text.
MUTATIONS: dict[str, Callable[[dict], Any]] = {
    "valid": lambda e: e,
    "livemode text": _set(("livemode",), "yes"),
    "livemode number": _set(("livemode",), 1),
    "type too long": _set(("type",), "customer.updated" + "x" * 300),
    "type number": _set(("type",), 123),
    "type missing": _drop("type"),
    "id too long": lambda e: _set(("id",), e["id"] + "x" * 300)(e),
    "id number": _set(("id",), 42),
    "id empty": _set(("id",), ""),
    "id with NUL": lambda e: _set(("id",), e["id"] + "\x00x")(e),
    "created far future": _set(("created",), 10 ** 15),
    "created far past": _set(("created",), -(10 ** 15)),
    "created float": _set(("created",), 1.5),
    "created text": _set(("created",), "now"),
    "created bool": _set(("created",), True),
    "data list": _set(("data",), []),
    "data.object text": _set(("data", "object"), "cus_1"),
    "object unknown type": _set(("data", "object", "object"), "issuing.settlement"),
    "field wrong type": _set(("data", "object", "balance"), "a lot"),
    "NUL in a value": _set(("data", "object", "name"), "Jenny\x00Rosen"),
    "NUL in a key": _set(("data", "object", "metadata"), {"k\x00ey": "v"}),
    "lone surrogate": _set(("data", "object", "name"), "Jenny \ud800 Rosen"),
    "lone surrogate in a key": _set(("data", "object", "metadata"), {"k\udfffey": "v"}),
    "NaN": _set(("data", "object", "metadata"), {"ratio": float("nan")}),
    "Infinity": _set(("data", "object", "metadata"), {"ratio": float("inf")}),
    "nested 40": _set(("data", "object", "metadata"), _nested(40)),
    "nested 3000": _set(("data", "object", "metadata"), _nested(3000)),
    # Python 3.13's JSON parser reads these; 3.11 and 3.12 refuse them
    "nested 990": _set(("data", "object", "metadata"), _nested(990)),
    "nested 10000": _set(("data", "object", "metadata"), _nested(10_000)),
    "account number": _set(("account",), 12345),
    "account too long": _set(("account",), "acct_" + "x" * 300),
    "api_version too long": _set(("api_version",), "2026-10-28" + "x" * 500),
    "previous_attributes list": _set(("data", "previous_attributes"), []),
    "emoji": _set(("data", "object", "name"), "Jenny \U0001F600 Rosen"),
    "long text": _set(("data", "object", "description"), "y" * 100_000),
    "oversized": _set(("data", "object", "metadata"), {"padding": "z" * 1_100_000}),
    "not json": lambda e: "this is not json " + e["id"],
    "truncated json": lambda e: json.dumps(e)[: len(json.dumps(e)) // 2],
    "json null": lambda e: "null",
    "json list": lambda e: f'["{e["id"]}"]',
    "json string": lambda e: json.dumps(e["id"]),
    "empty body": lambda e: "",
    "deep list body": lambda e: "[" * 100_000 + "]" * 100_000,
}


def _body(name: str, n: int) -> bytes:
    event = make_event(customer(f"cus_fuzz{n}", metadata={"case": str(n)}), "customer.updated",
                       event_id=f"evt_fuzz{n:06d}")
    value = MUTATIONS[name](event)
    if isinstance(value, str):
        # Raw text; made unique per case where the text itself would repeat.
        return (value if name != "empty body" and name != "json null" else value).encode()
    try:
        return json.dumps(value, allow_nan=True).encode()
    except RecursionError:  # too deep for json.dumps: write it out by hand
        depth = int(name.split()[-1])
        return (b'{"id": "evt_fuzz%06d", "object": "event", "data": {"object": ' % n
                + b'{"x": ' * depth + b"1" + b"}" * depth + b"}}")


def test_fuzzing_the_webhook_url(deliver):
    rng = random.Random(SEED)
    names = list(MUTATIONS)
    signed_bodies: set[bytes] = set()
    problems = []
    for n in range(CASES):
        name = names[n] if n < len(names) else rng.choice(names)
        signed = n < len(names) or rng.random() < 0.7
        body = _body(name, n)
        response = deliver(body, secret=SECRET if signed else "whsec_someone_else")
        text = response.content.decode("utf-8", "replace")
        if "Traceback" in text or 'File "' in text or SECRET in text:
            problems.append((name, "the answer shows internals"))
        if signed:
            signed_bodies.add(body)
            if response.status_code != 200:
                problems.append((name, f"signed, answered {response.status_code}: {text.strip()}"))
        elif response.status_code not in (400, 413):
            problems.append((name, f"unsigned, answered {response.status_code}"))
        # Stored rows: one per distinct signed body, nothing for unsigned ones.
        if Event.objects.count() != len(signed_bodies):
            problems.append((name, f"{Event.objects.count()} events stored for "
                                   f"{len(signed_bodies)} signed bodies"))
            break
    assert problems == []
    statuses = dict(Event.objects.values_list("pk", "processing_status"))
    assert "evt_fuzz000000" in statuses and statuses["evt_fuzz000000"] == "processed"
    assert "failed" in statuses.values()


@pytest.mark.parametrize("depth", [120, 990, 3000, 10_000])
def test_a_signed_event_nested_too_deeply_is_stored_as_text_and_marked_failed(deliver, depth):
    """Whatever the Python version's JSON parser accepts (3.13 reads 3,000 levels; 3.12
    stops near 1,000): answered 200 without a traceback, stored, and failed with the
    limit named."""
    from stripe_django.ingest.redaction import MAX_NESTING

    body = (b'{"id": "evt_deep", "object": "event", "type": "customer.updated", '
            b'"created": 1700000000, "data": {"object": {"id": "cus_deep", "object": "customer", '
            b'"metadata": ' + b'{"x": ' * depth + b'"1"' + b"}" * depth + b"}}}")
    response = deliver(body)
    assert response.status_code == 200, response.content
    stored = Event.objects.get()
    assert stored.processing_status == "failed"
    assert f"nested deeper than {MAX_NESTING} levels" in stored.processing_error
    assert stored.pk == "evt_deep"


def test_a_signed_event_holding_a_lone_surrogate_is_stored_and_marked_failed(deliver):
    """JSON may spell a lone surrogate ("\\ud800"); Python reads it, but no UTF-8
    text holds it: the event is kept (as text), failed with the reason, answered 200."""
    event = make_event(customer("cus_surrogate", name="Jenny \ud800 Rosen"), "customer.updated",
                       event_id="evt_surrogate")
    response = deliver(json.dumps(event).encode())
    assert response.status_code == 200, response.content
    stored = Event.objects.get()
    assert (stored.pk, stored.processing_status) == ("evt_surrogate", "failed")
    assert "lone surrogate" in stored.processing_error
    assert "\\ud800" in json.dumps(stored.stripe_data)  # the body, as text, escaped


@pytest.mark.parametrize("shape", ["over the size limit", "not JSON"])
def test_an_event_kept_as_text_keeps_no_secret(deliver, settings, shape):
    """A body the view cannot read as an event is stored as text: the secrets in that
    text are redacted as they are in a stored payload (any key redacted in some type,
    since the text says no type for certain)."""
    from stripe_django.ingest.redaction import REDACTED_KEYS

    intent = {"id": "pi_text", "object": "payment_intent", "client_secret": "pi_text_secret_abc",
              "metadata": {"number": "INV-0042"}, "description": "x" * 3000}
    card = {"id": "ic_text", "object": "issuing.card", "number": "4000009990000000", "cvc": "123"}
    body = json.dumps(make_event(intent, "payment_intent.created", event_id="evt_text")).encode()
    body = body[:-1] + b', "extra": ' + json.dumps(card).encode() + b"}"
    if shape == "not JSON":
        body = b"not json " + body
    else:
        # The secrets sit in the part that is kept (the beginning); the rest is cut.
        settings.STRIPE_DJANGO = {**settings.STRIPE_DJANGO, "WEBHOOK_MAX_BODY_SIZE": len(body) - 100}
        body = body.replace(b'"description"', b'"client_secret": "pi_text_secret_abc", "number": '
                                              b'"4000009990000000", "description"', 1)
    assert deliver(body).status_code == 200
    stored = json.dumps(Event.objects.get().stripe_data)
    assert "pi_text_secret_abc" not in stored and "4000009990000000" not in stored
    assert '\\"client_secret\\": \\"[redacted]\\"' in stored
    assert "INV-0042" in stored  # a "number" that is no card number is kept
    assert "client_secret" in REDACTED_KEYS
