"""The seed documents (../shared/seeds) name the models and fields users expect."""

import re
from pathlib import Path

import pytest
from django.db import models as dj

from stripe_django import models
from tests.conftest import missing

SEEDS = Path(__file__).resolve().parents[3] / "shared" / "seeds"

# The seed's typos and mistakes that are not copied (../shared/seeds/README.md).
SEED_CORRECTIONS = {"currencies_supports": "currencies_supported", "verfication": "verification"}
# DisputeEvidence is the Dispute.evidence sub-object (a JSON column), not a model.
SUB_OBJECT_MODELS = {"DisputeEvidence": ("Dispute", "evidence")}
SEED_MODEL_NAMES = {"BitCoinReceiver": "BitcoinReceiver"}


def _seed_reference() -> dict[str, list[str]]:
    path = SEEDS / "stripe_django-models-reference.txt"
    if not path.exists():
        missing(f"the seed documents are not at {SEEDS} (they are beside the repo in CI)")
    text = path.read_text()
    text = text[: text.index("tmux")]  # its tail is an unrelated developer guide
    found: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        match = re.search(r"class stripe_django\.models\.[\w.]+\.(\w+)\(", line)
        if match:
            current = SEED_MODEL_NAMES.get(match.group(1), match.group(1))
            found[current] = []
            continue
        match = re.match(r"\s*(\w+) \((\w+)", line)
        if match and current:
            name = match.group(1)
            if name.endswith("_id") and "ForeignKey" in line:
                name = name[:-3]
            found[current].append(SEED_CORRECTIONS.get(name, name))
    return found


def test_every_seed_model_and_field_exists():
    reference = _seed_reference()
    assert len(reference) >= 24
    for model_name, field_names in reference.items():
        if model_name in SUB_OBJECT_MODELS:
            parent, field = SUB_OBJECT_MODELS[model_name]
            assert isinstance(getattr(models, parent)._meta.get_field(field), dj.JSONField)
            continue
        model = getattr(models, model_name)
        names = {f.name for f in model._meta.get_fields()}
        missing = [f for f in field_names if f not in names]
        assert missing == [], f"{model_name} lacks {missing}"


def test_ids_are_stripe_strings_and_known_seed_errors_are_corrected():
    assert isinstance(models.Customer._meta.pk, dj.CharField)
    assert isinstance(models.Customer._meta.get_field("account_balance"), dj.BigIntegerField)
    assert isinstance(models.Refund._meta.get_field("currency"), dj.TextField)
    assert models.FileUpload is models.File


def test_every_invoice_schema_property_is_an_invoice_field():
    path = SEEDS / "stripe-invoice-schema.md"
    if not path.exists():
        missing(f"the seed documents are not at {SEEDS} (they are beside the repo in CI)")
    properties = re.findall(r"^\| (\w+) \| \w+ \|", path.read_text(), re.M)
    properties = [p for p in properties if p != "Name"]  # the table header
    assert "amount_due" in properties and len(properties) > 40
    names = {f.name for f in models.Invoice._meta.get_fields()} | {"object"}
    assert [p for p in properties if p not in names] == []
