from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IdentityConfig(AppConfig):
    name = "guanxi.identity"
    label = "identity"
    verbose_name = _("People and sign-in")

    def ready(self):
        from . import signals  # noqa: F401
