"""Generic list / detail / form / delete / bulk views for registered entities.

An entity's pages are one ``EntityViews`` subclass (columns, filters, form, services,
templates) and ``urlpatterns += AccountViews().urls()``. Everything shared — permission
checks through the permission service, restricted fields, custom fields (form fields,
columns, filters), keyset pagination, sorting, saved views, bulk actions, htmx partial
refresh and inline validation — lives here once.
"""

from __future__ import annotations

import datetime
import decimal
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field as dc_field
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, HttpResponseRedirect, QueryDict
from django.shortcuts import render
from django.urls import path, reverse
from django.utils import formats, timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from guanxi.access import permissions
from guanxi.customization import services as custom
from guanxi.customization.models import SavedView, Tag

from . import crud, registry
from .pagination import InvalidCursor, paginate
from .phones import format_phone
from .registry import Action

PAGE_SIZES = (25, 50, 100)


# --- columns -----------------------------------------------------------------------------------


@dataclass
class Column:
    """A list column. ``key`` is a model field, ``custom.<key>``, or a virtual name with ``render``."""

    key: str
    label: object = ""
    sort: str | None = None  # ORM field to sort by (keyset-paginated); None = not sortable
    kind: str = "text"  # text, link, choice, fk, date, datetime, money, tags, phone, email, url, bool, badge
    render: Callable | None = None  # render(obj) -> safe html / str
    default: bool = False
    field: str | None = None  # the model field guarded by field restrictions (defaults to key)
    badge_classes: dict = dc_field(default_factory=dict)

    @property
    def guarded_field(self) -> str:
        return self.field or self.key


def _cell(obj, column: Column, *, definitions: dict, detail_url: Callable) -> str:
    if column.render is not None:
        return column.render(obj)
    if column.key.startswith("custom."):
        definition = definitions.get(column.key[7:])
        value = (obj.custom or {}).get(column.key[7:])
        return custom.display_value(definition, value) if definition else ""
    value = getattr(obj, column.key, None)
    if column.kind == "link":
        return format_html('<a href="{}">{}</a>', detail_url(obj), value or "—")
    if column.kind in ("choice", "badge"):
        label = getattr(obj, f"get_{column.key}_display")() if value else ""
        if column.kind == "badge" and label:
            css = column.badge_classes.get(value, "text-bg-light")
            return format_html('<span class="badge gx-stage {}">{}</span>', css, label)
        return label
    if value is None or value == "":
        return ""
    if column.kind == "tags":
        return format_html_join(
            "", '<span class="gx-tag" style="background:{}">{}</span>', ((t.color, t.name) for t in value.all())
        )
    if column.kind == "datetime":
        return formats.date_format(timezone.localtime(value), "SHORT_DATETIME_FORMAT")
    if column.kind == "date":
        return formats.date_format(value, "SHORT_DATE_FORMAT")
    if column.kind == "money":
        currency = getattr(obj, "currency", "")
        return f"{formats.number_format(value, 0, use_l10n=True, force_grouping=True)} {currency}".strip()
    if column.kind == "phone":
        return format_html('<a href="tel:{}">{}</a>', value, format_phone(value))
    if column.kind == "email":
        return format_html('<a href="mailto:{}">{}</a>', value, value)
    if column.kind == "url":
        return format_html('<a href="{}" target="_blank" rel="noopener">{}</a>', value, value.split("//")[-1])
    if column.kind == "bool":
        return _("Yes") if value else _("No")
    if isinstance(value, datetime.datetime):
        return formats.date_format(timezone.localtime(value), "SHORT_DATETIME_FORMAT")
    if isinstance(value, (datetime.date, decimal.Decimal, int, float)):
        return formats.localize(value, use_l10n=True)
    return str(value)


# --- forms -------------------------------------------------------------------------------------


