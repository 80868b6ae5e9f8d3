"""Reads of the commerce app: list and detail querysets, lines, the approval inbox, pickers."""

from __future__ import annotations

from django.db.models import Count, Q

from guanxi.access import permissions
from guanxi.platform.registry import Action

from .models import (
    DiscountApproval,
    Order,
    OrderLine,
    PriceBook,
    PriceBookEntry,
    Product,
    ProductCategory,
    Quote,
    QuoteLine,
    QuoteStatus,
    TaxClass,
)


def product_list_queryset():
    return Product.objects.select_related("category", "tax_class", "business_line")


def product_detail_queryset():
    return product_list_queryset()


def product_options(user, q: str = "", *, limit: int = 20):
    """Active products the user may see whose name or SKU contains ``q`` (line editor picker)."""
    qs = permissions.visible(user, Product.objects.filter(is_active=True))
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(sku__icontains=q))
    return list(qs.order_by("name")[:limit])


def price_book_list_queryset():
    return PriceBook.objects.select_related("region").annotate(entry_count=Count("entries"))


def price_book_detail_queryset():
    return PriceBook.objects.select_related("region")


def price_book_entries(book: PriceBook):
    return list(
        PriceBookEntry.objects.filter(price_book=book)
        .select_related("product")
        .order_by("product__name", "product_id", "min_quantity")
    )


def categories():
    return list(
        ProductCategory.objects.select_related("parent").annotate(product_count=Count("products")).order_by("name")
    )


def tax_classes():
    return list(TaxClass.objects.order_by("-rate", "name"))


def quote_list_queryset():
    return Quote.objects.select_related("account", "contact", "owner")


def quote_detail_queryset():
    return Quote.objects.select_related(
        "account__region", "contact", "owner", "opportunity", "price_book", "previous_version", "created_by"
    )


def quote_lines(quote: Quote) -> list[QuoteLine]:
    return list(QuoteLine.objects.filter(quote=quote).select_related("product").order_by("position", "id"))


def quote_versions(quote: Quote) -> list[Quote]:
    """Every version of the quote's number, newest first."""
    return list(Quote.objects.filter(number=quote.number).only("id", "number", "version", "status", "total", "currency",
                                                                "quote_date").order_by("-version"))  # fmt: skip


def order_list_queryset():
    return Order.objects.select_related("account", "contact", "owner")


def order_detail_queryset():
    return Order.objects.select_related("account", "contact", "owner", "opportunity", "quote", "created_by")


def order_lines(order: Order) -> list[OrderLine]:
    return list(OrderLine.objects.filter(order=order).select_related("product").order_by("position", "id"))


def documents_of(user, model, *, account=None, opportunity=None, limit: int = 100) -> list:
    """The quotes (latest versions) or orders of an account or an opportunity the user may see, newest first."""
    qs = permissions.visible(user, model.objects.select_related("owner"))
    if model is Quote:
        qs = qs.exclude(status=QuoteStatus.SUPERSEDED)
    if account is not None:
        qs = qs.filter(account=account)
    if opportunity is not None:
        qs = qs.filter(opportunity=opportunity)
    return list(qs.order_by("-created_at", "-id")[:limit])


def quote_orders(user, quote: Quote) -> list[Order]:
    return list(permissions.visible(user, Order.objects.filter(quote=quote)).order_by("-id"))


# --- discount approvals --------------------------------------------------------------------------


def approvals_visible_to(user) -> bool:
    """Does the user decide discount requests (someone's manager or a tenant administrator) or make them?"""
    from guanxi.org.models import Member

    if not getattr(user, "is_authenticated", False):
        return False
    if permissions.is_tenant_admin(user):
        return True
    if permissions.has_action(user, "commerce.quote", Action.EDIT):
        return True
    return Member.objects.filter(manager__user=user, is_active=True).exists()


def approval_inbox(user):
    """Pending requests the user may decide: addressed to them, or (administrators) every one."""
    qs = DiscountApproval.objects.filter(status=DiscountApproval.Status.PENDING)
    if not permissions.is_tenant_admin(user):
        qs = qs.filter(approver=user)
    return qs.select_related("quote__account", "quote__owner", "requested_by", "approver").order_by("requested_at")


def approvals_requested_by(user, *, limit: int = 50):
    return list(
        DiscountApproval.objects.filter(requested_by=user)
        .select_related("quote__account", "approver", "decided_by")
        .order_by("-requested_at")[:limit]
    )


def approvals_decided(user, *, limit: int = 50):
    qs = DiscountApproval.objects.exclude(status=DiscountApproval.Status.PENDING)
    if not permissions.is_tenant_admin(user):
        qs = qs.filter(Q(approver=user) | Q(decided_by=user))
    return list(qs.select_related("quote__account", "requested_by", "decided_by").order_by("-decided_at")[:limit])


def approval_for(user, pk) -> DiscountApproval:
    """A request the user may see (requester, approver or administrator), else 404."""
    from django.http import Http404

    qs = DiscountApproval.objects.select_related("quote", "requested_by")
    if not permissions.is_tenant_admin(user):
        qs = qs.filter(Q(approver=user) | Q(requested_by=user))
    try:
        return qs.get(pk=pk)
    except (DiscountApproval.DoesNotExist, ValueError, TypeError):
        raise Http404


def quote_approvals(quote: Quote) -> list[DiscountApproval]:
    return list(quote.approvals.select_related("requested_by", "approver", "decided_by").order_by("-requested_at"))


def open_quote_statuses() -> tuple[str, ...]:
    return (QuoteStatus.DRAFT, QuoteStatus.PENDING_APPROVAL, QuoteStatus.APPROVED, QuoteStatus.SENT)
