from django.apps import AppConfig
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

# Read on the hot path of every number (and on every console page): a wrong
# value must stop every process at start-up (gunicorn runs no system checks),
# not fail the first request.
STARTUP_CRITICAL = ("LCM_DEFAULT_REGION", "LCM_DEFAULT_TIME_ZONE", "LCM_FLOOR_TIME_ZONE")


class LcmConfig(AppConfig):
    name = "lcm"
    verbose_name = "List and Campaign Manager"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from django.db import models
        from django.db.backends.signals import connection_created

        from . import conf
        from .bulk import AnyOf
        from .faults import bound_lock_waits

        models.Field.register_lookup(AnyOf)
        models.ForeignObject.register_lookup(AnyOf)  # relations keep lookups of their own

        connection_created.connect(bound_lock_waits, dispatch_uid="lcm.faults.bound_lock_waits")
        checks.register(conf.check_settings)
        checks.register(audit_signing_check, checks.Tags.security)
        for name in STARTUP_CRITICAL:
            value = getattr(conf.lcm_settings, name)
            problem = conf.SETTINGS[name].problem(value)
            if problem:
                raise ImproperlyConfigured(f"{name} {problem}, not {value!r}.")


def audit_signing_check(app_configs, **kwargs):
    """A missing, unreadable or wrong key file stops every management command
    (runserver, migrate, check…); config.wsgi runs the same check for gunicorn."""
    from .audit.checkpoints import check_configuration

    try:
        check_configuration()
    except ImproperlyConfigured as error:
        return [checks.Critical(str(error), id="lcm.E002")]
    return []
