from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


def _may_export(request) -> bool:
    from .selectors import may_export_anything

    return may_export_anything(request.user)


class ExportsConfig(AppConfig):
    name = "guanxi.exports"
    label = "exports"
    verbose_name = _("Exports")

    def ready(self):
        from guanxi.platform import navigation

        from . import signals  # noqa: F401  (a deleted export's file goes with it)

        navigation.register(
            navigation.NavItem(
                _("My exports"), "exports:list", "download", section="customers", order=29, visible=_may_export
            )
        )
