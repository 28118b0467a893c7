"""Runs in dj-stripe's own virtualenv (``make bench-djstripe`` creates it): nothing here
imports stripe_django, and nothing of dj-stripe is installed in the project's venv."""
