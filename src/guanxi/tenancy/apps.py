from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TenancyConfig(AppConfig):
    name = "guanxi.tenancy"
    label = "tenancy"
    verbose_name = _("Tenancy")

    def ready(self):
        from guanxi.platform.navigation import NavItem, register

        register(
            NavItem(
                label=_("Tenants"),
                url_name="tenancy:operator_tenants",
                icon="buildings",
                section="platform",
                operator_only=True,
                order=950,
            )
        )