class EntityForm(forms.ModelForm):
    """ModelForm with the tenant's custom fields, field restrictions and permission-scoped choices."""

    entity_key: str = ""
    owner_field = "owner"

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.entity = registry.entity(self.entity_key)
        self.access = permissions.field_access(user, self.entity_key)
        self.custom_definitions = []
        instance_custom = (getattr(self.instance, "custom", None) or {}) if self.instance.pk else {}
        if self.entity.custom_fields:
            for definition in custom.definitions_for(self.entity_key):
                name = f"custom.{definition.key}"
                if not self.access.can_see(name):
                    continue
                form_field = custom.form_field(definition)
                form_field.disabled = not self.access.can_write(name)
                form_field.initial = custom.form_initial(definition, instance_custom.get(definition.key))
                self.fields[f"cf_{definition.key}"] = form_field
                self.custom_definitions.append(definition)
        for name, form_field in list(self.fields.items()):
            if name.startswith("cf_"):
                continue
            if not self.access.can_see(name):
                del self.fields[name]
                continue
            if not self.access.can_write(name):
                form_field.disabled = True
            if isinstance(form_field, forms.ModelChoiceField):
                self._scope_choices(name, form_field)

    def _scope_choices(self, name: str, form_field: forms.ModelChoiceField) -> None:
        from guanxi.org.selectors import member_users

        if form_field.queryset is None:
            return  # the form sets its own choices
        model = form_field.queryset.model
        if name == self.owner_field or model._meta.label == "identity.User":
            form_field.queryset = member_users()
            form_field.widget.attrs.setdefault("data-gx-select", "")
        elif registry.entity_for_model(model) is not None:
            form_field.queryset = permissions.visible(self.user, form_field.queryset.all())
            form_field.widget.attrs.setdefault("data-gx-select", "")
        if isinstance(form_field, forms.ModelMultipleChoiceField) and model is Tag:
            form_field.widget.attrs["data-gx-select"] = ""

    @property
    def custom_field_names(self) -> list[str]:
        return [f"cf_{d.key}" for d in self.custom_definitions]

    def service_data(self) -> dict:
        """Cleaned data as service input: model fields plus ``custom`` (only writable fields)."""
        data = {}
        for name, value in self.cleaned_data.items():
            if name.startswith("cf_") or self.fields[name].disabled:
                continue
            data[name] = value
        if self.custom_definitions:
            data["custom"] = {
                d.key: self.cleaned_data.get(f"cf_{d.key}")
                for d in self.custom_definitions
                if not self.fields[f"cf_{d.key}"].disabled
            }
        return data

    def add_service_errors(self, exc: ValidationError) -> None:
        """Show a service's ValidationError on the matching form fields (``custom.x`` → ``cf_x``)."""
        if not hasattr(exc, "error_dict"):
            self.add_error(None, exc)
            return
        for key, errors in exc.message_dict.items():
            name = f"cf_{key[7:]}" if key.startswith("custom.") else key
            if name not in self.fields:
                name = None
            for error in errors:
                if name is not None and name in self.errors and error in self.errors[name]:
                    continue
                self.add_error(name, error)


# --- the view set ------------------------------------------------------------------------------


@dataclass
class ListQuery:
    """What a list request asks for (shared by the list page and exports)."""

    params: QueryDict
    saved: SavedView | None
    filterset: object
    valid: bool
    queryset: object  # filtered and permission-scoped
    columns: list[Column]  # every column the user may see
    chosen: list[str]
    shown: list[Column]
    sort: str


