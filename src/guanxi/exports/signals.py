"""An export's file goes with its row: when the row is deleted (its user or its tenant deleted), once that commits."""

from django.db.models.signals import post_delete
from django.dispatch import receiver

from .models import ExportFile


@receiver(post_delete, sender=ExportFile, dispatch_uid="exports_file_goes_with_the_row")
def delete_the_file(sender, instance: ExportFile, **kwargs) -> None:
    if instance.file:
        from .services import _delete_file_on_commit

        _delete_file_on_commit(instance.file.name)
