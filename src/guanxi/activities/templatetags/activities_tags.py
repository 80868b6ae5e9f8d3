"""Template helpers of the activities pages (``{% load activities_tags %}``)."""

from django import template
from django.urls import NoReverseMatch

register = template.Library()


@register.filter
def record_url(obj) -> str:
    """``obj.get_absolute_url()``, or "" while the record's pages do not exist."""
    if obj is None:
        return ""
    try:
        return obj.get_absolute_url()
    except (NoReverseMatch, AttributeError):
        return ""
