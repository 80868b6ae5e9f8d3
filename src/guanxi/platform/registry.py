"""The entity registry: one description per business entity, read by every generic part.

Registering an entity (in its app's ``AppConfig.ready``) is what makes the permission
service, custom fields, tags, global search, audit labels and the generic list/detail
views know about it. See docs/architecture.md, "Adding an entity".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from django.db.models import Model


class Action:
    VIEW = "view"
    CREATE = "create"
    EDIT = "edit"
    DELETE = "delete"
    IMPORT = "import"
    EXPORT = "export"
    ASSIGN = "assign"
    ADMINISTER = "administer"

    ALL = (VIEW, CREATE, EDIT, DELETE, IMPORT, EXPORT, ASSIGN, ADMINISTER)
    # Actions whose grant is about records (and so has a data scope); the others are yes/no.
    RECORD = (VIEW, EDIT, DELETE, EXPORT, ASSIGN)


class Scope:
    OWN = "own"
    TEAM = "team"
    UNIT = "unit"
    BUSINESS_LINE = "business_line"
    TENANT = "tenant"

    ALL = (OWN, TEAM, UNIT, BUSINESS_LINE, TENANT)


@dataclass
class Entity:
    key: str  # "customers.account": also the permission module name
    model: type[Model]
    url_name: str = ""  # base name of the generic views, e.g. "customers:account"
    owner_field: str | None = "owner"
    business_line_field: str | None = None
    region_field: str | None = None
    # FKs to other entities: seeing the parent record lets you see this one (timeline items).
    inherit_visibility: tuple[str, ...] = ()
    custom_fields: bool = False
    tags: bool = False
    actions: tuple[str, ...] = Action.ALL
    extra: dict = field(default_factory=dict)

    @property
    def label(self):
        return self.model._meta.verbose_name

    @property
    def label_plural(self):
        return self.model._meta.verbose_name_plural


@dataclass
class Module:
    """A permission module that is not a record type (e.g. the audit log)."""

    key: str
    label: object
    actions: tuple[str, ...]


@dataclass
class RelatedPanel:
    """A tab another app adds to an entity's detail page, loaded with htmx.

    The view at ``url_name`` receives ``?<param>=<record id>`` and must check access itself.
    """

    label: object
    url_name: str
    param: str
    module: str | None = None  # shown only to users with "view" on this module
    order: int = 100


_related: dict[str, list[RelatedPanel]] = {}
_entities: dict[str, Entity] = {}
_by_model: dict[type, Entity] = {}
_modules: dict[str, Module] = {}


def register(entity: Entity) -> Entity:
    _entities[entity.key] = entity
    _by_model[entity.model] = entity
    return entity


def register_module(module: Module) -> Module:
    _modules[module.key] = module
    return module


def entity(key: str) -> Entity:
    return _entities[key]


def entity_for_model(model) -> Entity | None:
    model = getattr(model, "_meta", None) and model._meta.concrete_model
    return _by_model.get(model)


def entities() -> list[Entity]:
    return list(_entities.values())


def permission_modules() -> list[tuple[str, object, tuple[str, ...]]]:
    """Every (key, label, actions) a role can grant, entities first."""
    rows = [(e.key, e.label_plural, e.actions) for e in _entities.values()]
    rows += [(m.key, m.label, m.actions) for m in _modules.values()]
    return rows


def register_related_panel(entity_key: str, panel: RelatedPanel) -> RelatedPanel:
    _related.setdefault(entity_key, []).append(panel)
    _related[entity_key].sort(key=lambda p: p.order)
    return panel


def related_panels(entity_key: str) -> list[RelatedPanel]:
    return list(_related.get(entity_key, ()))
