"""Pages of the commerce app: products, price books, quotes (line editor, PDF, e-mail, approvals) and orders.

Views are thin: they parse input, call one service or selector and render. The line editor's
live totals come from ``services.preview_lines`` — the function saving uses too.
"""

from __future__ import annotations

from django.apps import apps
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_GET, require_POST

from guanxi.access import permissions
from guanxi.platform.forms import posted_decision
from guanxi.platform.registry import Action
from guanxi.platform.views import Column, EntityViews, record_action, refusal_message

from . import pricing, selectors, services
from .filters import OrderFilterSet, PriceBookFilterSet, ProductFilterSet, QuoteFilterSet
from .forms import (
    ApprovalRequestForm,
    CategoryForm,
    CommerceSettingsForm,
    DecisionForm,
    OrderForm,
    PriceBookEntryForm,
    PriceBookForm,
    ProductForm,
    QuoteForm,
    QuoteSendForm,
    ReasonForm,
    TaxClassForm,
)
from .models import (
    DiscountApproval,
    Order,
    OrderStatus,
    PriceBook,
    PriceBookEntry,
    ProductCategory,
    Quote,
    QuoteStatus,
    TaxClass,
)
from .templatetags.commerce import money, price

QUOTE_BADGES = {
    QuoteStatus.DRAFT: "text-bg-light",
    QuoteStatus.PENDING_APPROVAL: "text-bg-warning",
    QuoteStatus.APPROVED: "text-bg-info",
    QuoteStatus.SENT: "text-bg-primary",
    QuoteStatus.ACCEPTED: "text-bg-success",
    QuoteStatus.REJECTED: "text-bg-danger",
    QuoteStatus.EXPIRED: "text-bg-secondary",
    QuoteStatus.SUPERSEDED: "text-bg-secondary",
}
ORDER_BADGES = {
    OrderStatus.DRAFT: "text-bg-light",
    OrderStatus.CONFIRMED: "text-bg-primary",
    OrderStatus.FULFILLED: "text-bg-info",
    OrderStatus.CLOSED: "text-bg-success",
    OrderStatus.CANCELLED: "text-bg-secondary",
}


def _money_cell(field_name: str, formatter=money):
    def render_cell(obj):
        value = getattr(obj, field_name)
        if value is None:
            return ""
        return format_html('<span class="text-nowrap">{} {}</span>', formatter(value), obj.currency)

    return render_cell


def _redirect_back(request, default: str):
    target = request.POST.get("next") or default
    return HttpResponseRedirect(target if target.startswith("/") and not target.startswith("//") else default)


def _ownerless_bulk(view, request):
    """Catalogue records have no owner: refuse the bulk owner change."""
    if request.POST.get("action") == "assign":
        raise Http404
    return EntityViews.bulk_view(view, request)


# --- products ------------------------------------------------------------------------------------


class ProductViews(EntityViews):
    entity_key = services.PRODUCT
    url_prefix = "products/"
    name = "product"
    filterset_class = ProductFilterSet
    form_class = ProductForm
    detail_template = "commerce/product_detail.html"
    default_sort = "name"
    icon = "tags"
    bulk_tags = False
    columns = [
        Column("sku", gettext_lazy("SKU"), sort="sku", default=True),
        Column("name", gettext_lazy("Name"), sort="name", kind="link", default=True),
        Column("kind", gettext_lazy("Type"), kind="choice", default=True),
        Column("category", gettext_lazy("Category"), default=True),
        Column("unit", pgettext_lazy("unit of measure", "Unit")),
        Column("list_price", gettext_lazy("List price"), sort="list_price", render=_money_cell("list_price", price),
               default=True),
        Column("cost", gettext_lazy("Cost"), render=_money_cell("cost")),
        Column("tax_class", gettext_lazy("Tax class"), default=True),
        Column("business_line", gettext_lazy("Business line")),
        Column("is_active", gettext_lazy("Active"), kind="bool", default=True),
        Column("created_at", gettext_lazy("Created"), sort="created_at", kind="datetime"),
        Column("updated_at", gettext_lazy("Updated"), sort="updated_at", kind="datetime"),
    ]  # fmt: skip
    form_sections = [
        (gettext_lazy("Product"), ["sku", "name", "kind", "category", "business_line", "is_active"]),
        (gettext_lazy("Price"), ["unit", "list_price", "cost", "currency", "tax_class"]),
        (gettext_lazy("Description"), ["description"]),
    ]

    def list_queryset(self, request):
        return selectors.product_list_queryset()

    def initial_for_create(self, request):
        return {"currency": services.commerce_settings().default_currency}

    def create(self, request, data):
        return services.product_create(actor=request.user, data=data)

    def update(self, request, obj, data):
        return services.product_update(actor=request.user, product=obj, data=data)

    def delete(self, request, obj):
        services.product_delete(actor=request.user, product=obj)

    def bulk_view(self, request):
        return _ownerless_bulk(self, request)

    def detail_context(self, request, obj):
        books = {}
        entries = PriceBookEntry.objects.filter(
            product=obj, price_book__in=permissions.visible(request.user, PriceBook.objects.all())
        ).select_related("price_book__region")
        for entry in entries.order_by("price_book__name", "min_quantity"):
            books.setdefault(entry.price_book, []).append(entry)
        return {"price_rows": list(books.items()), "tax_rate": obj.tax_class.rate if obj.tax_class_id else None}


