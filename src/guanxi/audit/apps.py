from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuditConfig(AppConfig):
    name = "guanxi.audit"
    label = "audit"
    verbose_name = _("Audit trail")

    def ready(self):
        from guanxi.platform import navigation, registry
        from guanxi.platform.registry import Action

        registry.register_module(registry.Module("audit", _("Audit log"), (Action.VIEW, Action.EXPORT)))
        navigation.register(
            navigation.NavItem(_("Audit log"), "audit:log", "journal-text", section="admin", module="audit", order=90)
        )
