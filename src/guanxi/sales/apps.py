from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SalesConfig(AppConfig):
    name = "guanxi.sales"
    label = "sales"
    verbose_name = _("Sales")

    def ready(self):
        from guanxi.platform import navigation, registry
        from guanxi.platform.registry import Action

        from . import signals  # noqa: F401  (lead engagement scoring follows activities)
        from .imports import register_lead_spec
        from .models import Competitor, Lead, Opportunity

        register_lead_spec()  # leads are importable (CSV, Excel) through the generic import

        registry.register(
            registry.Entity(
                key="sales.lead",
                model=Lead,
                url_name="sales:lead",
                business_line_field="business_line",
                region_field="region",
                custom_fields=True,
                tags=True,
            )
        )
        registry.register(
            registry.Entity(
                key="sales.opportunity",
                model=Opportunity,
                url_name="sales:opportunity",
                business_line_field="business_line",
                region_field="region",
                custom_fields=True,
                tags=True,
            )
        )
        registry.register(
            registry.Entity(
                key="sales.competitor",
                model=Competitor,
                url_name="sales:competitor",
                owner_field=None,
                custom_fields=True,
                actions=(Action.VIEW, Action.CREATE, Action.EDIT, Action.DELETE, Action.IMPORT, Action.EXPORT),
            )
        )
        for parent in ("customers.account", "customers.contact"):
            registry.register_related_panel(
                parent,
                registry.RelatedPanel(
                    _("Opportunities"),
                    "sales:related_opportunities",
                    parent.split(".")[1],
                    module="sales.opportunity",
                    order=10,
                ),
            )
        navigation.register(
            navigation.NavItem(
                _("Leads"), "sales:lead_list", "person-plus", section="sales", module="sales.lead", order=30
            ),
            navigation.NavItem(
                _("Opportunities"),
                "sales:opportunity_list",
                "briefcase",
                section="sales",
                module="sales.opportunity",
                order=31,
            ),
            navigation.NavItem(
                _("Pipeline board"), "sales:board", "kanban", section="sales", module="sales.opportunity", order=32
            ),
            navigation.NavItem(
                _("Sales dashboard"),
                "sales:dashboard",
                "graph-up",
                section="sales",
                module="sales.opportunity",
                order=33,
            ),
            navigation.NavItem(
                _("Competitors"),
                "sales:competitor_list",
                "shield-shaded",
                section="sales",
                module="sales.competitor",
                order=34,
            ),
            navigation.NavItem(_("Pipelines"), "sales:pipeline_list", "signpost-split", section="admin",
                               admin_only=True, order=70),
            navigation.NavItem(_("Lead scoring"), "sales:scoring_rule_list", "speedometer2", section="admin",
                               admin_only=True, order=71),
            navigation.NavItem(_("Lead assignment"), "sales:assignment_rule_list", "shuffle", section="admin",
                               admin_only=True, order=72),
            navigation.NavItem(_("Web-to-lead forms"), "sales:webform_list", "ui-checks", section="admin",
                               admin_only=True, order=73),
        )  # fmt: skip