# --- price books ---------------------------------------------------------------------------------


class PriceBookViews(EntityViews):
    entity_key = services.PRICE_BOOK
    url_prefix = "price-books/"
    name = "price_book"
    filterset_class = PriceBookFilterSet
    form_class = PriceBookForm
    detail_template = "commerce/price_book_detail.html"
    default_sort = "name"
    icon = "journal-bookmark"
    bulk_tags = False
    columns = [
        Column("name", gettext_lazy("Name"), sort="name", kind="link", default=True),
        Column("currency", gettext_lazy("Currency"), default=True),
        Column("region", gettext_lazy("Region"), default=True),
        Column("tier", gettext_lazy("Customer tier"), kind="choice", default=True),
        Column("channel", gettext_lazy("Channel"), kind="choice", default=True),
        Column("is_default", gettext_lazy("Default"), kind="bool", default=True),
        Column("is_active", gettext_lazy("Active"), kind="bool", default=True),
        Column("entry_count", gettext_lazy("Prices"), render=lambda b: str(getattr(b, "entry_count", "")),
               default=True),
        Column("valid_from", gettext_lazy("Valid from"), kind="date"),
        Column("valid_until", gettext_lazy("Valid until"), kind="date"),
        Column("updated_at", gettext_lazy("Updated"), sort="updated_at", kind="datetime"),
    ]  # fmt: skip
    form_sections = [
        (gettext_lazy("Price book"), ["name", "currency", "is_default", "is_active", "description"]),
        (gettext_lazy("Applies to"), ["region", "tier", "channel", "valid_from", "valid_until"]),
    ]

    def list_queryset(self, request):
        return selectors.price_book_list_queryset()

    def detail_queryset(self, request):
        return selectors.price_book_detail_queryset()

    def initial_for_create(self, request):
        return {"currency": services.commerce_settings().default_currency}

    def create(self, request, data):
        return services.price_book_create(actor=request.user, data=data)

    def update(self, request, obj, data):
        return services.price_book_update(actor=request.user, price_book=obj, data=data)

    def delete(self, request, obj):
        services.price_book_delete(actor=request.user, price_book=obj)

    def bulk_view(self, request):
        return _ownerless_bulk(self, request)

    def detail_context(self, request, obj):
        can_edit = permissions.can(request.user, Action.EDIT, obj)
        return {
            "entries": selectors.price_book_entries(obj),
            "entry_form": PriceBookEntryForm(user=request.user) if can_edit else None,
        }


def _entry_for(request, pk, entry_pk=None):
    book = permissions.get_for(request.user, PriceBook.objects.all(), pk, Action.EDIT)
    entry = None
    if entry_pk is not None:
        entry = PriceBookEntry.objects.filter(pk=entry_pk, price_book=book).select_related("product").first()
        if entry is None:
            raise Http404
    return book, entry


@login_required
@require_POST
def price_book_entry_save(request, pk, entry_pk=None):
    """Add a price to a book, or change one (the inline form on the price book page)."""
    book, entry = _entry_for(request, pk, entry_pk)
    data = request.POST
    if entry is not None and "product" not in data:
        data = data.copy()
        data["product"] = entry.product_id
    form = PriceBookEntryForm(data, user=request.user)
    if form.is_valid():
        try:
            services.price_book_entry_save(
                actor=request.user,
                price_book=book,
                entry=entry,
                product=form.cleaned_data["product"],
                unit_price=form.cleaned_data["unit_price"],
                min_quantity=form.cleaned_data["min_quantity"],
            )
        except ValidationError as exc:
            refusal_message(request, exc)
        else:
            messages.success(request, _("The price was saved."))
    else:
        messages.error(
            request,
            " ".join(
                _("%(label)s: %(value)s") % {"label": form.fields[k].label, "value": " ".join(v)}
                for k, v in form.errors.items()
            ),
        )
    return redirect(book.get_absolute_url())


@login_required
@require_POST
def price_book_entry_delete(request, pk, entry_pk):
    book, entry = _entry_for(request, pk, entry_pk)
    services.price_book_entry_delete(actor=request.user, entry=entry)
    messages.success(request, _("The price was removed."))
    return redirect(book.get_absolute_url())


@login_required
@require_GET
def product_options(request):
    """Typeahead options for product pickers: {results: [{id, label, price, unit}]} of active products."""
    q = (request.GET.get("q") or "").strip()
    rows = [
        {"id": p.pk, "label": f"{p.name} · {p.sku}", "unit": p.unit, "price": str(p.list_price)}
        for p in selectors.product_options(request.user, q)
    ]
    return JsonResponse({"results": rows})


