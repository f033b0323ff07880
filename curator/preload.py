"""Imported once in the fork server that starts every worker process (`curator.workers`), so the workers
share these pages instead of each importing its own copy.

A parser process needs trafilatura, lxml, the extraction and feed modules, and — when a page
falls back to jusText — trafilatura's stop list of every language (~150,000 words, ~30 MB built); the
search index's and offline enrichment's workers need jieba's dictionary too (~60 MB: `preload_words`, in
their own fork server, `workers._context`). Loaded here, before the fork, a worker starts with them (copy-on-write: nothing is copied until written), and a
recycled worker is a fork, not a fresh import (~0.5 s of CPU each). `gc.freeze()` moves what was loaded
out of the collector's view, so a worker's collections do not write to, and so copy, those pages.
Clustering's feature workers, which come after the parsers, import numpy themselves (~15 MB the parsers
never read, ~0.1 s a worker): preloaded, it held 14 MB of the collect's peak while the parsers ran.

Only the fork server imports this module; an import error here leaves the workers to import what they
need themselves (multiprocessing ignores a preload that fails to import), so nothing depends on it.
"""

from __future__ import annotations

import contextlib
import gc

from trafilatura import external

# parser workers (trafilatura, lxml, rs-trafilatura, readability); feeds
import curator.extract
import curator.sources
from curator.workers import tune_malloc

__all__ = ["curator"]

# (should one fail, a worker that needs it builds it itself, as it would without this module)
with contextlib.suppress(Exception):
    if external.JT_STOPLIST is None:
        external.jt_stoplist_init()
tune_malloc()  # every worker forked from here inherits it (see there)
gc.freeze()
