from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrgConfig(AppConfig):
    name = "guanxi.org"
    label = "org"
    verbose_name = _("Organisation")

    def ready(self):
        from guanxi.platform.navigation import NavItem, register

        register(
            NavItem(
                label=_("Settings"),
                url_name="org:settings_home",
                icon="gear",
                section="admin",
                admin_only=True,
                order=900,
            )
        )
