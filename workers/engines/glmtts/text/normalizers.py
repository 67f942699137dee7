"""The WeTextProcessing normalizers as upstream configures them, built from the FSTs the wheel ships.

Upstream rebuilds the zh FSTs at every start (~60 s, overwrite_cache=True). The packaged tagger is
identical to a rebuild with upstream's options, so it is reused; only the verbalizer (whose packaged copy
drops erhua and interjections) is rebuilt, in about a second.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def _read_fst(directory: Any, name: str) -> Any:
    import pynini

    path = Path(str(directory)) / name
    return pynini.Fst.read(str(path)).optimize() if path.is_file() else None


def build_zh_normalizer() -> Any:
    """zh TN with upstream's options; the packaged tagger is reused and only the verbalizer is rebuilt."""
    from tn.chinese.normalizer import Normalizer

    class UpstreamZhNormalizer(Normalizer):
        tagger: Any
        verbalizer: Any

        def build_fst(self, prefix: str, cache_dir: Any, overwrite_cache: bool) -> None:
            # The wheel's prebuilt verbalizer has remove_erhua/remove_interjections=True (it would drop
            # "儿", "啊", "呃"); upstream rebuilds with both False. The tagger does not depend on these
            # options (verified byte-identical to a full rebuild), so only the verbalizer (~1 s) is rebuilt.
            tagger = _read_fst(cache_dir, f"{prefix}_tagger.fst")
            if tagger is None:
                self.build_tagger()
                tagger = self.tagger.optimize()
            self.tagger = tagger
            self.build_verbalizer()
            self.verbalizer.optimize()

    return UpstreamZhNormalizer(remove_erhua=False, full_to_half=True, remove_interjections=False)


def build_en_normalizer() -> Any:
    """en TN exactly as upstream constructs it (default options: the packaged FSTs)."""
    from tn.english.normalizer import Normalizer

    class PackagedEnNormalizer(Normalizer):
        tagger: Any
        verbalizer: Any

        def build_fst(self, prefix: str, cache_dir: Any, overwrite_cache: bool) -> None:
            self.tagger = _read_fst(cache_dir, f"{prefix}_tagger.fst")
            self.verbalizer = _read_fst(cache_dir, f"{prefix}_verbalizer.fst")
            if self.tagger is None or self.verbalizer is None:
                self.build_tagger()
                self.build_verbalizer()
                self.tagger.optimize()
                self.verbalizer.optimize()

    return PackagedEnNormalizer()