class EntityViews:
    """All pages of one entity. Subclasses set the attributes and the four service hooks."""

    entity_key: str = ""
    url_prefix: str = ""  # e.g. "accounts/"
    name: str = ""  # url name stem, e.g. "account"
    filterset_class = None
    form_class: type[EntityForm] | None = None
    columns: list[Column] = []
    default_sort: str = "-updated_at"
    list_template = "platform/entity_list.html"
    detail_template = ""
    form_template = "platform/entity_form.html"
    form_sections: list[tuple[object, list[str]]] = []  # [(heading, [field names])]; rest appended
    icon = "list"
    bulk_tags = True

    # --- hooks (entity services) ----------------------------------------------------------
    def list_queryset(self, request):
        return registry.entity(self.entity_key).model.objects.all()

    def detail_queryset(self, request):
        return self.list_queryset(request)

    def create(self, request, data: dict):
        return crud.record_create(entity_key=self.entity_key, actor=request.user, data=data)

    def update(self, request, obj, data: dict):
        return crud.record_update(entity_key=self.entity_key, actor=request.user, instance=obj, data=data)[0]

    def delete(self, request, obj) -> None:
        crud.record_delete(entity_key=self.entity_key, actor=request.user, instance=obj)

    def detail_context(self, request, obj) -> dict:
        return {}

    def initial_for_create(self, request) -> dict:
        return {}

    # --- helpers ---------------------------------------------------------------------------
    @property
    def entity(self) -> registry.Entity:
        return registry.entity(self.entity_key)

    @property
    def model(self):
        return self.entity.model

    def url(self, action: str, *args) -> str:
        return reverse(f"{self.entity.url_name}_{action}", args=args)

    def import_url(self, user) -> str | None:
        """The import page for this entity, when it is importable and the user may import."""
        from guanxi.imports.specs import all_specs

        if self.entity_key not in {spec.entity_key for spec in all_specs()} or not (
            permissions.has_action(user, self.entity_key, Action.IMPORT)
            and permissions.has_action(user, self.entity_key, Action.CREATE)
        ):
            return None
        return f"{reverse('imports:new')}?entity={self.entity_key}"

    def detail_url(self, obj) -> str:
        return self.url("detail", obj.pk)

    def all_columns(self, request) -> list[Column]:
        access = permissions.field_access(request.user, self.entity_key)
        columns = [c for c in self.columns if access.can_see(c.guarded_field)]
        if self.entity.custom_fields:
            for d in custom.definitions_for(self.entity_key):
                if access.can_see(f"custom.{d.key}"):
                    columns.append(Column(f"custom.{d.key}", d.label, default=d.show_in_list))
        return columns

    # --- list --------------------------------------------------------------------------------
    def list_query(self, request, action: str = Action.VIEW, params: QueryDict | None = None) -> ListQuery:
        """The list as the user asked for it: saved view, filters, columns and sort, scoped for ``action``."""
        params = (request.GET if params is None else params).copy()
        saved = None
        if params.get("view"):
            saved = SavedView.objects.filter(pk=_int(params.get("view")), entity=self.entity_key).first()
            if saved is not None and (saved.is_shared or saved.owner_id == request.user.pk):
                merged = QueryDict(saved.query, mutable=True)
                for key in ("cursor", "sort", "per_page"):
                    if key in params:
                        merged[key] = params[key]
                params = merged
            else:
                saved = None
        queryset = permissions.visible(request.user, self.list_queryset(request), action)
        filterset = self.filterset_class(params, queryset=queryset, request=request)
        valid = filterset.is_valid()
        rows_qs = filterset.qs if valid else queryset.none()

        columns = self.all_columns(request)
        by_key = {c.key: c for c in columns}
        chosen = [k for k in (params.get("cols") or "").split(",") if k in by_key]
        if not chosen and saved is not None:
            chosen = [k for k in saved.columns if k in by_key]
        if not chosen:
            chosen = [c.key for c in columns if c.default]
        sortable = {c.sort for c in columns if c.sort}
        sort = params.get("sort") or self.default_sort
        if sort.lstrip("-") not in sortable:
            sort = self.default_sort
        return ListQuery(
            params=params,
            saved=saved,
            filterset=filterset,
            valid=valid,
            queryset=rows_qs,
            columns=columns,
            chosen=chosen,
            shown=[by_key[k] for k in chosen],
            sort=sort,
        )

    def export_rows(self, request, params: QueryDict | None = None) -> tuple:
        """(queryset, columns, sort) of what the list shows, limited to the records the user may export."""
        permissions.require(request.user, self.entity_key, Action.EXPORT)
        query = self.list_query(request, Action.EXPORT, params)
        if not query.valid:
            raise ValidationError({k: [str(m) for m in v] for k, v in query.filterset.errors.items()})
        return query.queryset, query.shown, query.sort

    def export_formats(self) -> tuple:
        from guanxi.exports.formats import formats_for

        return formats_for(self.entity_key)

    def export_view(self, request):
        from guanxi.exports.views import entity_export

        return entity_export(request, self)

    def list_view(self, request):
        permissions.require(request.user, self.entity_key, Action.VIEW)
        query = self.list_query(request)
        params, saved, filterset, rows_qs = query.params, query.saved, query.filterset, query.queryset
        columns, chosen, shown, sort = query.columns, query.chosen, query.shown, query.sort
        per_page = _int(params.get("per_page")) or PAGE_SIZES[1]
        per_page = per_page if per_page in PAGE_SIZES else PAGE_SIZES[1]
        partitions = permissions.page_partitions(request.user, rows_qs.model, sort)
        try:
            page = paginate(rows_qs, sort=sort, cursor=params.get("cursor"), limit=per_page, partitions=partitions)
        except InvalidCursor:
            page = paginate(rows_qs, sort=sort, limit=per_page, partitions=partitions)
        if any(c.kind == "tags" for c in shown):
            from django.db.models import prefetch_related_objects

            prefetch_related_objects(page.items, "tags")

        definitions = {d.key: d for d in custom.definitions_for(self.entity_key)} if self.entity.custom_fields else {}
        rows = [
            (obj, [_cell(obj, c, definitions=definitions, detail_url=self.detail_url) for c in shown])
            for obj in page.items
        ]
        base_params = params.copy()
        for key in ("cursor", "view"):
            base_params.pop(key, None)

        def link(**changes):
            q = base_params.copy()
            for key, value in changes.items():
                if value is None:
                    q.pop(key, None)
                else:
                    q[key] = value
            return "?" + q.urlencode()

        headers = []
        for c in shown:
            state = "asc" if sort == c.sort else "desc" if sort == f"-{c.sort}" else ""
            next_sort = f"-{c.sort}" if state == "asc" else c.sort
            headers.append({"column": c, "state": state, "url": link(sort=next_sort) if c.sort else None})
        user = request.user
        context = {
            "views": self,
            "entity": self.entity,
            "filterset": filterset,
            "page": page,
            "rows": rows,
            "headers": headers,
            "columns": columns,
            "chosen": chosen,
            "sort": sort,
            "per_page": per_page,
            "page_sizes": PAGE_SIZES,
            "next_url": link(cursor=page.next_cursor) if page.has_next else None,
            "prev_url": link(cursor=page.prev_cursor) if page.has_prev else None,
            "base_query": base_params.urlencode(),
            "saved_views": SavedView.objects.filter(entity=self.entity_key)
            .filter(_q_owned_or_shared(user))
            .order_by("name"),
            "saved_view": saved,
            "user_is_admin": permissions.is_tenant_admin(user),
            "can_create": permissions.has_action(user, self.entity_key, Action.CREATE),
            "can_assign": bool(self.entity.owner_field)
            and permissions.has_action(user, self.entity_key, Action.ASSIGN),
            "can_delete": permissions.has_action(user, self.entity_key, Action.DELETE),
            "can_edit": permissions.has_action(user, self.entity_key, Action.EDIT),
            "can_export": permissions.has_action(user, self.entity_key, Action.EXPORT),
            "import_url": self.import_url(user),
            "export_url": _reverse_or_none(f"{self.entity.url_name}_export"),
            "export_formats": self.export_formats(),
            "owner_choices": _owner_choices()
            if self.entity.owner_field and permissions.has_action(user, self.entity_key, Action.ASSIGN)
            else [],
            "tags": Tag.objects.order_by("name") if self.entity.tags and self.bulk_tags else [],
            "create_url": self.url("create"),
            "bulk_url": self.url("bulk"),
            "saved_view_url": self.url("saved_view"),
            "list_url": self.url("list"),
        }
        if request.htmx and request.htmx.target == "gx-list-results":
            return render(request, "platform/_entity_list_results.html", context)
        return render(request, self.list_template, context)

    # --- detail ------------------------------------------------------------------------------
    def detail_view(self, request, pk):
        try:
            obj = permissions.get_for(request.user, self.detail_queryset(request), pk)
        except Http404:
            from guanxi.dedupe.selectors import merged_into  # a merged record's old URL leads to the winner

            winner_pk = merged_into(request.user, self.entity_key, pk)
            if winner_pk is None:
                raise
            return HttpResponseRedirect(self.url("detail", winner_pk))
        user = request.user
        access = permissions.field_access(user, self.entity_key)
        definitions = custom.definitions_for(self.entity_key) if self.entity.custom_fields else []
        custom_values = [
            (d.label, custom.display_value(d, (obj.custom or {}).get(d.key)))
            for d in definitions
            if access.can_see(f"custom.{d.key}")
        ]
        from django.contrib.contenttypes.models import ContentType

        panels = [
            {"label": panel.label, "url": f"{reverse(panel.url_name)}?{panel.param}={obj.pk}", "slug": f"panel-{i}"}
            for i, panel in enumerate(registry.related_panels(self.entity_key))
            if panel.module is None or permissions.has_action(user, panel.module, Action.VIEW)
        ]
        context = {
            "views": self,
            "entity": self.entity,
            "object": obj,
            "related_panels": panels,
            "access": access,
            "custom_values": custom_values,
            "content_type_id": ContentType.objects.get_for_model(self.model).pk,
            "can_edit": permissions.can(user, Action.EDIT, obj),
            "can_delete": permissions.can(user, Action.DELETE, obj),
            "edit_url": self.url("edit", obj.pk),
            "delete_url": self.url("delete", obj.pk),
            "list_url": self.url("list"),
            **self.detail_context(request, obj),
        }
        return render(request, self.detail_template, context)

    # --- create / edit -----------------------------------------------------------------------
    def _form_response(self, request, form, obj=None):
        if request.method == "POST" and request.POST.get("_validate"):
            return render(request, "platform/_form_errors_oob.html", {"form": form})
        sections = []
        placed = set()
        for heading, names in self.form_sections:
            present = [form[n] for n in names if n in form.fields]
            placed.update(names)
            if present:
                sections.append((heading, present))
        rest = [form[n] for n in form.fields if n not in placed and not n.startswith("cf_")]
        if rest:
            sections.append((gettext_lazy("More"), rest))
        if form.custom_field_names:
            sections.append((gettext_lazy("Custom fields"), [form[n] for n in form.custom_field_names]))
        return render(
            request,
            self.form_template,
            {
                "views": self,
                "entity": self.entity,
                "form": form,
                "object": obj,
                "sections": sections,
                "cancel_url": self.detail_url(obj) if obj is not None else self.url("list"),
            },
        )

    def _save(self, request, form, obj=None):
        """Validate with the form, then with the service; ``_validate`` posts roll everything back."""
        validate_only = bool(request.POST.get("_validate"))
        if not form.is_valid():
            return None
        try:
            with transaction.atomic():
                if obj is None:
                    saved = self.create(request, form.service_data())
                else:
                    saved = self.update(request, obj, form.service_data())
                if validate_only:
                    transaction.set_rollback(True)
            return saved
        except ValidationError as exc:
            form.add_service_errors(exc)
            return None

    def create_view(self, request):
        permissions.require(request.user, self.entity_key, Action.CREATE)
        if request.method == "POST":
            form = self.form_class(request.POST, user=request.user)
            obj = self._save(request, form)
            if obj is not None and not request.POST.get("_validate"):
                messages.success(
                    request, _("%(entity)s “%(name)s” was created.") % {"entity": self.entity.label, "name": obj}
                )
                return HttpResponseRedirect(self.detail_url(obj))
        else:
            form = self.form_class(
                initial={**self.initial_for_create(request), **request.GET.dict()}, user=request.user
            )
        return self._form_response(request, form)

    def edit_view(self, request, pk):
        obj = permissions.get_for(request.user, self.detail_queryset(request), pk, Action.EDIT)
        if request.method == "POST":
            form = self.form_class(request.POST, instance=obj, user=request.user)
            original = permissions.get_for(request.user, self.detail_queryset(request), pk, Action.EDIT)
            saved = self._save(request, form, original)
            if saved is not None and not request.POST.get("_validate"):
                messages.success(request, _("Your changes were saved."))
                return HttpResponseRedirect(self.detail_url(saved))
        else:
            form = self.form_class(instance=obj, user=request.user)
        return self._form_response(request, form, obj)

    def delete_view(self, request, pk):
        obj = permissions.get_for(request.user, self.detail_queryset(request), pk, Action.DELETE)
        if request.method == "POST":
            name = str(obj)
            try:
                self.delete(request, obj)
            except ValidationError as exc:
                messages.error(request, " ".join(exc.messages))
                return HttpResponseRedirect(self.detail_url(obj))
            messages.success(request, _("“%(name)s” was deleted.") % {"name": name})
            return HttpResponseRedirect(self.url("list"))
        return render(
            request,
            "platform/entity_delete.html",
            {
                "views": self,
                "entity": self.entity,
                "object": obj,
                "cancel_url": self.detail_url(obj),
            },
        )

    # --- bulk actions and saved views ------------------------------------------------------
    def bulk_view(self, request):
        ids = [i for i in (_int(v) for v in request.POST.getlist("ids")) if i]
        action = request.POST.get("action")
        queryset = permissions.visible(request.user, self.list_queryset(request)).filter(pk__in=ids)
        back = request.POST.get("next") or self.url("list")
        if not back.startswith("/"):
            back = self.url("list")
        if not ids:
            messages.warning(request, _("Select at least one row first."))
            return HttpResponseRedirect(back)
        if action == "assign":
            from guanxi.org.selectors import member_users

            owner = member_users().filter(pk=_int(request.POST.get("owner"))).first()
            if owner is None:
                messages.error(request, _("Choose a new owner."))
                return HttpResponseRedirect(back)
            permissions.require(request.user, self.entity_key, Action.ASSIGN)
            n = crud.records_assign_owner(
                entity_key=self.entity_key, actor=request.user, queryset=queryset, owner=owner
            )
            messages.success(
                request,
                ngettext("%(n)s record now belongs to %(owner)s.", "%(n)s records now belong to %(owner)s.", n)
                % {"n": n, "owner": owner},
            )
        elif action in ("tag", "untag") and self.entity.tags:
            tag = Tag.objects.filter(pk=_int(request.POST.get("tag"))).first()
            if tag is None:
                messages.error(request, _("Choose a tag."))
                return HttpResponseRedirect(back)
            n = crud.records_tag(
                entity_key=self.entity_key, actor=request.user, queryset=queryset, tag=tag, add=action == "tag"
            )
            messages.success(request, ngettext("%(n)s record changed.", "%(n)s records changed.", n) % {"n": n})
        elif action == "delete":
            permissions.require(request.user, self.entity_key, Action.DELETE)
            try:
                n = crud.records_delete(entity_key=self.entity_key, actor=request.user, queryset=queryset)
            except ValidationError as exc:
                messages.error(request, " ".join(exc.messages))
                return HttpResponseRedirect(back)
            messages.success(
                request, ngettext("%(n)s record was deleted.", "%(n)s records were deleted.", n) % {"n": n}
            )
        else:
            raise Http404
        return HttpResponseRedirect(back)

    def saved_view_view(self, request):
        permissions.require(request.user, self.entity_key, Action.VIEW)
        if request.POST.get("delete"):
            view = SavedView.objects.filter(
                pk=_int(request.POST.get("delete")), entity=self.entity_key, owner=request.user
            ).first()
            if view is None:
                raise Http404
            view.delete()
            messages.success(request, _("The view was deleted."))
            return HttpResponseRedirect(self.url("list"))
        name = (request.POST.get("name") or "").strip()[:80]
        if not name:
            messages.error(request, _("Give the view a name."))
            return HttpResponseRedirect(self.url("list") + "?" + request.POST.get("query", ""))
        query = QueryDict(request.POST.get("query", ""), mutable=True)
        for key in ("cursor", "view", "cols"):
            query.pop(key, None)
        columns = [c for c in (request.POST.get("cols") or "").split(",") if c]
        shared = bool(request.POST.get("is_shared")) and permissions.is_tenant_admin(request.user)
        view = SavedView.objects.create(
            entity=self.entity_key,
            name=name,
            owner=request.user,
            query=query.urlencode(),
            columns=columns,
            is_shared=shared,
        )
        messages.success(request, _("The view “%(name)s” was saved.") % {"name": name})
        return HttpResponseRedirect(self.url("list") + "?" + urlencode({"view": view.pk}))

    # --- urls ------------------------------------------------------------------------------
    def urls(self) -> list:
        p, n = self.url_prefix, self.name
        _viewsets[self.entity_key] = self
        auth = login_required
        return [
            path(p, auth(self.list_view), name=f"{n}_list"),
            path(f"{p}new/", auth(self.create_view), name=f"{n}_create"),
            path(f"{p}bulk/", auth(require_POST(self.bulk_view)), name=f"{n}_bulk"),
            path(f"{p}views/", auth(require_POST(self.saved_view_view)), name=f"{n}_saved_view"),
            path(f"{p}export/", auth(self.export_view), name=f"{n}_export"),
            path(f"{p}<int:pk>/", auth(self.detail_view), name=f"{n}_detail"),
            path(f"{p}<int:pk>/edit/", auth(self.edit_view), name=f"{n}_edit"),
            path(f"{p}<int:pk>/delete/", auth(self.delete_view), name=f"{n}_delete"),
        ]