@login_required
@require_GET
def opportunity_options(request):
    """Typeahead options for the opportunity picker of quotes and orders (optionally of one account)."""
    q = (request.GET.get("q") or "").strip()
    qs = services._opportunity_queryset(request.user).select_related("account")
    if request.GET.get("account", "").isdigit():
        qs = qs.filter(account_id=request.GET["account"])
    if q:
        qs = qs.filter(name__icontains=q)
    rows = [{"id": o.pk, "label": f"{o.name} · {o.account}"} for o in qs.order_by("name")[:20]]
    return JsonResponse({"results": rows})


# --- line editor (quotes and orders) -------------------------------------------------------------


class LineEditor:
    """What the line editor template needs: rows with amounts and errors, totals, URLs."""

    def __init__(self, *, document, rows, amounts, errors, discount_percent, preview_url, save_url, threshold=None):
        self.document = document
        self.rows = rows
        self.amounts = amounts
        self.errors = errors
        self.discount_percent = discount_percent
        self.preview_url = preview_url
        self.save_url = save_url
        self.threshold = threshold
        self.currency = document.currency

    @property
    def needs_approval(self) -> bool:
        return self.threshold is not None and self.amounts.highest_discount_percent > self.threshold

    @property
    def general_errors(self) -> list[str]:
        return [m for k, v in self.errors.items() if not k.startswith("lines.") for m in v]


def _stored_rows(lines, amounts: pricing.DocumentAmounts) -> list:
    """Editor rows of saved lines, with the amounts computed from them."""
    rows = []
    for line, line_amounts in zip(lines, amounts.lines, strict=True):
        rows.append(
            services.LineRow(
                product=line.product,
                description=line.description,
                quantity=line.quantity,
                unit_price=line.unit_price,
                discount_percent=line.discount_percent,
                tax_rate=line.tax_rate,
                list_price=line.list_price,
                amounts=line_amounts,
            )
        )
    return rows


def _posted_lines(request) -> list[dict]:
    """Lines of the editor form: lines-<i>-<field>, in the order given; with the editor's price logic.

    A row whose product changed loses its price and description (looked up again); a row
    whose quantity changed while its price is the looked-up one gets the price for the new
    quantity (volume tiers).
    """
    post = request.POST
    try:
        count = min(int(post.get("line_count", 0)), 200)
    except ValueError:
        count = 0
    remove = post.get("_remove")
    lines = []
    for i in range(count):
        prefix = f"lines-{i}-"
        if f"{prefix}quantity" not in post and f"{prefix}product" not in post:
            continue
        if remove is not None and remove == str(i):
            continue
        row = {
            "product": post.get(f"{prefix}product", ""),
            "description": post.get(f"{prefix}description", ""),
            "quantity": post.get(f"{prefix}quantity", ""),
            "unit_price": post.get(f"{prefix}unit_price", ""),
            "discount_percent": post.get(f"{prefix}discount_percent", ""),
            "tax_rate": post.get(f"{prefix}tax_rate", ""),
        }
        previous_product = post.get(f"{prefix}prev_product", "")
        if row["product"] != previous_product:
            if row["product"]:
                row["unit_price"] = ""
                if post.get(f"{prefix}prev_description", "") == row["description"]:
                    row["description"] = ""
        elif row["product"]:
            auto_price = pricing.to_decimal(post.get(f"{prefix}list_price"), None)
            price = pricing.to_decimal(row["unit_price"], None)
            if auto_price is not None and price == auto_price and post.get(f"{prefix}prev_quantity") != row["quantity"]:
                row["unit_price"] = ""
        lines.append(row)
    if post.get("_add"):
        lines.append({"product": "", "description": "", "quantity": "1", "unit_price": "", "discount_percent": ""})
    return lines


def _editor_from_preview(document, preview, *, preview_url, save_url, threshold=None):
    return LineEditor(
        document=document,
        rows=preview.rows,
        amounts=preview.amounts,
        errors=preview.errors,
        discount_percent=preview.discount_percent,
        preview_url=preview_url,
        save_url=save_url,
        threshold=threshold,
    )


def _blank_rows_ok(rows: list[dict]) -> list[dict]:
    """Rows just added and still empty are ignored when saving (but kept while editing)."""
    return [
        r
        for r in rows
        if r.get("product") or (r.get("description") or "").strip() or (r.get("unit_price") or "").strip()
    ]


def _preview_errors_for_new_rows(preview, rows):
    """While editing, an untouched new row shows no errors."""
    for row in preview.rows:
        raw = row.raw
        if not raw.get("product") and not (raw.get("description") or "").strip() and not raw.get("unit_price"):
            row.errors = {}
    preview.errors = {
        k: v
        for k, v in preview.errors.items()
        if not k.startswith("lines.") or preview.rows[int(k.split(".")[1])].errors
    }
    return preview


# --- quotes --------------------------------------------------------------------------------------


