"""Learning: source and tag weights from what the editor kept and dropped in published issues.

    publish ─► decisions (published:keep/edit/drop) + board drops ─► learn_weights ─► weights ─► select
"""

from __future__ import annotations

import logging

from curator import decisions
from curator.models import PublishedDecision, Weights, WeightTally
from curator.store import Store, now_utc

log = logging.getLogger(__name__)


def learn_weights(store: Store) -> Weights:
    """Source and tag weights from kept vs dropped stories over all published issues.

    weight = (kept + 1) / (kept + dropped + 2) * 2: 1.0 with no evidence, towards 2 for sources the
    editor always keeps, towards 0 for sources always dropped (Laplace-smoothed).
    """
    rows = store.published_decisions()
    # Stories dropped on the review board are gone from the file `publish` reads: count them from the board.
    for number in store.published_issue_numbers():
        rows += [PublishedDecision("published:drop", item_id) for item_id in decisions.dropped_items(store, number)]
    tallies: dict[tuple[str, str], list[int]] = {}
    for r in rows:
        kept = r.action != "published:drop"
        item = store.item(r.item_id)
        if item is None:
            continue
        keys = [("source", s.source) for s in item.sources]
        if item.enrichment:
            keys += [("tag", t) for t in item.enrichment.tags]
        for key in keys:
            tally = tallies.setdefault(key, [0, 0])
            tally[0 if kept else 1] += 1
    weights: Weights = {}
    rows_out = []
    for (kind, name), (kept_n, dropped_n) in tallies.items():
        w = (kept_n + 1) / (kept_n + dropped_n + 2) * 2
        weights[(kind, name)] = w
        rows_out.append(WeightTally(kind, name, w, kept_n, dropped_n))
    store.save_weights(rows_out, now_utc().isoformat(timespec="seconds"))
    return weights


def load_weights(store: Store) -> Weights:
    """The weights `learn_weights` last stored (empty before the first publish)."""
    return store.weights()
