from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomersConfig(AppConfig):
    name = "guanxi.customers"
    label = "customers"
    verbose_name = _("Customers")

    def ready(self):
        from guanxi.platform import navigation, registry

        from .models import Account, Contact

        registry.register(
            registry.Entity(
                key="customers.account",
                model=Account,
                url_name="customers:account",
                business_line_field="business_line",
                region_field="region",
                custom_fields=True,
                tags=True,
            )
        )
        registry.register(
            registry.Entity(
                key="customers.contact",
                model=Contact,
                url_name="customers:contact",
                custom_fields=True,
                tags=True,
            )
        )
        navigation.register(
            navigation.NavItem(
                _("Accounts"),
                "customers:account_list",
                "building",
                section="customers",
                module="customers.account",
                order=20,
            ),
            navigation.NavItem(
                _("Contacts"),
                "customers:contact_list",
                "person-lines-fill",
                section="customers",
                module="customers.contact",
                order=21,
            ),
        )
