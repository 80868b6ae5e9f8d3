from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomersConfig(AppConfig):
    name = "guanxi.customers"
    label = "customers"
    verbose_name = _("Customers")

    def ready(self):
        from guanxi.platform import registry

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
