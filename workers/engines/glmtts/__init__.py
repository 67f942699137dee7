"""GLM-TTS engine: our own torch + transformers implementation that loads upstream GLM-TTS checkpoints.

Upstream: github.com/zai-org/GLM-TTS. No upstream code is imported or copied; the golden tests in
tests/workers/glmtts/ check each stage against outputs upstream's own code produced
(../shared/fixtures/glmtts-tiny/).

Stages, in the order a synthesis meets them: `text/` (normalize, split, tokenize), `speech/` (the
reference clip's features, speaker embedding and speech tokens), `lm/` (speech tokens from text),
`acoustic/` (tokens to mel to waveform). Orchestration stays here: `engine.py` (the streaming engine
protocol), `pipeline.py` (models loaded once), `streaming.py` (token-to-wave while decoding),
`longform.py` (long texts), `checkpoint.py` (upstream's layout), `voice_store.py` (per-voice features).
"""
