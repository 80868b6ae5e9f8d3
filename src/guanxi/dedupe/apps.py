from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


def _may_review(request) -> bool:
    from .selectors import reviewable_entities

    return bool(reviewable_entities(request.user))


class DedupeConfig(AppConfig):
    name = "guanxi.dedupe"
    label = "dedupe"
    verbose_name = _("Dedupe")

    def ready(self):
        from guanxi.audit.selectors import register_history_predecessors
        from guanxi.platform import navigation

        from .selectors import merged_record_ids

        register_history_predecessors(merged_record_ids)
        navigation.register(
            navigation.NavItem(
                label=_("Duplicates"),
                url_name="dedupe:list",
                icon="intersect",
                section="customers",
                visible=_may_review,
                order=25,
            )
        )
