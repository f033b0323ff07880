"""Store re-keying: items and archive links keyed anew when the canonical-URL rules change (urls.KEY_VERSION)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from curator.store.base import StoreBase, now_utc, ts
from curator.urls import KEY_VERSION, canonical_url, rekey_plan

log = logging.getLogger(__name__)


def _new_key(url: str, keep_fragment: bool) -> str | None:
    try:
        return canonical_url(url, keep_fragment=keep_fragment)
    except ValueError:  # stored before the scheme check: left under its old key
        return None


@dataclass
class Rekeyed:
    """What re-keying a store with new canonical-URL rules changed."""

    version: int
    changed: int = 0  # items whose key changed
    split: int = 0  # links merged into another item by an old key, back as candidates of their own
    kept_apart: list[int] = field(default_factory=list)  # items left as they were: another holds the new key
    archive: int = 0  # published links re-keyed

    @property
    def message(self) -> str:
        return (f"store re-keyed with URL rules v{self.version}: {self.changed} item keys changed, {self.split} "
                f"merged-away links back as new candidates, {len(self.kept_apart)} items left under their old "
                f"key (another item has the new one), {self.archive} archive links re-keyed")


class RekeyQueries(StoreBase):
    """Re-makes keys on open; `Store.__init__` calls `_rekey` once."""

    rekeyed: Rekeyed | None = None

    def _rekey(self) -> Rekeyed | None:
        """Re-make keys not made with today's canonical_url: the whole store once after its rules changed
        (urls.KEY_VERSION), and rows written since the last check (by an older curator, or by hand)."""
        if not self._rekey_due():
            return None
        with self.transaction():
            if lock := self.dialect.serialise():  # Postgres: one process re-keys, another opening waits
                self.db.execute(lock)
            full = self._meta("url_key_version", 1) < KEY_VERSION
            report = Rekeyed(version=KEY_VERSION)
            top_item = self._rekey_items(report, 0 if full else self._meta("url_keys_item", 0))
            top_archive = self._rekey_archive(report, 0 if full else self._meta("url_keys_archive", 0))
            self.db.executemany(
                "INSERT INTO store_meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                [("url_key_version", str(KEY_VERSION)), ("url_keys_item", str(top_item)),
                 ("url_keys_archive", str(top_archive))])
        if report.changed or report.split or report.archive:
            log.warning("%s", report.message)
        return report

    def _meta(self, key: str, default: int) -> int:
        row = self.db.execute("SELECT value FROM store_meta WHERE key=?", (key,)).fetchone()
        return int(row[0]) if row else default  # no url_key_version: a store made with courlan's strict keys

    def _rekey_due(self) -> bool:
        top_item = self.db.execute("SELECT COALESCE(MAX(id), 0) FROM items").fetchone()[0]
        top_archive = self.db.execute("SELECT COALESCE(MAX(id), 0) FROM archive").fetchone()[0]
        return (self._meta("url_key_version", 1) < KEY_VERSION or top_item > self._meta("url_keys_item", 0)
                or top_archive > self._meta("url_keys_archive", 0))

    def _holders(self, key: str) -> list[int]:
        return [r[0] for r in self.db.execute("SELECT id FROM items WHERE canonical_url=?", (key,))]

    def _rekey_items(self, report: Rekeyed, after_id: int) -> int:
        """Re-key items with id > after_id; returns the highest id seen."""
        rows = self.db.execute("SELECT id, canonical_url, url FROM items WHERE id > ? ORDER BY id", (after_id,)).fetchall()
        current = {r["id"]: r["canonical_url"] for r in rows}
        anchored = {r["id"]: bool(urlsplit(r["canonical_url"]).fragment) for r in rows}  # watch entries
        desired = {r["id"]: _new_key(r["url"], anchored[r["id"]]) or r["canonical_url"] for r in rows}
        for key in {d for i, d in desired.items() if d != current[i]}:  # rows already holding a wanted key
            for holder in self._holders(key):
                current.setdefault(holder, key)
                desired.setdefault(holder, key)
        moves, report.kept_apart = rekey_plan(current, desired)
        for item_id, key in moves:  # in plan order: each key is free when it is taken
            self.db.execute("UPDATE items SET canonical_url=? WHERE id=?", (key, item_id))
        report.changed = len(moves)
        # A source's link that now names another document was merged by the old key: it becomes (or joins)
        # the item of its own key, so the merged-away article comes back as a candidate.
        for src in self.db.execute("SELECT s.item_id, s.source, s.url, s.seen_at, i.canonical_url FROM item_sources s "
                                   "JOIN items i ON i.id=s.item_id WHERE s.item_id > ?", (after_id,)).fetchall():
            key = _new_key(src["url"], anchored.get(src["item_id"], False))
            if key is None or key in (desired.get(src["item_id"]), src["canonical_url"]):
                continue
            if holders := self._holders(key):
                target = holders[0]
            else:
                target = self._insert_id(
                    "INSERT INTO items(canonical_url, url, discovered_at, state, updated_at) "
                    "VALUES (?, ?, ?, 'discovered', ?)", (key, src["url"], src["seen_at"], ts(now_utc())))
                report.split += 1
            # The link moves to the target unless the target already has this source (then it just goes).
            self.db.execute("INSERT INTO item_sources(item_id, source, url, seen_at, discussion_url, points, "
                            "submitter, submitter_url) SELECT ?, source, url, seen_at, discussion_url, points, "
                            "submitter, submitter_url FROM item_sources WHERE item_id=? AND source=? "
                            "ON CONFLICT DO NOTHING", (target, src["item_id"], src["source"]))
            self.db.execute("DELETE FROM item_sources WHERE item_id=? AND source=?", (src["item_id"], src["source"]))
        return int(self.db.execute("SELECT COALESCE(MAX(id), 0) FROM items").fetchone()[0])

    def _rekey_archive(self, report: Rekeyed, after_id: int) -> int:
        """Published links are re-keyed too, so "already published" keeps matching (and only the same document)."""
        rows = self.db.execute("SELECT id, canonical_url, url, issue_number FROM archive WHERE id > ? ORDER BY id",
                               (after_id,)).fetchall()
        seen: set[tuple[str, int | None]] = set()
        changes = []
        for r in rows:
            key = _new_key(r["url"], False) or r["canonical_url"]
            earlier = self.db.execute("SELECT 1 FROM archive WHERE id <= ? AND canonical_url=? "
                                      "AND issue_number IS NOT DISTINCT FROM ?",
                                      (after_id, key, r["issue_number"])).fetchone()
            if earlier or (key, r["issue_number"]) in seen:  # two spellings of one link in one issue: keep one
                self.db.execute("DELETE FROM archive WHERE id=?", (r["id"],))
                continue
            seen.add((key, r["issue_number"]))
            if key != r["canonical_url"]:
                changes.append((key, r["id"]))
        # Two steps, so no row ever collides with a key another row is about to give up.
        self.db.executemany("UPDATE archive SET canonical_url='rekey:' || id WHERE id=?", [(i,) for _, i in changes])
        self.db.executemany("UPDATE archive SET canonical_url=? WHERE id=?", changes)
        report.archive = len(changes)
        return int(self.db.execute("SELECT COALESCE(MAX(id), 0) FROM archive").fetchone()[0])

    def take_rekey_report(self) -> Rekeyed | None:
        """What re-keying changed when this store was opened (None if nothing): reported once, by one run."""
        report, self.rekeyed = self.rekeyed, None
        return report if report and (report.changed or report.split or report.archive) else None

