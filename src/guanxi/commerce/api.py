"""/api/v1/products, /price-books, /quotes, /orders: the same filters, services and permissions as the pages."""

from __future__ import annotations

import datetime

from django.http import Http404, HttpResponse
from ninja import Router, Status

from guanxi.access import permissions
from guanxi.platform.api_crud import EntityApi
from guanxi.platform.registry import Action

from . import pricing, selectors, services
from .api_schemas import (
    ApprovalOut,
    DecisionIn,
    EntryIn,
    EntryOut,
    EntryPatch,
    LinesIn,
    LinesOut,
    OrderIn,
    OrderOut,
    OrderPatch,
    PriceBookIn,
    PriceBookOut,
    PriceBookPatch,
    PriceOut,
    ProductIn,
    ProductOut,
    ProductPatch,
    QuoteIn,
    QuoteOut,
    QuotePatch,
    ReasonIn,
    SendIn,
    TransitionIn,
)
from .filters import OrderFilterSet, PriceBookFilterSet, ProductFilterSet, QuoteFilterSet
from .models import Channel, DiscountApproval, Order, PriceBook, PriceBookEntry, Product, Quote

router = Router()


def _raw_lines(lines) -> list[dict] | None:
    if lines is None:
        return None
    return [
        {
            "product": line["product_id"],
            "description": line.get("description", ""),
            "quantity": line["quantity"],
            "unit_price": line.get("unit_price"),
            "discount_percent": line.get("discount_percent"),
            "tax_rate": line.get("tax_rate"),
        }
        for line in lines
    ]


def _split(data: dict) -> tuple[dict, list | None]:
    data = dict(data)
    return data, _raw_lines(data.pop("lines", None))


# --- products -----------------------------------------------------------------------------------

products_api = EntityApi(
    entity_key=services.PRODUCT,
    out_schema=ProductOut,
    in_schema=ProductIn,
    patch_schema=ProductPatch,
    filterset_class=ProductFilterSet,
    queryset=selectors.product_list_queryset,
    create=lambda actor, data, tags: services.product_create(actor=actor, data=data),
    update=lambda actor, obj, data, tags: services.product_update(actor=actor, product=obj, data=data),
    delete=lambda actor, obj: services.product_delete(actor=actor, product=obj),
    sorts={"name", "sku", "list_price", "created_at", "updated_at", "id"},
    default_sort="name",
    extra_out=lambda obj, access: {"tax_rate": obj.tax_class.rate if obj.tax_class_id else None},
)
products_router = products_api.router("products")


@products_router.get("/{int:pk}/price", response=PriceOut, summary="Price of a product for a customer",
                     operation_id="products_price")  # fmt: skip
def product_price(
    request,
    pk: int,
    account_id: int | None = None,
    channel: str = Channel.DIRECT,
    currency: str | None = None,
    quantity: str = "1",
    date: datetime.date | None = None,
    price_book_id: int | None = None,
):
    """The unit price `price_for` picks: the most specific valid price book for the account, channel, currency,
    quantity and day (then the product's own list price). 404 when there is no price in that currency."""
    from guanxi.customers.models import Account

    product = permissions.get_for(request.user, Product.objects.all(), pk)
    account = None
    if account_id is not None:
        account = permissions.get_for(request.user, Account.objects.select_related("region"), account_id)
    book = None
    if price_book_id is not None:
        book = permissions.get_for(request.user, PriceBook.objects.all(), price_book_id)
    qty = pricing.to_decimal(quantity, None)
    if qty is None or qty <= 0:
        from django.core.exceptions import ValidationError

        raise ValidationError({"quantity": ["Give a quantity above 0."]})
    currency = (currency or product.currency).upper()
    result = services.price_for(product, account, channel, currency, qty, date, price_book=book)
    if result is None:
        raise Http404
    return {
        "product_id": product.pk,
        "currency": currency,
        "quantity": qty,
        "unit_price": result.unit_price,
        "price_book_id": result.price_book.pk if result.price_book else None,
        "price_book": result.source,
        "min_quantity": result.min_quantity,
    }


# --- price books ------------------------------------------------------------------------------------

