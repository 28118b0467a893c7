from django.apps import AppConfig


class StripeDjangoConfig(AppConfig):
    name = "stripe_django"
    label = "stripe_django"
    verbose_name = "Stripe mirror"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks, conf  # noqa: F401  (registers the checks; the setting_changed receiver)
        from .sdklog import install

        install()  # the SDK's log without secrets
