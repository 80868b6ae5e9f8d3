from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


def _can_administer_plans(request) -> bool:
    from guanxi.access import permissions

    return permissions.has_action(request.user, "activities.activity", "administer")


class ActivitiesConfig(AppConfig):
    name = "guanxi.activities"
    label = "activities"
    verbose_name = _("Activities")

    def ready(self):
        from guanxi.platform import navigation, registry

        from .models import Activity

        registry.register(
            registry.Entity(
                key="activities.activity",
                model=Activity,
                url_name="activities:activity",
                inherit_visibility=("account", "contact"),
            )
        )
        navigation.register(
            navigation.NavItem(label=_("My day"), url_name="activities:my_day", icon="sun", section="main", order=10),
            navigation.NavItem(
                label=_("Activities"),
                url_name="activities:activity_list",
                icon="check2-square",
                section="work",
                module="activities.activity",
                order=10,
            ),
            navigation.NavItem(
                label=_("Calendar"), url_name="activities:calendar", icon="calendar3", section="work", order=20
            ),
            navigation.NavItem(
                label=_("Follow-up plans"),
                url_name="activities:plan_list",
                icon="list-check",
                section="admin",
                visible=_can_administer_plans,
                order=60,
            ),
        )
