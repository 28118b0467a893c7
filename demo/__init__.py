"""``make demo`` (``python -m demo``): a Stripe account mirrored into SQLite, end to end."""
