"""The v2 models in the admin: listed and shown read-only like the others."""

from __future__ import annotations

import pytest
from django.contrib.admin.utils import quote

from stripe_django.ingest.columns import model_for
from stripe_django.sync import upsert
from stripe_django.testing import v2_examples as examples

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("object_type", sorted(examples.V2_EXAMPLES))
def test_every_v2_model_has_a_read_only_list_and_page(admin_client, object_type):
    payload = examples.V2_EXAMPLES[object_type]()
    upsert(payload)
    model = model_for(object_type)
    base = f"/admin/stripe_django/{model._meta.model_name}/"
    listing = admin_client.get(base)
    assert listing.status_code == 200
    assert quote(payload["id"]) in listing.content.decode()
    page = admin_client.get(f"{base}{quote(payload['id'])}/change/")
    assert page.status_code == 200
    text = page.content.decode()
    assert payload["id"] in text
    assert 'name="_save"' not in text
    assert "whsec_" not in text


def test_a_v2_account_page_links_to_its_persons(admin_client):
    upsert(examples.account())
    upsert(examples.account_person("person_admin"))
    text = admin_client.get(f"/admin/stripe_django/v2account/{quote(examples.ACCOUNT)}/change/").content.decode()
    # the persons' list, filtered to this account, with their number
    assert f'/admin/stripe_django/v2accountperson/?account__exact={examples.ACCOUNT}' in text
    assert "v2 account persons: 1" in text
