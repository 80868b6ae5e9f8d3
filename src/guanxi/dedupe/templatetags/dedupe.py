"""``{% duplicate_hint object %}``: on a record's page, a notice when it has likely duplicates to review."""

from django import template
from django.template.loader import render_to_string

register = template.Library()


@register.simple_tag(takes_context=True)
def duplicate_hint(context, obj) -> str:
    from ..selectors import open_duplicates_of

    request = context.get("request")
    if request is None or obj is None:
        return ""
    hint = open_duplicates_of(request.user, obj)
    if hint is None:
        return ""
    return render_to_string("dedupe/_hint.html", hint, request=request)
