from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


def _may_import(request) -> bool:
    from .services import importable_specs

    return bool(importable_specs(request.user))


class ImportsConfig(AppConfig):
    name = "guanxi.imports"
    label = "imports"
    verbose_name = _("Imports")

    def ready(self):
        from guanxi.platform import navigation

        from .specs import register_customer_specs

        register_customer_specs()
        navigation.register(
            navigation.NavItem(
                _("Import"), "imports:list", "upload", section="customers", order=28, visible=_may_import
            )
        )