price_books_api = EntityApi(
    entity_key=services.PRICE_BOOK,
    out_schema=PriceBookOut,
    in_schema=PriceBookIn,
    patch_schema=PriceBookPatch,
    filterset_class=PriceBookFilterSet,
    queryset=selectors.price_book_list_queryset,
    create=lambda actor, data, tags: services.price_book_create(actor=actor, data=data),
    update=lambda actor, obj, data, tags: services.price_book_update(actor=actor, price_book=obj, data=data),
    delete=lambda actor, obj: services.price_book_delete(actor=actor, price_book=obj),
    sorts={"name", "created_at", "updated_at", "id"},
    default_sort="name",
)
price_books_router = price_books_api.router("price-books")


def _entry_out(entry: PriceBookEntry) -> dict:
    return {
        "id": entry.pk,
        "product_id": entry.product_id,
        "product": str(entry.product),
        "unit_price": entry.unit_price,
        "min_quantity": entry.min_quantity,
    }


def _book(request, pk, action=Action.VIEW) -> PriceBook:
    return permissions.get_for(request.user, PriceBook.objects.all(), pk, action)


def _entry(book, entry_id) -> PriceBookEntry:
    entry = PriceBookEntry.objects.filter(pk=entry_id, price_book=book).select_related("product").first()
    if entry is None:
        raise Http404
    return entry


@price_books_router.get("/{int:pk}/entries", response=list[EntryOut], summary="Prices in a book",
                        operation_id="price_books_entries")  # fmt: skip
def list_entries(request, pk: int):
    return [_entry_out(e) for e in selectors.price_book_entries(_book(request, pk))]


@price_books_router.post("/{int:pk}/entries", response={201: EntryOut}, summary="Add a price to a book",
                         operation_id="price_books_entry_create")  # fmt: skip
def create_entry(request, pk: int, payload: EntryIn):
    book = _book(request, pk, Action.EDIT)
    product = permissions.get_for(request.user, Product.objects.all(), payload.product_id)
    entry = services.price_book_entry_save(
        actor=request.user,
        price_book=book,
        product=product,
        unit_price=payload.unit_price,
        min_quantity=payload.min_quantity,
    )
    return Status(201, _entry_out(entry))


@price_books_router.patch("/{int:pk}/entries/{int:entry_id}", response=EntryOut, summary="Change a price",
                          operation_id="price_books_entry_update")  # fmt: skip
def update_entry(request, pk: int, entry_id: int, payload: EntryPatch):
    book = _book(request, pk, Action.EDIT)
    entry = _entry(book, entry_id)
    data = payload.model_dump(exclude_unset=True)
    entry = services.price_book_entry_save(
        actor=request.user,
        price_book=book,
        entry=entry,
        product=entry.product,
        unit_price=data.get("unit_price", entry.unit_price),
        min_quantity=data.get("min_quantity", entry.min_quantity),
    )
    return _entry_out(entry)


@price_books_router.delete("/{int:pk}/entries/{int:entry_id}", response={204: None}, summary="Remove a price",
                           operation_id="price_books_entry_delete")  # fmt: skip
def delete_entry(request, pk: int, entry_id: int):
    book = _book(request, pk, Action.EDIT)
    services.price_book_entry_delete(actor=request.user, entry=_entry(book, entry_id))
    return Status(204, None)


# --- lines ----------------------------------------------------------------------------------------


def _lines_out(document, lines) -> dict:
    amounts = services.document_amounts(document)
    return {
        "lines": [
            {
                "id": line.pk,
                "position": line.position,
                "product_id": line.product_id,
                **{
                    name: getattr(line, name)
                    for name in (
                        "sku",
                        "description",
                        "unit",
                        "quantity",
                        "list_price",
                        "unit_price",
                        "discount_percent",
                        "tax_rate",
                        "gross_amount",
                        "discount_amount",
                        "net_amount",
                        "tax_amount",
                        "total",
                    )
                },
            }
            for line in lines
        ],
        "currency": document.currency,
        "discount_percent": document.discount_percent,
        "subtotal": document.subtotal,
        "discount_total": document.discount_total,
        "net_total": document.net_total,
        "tax_total": document.tax_total,
        "total": document.total,
        "taxes": [{"rate": t.rate, "base": t.base, "tax": t.tax} for t in amounts.taxes],
    }


# --- quotes ---------------------------------------------------------------------------------------


def _quote_extra(obj, access) -> dict:
    return {"display_number": obj.display_number, "needs_approval": services.quote_needs_approval(obj)}


