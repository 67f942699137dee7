"""Submitting a synthesis: validate, look in the cache, take quota, single-flight, enqueue.

The one road by which a job is created. A user's request (`synthesis_submit`) is rate-limited and
takes quota; the system's and operators' jobs (`system_submit`: preset previews, `cache_warm`, the
JSONL batch, the `synthesize` command) are not, because no user asked for them (an operator with a
shell is not held to a user's quota). Both are checked the same way, find the same cache hits and
join an identical job in flight (single-flight) instead of computing it twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.contrib.auth.models import User
from redis.exceptions import RedisError

from glmtts_site.errors import ApiError, ServiceUnavailable
from glmtts_site.metrics.web import singleflight_followers
from glmtts_site.ratelimit import rate_limit
from synthesis.jobs import quotas, singleflight
from synthesis.jobs.dispatch import dispatch_new
from synthesis.jobs.services import ReferenceUpload, job_cached, job_create, job_create_cached
from synthesis.models import SynthesisJob
from synthesis.results.cache import CachedResult
from synthesis.submit.checks import checked_request
from synthesis.submit.fingerprint import cache_scope
from synthesis.submit.lookup import cached_lookup, local_lookup, request_key
from voices.models import Voice
from workers.engines.audio import sha256_hex
from workers.engines.params import SynthesisParams


@dataclass(frozen=True)
class Submitted:
    job: SynthesisJob

    @property
    def cache_hit(self) -> bool:
        return self.job.cache_hit


def _key_for(engine_id: str, voice_preset: str, reference: ReferenceUpload | None, prompt_text: str, text: str,
             params: SynthesisParams, owner_id: int | None) -> Callable[[str], str]:
    """The request's key as a function of the engine version."""
    reference_sha256 = sha256_hex(reference.data) if reference else ""
    scope = cache_scope(owner_id)
    return lambda version: request_key(engine_id=engine_id, engine_version=version, voice_preset=voice_preset,
                                       reference_sha256=reference_sha256, prompt_text=prompt_text, text=text,
                                       params=params, scope=scope)


def _follow_or_lead(fingerprint: str, job_id: str) -> str | None:
    if not fingerprint:
        return None
    leader = singleflight.claim_or_leader(fingerprint, job_id)
    if leader is not None and not SynthesisJob.objects.filter(pk=leader, status__in=["queued", "running"]).exists():
        singleflight.release(fingerprint, leader)  # a stale key of a finished job: take over
        leader = singleflight.claim_or_leader(fingerprint, job_id)
    if leader is not None:
        singleflight_followers.inc()
    return leader


def synthesis_submit(*, owner: User, text: str, params: SynthesisParams, engine_id: str = "",
                     voice_preset: str = "", reference: ReferenceUpload | None = None, prompt_text: str = "",
                     skip_whisper: bool = False, voice: Voice | None = None) -> Submitted:
    text, engine_id = checked_request(text=text, engine_id=engine_id, voice_preset=voice_preset,
                                      reference=reference, prompt_text=prompt_text, skip_whisper=skip_whisper)
    try:
        _count_submit(owner)
        return _submit(owner=owner, text=text, params=params, engine_id=engine_id, voice_preset=voice_preset,
                       reference=reference, prompt_text=prompt_text, skip_whisper=skip_whisper, voice=voice)
    except RedisError as exc:  # Redis down: nothing was taken or written; say so instead of a 500
        raise ServiceUnavailable("The queue is unavailable right now; please retry shortly.") from exc