class QuoteViews(EntityViews):
    entity_key = services.QUOTE
    url_prefix = "quotes/"
    name = "quote"
    filterset_class = QuoteFilterSet
    form_class = QuoteForm
    detail_template = "commerce/quote_detail.html"
    default_sort = "-updated_at"
    icon = "file-earmark-text"
    bulk_tags = False
    columns = [
        Column("number", pgettext_lazy("quote", "Number"), sort="number", kind="link", default=True,
               render=lambda q: _link(q, q.display_number)),
        Column("title", gettext_lazy("Title"), sort="title", default=True),
        Column("account", gettext_lazy("Account"), default=True),
        Column("status", gettext_lazy("Status"), sort="status", kind="badge", badge_classes=QUOTE_BADGES, default=True),
        Column("total", gettext_lazy("Total"), sort="total", render=_money_cell("total"), default=True),
        Column("quote_date", pgettext_lazy("quote", "Date"), sort="quote_date", kind="date", default=True),
        Column("valid_until", gettext_lazy("Valid until"), sort="valid_until", kind="date", default=True),
        Column("owner", gettext_lazy("Owner"), default=True),
        Column("contact", gettext_lazy("Contact")),
        Column("channel", gettext_lazy("Channel"), kind="choice"),
        Column("effective_discount_percent", gettext_lazy("Discount (%)"), sort="effective_discount_percent"),
        Column("created_at", gettext_lazy("Created"), sort="created_at", kind="datetime"),
        Column("updated_at", gettext_lazy("Updated"), sort="updated_at", kind="datetime"),
    ]  # fmt: skip
    form_sections = [
        (gettext_lazy("Quote"), ["title", "account", "contact", "opportunity", "owner"]),
        (gettext_lazy("Pricing"), ["price_book", "channel", "currency", "discount_percent"]),
        (gettext_lazy("Validity and terms"), ["quote_date", "valid_until", "terms", "notes"]),
    ]

    def list_queryset(self, request):
        return selectors.quote_list_queryset()

    def detail_queryset(self, request):
        return selectors.quote_detail_queryset()

    def initial_for_create(self, request):
        conf = services.commerce_settings()
        initial = {
            "owner": request.user.pk,
            "quote_date": timezone.localdate(),
            "currency": conf.default_currency,
            "terms": conf.quote_terms,
        }
        opportunity_id = request.GET.get("opportunity")
        if opportunity_id and opportunity_id.isdigit():
            opportunity = services._opportunity_queryset(request.user).filter(pk=opportunity_id).first()
            if opportunity is not None:
                initial.update(
                    opportunity=opportunity.pk,
                    account=opportunity.account_id,
                    contact=opportunity.contact_id,
                    title=opportunity.name,
                    currency=opportunity.currency,
                )
        return initial

    def create(self, request, data):
        return services.quote_create(actor=request.user, data=data)

    def update(self, request, obj, data):
        return services.quote_update(actor=request.user, quote=obj, data=data)

    def delete(self, request, obj):
        services.quote_delete(actor=request.user, quote=obj)

    def detail_context(self, request, obj):
        user = request.user
        lines = selectors.quote_lines(obj)
        amounts = services.document_amounts(obj) if lines else pricing.compute_document([])
        can_edit = permissions.can(user, Action.EDIT, obj)
        conf = services.commerce_settings()
        editor = None
        if can_edit and obj.is_editable:
            editor = LineEditor(
                document=obj,
                rows=_stored_rows(lines, amounts),
                amounts=amounts,
                errors={},
                discount_percent=obj.discount_percent,
                preview_url=reverse("commerce:quote_lines_preview", args=[obj.pk]),
                save_url=reverse("commerce:quote_lines", args=[obj.pk]),
                threshold=conf.discount_approval_threshold_percent,
            )
        needs_approval = services.quote_needs_approval(obj)
        approvals = selectors.quote_approvals(obj)
        pending = next((a for a in approvals if a.status == DiscountApproval.Status.PENDING), None)
        return {
            "lines": lines,
            "amounts": amounts,
            "editor": editor,
            "threshold": conf.discount_approval_threshold_percent,
            "needs_approval": needs_approval,
            "can_send": can_edit and services.quote_can_send(obj) and bool(lines),
            "can_accept": can_edit
            and bool(lines)
            and permissions.has_action(user, services.ORDER, Action.CREATE)
            and (obj.status in (QuoteStatus.APPROVED, QuoteStatus.SENT) or (obj.status == QuoteStatus.DRAFT
                                                                          and not needs_approval)),
            "can_reject": can_edit and obj.status in (QuoteStatus.DRAFT, QuoteStatus.APPROVED, QuoteStatus.SENT),
            "can_revise": can_edit
            and permissions.has_action(user, services.QUOTE, Action.CREATE)
            and obj.status in (QuoteStatus.SENT, QuoteStatus.APPROVED, QuoteStatus.REJECTED, QuoteStatus.EXPIRED),
            "can_request_approval": can_edit and obj.status == QuoteStatus.DRAFT and needs_approval and bool(lines),
            "can_withdraw": can_edit and obj.status == QuoteStatus.PENDING_APPROVAL,
            "can_decide": pending is not None and services.can_decide(user, pending),
            "pending_approval": pending,
            "approvals": approvals,
            "versions": selectors.quote_versions(obj),
            "orders": selectors.quote_orders(user, obj),
            "status_badges": QUOTE_BADGES,
            "approval_form": ApprovalRequestForm(),
            "decision_form": DecisionForm(),
            "reason_form": ReasonForm(),
            "content_type_id": ContentType.objects.get_for_model(Quote).pk,
            "approver": services.approver_for(obj.owner) if obj.status == QuoteStatus.DRAFT and needs_approval else None,
        }  # fmt: skip


