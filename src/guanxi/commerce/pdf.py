"""Quote PDFs with WeasyPrint: an HTML template printed with the CJK-capable font stack.

Nothing is fetched from outside: the document has no external stylesheets or images, and the
URL fetcher refuses every URL that is not inline (``data:``), so a link smuggled into a
product description cannot make the server call out.
"""

from __future__ import annotations

from django.template.loader import render_to_string
from django.utils import translation

from guanxi.platform import context


def local_only_fetcher():
    """A WeasyPrint URL fetcher that serves only inline ``data:`` URLs and refuses everything else."""
    from weasyprint.urls import URLFetcher

    class LocalOnlyFetcher(URLFetcher):
        def fetch(self, url, headers=None):
            if not url.startswith("data:"):
                raise ValueError(f"External resources are not loaded in PDFs: {url[:80]}")
            return super().fetch(url, headers)

    return LocalOnlyFetcher(allowed_protocols=("data",), fail_on_errors=False)


def quote_pdf_context(quote) -> dict:
    from .selectors import quote_lines
    from .services import document_amounts

    lines = quote_lines(quote)
    amounts = document_amounts(quote)
    account = quote.account
    return {
        "quote": quote,
        "lines": lines,
        "amounts": amounts,
        "tenant": context.current_tenant(),
        "account": account,
        "contact": quote.contact,
        "owner": quote.owner,
        "show_discount": any(line.discount_percent for line in lines) or bool(quote.discount_percent),
    }


def quote_html(quote, *, language: str | None = None) -> str:
    with translation.override(language or translation.get_language()):
        return render_to_string("commerce/quote_pdf.html", quote_pdf_context(quote))


def quote_pdf(quote, *, language: str | None = None) -> bytes:
    """The quote as PDF bytes."""
    from weasyprint import HTML

    html = quote_html(quote, language=language)
    return HTML(string=html, url_fetcher=local_only_fetcher()).write_pdf()
