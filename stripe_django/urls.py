"""URL routes of the app; include them with ``path("stripe/", include("stripe_django.urls"))``.

* ``webhook/``: the default endpoint, secrets ``STRIPE_DJANGO["WEBHOOK_SECRETS"]``;
  ``reverse("stripe_django:webhook")``.
* ``webhook/<name>/``: a named endpoint, secrets
  ``STRIPE_DJANGO["WEBHOOK_ENDPOINTS"][name]["SECRETS"]`` (one for a Connect endpoint,
  say); ``reverse("stripe_django:webhook", kwargs={"name": "connect"})``.
"""

from django.urls import path

from .webhooks.views import WebhookView

app_name = "stripe_django"
urlpatterns = [
    path("webhook/", WebhookView.as_view(), name="webhook"),
    path("webhook/<slug:name>/", WebhookView.as_view(), name="webhook"),
]
