"""``GET /api/v1/exports/{entity}``: a list export, streamed, with the list page's filters.

One route per registered entity (``/exports/accounts``, ``/exports/contacts``,
``/exports/activities`` …), built from the entity registry.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest
from ninja import Router

from guanxi.platform import registry

from .formats import format_for, formats_for
from .views import export_response, filters_of

router = Router(tags=["exports"])


def slug_for(entity: registry.Entity) -> str:
    """``customers.account`` → ``accounts``, ``activities.activity`` → ``activities``."""
    name = entity.model._meta.model_name
    return f"{name[:-1]}ies" if name.endswith("y") else f"{name}s"


def export_entity(request: HttpRequest, entity_key: str, fmt_code: str, columns: str | None):
    from guanxi.platform.views import entity_views

    try:
        views = entity_views(entity_key)
    except KeyError:
        raise Http404
    fmt = format_for(entity_key, fmt_code)
    if fmt is None:
        codes = ", ".join(f.code for f in formats_for(entity_key))
        raise ValidationError({"format": [f"Choose one of: {codes}."]})
    params = request.GET.copy()
    for key in ("format", "columns", "cols", "view"):
        params.pop(key, None)
    if columns:
        wanted = [c.strip() for c in columns.split(",") if c.strip()]
        known = {c.key for c in views.all_columns(request)}
        unknown = [c for c in wanted if c not in known]
        if unknown:
            raise ValidationError({"columns": [f"Unknown column: {', '.join(unknown)}."]})
        params["cols"] = ",".join(wanted)
    queryset, chosen, sort = views.export_rows(request, params)
    return export_response(
        views=views,
        fmt=fmt,
        queryset=queryset,
        columns=chosen,
        sort=sort,
        actor=request.user,
        filters=filters_of(params),
    )


def _add_route(entity: registry.Entity) -> None:
    slug = slug_for(entity)
    formats = ", ".join(f"`{f.code}`" for f in formats_for(entity.key))

    def export(request: HttpRequest, format: str = "csv", columns: str | None = None):
        return export_entity(request, entity.key, format, columns)

    export.__name__ = f"export_{slug.replace('-', '_')}"
    export.__doc__ = (
        f"Stream the {entity.label_plural} the caller may export, as {formats} (CSV is UTF-8 with a BOM). "
        "Filters take the same names as the list page and the list API (`q`, `owner`, `tag`, `cf_<key>`, …), "
        "`sort` as there; `columns=a,b,c` chooses the columns (the list's default columns otherwise). "
        "Fields the caller may not see are never exported. Every export is audited."
    )
    router.get(f"/{slug}", summary=f"Export {entity.label_plural}", response={200: None})(export)


for _entity in registry.entities():
    _add_route(_entity)
