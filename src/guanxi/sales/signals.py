"""Lead scores follow the activities logged on a lead (engagement points)."""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from guanxi.activities.models import Activity


def _lead_content_type_id() -> int:
    from django.contrib.contenttypes.models import ContentType

    from .models import Lead

    return ContentType.objects.get_for_model(Lead).pk


@receiver(post_save, sender=Activity, dispatch_uid="sales_lead_engagement_save")
@receiver(post_delete, sender=Activity, dispatch_uid="sales_lead_engagement_delete")
def activity_changed(sender, instance: Activity, raw: bool = False, **kwargs):
    if raw or not instance.regarding_type_id or not instance.regarding_id:
        return
    if instance.regarding_type_id != _lead_content_type_id():
        return
    from .lead_services import lead_rescore_by_id

    lead_rescore_by_id(instance.regarding_id)
