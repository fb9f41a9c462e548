from django.apps import AppConfig
from django.core.exceptions import ImproperlyConfigured


class LcmConfig(AppConfig):
    name = "lcm"
    verbose_name = "List and Campaign Manager"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        check_number_settings()


def check_number_settings() -> None:
    """A misconfigured default region or time zone stops every process at
    start-up (runserver, gunicorn, manage.py) with the reason, not at the
    first request that reads it."""
    from django.conf import settings

    from lcm.dialable import validate_time_zone
    from lcm.numbers import normalise_region

    try:
        normalise_region(settings.LCM_DEFAULT_REGION)
    except ValueError as exc:
        raise ImproperlyConfigured(f"LCM_DEFAULT_REGION: {exc}") from None
    if settings.LCM_DEFAULT_TIME_ZONE:
        try:
            validate_time_zone(settings.LCM_DEFAULT_TIME_ZONE)
        except ValueError as exc:
            raise ImproperlyConfigured(f"LCM_DEFAULT_TIME_ZONE: {exc}") from None