def _link(obj, label):
    return format_html('<a class="text-nowrap" href="{}">{}</a>', obj.get_absolute_url(), label)


def _quote_for(request, pk, action=Action.VIEW) -> Quote:
    return permissions.get_for(request.user, selectors.quote_detail_queryset(), pk, action)


def _render_editor(request, editor, *, status=200):
    return render(request, "commerce/_line_editor.html", {"editor": editor}, status=status)


@login_required
@require_POST
def quote_lines_preview(request, pk):
    """htmx: the line editor re-rendered with server-computed prices and totals (nothing is saved)."""
    quote = _quote_for(request, pk, Action.EDIT)
    if not quote.is_editable:
        raise Http404
    rows = _posted_lines(request)
    preview = services.preview_quote_lines(
        actor=request.user, quote=quote, raw_lines=rows, discount_percent=request.POST.get("discount_percent", "0")
    )
    _preview_errors_for_new_rows(preview, rows)
    editor = _editor_from_preview(
        quote,
        preview,
        preview_url=reverse("commerce:quote_lines_preview", args=[quote.pk]),
        save_url=reverse("commerce:quote_lines", args=[quote.pk]),
        threshold=preview.threshold,
    )
    return _render_editor(request, editor)


@login_required
@require_POST
def quote_lines(request, pk):
    """Save the line editor: the quote's lines and discount on the total (htmx or a plain form post)."""
    quote = _quote_for(request, pk, Action.EDIT)
    rows = _blank_rows_ok(_posted_lines(request))
    try:
        services.quote_set_lines(
            actor=request.user, quote=quote, lines=rows, discount_percent=request.POST.get("discount_percent", "0")
        )
    except ValidationError as exc:
        if request.htmx and hasattr(exc, "error_dict") and quote.is_editable:
            preview = services.preview_quote_lines(
                actor=request.user,
                quote=quote,
                raw_lines=rows,
                discount_percent=request.POST.get("discount_percent", "0"),
            )
            editor = _editor_from_preview(
                quote,
                preview,
                preview_url=reverse("commerce:quote_lines_preview", args=[quote.pk]),
                save_url=reverse("commerce:quote_lines", args=[quote.pk]),
                threshold=preview.threshold,
            )
            return _render_editor(request, editor, status=422)
        refusal_message(request, exc)
        return _done(request, quote.get_absolute_url())
    messages.success(request, _("The lines were saved."))
    return _done(request, quote.get_absolute_url())


def _done(request, url):
    if request.htmx:
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return HttpResponseRedirect(url)


@login_required
@require_GET
def quote_pdf(request, pk):
    """The quote as a PDF (download; ``?inline=1`` to view it in the browser)."""
    from .pdf import quote_pdf as render_pdf

    quote = _quote_for(request, pk)
    pdf = render_pdf(quote)
    response = HttpResponse(pdf, content_type="application/pdf")
    disposition = "inline" if request.GET.get("inline") else "attachment"
    response["Content-Disposition"] = f'{disposition}; filename="{quote.display_number.replace(" ", "-")}.pdf"'
    return response


@login_required
def quote_send(request, pk):
    """E-mail the quote as a PDF to the customer (subject and message editable)."""
    quote = _quote_for(request, pk, Action.EDIT)
    if request.method == "POST":
        form = QuoteSendForm(request.POST)
        if form.is_valid():
            try:
                services.quote_send(
                    actor=request.user,
                    quote=quote,
                    to=form.cleaned_data["to"],
                    cc=form.cleaned_data["cc"],
                    subject=form.cleaned_data["subject"],
                    body=form.cleaned_data["body"],
                )
            except ValidationError as exc:
                if hasattr(exc, "error_dict"):
                    for key, errors in exc.message_dict.items():
                        form.add_error(key if key in form.fields else None, errors)
                else:
                    form.add_error(None, exc)
            else:
                messages.success(request, _("The quote was e-mailed."))
                return redirect(quote.get_absolute_url())
    else:
        if not services.quote_can_send(quote) and quote.status != QuoteStatus.SENT:
            messages.error(request, _("This quote cannot be sent now."))
            return redirect(quote.get_absolute_url())
        form = QuoteSendForm(initial=services.quote_email_defaults(quote, request.user))
    return render(request, "commerce/quote_send.html", {"quote": quote, "form": form})


