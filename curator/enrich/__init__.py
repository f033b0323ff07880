"""Enrichment: one backend contract, two backends (`openai` for any OpenAI-compatible endpoint, `offline`).

    backends.py  the Backend protocol and its records (calls, triage verdicts)   choose.py  which backend a run uses
    openai.py    the OpenAI-compatible backend (the only module that knows openai), its transport in transport.py
    offline.py   extractive TextRank summaries, keyword tags (keywords.py), no network
    validate.py  what any model's answer must be (parse, rules, re-ask)   prompts.py  prompt files
    stage.py     the stage: story leads, cache, triage, full pass within budget and breaker

This package's own namespace holds only `content_hash`, so importing a submodule never imports a backend.
"""

from __future__ import annotations

import hashlib


def content_hash(title: str, text: str) -> str:
    """What an enrichment is keyed by (with prompt and model): the article's title and text."""
    return hashlib.sha256(f"{title}\n\n{text}".encode()).hexdigest()
