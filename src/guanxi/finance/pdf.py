"""Invoice PDFs with WeasyPrint: an HTML template printed with the CJK-capable font stack.

Nothing is fetched from outside (the commerce app's URL fetcher serves only inline ``data:`` URLs),
so text typed into an invoice cannot make the server call out.
"""

from __future__ import annotations

from django.template.loader import render_to_string
from django.utils import translation

from guanxi.commerce import pricing
from guanxi.commerce.pdf import local_only_fetcher
from guanxi.platform import context


def invoice_pdf_context(invoice) -> dict:
    from .selectors import invoice_lines
    from .services import finance_settings, our_company_name

    lines = invoice_lines(invoice)
    amounts = pricing.compute_document(
        [pricing.LineInput(quantity=li.quantity, unit_price=li.unit_price, discount_percent=li.discount_percent,
                           tax_rate=li.tax_rate, list_price=li.list_price) for li in lines],
        invoice.discount_percent or pricing.ZERO,
    )  # fmt: skip
    return {
        "invoice": invoice,
        "lines": lines,
        "amounts": amounts,
        "tenant": context.current_tenant(),
        "company": our_company_name(),
        "settings": finance_settings(),
        "account": invoice.account,
        "contact": invoice.contact,
        "owner": invoice.owner,
        "show_discount": any(line.discount_percent for line in lines) or bool(invoice.discount_percent),
    }


def invoice_html(invoice, *, language: str | None = None) -> str:
    with translation.override(language or translation.get_language()):
        return render_to_string("finance/invoice_pdf.html", invoice_pdf_context(invoice))


def invoice_pdf(invoice, *, language: str | None = None) -> bytes:
    """The invoice as PDF bytes."""
    from weasyprint import HTML

    return HTML(string=invoice_html(invoice, language=language), url_fetcher=local_only_fetcher()).write_pdf()
