"""The sidebar: each app contributes entries; each entry is shown only to users who may use it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse


@dataclass
class NavItem:
    label: object
    url_name: str
    icon: str
    section: str = "main"
    module: str | None = None  # permission module: shown only with "view" on it
    admin_only: bool = False
    operator_only: bool = False
    order: int = 100
    visible: Callable | None = None


_items: list[NavItem] = []

SECTION_LABELS = {}


def register(*items: NavItem) -> None:
    _items.extend(items)
    _items.sort(key=lambda i: i.order)


def navigation_for(request) -> list[tuple[str, list[dict]]]:
    from guanxi.access import permissions

    user = request.user
    tenant = getattr(request, "tenant", None)
    sections: dict[str, list[dict]] = {}
    path = request.path
    for item in _items:
        if item.operator_only:
            if not user.is_operator:
                continue
        elif (
            tenant is None
            or not tenant.is_active
            or (item.admin_only and not permissions.is_tenant_admin(user))
            or (item.module and not permissions.has_action(user, item.module, "view"))
        ):
            continue
        if item.visible is not None and not item.visible(request):
            continue
        try:
            url = reverse(item.url_name)
        except NoReverseMatch:
            continue
        active = path == url if url == "/" else path.startswith(url)
        sections.setdefault(item.section, []).append(
            {"label": item.label, "url": url, "icon": item.icon, "active": active}
        )
    return list(sections.items())
