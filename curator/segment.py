"""Chinese word segmentation (jieba), loaded once on first use and shared by titles, vocab and enrichment."""

from __future__ import annotations

import functools
import logging
from types import ModuleType


@functools.cache
def jieba() -> ModuleType:
    """The initialised jieba module (its dictionary is built on the first call, not at import)."""
    import jieba as _jieba

    _jieba.setLogLevel(logging.WARNING)  # keep "Building prefix dict …" off stderr
    _jieba.initialize()
    module: ModuleType = _jieba
    return module
