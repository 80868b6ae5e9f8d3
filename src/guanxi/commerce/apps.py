from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


def _can_see_approvals(request) -> bool:
    from .selectors import approvals_visible_to

    return approvals_visible_to(request.user)


class CommerceConfig(AppConfig):
    name = "guanxi.commerce"
    label = "commerce"
    verbose_name = _("Commerce")

    def ready(self):
        from guanxi.platform import navigation, registry

        from .models import Order, PriceBook, Product, Quote

        # The catalogue has no owner: a role's "whole company" scope reads it; admins and roles
        # with create / edit manage it.
        registry.register(
            registry.Entity(key="commerce.product", model=Product, url_name="commerce:product", owner_field=None,
                            business_line_field="business_line", custom_fields=True)
        )  # fmt: skip
        registry.register(
            registry.Entity(
                key="commerce.price_book",
                model=PriceBook,
                url_name="commerce:price_book",
                owner_field=None,
                region_field="region",
                actions=("view", "create", "edit", "delete", "export"),
            )
        )
        registry.register(
            registry.Entity(key="commerce.quote", model=Quote, url_name="commerce:quote", custom_fields=True)
        )
        registry.register(
            registry.Entity(key="commerce.order", model=Order, url_name="commerce:order", custom_fields=True)
        )
        # Quotes and orders tabs on account and opportunity pages.
        for parent in ("customers.account", "sales.opportunity"):
            param = parent.split(".")[1]
            registry.register_related_panel(
                parent, registry.RelatedPanel(_("Quotes"), "commerce:related_quotes", param, module="commerce.quote",
                                              order=20),
            )  # fmt: skip
            registry.register_related_panel(
                parent, registry.RelatedPanel(_("Orders"), "commerce:related_orders", param, module="commerce.order",
                                              order=21),
            )  # fmt: skip
        navigation.register(
            navigation.NavItem(
                _("Quotes"), "commerce:quote_list", "file-earmark-text", section="sales", module="commerce.quote",
                order=40,
            ),
            navigation.NavItem(
                _("Orders"), "commerce:order_list", "box-seam", section="sales", module="commerce.order", order=41
            ),
            navigation.NavItem(
                _("Discount approvals"), "commerce:approval_inbox", "patch-check", section="sales", order=42,
                visible=_can_see_approvals,
            ),
            navigation.NavItem(
                _("Products"), "commerce:product_list", "tags", section="sales", module="commerce.product", order=43
            ),
            navigation.NavItem(
                _("Price books"), "commerce:price_book_list", "journal-bookmark", section="sales",
                module="commerce.price_book", order=44,
            ),
            navigation.NavItem(
                _("Commerce settings"), "commerce:settings", "sliders", section="admin", admin_only=True, order=70
            ),
        )  # fmt: skip
