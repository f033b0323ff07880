"""Imported after `curator.preload` in the fork server of the workers that cut Chinese words (the search
index's, offline enrichment's): jieba's dictionary (~60 MB) loaded once and shared, as curator.preload's
modules are (see there). The parsers' fork server goes without it (`curator.workers._context`)."""

from __future__ import annotations

import contextlib
import gc

import curator.enrich.offline
from curator import segment

__all__ = ["curator"]

with contextlib.suppress(Exception):  # should it fail, a worker loads the dictionary itself when it needs it
    segment.jieba()
gc.freeze()
