"""Sphinx configuration: the guides (docs/guide) and the API reference (docs/ref).

The reference is made by autodoc from the package's docstrings, so Django is set up
here with settings of its own: importing the models needs the app registry, and no
database is opened.
"""

import os
import sys

import django
from django.conf import settings

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "docs", "_ext"))

if not settings.configured:
    settings.configure(
        INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth",
                        "django.contrib.admin", "stripe_django"],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
        USE_TZ=True,
        DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
    )
    django.setup()

project = "stripe_django"
extensions: list = ["sphinx.ext.autodoc", "django_commands"]
exclude_patterns = ["_build", "dev", "_ext"]

# Signatures show the annotations as written; the descriptions come from the docstrings.
autodoc_typehints = "signature"
autodoc_member_order = "bysource"
autodoc_default_options = {"show-inheritance": False}
# A Django model's fields are descriptors without docstrings: autodoc lists only what has one.
autodoc_inherit_docstrings = False

# "--full" in an option name stays two hyphens (no en dash); quotes are still curled.
smartquotes_action = "qe"
