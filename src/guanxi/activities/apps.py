from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ActivitiesConfig(AppConfig):
    name = "guanxi.activities"
    label = "activities"
    verbose_name = _("Activities")

    def ready(self):
        from guanxi.platform import registry

        from .models import Activity

        registry.register(
            registry.Entity(
                key="activities.activity",
                model=Activity,
                url_name="activities:activity",
                inherit_visibility=("account", "contact"),
            )
        )
