"""Preset previews: one short sample per preset voice, made once per engine version by a worker.

A preview is an ordinary system job (no owner) of a fixed sentence in the preset's voice, so it is
stored, cached and served like any result (a public, content-addressed audio URL). A worker asks for
the previews of its engines when it starts (`previews_request`); a Redis key per preset and engine
version makes that once across workers starting together, and a preview already made (or on its way)
is not asked for again. The studio lists them with `preview_list`.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q

from glmtts_site.redis_conn import get_redis, redis_key
from synthesis.engines_info import announced_versions
from synthesis.jobs.selectors import audio_urls
from synthesis.jobs.services import job_create_cached
from synthesis.models import JobStatus, SynthesisJob
from synthesis.results.cache import CachedResult
from synthesis.results.encoding import EDGE_FORMAT
from synthesis.submit.services import system_submit
from workers.engines.params import SynthesisParams

PREVIEW_TEXTS = {"en": "Hello! This is how I sound when I read your text aloud.",
                 "zh": "你好！这就是我朗读你的文字时的声音。"}
REQUEST_TTL_S = 3600  # a preview asked for and never made (its job failed) is asked for again after this


@dataclass(frozen=True)
class Preview:
    engine: str
    voice: str
    text: str
    audio_url: str
    duration: float


def preview_text(languages: str) -> str:
    """The sentence for a preset that speaks `languages` ("en,zh"): in its first language."""
    first = languages.split(",")[0].strip()
    return PREVIEW_TEXTS.get(first, PREVIEW_TEXTS["en"])


def previews_request(*, engine_id: str, engine_version: str, presets: list[tuple[str, str]]) -> int:
    """Queue a preview job for each (preset, languages) that has none for this engine version;
    returns how many were queued."""
    client, queued = get_redis(), 0
    for preset, languages in presets:
        text = preview_text(languages)
        on_its_way = Q(status__in=[JobStatus.QUEUED, JobStatus.RUNNING])
        made = Q(status=JobStatus.DONE, engine_version=engine_version)
        if SynthesisJob.objects.filter(on_its_way | made, owner=None, engine_id=engine_id, voice_preset=preset,
                                       text=text).exists():
            continue
        key = redis_key("previews", engine_id, engine_version, preset)
        if not client.set(key, "1", nx=True, ex=REQUEST_TTL_S):
            continue  # another worker asked for it a moment ago
        submitted = system_submit(owner=None, text=text, engine_id=engine_id, voice_preset=preset,
                                  params=SynthesisParams())
        if isinstance(submitted, CachedResult):  # made before (e.g. by a user): its system row is the preview
            job_create_cached(owner=None, text=text, engine_id=engine_id, voice_preset=preset, prompt_text="",
                              params=SynthesisParams(), result=submitted)
        queued += 1
    return queued


def preview_list() -> list[Preview]:
    """The newest finished preview of each preset, made by the engine version its workers run now
    (any version while none has said)."""
    versions = announced_versions()
    jobs = (SynthesisJob.objects.filter(owner=None, status=JobStatus.DONE, text__in=list(PREVIEW_TEXTS.values()))
            .exclude(voice_preset="").exclude(files={}).order_by("-finished_at"))
    newest: dict[tuple[str, str], Preview] = {}
    for job in jobs[:500]:
        current = versions.get(job.engine_id)
        if (job.engine_id, job.voice_preset) in newest or (current and job.engine_version != current):
            continue
        urls = audio_urls(job)
        url = urls.get(EDGE_FORMAT) or next(iter(urls.values()), "")  # every result has the small format
        newest[(job.engine_id, job.voice_preset)] = Preview(engine=job.engine_id, voice=job.voice_preset,
                                                           text=job.text, audio_url=url,
                                                           duration=job.audio_duration_s or 0.0)
    return sorted(newest.values(), key=lambda p: (p.engine, p.voice))