def _quote_action(request, pk, func, success: str, **kwargs):
    quote = _quote_for(request, pk, Action.EDIT)
    try:
        result = func(actor=request.user, quote=quote, **kwargs)
    except ValidationError as exc:
        refusal_message(request, exc)
        return redirect(quote.get_absolute_url())
    messages.success(request, success)
    return redirect(result.get_absolute_url() if hasattr(result, "get_absolute_url") else quote.get_absolute_url())


@login_required
@require_POST
def quote_request_approval(request, pk):
    form = ApprovalRequestForm(request.POST)
    form.is_valid()
    quote = _quote_for(request, pk, Action.EDIT)
    return record_action(
        request,
        lambda: services.quote_request_approval(
            actor=request.user, quote=quote, reason=form.cleaned_data.get("reason", "")
        ),
        success=_("The discount was submitted for approval."),
        then=quote.get_absolute_url(),
    )


@login_required
@require_POST
def quote_withdraw_approval(request, pk):
    quote = _quote_for(request, pk, Action.EDIT)
    return record_action(
        request,
        lambda: services.approval_cancel(actor=request.user, quote=quote),
        success=_("The approval request was withdrawn."),
        then=quote.get_absolute_url(),
    )


@login_required
@require_POST
def quote_accept(request, pk):
    return _quote_action(request, pk, services.quote_accept, _("The quote was accepted and the order created."))


@login_required
@require_POST
def quote_reject(request, pk):
    form = ReasonForm(request.POST)
    form.is_valid()
    return _quote_action(
        request,
        pk,
        services.quote_reject,
        _("The quote was marked rejected."),
        reason=form.cleaned_data.get("reason", ""),
    )


@login_required
@require_POST
def quote_revise(request, pk):
    return _quote_action(request, pk, services.quote_revise, _("A new version was created."))


# --- discount approvals --------------------------------------------------------------------------


@login_required
def approval_inbox(request):
    """Discount requests waiting for the user's decision, and the user's own requests."""
    if not selectors.approvals_visible_to(request.user):
        raise PermissionDenied
    return render(
        request,
        "commerce/approvals.html",
        {
            "pending": list(selectors.approval_inbox(request.user)[:200]),
            "mine": selectors.approvals_requested_by(request.user),
            "decided": selectors.approvals_decided(request.user),
            "decision_form": DecisionForm(),
            "is_admin": permissions.is_tenant_admin(request.user),
        },
    )


@login_required
@require_POST
def approval_decide(request, pk):
    approval = selectors.approval_for(request.user, pk)
    approve, comment = posted_decision(request)
    try:
        services.approval_decide(actor=request.user, approval=approval, approve=approve, comment=comment)
    except ValidationError as exc:
        refusal_message(request, exc)
    else:
        messages.success(request, _("Discount approved.") if approve else _("Discount rejected."))
    return _redirect_back(request, reverse("commerce:approval_inbox"))


# --- orders --------------------------------------------------------------------------------------