def local_cache_hit(*, owner: User, text: str, params: SynthesisParams, engine_id: str = "", voice_preset: str = "",
                    reference: ReferenceUpload | None = None, prompt_text: str = "",
                    skip_whisper: bool = False, voice: Voice | None = None) -> SynthesisJob | None:
    """What `synthesis_submit` would answer, if it is a cache hit this process can serve from memory
    alone (see `lookup.local_lookup`): the job, not saved yet. None otherwise; ApiError as there."""
    text, engine_id = checked_request(text=text, engine_id=engine_id, voice_preset=voice_preset,
                                      reference=reference, prompt_text=prompt_text, skip_whisper=skip_whisper)
    hit = local_lookup(engine_id, _key_for(engine_id, voice_preset, reference, prompt_text, text, params, owner.pk))
    if hit is None:
        return None
    _count_submit(owner)  # only now: a request this does not answer is counted where it is answered
    return job_cached(owner=owner, text=text, engine_id=engine_id, voice_preset=voice_preset,
                      prompt_text=prompt_text, params=params, result=hit, voice=voice)


def _count_submit(owner: User) -> None:
    """Every submit counts against its owner's rate, cache hits too (each one is a history row);
    RateLimited (429 with Retry-After) when over."""
    rate_limit("submit", owner.pk)


def _submit(*, owner: User, text: str, params: SynthesisParams, engine_id: str, voice_preset: str,
            reference: ReferenceUpload | None, prompt_text: str, skip_whisper: bool,
            voice: Voice | None) -> Submitted:
    fingerprint, hit = cached_lookup(engine_id, _key_for(engine_id, voice_preset, reference, prompt_text, text,
                                                         params, owner.pk))
    if hit is not None:  # cache hits are free: no quota, no worker
        return Submitted(job_create_cached(owner=owner, text=text, engine_id=engine_id, voice_preset=voice_preset,
                                           prompt_text=prompt_text, params=params, result=hit, voice=voice))
    quotas.take_characters(owner.pk, len(text))
    try:
        quotas.take_job_slot(owner.pk)
    except ApiError:
        quotas.refund_characters(owner.pk, len(text))
        raise
    return Submitted(_created(owner=owner, text=text, engine_id=engine_id, voice_preset=voice_preset,
                              reference=reference, prompt_text=prompt_text, skip_whisper=skip_whisper,
                              params=params, fingerprint=fingerprint, quota_held=True, voice=voice))


def system_submit(*, owner: User | None, text: str, params: SynthesisParams, engine_id: str = "",
                  voice_preset: str = "", reference: ReferenceUpload | None = None, prompt_text: str = "",
                  skip_whisper: bool = False) -> Submitted | CachedResult:
    """A job nobody is charged for (see the module's docstring): the cached result when there is one
    (no row is written), else the queued job, or a follower of the identical job in flight."""
    text, engine_id = checked_request(text=text, engine_id=engine_id, voice_preset=voice_preset,
                                      reference=reference, prompt_text=prompt_text, skip_whisper=skip_whisper)
    owner_id = owner.pk if owner is not None else None
    fingerprint, hit = cached_lookup(engine_id, _key_for(engine_id, voice_preset, reference, prompt_text, text,
                                                         params, owner_id))
    if hit is not None:
        return hit
    return Submitted(_created(owner=owner, text=text, engine_id=engine_id, voice_preset=voice_preset,
                              reference=reference, prompt_text=prompt_text, skip_whisper=skip_whisper,
                              params=params, fingerprint=fingerprint, quota_held=False, voice=None))


def _created(*, owner: User | None, text: str, engine_id: str, voice_preset: str, reference: ReferenceUpload | None,
             prompt_text: str, skip_whisper: bool, params: SynthesisParams, fingerprint: str, quota_held: bool,
             voice: Voice | None) -> SynthesisJob:
    """The job row, then its single-flight role: a follower of the identical job in flight, or queued."""
    # The row is committed before the single-flight key is taken, so a follower's leader always exists.
    job = job_create(owner=owner, text=text, engine_id=engine_id, voice_preset=voice_preset, reference=reference,
                     prompt_text=prompt_text, skip_whisper=skip_whisper, params=params, fingerprint=fingerprint,
                     quota_held=quota_held, enqueue=False, voice=voice)
    leader = _follow_or_lead(fingerprint, str(job.pk))
    if leader is not None:
        SynthesisJob.objects.filter(pk=job.pk).update(leader_id=leader)
        job.leader_id = leader
    else:
        dispatch_new(job)
    return job
