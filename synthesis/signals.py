"""A job's own copy of its reference clip goes with the job (however the row is deleted: the API,
the admin, or a cascade from its owner), once the deletion has committed."""

from __future__ import annotations

from typing import Any

from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver

from synthesis.models import SynthesisJob


@receiver(post_delete, sender=SynthesisJob, dispatch_uid="synthesis.job_reference_cleanup")
def _delete_reference_copy(sender: type[SynthesisJob], instance: SynthesisJob, **kwargs: Any) -> None:
    name = instance.reference_audio.name
    if name:
        transaction.on_commit(lambda: default_storage.delete(name))