class OrderViews(EntityViews):
    entity_key = services.ORDER
    url_prefix = "orders/"
    name = "order"
    filterset_class = OrderFilterSet
    form_class = OrderForm
    detail_template = "commerce/order_detail.html"
    default_sort = "-order_date"
    icon = "box-seam"
    bulk_tags = False
    columns = [
        Column("number", pgettext_lazy("order", "Number"), sort="number", kind="link", default=True,
               render=lambda o: _link(o, o.number)),
        Column("account", gettext_lazy("Customer"), default=True),
        Column("status", gettext_lazy("Status"), sort="status", kind="badge", badge_classes=ORDER_BADGES, default=True),
        Column("total", gettext_lazy("Total"), sort="total", render=_money_cell("total"), default=True),
        Column("order_date", gettext_lazy("Order date"), sort="order_date", kind="date", default=True),
        Column("channel", gettext_lazy("Sales channel"), kind="choice", default=True),
        Column("owner", gettext_lazy("Owner"), default=True),
        Column("requested_delivery_date", gettext_lazy("Requested delivery"), sort="requested_delivery_date",
               kind="date"),
        Column("carrier", gettext_lazy("Carrier")),
        Column("tracking_number", gettext_lazy("Tracking number")),
        Column("delivered_at", gettext_lazy("Delivered"), sort="delivered_at", kind="datetime"),
        Column("contact", gettext_lazy("Contact")),
        Column("created_at", gettext_lazy("Created"), sort="created_at", kind="datetime"),
        Column("updated_at", gettext_lazy("Updated"), sort="updated_at", kind="datetime"),
    ]  # fmt: skip
    form_sections = [
        (gettext_lazy("Order"), ["account", "contact", "opportunity", "owner", "channel", "order_date"]),
        (gettext_lazy("Pricing"), ["currency", "discount_percent"]),
        (
            gettext_lazy("Delivery"),
            ["delivery_address", "requested_delivery_date", "carrier", "tracking_number", "delivered_at"],
        ),
        (gettext_lazy("Notes"), ["notes"]),
    ]

    def list_queryset(self, request):
        return selectors.order_list_queryset()

    def detail_queryset(self, request):
        return selectors.order_detail_queryset()

    def initial_for_create(self, request):
        initial = {
            "owner": request.user.pk,
            "order_date": timezone.localdate(),
            "currency": services.commerce_settings().default_currency,
        }
        opportunity_id = request.GET.get("opportunity")
        if opportunity_id and opportunity_id.isdigit():  # "New order" on an opportunity page
            opportunity = services._opportunity_queryset(request.user).filter(pk=opportunity_id).first()
            if opportunity is not None:
                initial.update(opportunity=opportunity.pk, account=opportunity.account_id,
                               contact=opportunity.contact_id, currency=opportunity.currency)  # fmt: skip
        return initial

    def create(self, request, data):
        return services.order_create(actor=request.user, data=data)

    def update(self, request, obj, data):
        return services.order_update(actor=request.user, order=obj, data=data)

    def delete(self, request, obj):
        services.order_delete(actor=request.user, order=obj)

    def detail_context(self, request, obj):
        lines = selectors.order_lines(obj)
        amounts = services.document_amounts(obj) if lines else pricing.compute_document([])
        can_edit = permissions.can(request.user, Action.EDIT, obj)
        editor = None
        if can_edit and obj.is_editable:
            editor = LineEditor(
                document=obj,
                rows=_stored_rows(lines, amounts),
                amounts=amounts,
                errors={},
                discount_percent=obj.discount_percent,
                preview_url=reverse("commerce:order_lines_preview", args=[obj.pk]),
                save_url=reverse("commerce:order_lines", args=[obj.pk]),
            )
        billing = _order_billing(request.user, obj)
        transitions = services.ORDER_TRANSITIONS.get(obj.status, ()) if can_edit else ()
        if billing["order_invoice"] is not None:  # a billed order is not cancelled (void the invoice first)
            transitions = [s for s in transitions if s != OrderStatus.CANCELLED]
        return {
            "lines": lines,
            "amounts": amounts,
            "editor": editor,
            "transitions": [(s, OrderStatus(s).label) for s in transitions],
            "status_badges": ORDER_BADGES,
            "steps": [(s, label) for s, label in OrderStatus.choices if s != OrderStatus.CANCELLED],
            "content_type_id": ContentType.objects.get_for_model(Order).pk,
            "quote_visible": obj.quote_id is not None and permissions.can(request.user, Action.VIEW, obj.quote),
            **billing,
        }


def _order_billing(user, order: Order) -> dict:
    """Billing by the finance app: the invoice that bills the order, or whether the user may bill it now.

    "Bill this order" is offered only while nothing bills the order yet (a void invoice does not count);
    the finance service checks again and refuses double billing.
    """
    if not apps.is_installed("guanxi.finance"):
        return {"can_bill": False, "order_invoice": None, "order_invoice_visible": False}
    invoice = services.order_billing_invoice(order)
    return {
        "order_invoice": invoice,
        "order_invoice_visible": invoice is not None and permissions.can(user, Action.VIEW, invoice),
        "can_bill": invoice is None
        and order.status not in (OrderStatus.DRAFT, OrderStatus.CANCELLED)
        and permissions.has_action(user, "finance.invoice", Action.CREATE),
    }


@login_required
@require_GET
def related_quotes(request):
    """The Quotes tab of an account or opportunity page (a related panel)."""
    return _related_documents(request, Quote, services.QUOTE, "commerce:quote_create")


@login_required
@require_GET
def related_orders(request):
    """The Orders tab of an account or opportunity page (a related panel)."""
    return _related_documents(request, Order, services.ORDER, "commerce:order_create")


def _related_documents(request, model, entity_key: str, create_url_name: str):
    from guanxi.customers.models import Account
    from guanxi.sales.models import Opportunity

    user = request.user
    if request.GET.get("account"):
        parent = permissions.get_for(user, Account.objects.all(), request.GET["account"])
        rows = selectors.documents_of(user, model, account=parent)
        new_url = f"{reverse(create_url_name)}?account={parent.pk}"
    elif request.GET.get("opportunity"):
        parent = permissions.get_for(user, Opportunity.objects.all(), request.GET["opportunity"])
        rows = selectors.documents_of(user, model, opportunity=parent)
        new_url = f"{reverse(create_url_name)}?opportunity={parent.pk}"
    else:
        raise Http404
    return render(
        request,
        "commerce/_related_documents.html",
        {
            "rows": rows,
            "is_quote": model is Quote,
            "new_url": new_url if permissions.has_action(user, entity_key, Action.CREATE) else None,
            "status_badges": QUOTE_BADGES if model is Quote else ORDER_BADGES,
        },
    )


def _order_for(request, pk, action=Action.VIEW) -> Order:
    return permissions.get_for(request.user, selectors.order_detail_queryset(), pk, action)