quotes_api = EntityApi(
    entity_key=services.QUOTE,
    out_schema=QuoteOut,
    in_schema=QuoteIn,
    patch_schema=QuotePatch,
    filterset_class=QuoteFilterSet,
    queryset=selectors.quote_list_queryset,
    create=lambda actor, data, tags: services.quote_create(actor=actor, data=_split(data)[0], lines=_split(data)[1]),
    update=lambda actor, obj, data, tags: services.quote_update(actor=actor, quote=obj, data=data),
    delete=lambda actor, obj: services.quote_delete(actor=actor, quote=obj),
    sorts={"updated_at", "created_at", "quote_date", "valid_until", "total", "number", "id"},
    default_sort="-updated_at",
    extra_out=_quote_extra,
)
quotes_router = quotes_api.router("quotes")


def _quote(request, pk, action=Action.VIEW) -> Quote:
    return permissions.get_for(request.user, selectors.quote_detail_queryset(), pk, action)


def _quote_out(request, pk) -> dict:
    return quotes_api.serialize(_quote(request, pk), permissions.field_access(request.user, services.QUOTE))


@quotes_router.get("/{int:pk}/lines", response=LinesOut, summary="Lines and totals of a quote",
                   operation_id="quotes_lines")  # fmt: skip
def quote_lines(request, pk: int):
    quote = _quote(request, pk)
    return _lines_out(quote, selectors.quote_lines(quote))


@quotes_router.put("/{int:pk}/lines", response=LinesOut, summary="Replace the lines of a draft quote",
                   operation_id="quotes_lines_replace")  # fmt: skip
def quote_set_lines(request, pk: int, payload: LinesIn):
    """Prices left out come from the price books; amounts, taxes and totals are computed by the server."""
    quote = _quote(request, pk, Action.EDIT)
    data = payload.model_dump()
    quote = services.quote_set_lines(
        actor=request.user, quote=quote, lines=_raw_lines(data["lines"]), discount_percent=data["discount_percent"]
    )
    quote = _quote(request, pk)
    return _lines_out(quote, selectors.quote_lines(quote))


@quotes_router.get("/{int:pk}/pdf", summary="The quote as a PDF", operation_id="quotes_pdf",
                   response={200: None})  # fmt: skip