_viewsets: dict[str, EntityViews] = {}


def refusal_message(request, exc: ValidationError) -> None:
    """Show a service's refusal (its validation messages) on the next page."""
    messages.error(request, " ".join(exc.messages))


def record_action(request, action: Callable[[], object], *, success, then: str) -> HttpResponseRedirect:
    """Run a service action posted from a record's page and go back to ``then``.

    A refusal (``ValidationError``) becomes an error message, nothing else; otherwise
    ``success`` is shown (a callable is asked after the action, for messages that name the
    record's new state).
    """
    try:
        action()
    except ValidationError as exc:
        refusal_message(request, exc)
    else:
        messages.success(request, success() if callable(success) else success)
    return HttpResponseRedirect(then)


def entity_views(entity_key: str) -> EntityViews:
    """The page set of an entity (registered when its URLs are built); KeyError if it has none."""
    return _viewsets[entity_key]


def _reverse_or_none(name: str) -> str | None:
    from django.urls import NoReverseMatch

    try:
        return reverse(name)
    except NoReverseMatch:
        return None


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _owner_choices():
    from guanxi.org.selectors import member_user_choices

    return member_user_choices()


def _q_owned_or_shared(user):
    from django.db.models import Q

    return Q(owner=user) | Q(is_shared=True)
