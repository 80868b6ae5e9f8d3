"""``{% export_menu_status entity_key %}``: the export menu's line about exports still being prepared."""

from django import template

from .. import selectors

register = template.Library()


@register.inclusion_tag("exports/_menu_status.html", takes_context=True)
def export_menu_status(context, entity_key: str) -> dict:
    request = context.get("request")
    user = getattr(request, "user", None)
    preparing = selectors.preparing(user, entity_key) if user is not None and user.is_authenticated else []
    return {"preparing": preparing}
