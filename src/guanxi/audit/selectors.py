"""Reading the audit trail."""

from django.contrib.contenttypes.models import ContentType

from .models import AuditEntry


def history_for(obj, *, limit: int = 200) -> list[AuditEntry]:
    """The audit entries of one record, newest first."""
    ct = ContentType.objects.get_for_model(obj)
    return list(
        AuditEntry.objects.filter(content_type=ct, object_id=obj.pk)
        .select_related("actor")
        .order_by("-at", "-id")[:limit]
    )


def audit_log_queryset():
    return AuditEntry.objects.select_related("actor", "content_type")


def field_labels(model) -> dict[str, str]:
    """Human labels of a model's fields for the history view (custom fields by definition label)."""
    from guanxi.customization.services import definitions_for
    from guanxi.platform import registry

    labels = {f.name: str(f.verbose_name) for f in model._meta.get_fields() if hasattr(f, "verbose_name")}
    entity = registry.entity_for_model(model)
    if entity is not None and entity.custom_fields:
        labels.update({f"custom.{d.key}": d.label for d in definitions_for(entity.key, active_only=False)})
    return labels
