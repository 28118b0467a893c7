from django.apps import AppConfig


class StripeDjangoConfig(AppConfig):
    name = "stripe_django"
    label = "stripe_django"
    verbose_name = "Stripe mirror"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import conf  # noqa: F401  (connects the setting_changed receiver)
