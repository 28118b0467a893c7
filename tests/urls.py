from django.urls import include, path

urlpatterns = [
    path("stripe/", include("stripe_django.urls")),
]
