"""Moved to :mod:`stripe_django.ingest.completion` (the sync, the webhooks and the mirror
all complete cut-off lists); this module keeps the old import path working."""

from ..ingest.completion import client_pages, complete_lists, cut_off_lists

__all__ = ["cut_off_lists", "complete_lists", "client_pages"]
