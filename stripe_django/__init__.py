"""stripe_django: a faithful, queryable copy of a Stripe account in Django models."""

__version__ = "0.1.0"
