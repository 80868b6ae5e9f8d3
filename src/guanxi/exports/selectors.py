"""Reading background exports: a user only ever sees their own."""

from __future__ import annotations

from django.http import Http404

from guanxi.access import permissions
from guanxi.platform import registry
from guanxi.platform.registry import Action

from .models import ExportFile


def exports_for(user):
    """The exports ``user`` asked for in the current tenant, newest first."""
    return ExportFile.objects.filter(requested_by=user).order_by("-created_at", "-id")


def export_for(user, pk) -> ExportFile:
    """One of the user's own exports, else 404 (another user's, another tenant's, or none)."""
    try:
        return exports_for(user).get(pk=pk)
    except (ExportFile.DoesNotExist, ValueError, TypeError):
        raise Http404


def downloadable(user, pk) -> ExportFile:
    """The user's finished export whose file is still kept, if they may still export such records."""
    job = export_for(user, pk)
    if job.status != ExportFile.Status.DONE or not job.file:
        raise Http404
    permissions.require(user, job.entity, Action.EXPORT)
    return job


def preparing(user, entity_key: str) -> list[ExportFile]:
    """The user's exports of ``entity_key`` still being prepared (the export menu mentions them)."""
    return list(exports_for(user).filter(entity=entity_key, status__in=ExportFile.ACTIVE)[:5])


def may_export_anything(user) -> bool:
    return any(permissions.has_action(user, e.key, Action.EXPORT) for e in registry.entities())


def filter_pairs(filters: str) -> list[tuple[str, str]]:
    """The audited filter string of an export as (parameter, value) pairs, for showing it."""
    from django.http import QueryDict

    return [(key, value) for key, values in QueryDict(filters).lists() for value in values if value != ""]


def column_labels(request, job: ExportFile) -> list[str]:
    """The labels of the columns the export was asked with (those the user may still see)."""
    from django.http import QueryDict

    from guanxi.platform.views import entity_views

    try:
        views = entity_views(job.entity)
    except KeyError:
        return []
    by_key = {c.key: c for c in views.all_columns(request)}
    keys = [k for k in (QueryDict(job.query).get("cols") or "").split(",") if k in by_key]
    return [str(by_key[k].label) for k in keys]
