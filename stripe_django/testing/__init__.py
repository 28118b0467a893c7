"""Test helpers for stripe_django (e.g. a localstripe fake Stripe server)."""
