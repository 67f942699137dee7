"""GLM-TTS engine: our own torch + transformers implementation that loads upstream GLM-TTS checkpoints.

Upstream: github.com/zai-org/GLM-TTS. No upstream code is imported or copied; the golden tests in
tests/workers/glmtts/ check each stage against outputs upstream's own code produced
(../shared/fixtures/glmtts-tiny/).
"""