@login_required
@require_POST
def order_lines_preview(request, pk):
    order = _order_for(request, pk, Action.EDIT)
    if not order.is_editable:
        raise Http404
    rows = _posted_lines(request)
    preview = services.preview_order_lines(
        actor=request.user, order=order, raw_lines=rows, discount_percent=request.POST.get("discount_percent", "0")
    )
    _preview_errors_for_new_rows(preview, rows)
    editor = _editor_from_preview(
        order,
        preview,
        preview_url=reverse("commerce:order_lines_preview", args=[order.pk]),
        save_url=reverse("commerce:order_lines", args=[order.pk]),
    )
    return _render_editor(request, editor)


@login_required
@require_POST
def order_lines(request, pk):
    order = _order_for(request, pk, Action.EDIT)
    rows = _blank_rows_ok(_posted_lines(request))
    try:
        services.order_set_lines(
            actor=request.user, order=order, lines=rows, discount_percent=request.POST.get("discount_percent", "0")
        )
    except ValidationError as exc:
        if request.htmx and hasattr(exc, "error_dict") and order.is_editable:
            preview = services.preview_order_lines(
                actor=request.user,
                order=order,
                raw_lines=rows,
                discount_percent=request.POST.get("discount_percent", "0"),
            )
            editor = _editor_from_preview(
                order,
                preview,
                preview_url=reverse("commerce:order_lines_preview", args=[order.pk]),
                save_url=reverse("commerce:order_lines", args=[order.pk]),
            )
            return _render_editor(request, editor, status=422)
        refusal_message(request, exc)
        return _done(request, order.get_absolute_url())
    messages.success(request, _("The lines were saved."))
    return _done(request, order.get_absolute_url())


@login_required
@require_POST
def order_transition(request, pk):
    order = _order_for(request, pk, Action.EDIT)
    form = ReasonForm(request.POST)
    form.is_valid()
    return record_action(
        request,
        lambda: services.order_transition(
            actor=request.user, order=order, to=request.POST.get("to", ""), reason=form.cleaned_data.get("reason", "")
        ),
        success=lambda: _("The order is now %(status)s.") % {"status": order.get_status_display()},
        then=order.get_absolute_url(),
    )


# --- tenant administration: settings, categories, tax classes -------------------------------------


def _admin(request) -> None:
    if getattr(request, "tenant", None) is None or not permissions.is_tenant_admin(request.user):
        raise PermissionDenied


@login_required
def settings_view(request):
    _admin(request)
    conf = services.commerce_settings()
    form = CommerceSettingsForm(request.POST or None, instance=conf)
    if request.method == "POST" and form.is_valid():
        data = {name: form.cleaned_data[name] for name in form.fields}
        try:
            services.commerce_settings_update(actor=request.user, data=data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("The settings were saved."))
            return redirect("commerce:settings")
    return render(
        request,
        "commerce/settings.html",
        {"form": form, "categories": selectors.categories(), "tax_classes": selectors.tax_classes()},
    )


def _simple_form(request, *, form_class, instance, save, template, title, back):
    _admin(request)
    form = form_class(request.POST or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        try:
            save(actor=request.user, obj=form.instance)
        except ValidationError as exc:
            if hasattr(exc, "error_dict"):
                for key, errors in exc.message_dict.items():
                    form.add_error(key if key in form.fields else None, errors)
            else:
                form.add_error(None, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect(back)
    return render(request, template, {"form": form, "object": instance, "title": title, "back": reverse(back)})


@login_required
def category_edit(request, pk=None):
    _admin(request)
    category = ProductCategory() if pk is None else _get(ProductCategory, pk)
    return _simple_form(
        request,
        form_class=CategoryForm,
        instance=category,
        save=lambda actor, obj: services.category_save(actor=actor, category=obj),
        template="commerce/settings_form.html",
        title=category.name if pk else _("New product category"),
        back="commerce:settings",
    )


@login_required
def tax_class_edit(request, pk=None):
    _admin(request)
    tax_class = TaxClass() if pk is None else _get(TaxClass, pk)
    return _simple_form(
        request,
        form_class=TaxClassForm,
        instance=tax_class,
        save=lambda actor, obj: services.tax_class_save(actor=actor, tax_class=obj),
        template="commerce/settings_form.html",
        title=tax_class.name if pk else _("New tax class"),
        back="commerce:settings",
    )


@login_required
@require_POST
def category_delete(request, pk):
    _admin(request)
    return record_action(
        request,
        lambda: services.category_delete(actor=request.user, category=_get(ProductCategory, pk)),
        success=_("The category was deleted."),
        then=reverse("commerce:settings"),
    )


@login_required
@require_POST
def tax_class_delete(request, pk):
    _admin(request)
    return record_action(
        request,
        lambda: services.tax_class_delete(actor=request.user, tax_class=_get(TaxClass, pk)),
        success=_("The tax class was deleted."),
        then=reverse("commerce:settings"),
    )


def _get(model, pk):
    obj = model.objects.filter(pk=pk).first()
    if obj is None:
        raise Http404
    return obj


product_views = ProductViews()
price_book_views = PriceBookViews()
quote_views = QuoteViews()
order_views = OrderViews()
