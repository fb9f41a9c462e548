from django.apps import AppConfig


class LcmConfig(AppConfig):
    name = "lcm"
    verbose_name = "List and Campaign Manager"
    default_auto_field = "django.db.models.BigAutoField"
