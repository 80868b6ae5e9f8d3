"""Commissions follow deals: an opportunity saved as won accrues "when won" plans; reopened or lost, it reverses."""

import logging

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from guanxi.sales.models import Opportunity

logger = logging.getLogger(__name__)


@receiver(post_save, sender=Opportunity, dispatch_uid="finance_commission_follows_deal")
def opportunity_saved(sender, instance: Opportunity, raw: bool = False, created: bool = False, **kwargs):
    if raw:
        return
    from .commission_services import opportunity_status_changed

    try:
        with transaction.atomic():
            opportunity_status_changed(instance)
    except Exception:  # commission bookkeeping never blocks a sale; the catch-up run repairs it
        logger.exception("commission accrual failed for opportunity %s", instance.pk)
