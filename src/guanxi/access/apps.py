from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccessConfig(AppConfig):
    name = "guanxi.access"
    label = "access"
    verbose_name = _("Roles and sharing")

    def ready(self):
        from guanxi.platform import registry
        from guanxi.platform.registry import Action

        registry.register_module(registry.Module("settings", _("Tenant settings"), (Action.VIEW, Action.ADMINISTER)))
