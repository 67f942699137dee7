"""Deletions, however a row is deleted (the API, the admin, a cascade from its owner), once committed:
a job's own copy of its reference clip goes with the job; a voice's results leave the edge."""

from __future__ import annotations

from typing import Any

from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models.signals import post_delete, pre_delete
from django.dispatch import receiver

from glmtts_site.edge import voice_tag
from glmtts_site.edge_purge import purge_enabled, request_purge
from synthesis.models import JobStatus, SynthesisJob
from synthesis.results.publish import result_paths
from voices.models import Voice

MAX_PURGED_PATHS = 5000  # past this the voice's tag alone does it


@receiver(post_delete, sender=SynthesisJob, dispatch_uid="synthesis.job_reference_cleanup")
def _delete_reference_copy(sender: type[SynthesisJob], instance: SynthesisJob, **kwargs: Any) -> None:
    name = instance.reference_audio.name
    if name:
        transaction.on_commit(lambda: default_storage.delete(name))


@receiver(pre_delete, sender=Voice, dispatch_uid="synthesis.voice_edge_purge")
def _purge_voice_results_from_the_edge(sender: type[Voice], instance: Voice, **kwargs: Any) -> None:
    """A deleted voice's results leave the edge too (its tag, and each result's URL in case the edge
    keeps no tags), once the deletion has committed; the jobs themselves stay, without the voice."""
    if not purge_enabled():
        return
    pointers = SynthesisJob.objects.filter(voice=instance, status=JobStatus.DONE).exclude(output_token="") \
        .values("fingerprint", "files")[:MAX_PURGED_PATHS]
    paths = [path for pointer in pointers for path in result_paths(dict(pointer))]
    tags = [voice_tag(instance.pk)]
    transaction.on_commit(lambda: request_purge(tags=tags, paths=paths, reason="voice"))
