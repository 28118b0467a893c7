"""URL routes of the app; include them with ``path("stripe/", include("stripe_django.urls"))``."""

app_name = "stripe_django"
urlpatterns: list = []
