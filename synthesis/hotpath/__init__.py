"""The cache-hit hot path: plain repeats of `POST /api/v1/syntheses` answered before DRF.

Contract: the answer is the DRF view's answer, byte for byte (body, status, headers); on any doubt,
fall through to the view. It never answers an error, a miss, a first use of a token, a session, an
upload or a library voice; each of those goes on to DRF unchanged (tests/synthesis/test_hit_middleware.py
compares both paths side by side). `CACHE_HIT_FAST_PATH = False` switches it off (every submit goes
through the view; nothing else changes).

What it stands on, each in its own layer and used by the ordinary path too:
- `accounts.selectors.api_token_resolved_recently` — a Bearer token this process resolved within
  `API_TOKEN_CACHE_TTL_S` (`accounts/token_cache.py` copies Django model state to hand it out);
- `synthesis.submit.services.local_cache_hit` — what `synthesis_submit` would answer, from the engine
  versions read within `ENGINE_VERSIONS_CACHE_S` and this process's L1 (`synthesis.submit.lookup`);
- `synthesis.results.hit_counter` — hits tallied locally, flushed every `CACHE_STATS_FLUSH_S`;
- `synthesis.jobs.history` — the hit's job row, group-committed on one long-lived connection
  (it builds the INSERT from `SynthesisJob._meta` once and sets `_state` as `save()` would).

Django and DRF internals it relies on, pinned by those tests: DRF's `_declared_fields` of the submit
serializer (`synthesis.serializers.SUBMIT_FIELDS`), a view's `default_response_headers`, and Django's
sync middleware chain (the middleware is sync on purpose; see `middleware.py`).
"""
