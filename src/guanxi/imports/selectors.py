"""Reads of the import app: which jobs a user may see."""

from __future__ import annotations

from django.http import Http404

from guanxi.access import permissions

from .models import ImportJob, SavedMapping


def jobs_for(user):
    """Imports the user may see: their own; a tenant administrator sees every import."""
    qs = ImportJob.objects.select_related("created_by").order_by("-created_at", "-id")
    if permissions.is_tenant_admin(user):
        return qs
    return qs.filter(created_by=user)


def job_for(user, pk) -> ImportJob:
    """The import ``pk`` if the user may see it, else 404 (also for another tenant's imports)."""
    try:
        return jobs_for(user).get(pk=pk)
    except (ImportJob.DoesNotExist, ValueError, TypeError):
        raise Http404


def saved_mappings(entity_key: str):
    return SavedMapping.objects.filter(entity=entity_key).order_by("name")
