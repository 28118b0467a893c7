"""``manage.py stripe_sync``: arguments, summary, exit status."""

from __future__ import annotations

import io

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import CommandError

from stripe_django.models import Customer
from stripe_django.sync import sync
from stripe_django.testing.stripe_stub import StripeStub

from ..conftest import point_at

pytestmark = pytest.mark.django_db


def test_prints_the_summary_table(settings):
    out, err = io.StringIO(), io.StringIO()
    with StripeStub({"customers": 3, "products": 1}) as stub:
        point_at(settings, stub.api_base)
        call_command("stripe_sync", "customer", "product", "--workers", "2", stdout=out, stderr=err)
    text = out.getvalue()
    header = text.splitlines()[0].split()
    assert header == ["type", "fetched", "created", "updated", "unchanged", "failed", "seconds", "status"]
    assert any(line.split()[:3] == ["customer", "3", "3"] for line in text.splitlines())
    assert "stripe_sync:" in err.getvalue()  # plain progress lines when not on a terminal
    assert Customer.objects.count() == 3


def test_exits_non_zero_when_something_failed(settings):
    out = io.StringIO()
    with StripeStub({"customers": 1}, fail={"customers": 500}) as stub:
        point_at(settings, stub.api_base)
        with pytest.raises(CommandError, match="customer") as raised:
            call_command("stripe_sync", "customer", "--quiet", stdout=out)
    assert raised.value.returncode == 1
    assert "failed" in out.getvalue()


def test_unknown_type(settings):
    with pytest.raises(CommandError, match="unknown type 'nonsense'"):
        call_command("stripe_sync", "nonsense", "--quiet")


def test_a_missing_api_key_names_the_setting(settings, monkeypatch):
    monkeypatch.delenv("STRIPE_API_KEY", raising=False)
    settings.STRIPE_DJANGO = {}
    with pytest.raises(CommandError, match=r"STRIPE_DJANGO\['API_KEY'\]"):
        call_command("stripe_sync", "--quiet")
    with pytest.raises(ImproperlyConfigured, match=r"STRIPE_DJANGO\['API_KEY'\]"):
        sync()


def test_list_prints_the_type_names():
    out = io.StringIO()
    call_command("stripe_sync", "--list", stdout=out)
    names = out.getvalue().split()
    assert {"customer", "subscription", "invoice", "tax_id", "person"} <= set(names)
