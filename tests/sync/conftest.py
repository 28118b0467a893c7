from __future__ import annotations

import pytest


@pytest.fixture
def one_page_per_commit(monkeypatch):
    """The writer commits each page on its own, as it did before pages were grouped: for
    tests that act between two pages (``on_page``) and check what the next one did.
    ``test_groups`` checks the same things with groups."""
    from stripe_django.sync import pipeline

    monkeypatch.setattr(pipeline, "GROUP_PAGES", 1)
