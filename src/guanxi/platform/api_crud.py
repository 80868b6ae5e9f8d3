"""A generic CRUD router for a registered entity: list, get, create, patch, delete.

The same filter set as the list page (query parameters have the same names), the same
services as the UI, the same permission service, keyset pagination, restricted fields
dropped from output and refused on input, custom fields as a ``custom_fields`` object.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import models
from django.http import Http404, HttpRequest
from ninja import Router, Schema, Status

from guanxi.access import permissions

from . import registry
from .api import PageOut, list_page
from .prefetch import prefetch, prefetched
from .registry import Action


@dataclass
class EntityApi:
    entity_key: str
    out_schema: type[Schema]
    in_schema: type[Schema]
    patch_schema: type[Schema]
    filterset_class: type
    queryset: Callable[[], models.QuerySet]
    create: Callable  # create(actor, data, tags) -> obj
    update: Callable  # update(actor, obj, data, tags) -> obj
    delete: Callable  # delete(actor, obj) -> None
    sorts: set[str] = field(default_factory=set)
    default_sort: str = "-updated_at"
    # API name of a foreign key → its model field name (e.g. "account_id" → "account")
    references: dict[str, str] = field(default_factory=dict)
    extra_out: Callable | None = None  # extra_out(obj, field_access) -> dict added to the output

    @property
    def entity(self) -> registry.Entity:
        return registry.entity(self.entity_key)

    # --- output ------------------------------------------------------------------------
    def serialize(self, obj, access: "permissions.FieldAccess") -> dict[str, Any]:
        data: dict[str, Any] = {"id": obj.pk}
        meta = obj._meta
        for name in self.out_schema.model_fields:
            if name in ("id", "custom_fields", "tags"):
                continue
            try:
                model_field = meta.get_field(name)
            except FieldDoesNotExist:
                continue  # provided by extra_out
            if access.can_see(model_field.name):
                data[name] = getattr(obj, name)
        if "tags" in self.out_schema.model_fields and access.can_see("tags"):
            data["tags"] = [t.name for t in prefetched(obj, "tags")]
        if "custom_fields" in self.out_schema.model_fields:
            data["custom_fields"] = {k: v for k, v in (obj.custom or {}).items() if access.can_see(f"custom.{k}")}
        if self.extra_out is not None:
            data.update(self.extra_out(obj, access))
        return data

    # --- input -------------------------------------------------------------------------
    def to_service_data(self, request, payload: Schema, *, partial: bool) -> tuple[dict, list | None]:
        raw = payload.model_dump(exclude_unset=partial)
        tags = raw.pop("tags", None)
        custom = raw.pop("custom_fields", None)
        data: dict[str, Any] = {}
        errors: dict[str, list[str]] = {}
        model = self.entity.model
        for name, value in raw.items():
            if name in self.references or name.endswith("_id"):
                field_name = self.references.get(name, name[:-3])
                try:
                    data[field_name] = self._resolve(request, model._meta.get_field(field_name), value)
                except (Http404, LookupError):
                    errors[name] = [f"No such record: {value}."]
            else:
                data[name] = value
        if errors:
            raise ValidationError(errors)
        if custom is not None:
            data["custom"] = custom
        tag_objects = None
        if tags is not None:
            from guanxi.customization.services import tags_get_or_create

            tag_objects = tags_get_or_create(tags)
        return data, tag_objects

    def _resolve(self, request, model_field, value):
        if value is None:
            return None
        related = model_field.related_model
        if related._meta.label == "identity.User":
            from guanxi.org.selectors import member_users

            user = member_users().filter(pk=value).first()
            if user is None:
                raise LookupError
            return user
        if registry.entity_for_model(related) is not None:
            return permissions.get_for(request.user, related._default_manager.all(), value)
        obj = related._default_manager.filter(pk=value).first()
        if obj is None:
            raise LookupError
        return obj

    # --- router ------------------------------------------------------------------------
    def router(self, tag: str) -> Router:
        router = Router(tags=[tag])
        slug = tag.replace(" ", "_").replace("-", "_")
        api = self
        key = self.entity_key
        out_schema, in_schema, patch_schema = self.out_schema, self.in_schema, self.patch_schema

        class Page(PageOut):
            items: list[out_schema]  # type: ignore[valid-type]

        Page.__name__ = f"{out_schema.__name__}Page"

        def load(request, pk, action=Action.VIEW):
            return permissions.get_for(request.user, api.queryset(), pk, action)

        @router.get(
            "",
            response=Page,
            exclude_unset=True,
            summary=f"List {tag}",
            operation_id=f"{slug}_list",
            url_name=f"{slug}_list",
        )
        def list_records(
            request: HttpRequest, sort: str = api.default_sort, cursor: str | None = None, limit: int = 50
        ):
            """Filters take the same names as the list page (e.g. `q`, `owner`, `tag`, `cf_<key>`)."""
            permissions.require(request.user, key, Action.VIEW)
            qs = permissions.visible(request.user, api.queryset())
            filterset = api.filterset_class(request.GET, queryset=qs, request=request)
            if not filterset.is_valid():
                raise ValidationError({k: [str(m) for m in v] for k, v in filterset.errors.items()})
            access = permissions.field_access(request.user, key)
            page_qs = filterset.qs
            if api.entity.tags and access.can_see("tags"):
                page_qs = page_qs.prefetch_related(prefetch("tags"))
            return list_page(
                page_qs,
                sort=sort,
                allowed_sorts=api.sorts,
                cursor=cursor,
                limit=limit,
                serialize=lambda obj: api.serialize(obj, access),
                partitions=permissions.page_partitions(request.user, api.entity.model, sort),
            )

        @router.get(
            "/{int:pk}",
            response=out_schema,
            exclude_unset=True,
            summary=f"Get one of {tag}",
            operation_id=f"{slug}_get",
            url_name=f"{slug}_detail",
        )
        def get_record(request: HttpRequest, pk: int):
            return api.serialize(load(request, pk), permissions.field_access(request.user, key))

        @router.post(
            "",
            response={201: out_schema},
            exclude_unset=True,
            summary=f"Create in {tag}",
            operation_id=f"{slug}_create",
        )
        def create_record(request: HttpRequest, payload: in_schema):  # type: ignore[valid-type]
            data, tags = api.to_service_data(request, payload, partial=False)
            obj = api.create(request.user, data, tags)
            return Status(201, api.serialize(load(request, obj.pk), permissions.field_access(request.user, key)))

        @router.patch(
            "/{int:pk}",
            response=out_schema,
            exclude_unset=True,
            summary=f"Change one of {tag}",
            operation_id=f"{slug}_update",
        )
        def update_record(request: HttpRequest, pk: int, payload: patch_schema):  # type: ignore[valid-type]
            obj = load(request, pk, Action.EDIT)
            data, tags = api.to_service_data(request, payload, partial=True)
            api.update(request.user, obj, data, tags)
            return api.serialize(load(request, pk), permissions.field_access(request.user, key))

        @router.delete("/{int:pk}", response={204: None}, summary=f"Delete one of {tag}", operation_id=f"{slug}_delete")
        def delete_record(request: HttpRequest, pk: int):
            obj = load(request, pk, Action.DELETE)
            api.delete(request.user, obj)
            return Status(204, None)

        return router
