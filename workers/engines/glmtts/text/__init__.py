"""Text stage: normalization (WeTextProcessing FSTs), segment splitting, phoneme mode (G2P) and the
LLM's text tokenizers."""
