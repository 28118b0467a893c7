"""Read-only admin pages for every mirrored model (the source of truth is Stripe), the
events admin with retry and replay, sync cursors and the mirror's health page.

Importing this module (Django's admin autodiscovery does) registers them with the
default site and, unless the project set an index template of its own, shows the
stripe_django models grouped by family on the admin index.
"""

from __future__ import annotations

from django.contrib import admin

from .site import INDEX_TEMPLATE, register

register(admin.site)
if admin.site.index_template is None:
    admin.site.index_template = INDEX_TEMPLATE
