"""Acoustic stage: flow matching (DiT) from speech tokens to mel, and the vocoders (HiFT 24 kHz, Vocos2D 32 kHz)."""