def quote_pdf(request, pk: int):
    """`application/pdf`: the document the customer receives."""
    from .pdf import quote_pdf as render_pdf

    quote = _quote(request, pk)
    response = HttpResponse(render_pdf(quote), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{quote.display_number.replace(" ", "-")}.pdf"'
    return response


@quotes_router.post("/{int:pk}/send", response=QuoteOut, exclude_unset=True, summary="E-mail the quote as PDF",
                    operation_id="quotes_send")  # fmt: skip
def quote_send(request, pk: int, payload: SendIn):
    """Sends the PDF to `to` (default: the contact), marks the quote sent and logs the e-mail on the timelines.
    A discount above the threshold must be approved first (422)."""
    quote = _quote(request, pk, Action.EDIT)
    defaults = services.quote_email_defaults(quote, request.user)
    services.quote_send(
        actor=request.user,
        quote=quote,
        to=payload.to if payload.to is not None else [defaults["to"]] if defaults["to"] else [],
        cc=payload.cc,
        subject=payload.subject if payload.subject is not None else defaults["subject"],
        body=payload.body if payload.body is not None else defaults["body"],
    )
    return _quote_out(request, pk)


@quotes_router.post("/{int:pk}/request-approval", response={201: ApprovalOut}, summary="Ask to approve the discount",
                    operation_id="quotes_request_approval")  # fmt: skip
def quote_request_approval(request, pk: int, payload: ReasonIn):
    approval = services.quote_request_approval(
        actor=request.user, quote=_quote(request, pk, Action.EDIT), reason=payload.reason
    )
    return Status(201, _approval_out(approval))


@quotes_router.post("/{int:pk}/approval", response=ApprovalOut, summary="Approve or reject the pending discount",
                    operation_id="quotes_decide_approval")  # fmt: skip
def quote_decide(request, pk: int, payload: DecisionIn):
    """The approver named on the request (the requester's manager) or a tenant administrator decides."""
    quote = _quote(request, pk)
    approval = DiscountApproval.objects.filter(quote=quote, status=DiscountApproval.Status.PENDING).first()
    if approval is None:
        raise Http404
    approval = services.approval_decide(
        actor=request.user, approval=approval, approve=payload.decision == "approve", comment=payload.comment
    )
    return _approval_out(approval)


def _approval_out(a: DiscountApproval) -> dict:
    return {
        "id": a.pk,
        "quote_id": a.quote_id,
        "status": a.status,
        "requested_by_id": a.requested_by_id,
        "approver_id": a.approver_id,
        "discount_percent": a.discount_percent,
        "threshold_percent": a.threshold_percent,
        "reason": a.reason,
        "comment": a.comment,
        "requested_at": a.requested_at,
        "decided_at": a.decided_at,
    }


@quotes_router.post("/{int:pk}/accept", response={201: OrderOut}, exclude_unset=True,
                    summary="The customer accepted: create the order", operation_id="quotes_accept")  # fmt: skip
def quote_accept(request, pk: int):
    order = services.quote_accept(actor=request.user, quote=_quote(request, pk, Action.EDIT))
    return Status(201, _order_out(request, order.pk))


@quotes_router.post("/{int:pk}/reject", response=QuoteOut, exclude_unset=True,
                    summary="The customer declined the quote", operation_id="quotes_reject")  # fmt: skip
def quote_reject(request, pk: int, payload: ReasonIn):
    services.quote_reject(actor=request.user, quote=_quote(request, pk, Action.EDIT), reason=payload.reason)
    return _quote_out(request, pk)


@quotes_router.post("/{int:pk}/revise", response={201: QuoteOut}, exclude_unset=True,
                    summary="A new draft version; the old one is superseded", operation_id="quotes_revise")  # fmt: skip
def quote_revise(request, pk: int):
    new = services.quote_revise(actor=request.user, quote=_quote(request, pk, Action.EDIT))
    return Status(201, _quote_out(request, new.pk))


# --- orders ---------------------------------------------------------------------------------------

orders_api = EntityApi(
    entity_key=services.ORDER,
    out_schema=OrderOut,
    in_schema=OrderIn,
    patch_schema=OrderPatch,
    filterset_class=OrderFilterSet,
    queryset=selectors.order_list_queryset,
    create=lambda actor, data, tags: services.order_create(actor=actor, data=_split(data)[0], lines=_split(data)[1]),
    update=lambda actor, obj, data, tags: services.order_update(actor=actor, order=obj, data=data),
    delete=lambda actor, obj: services.order_delete(actor=actor, order=obj),
    sorts={"order_date", "updated_at", "created_at", "total", "number", "id"},
    default_sort="-order_date",
)
orders_router = orders_api.router("orders")


def _order(request, pk, action=Action.VIEW) -> Order:
    return permissions.get_for(request.user, selectors.order_detail_queryset(), pk, action)


def _order_out(request, pk) -> dict:
    return orders_api.serialize(_order(request, pk), permissions.field_access(request.user, services.ORDER))


@orders_router.get("/{int:pk}/lines", response=LinesOut, summary="Lines and totals of an order",
                   operation_id="orders_lines")  # fmt: skip
def order_lines(request, pk: int):
    order = _order(request, pk)
    return _lines_out(order, selectors.order_lines(order))


@orders_router.put("/{int:pk}/lines", response=LinesOut, summary="Replace the lines of a draft order",
                   operation_id="orders_lines_replace")  # fmt: skip
def order_set_lines(request, pk: int, payload: LinesIn):
    order = _order(request, pk, Action.EDIT)
    data = payload.model_dump()
    services.order_set_lines(
        actor=request.user, order=order, lines=_raw_lines(data["lines"]), discount_percent=data["discount_percent"]
    )
    order = _order(request, pk)
    return _lines_out(order, selectors.order_lines(order))


@orders_router.post("/{int:pk}/transition", response=OrderOut, exclude_unset=True,
                    summary="Move an order to its next status", operation_id="orders_transition")  # fmt: skip
def order_transition(request, pk: int, payload: TransitionIn):
    """draft → confirmed → fulfilled → closed; draft or confirmed → cancelled. Other moves answer 422."""
    services.order_transition(actor=request.user, order=_order(request, pk, Action.EDIT), to=payload.to,
                              reason=payload.reason)  # fmt: skip
    return _order_out(request, pk)


router.add_router("/products", products_router)
router.add_router("/price-books", price_books_router)
router.add_router("/quotes", quotes_router)
router.add_router("/orders", orders_router)
