"""Run the curator CLI with a `kill -9` injected at a named checkpoint (used by test_resilience.py).

    python tests/crash_harness.py CHECKPOINT AFTER_N -- curator-args...

The process dies with os._exit(137) — no cleanup, no finally blocks, exactly like SIGKILL — the
AFTER_N-th time the checkpoint is reached.
"""

from __future__ import annotations

import os
import sys

CHECKPOINTS = {
    # mid-fetch: after some pages are stored, before the rest
    "save_page": ("curator.store", "Store", "save_page", "after"),
    # items committed, feed validators not yet saved
    "validators": ("curator.store", "Store", "record_source_ok", "before"),
    # mid-extract: after some articles are stored
    "save_article": ("curator.store", "Store", "save_article", "after"),
    # mid-LLM call: the request reached the provider, the answer is never stored
    "llm_call": ("curator.enrich.openai", "OpenAIBackend", "_call", "after"),
    # mid-draft write: the temp file is written, the rename never happens
    "draft_write": ("os", None, "replace", "before"),
}


def main() -> None:
    checkpoint, after_n = sys.argv[1], int(sys.argv[2])
    args = sys.argv[sys.argv.index("--") + 1 :]
    module_name, cls_name, attr, when = CHECKPOINTS[checkpoint]
    module = __import__(module_name, fromlist=["x"])
    owner = getattr(module, cls_name) if cls_name else module
    original = getattr(owner, attr)
    count = {"n": 0}

    def wrapper(*a, **kw):  # type: ignore[no-untyped-def]
        count["n"] += 1
        hit = count["n"] >= after_n
        if hit and when == "before":
            os._exit(137)
        result = original(*a, **kw)
        if hit and when == "after":
            os._exit(137)
        return result

    setattr(owner, attr, wrapper)
    from curator.cli import app

    sys.argv = ["curator", *args]
    app()


if __name__ == "__main__":
    main()
