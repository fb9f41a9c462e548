from django.apps import AppConfig
from django.core import checks


class LcmConfig(AppConfig):
    name = "lcm"
    verbose_name = "List and Campaign Manager"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import conf

        checks.register(conf.check_settings)
