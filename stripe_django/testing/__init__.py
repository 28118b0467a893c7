"""Test doubles for stripe_django, shared by the tests, the benchmarks and the demo.

* :mod:`~stripe_django.testing.stripe_stub`: :class:`StripeStub`, the one local stand-in
  for the Stripe API at the HTTP boundary (generated lists, events, accounts, 429s,
  failures, answers a test gives); its objects come from
  :mod:`~stripe_django.testing.objects`.
* :mod:`~stripe_django.testing.localstripe`: :class:`LocalStripe`, localstripe (a fake
  Stripe with a state of its own) in a child process.
* :mod:`~stripe_django.testing.seed`: ``seed_account()``, a small billing account made
  through the API (in localstripe, or a real test-mode account).
* :mod:`~stripe_django.testing.payloads`: objects in the shapes of several API versions.

Every server listens on 127.0.0.1 only, on a free port, until its ``with`` block ends.
Nothing here is imported by the app itself.
"""
