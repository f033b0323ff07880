"""The weekly's memory: the archive of published issues, `publish`, and weights learned from the editor.

    curator archive import DIR   past issues (both house styles) → archive rows (links + titles)
    curator publish FILE         the edited draft → per-story kept / dropped / edited / added,
                                 archive rows, items `published`, learned source and tag weights

A story whose link or near-identical title the archive holds is never selected again; it stays
visible to the editor as "already ran in #N".
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from curator import archive
from curator.errors import ComposeError, CuratorError
from curator.mdsafe import unescape_text
from curator.models import Issue, Item
from curator.settings import Settings
from curator.store import Store, now_utc
from curator.urls import canonical_url

log = logging.getLogger(__name__)

PROVENANCE = re.compile(r"<!--\s*curator\s+(.*?)-->", re.DOTALL)
FIELD = re.compile(r'(\w+)="([^"]*)"')


# ---- archive ---------------------------------------------------------------------------------
def record_issue(store: Store, parsed: archive.ParsedIssue, source_file: str) -> int:
    added = 0
    with store.transaction():
        for entry in parsed.entries:
            try:
                key = canonical_url(entry.url)
            except ValueError:
                continue
            cur = store.db.execute(
                "INSERT OR IGNORE INTO archive(canonical_url, url, title, norm_title, issue_number, issue_date, "
                "source_file) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (key, entry.url, entry.title, archive.normalise_title(entry.title) if entry.title else "",
                 parsed.number, parsed.date.isoformat() if parsed.date else None, source_file),
            )
            added += cur.rowcount
    return added


@dataclass
class ImportReport:
    """What `archive import` did, file by file, so it can say so."""

    read: list[tuple[str, int | None, int]] = field(default_factory=list)  # (file, issue number, links)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (file, why)
    links_added: int = 0


def import_archive(store: Store, directory: Path) -> ImportReport:
    """Read every past issue under `directory`; says which files it read and why it skipped the rest.
    Raises CuratorError when nothing there could be imported (a wrong folder must not look like success)."""
    if not directory.is_dir():
        raise CuratorError(f"{directory} is not a folder of past issues (Markdown files such as docs/issue-*.md)",
                           reason="bad_path")
    report = ImportReport()
    files, skipped = archive.survey(directory)
    report.skipped = [(str(p), why) for p, why in skipped]
    for path in files:
        try:
            parsed = archive.parse_issue(path.read_text(encoding="utf-8"), str(path))
        except UnicodeDecodeError:
            report.skipped.append((str(path), "not UTF-8 text: save it as UTF-8 and import again"))
            continue
        except OSError as exc:
            report.skipped.append((str(path), f"cannot be read ({exc.strerror or exc})"))
            continue
        if not parsed.entries:
            report.skipped.append((str(path), "no links found: not an issue?"))
            continue
        report.read.append((str(path), parsed.number, len(parsed.entries)))
        report.links_added += record_issue(store, parsed, str(path))
    if not report.read:
        why = "; ".join(f"{Path(f).name}: {r}" for f, r in report.skipped[:10]) or "the folder is empty"
        more = f" (and {len(report.skipped) - 10} more)" if len(report.skipped) > 10 else ""
        raise CuratorError(
            f"nothing to import from {directory}: no Markdown issue with links in it ({why}{more}). "
            "Point `curator archive import` at the folder of your published issues' .md files "
            "(e.g. docs/ holding issue-*.md).", reason="nothing_to_import")
    return report


def already_ran(store: Store, items: list[Item]) -> dict[int, int | None]:
    """item id → the issue number that already carried its link or a near-identical title."""
    out: dict[int, int | None] = {}
    for item in items:
        row = store.db.execute("SELECT issue_number FROM archive WHERE canonical_url=? LIMIT 1",
                               (item.canonical_url,)).fetchone()
        titles = (item.article.title if item.article else "", item.enrichment.title if item.enrichment else "",
                  item.title)
        for norm in dict.fromkeys(archive.normalise_title(t) for t in titles if t):
            if row is not None:
                break
            if len(norm) >= 8:  # short titles ("周刊"、"Release notes") are too common to match on
                row = store.db.execute("SELECT issue_number FROM archive WHERE norm_title=? LIMIT 1",
                                       (norm,)).fetchone()
        if row is not None:
            out[item.id] = row["issue_number"]
    return out


def looking_back(store: Store, as_of: datetime, limit: int = 5) -> list[dict[str, Any]]:
    """Issues published in the same ISO week of earlier years (for the "往年回顾" block)."""
    week = as_of.isocalendar().week
    rows = store.db.execute(
        "SELECT issue_number, MIN(issue_date) AS d, MIN(source_file) AS f FROM archive "
        "WHERE issue_date IS NOT NULL AND issue_number IS NOT NULL GROUP BY issue_number ORDER BY issue_number DESC"
    ).fetchall()
    out = []
    for r in rows:
        d = date.fromisoformat(r["d"])
        if d.year < as_of.year and d.isocalendar().week == week:
            out.append({"number": r["issue_number"], "year": d.year, "date": r["d"], "file": r["f"]})
    return out[:limit]


# ---- review data written beside each draft ---------------------------------------------------
def review_data(issue: Issue, already: dict[int, int | None] | None = None) -> dict[str, Any]:
    def story(s: Any, section: str | None) -> dict[str, Any]:
        enr = s.lead.enrichment
        return {
            "story": s.id, "section": section, "items": [i.id for i in s.items], "title": enr.title,
            "summary": enr.summary, "score": enr.score, "reason": enr.reason, "tags": enr.tags,
            "flags": enr.flags, "urls": [i.url for i in s.items],
            "sources": sorted({r.source for i in s.items for r in i.sources}),
        }

    return {
        "number": issue.number, "title": issue.title, "date": issue.date.isoformat(),
        "sections": [{"id": sec.id, "title": sec.title, "stories": [story(s, sec.id) for s in sec.stories]}
                     for sec in issue.sections],
        "runners_up": [story(s, None) for s in issue.runners_up],
        "already_ran": {str(k): v for k, v in (already or {}).items()},
    }


# ---- publish ---------------------------------------------------------------------------------
@dataclass
class PublishResult:
    number: int
    kept: list[int] = field(default_factory=list)
    edited: list[int] = field(default_factory=list)
    dropped: list[int] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    archived_links: int = 0


def _blocks(text: str) -> dict[int, str]:
    """story id → the text that follows its provenance comment, up to the next comment or heading."""
    out: dict[int, str] = {}
    matches = list(PROVENANCE.finditer(text))
    for i, m in enumerate(matches):
        fields = dict(FIELD.findall(m.group(1)))
        if "story" not in fields:
            continue
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        block = text[m.end() : end]
        block = re.split(r"\n#{1,6} |\n\[\^", block)[0]
        out[int(fields["story"])] = block.strip()
    return out


def _prose_blocks(text: str) -> dict[str, str]:
    """section id → the prose under its section comment (`prose="section"`), up to the next heading."""
    out: dict[str, str] = {}
    for m in PROVENANCE.finditer(text):
        fields = dict(FIELD.findall(m.group(1)))
        if fields.get("prose") == "section" and "story" not in fields and "section" in fields:
            rest = re.split(r"\n#{1,6} |\n\[\^\d+\]:", text[m.end():])[0]
            out[fields["section"]] = PROVENANCE.sub("", rest).strip()
    return out


def _woven_action(woven: dict[str, Any], block: str) -> str:
    """A story woven into section prose: dropped when no sentence cites it any more, edited when a
    sentence citing it changed."""
    if not any(f"[^{n}]" in block for n in woven["notes"]):
        return "drop"
    return "keep" if all(_plain(s) in _plain(block) for s in woven["sentences"]) else "edit"


def _plain(text: str) -> str:
    # The draft escapes Markdown in titles and summaries (curator/mdsafe.py): compare what a reader reads.
    return re.sub(r"[\s*_`>\[\]()（）:：]|\[\^\d+\]", "", archive.normalise_title(unescape_text(text)))


def publish(settings: Settings, store: Store, path: Path) -> PublishResult:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ComposeError(f"cannot read {path}: {exc.strerror}") from exc
    review_path = path.with_suffix(".json")
    number_m = re.search(r"issue-(\d+)", path.name)
    data: dict[str, Any] | None = None
    if review_path.exists():
        data = json.loads(review_path.read_text(encoding="utf-8"))
    elif number_m:
        stored = settings.drafts_dir / f"issue-{number_m.group(1)}.json"
        data = json.loads(stored.read_text(encoding="utf-8")) if stored.exists() else None
    if data is None:
        raise ComposeError(f"no review data beside {path} (issue-N.json written by `curator draft`); "
                           "publish the file curator drafted, edited in place")
    number = int(data["number"])
    row = store.db.execute("SELECT * FROM issues WHERE number=?", (number,)).fetchone()
    if row is None:
        raise ComposeError(f"issue #{number} is not in this store; publish it from the workspace that drafted it")
    if row["state"] == "published":
        raise ComposeError(f"issue #{number} is already published")
    blocks = _blocks(text)
    prose_blocks, prose = _prose_blocks(text), data.get("prose", {})
    result = PublishResult(number=number)
    drafted = [s for sec in data["sections"] for s in sec["stories"]]
    known_urls: set[str] = set()
    now = now_utc().isoformat(timespec="seconds")
    with store.transaction():
        for st in drafted:
            known_urls.update(canonical_url(u) for u in st["urls"])
            block = blocks.get(st["story"])
            woven = prose.get(st["section"], {}).get("stories", {}).get(str(st["story"]))
            if block is not None and woven:
                action = _woven_action(woven, prose_blocks.get(st["section"], block))
                {"drop": result.dropped, "edit": result.edited, "keep": result.kept}[action].append(st["story"])
            elif block is None:
                action = "drop"
                result.dropped.append(st["story"])
            else:
                action = "keep"
                if _plain(st["summary"]) not in _plain(block) or _plain(st["title"]) not in _plain(block):
                    action = "edit"
                    result.edited.append(st["story"])
                else:
                    result.kept.append(st["story"])
            store.db.execute(
                "INSERT INTO decisions(issue_number, story_id, item_id, action, section, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (number, st["story"], st["items"][0], f"published:{action}", st["section"], now),
            )
            state = "published" if action != "drop" else "enriched"
            store.db.execute(
                f"UPDATE items SET state=?, updated_at=? WHERE id IN ({','.join('?' * len(st['items']))})",
                (state, now, *st["items"]),
            )
        parsed = archive.parse_issue(text, str(path))
        for entry in parsed.entries:
            try:
                key = canonical_url(entry.url)
            except ValueError:
                continue
            if key not in known_urls and key not in {canonical_url(e) for e in result.added}:
                result.added.append(entry.url)
                store.db.execute(
                    "INSERT INTO decisions(issue_number, action, url, title, created_at) VALUES (?, 'published:add', ?, ?, ?)",
                    (number, entry.url, entry.title, now),
                )
        store.db.execute("UPDATE issues SET state='published', published_at=?, path=? WHERE number=?",
                         (now, str(path), number))
    parsed.number = parsed.number or number
    parsed.date = parsed.date or date.fromisoformat(data["date"][:10])
    result.archived_links = record_issue(store, parsed, str(path))
    if settings.learning.enabled:
        learn_weights(store)
    return result


# ---- learning --------------------------------------------------------------------------------
def learn_weights(store: Store) -> dict[tuple[str, str], float]:
    """Source and tag weights from kept vs dropped stories over all published issues.

    weight = (kept + 1) / (kept + dropped + 2) * 2: 1.0 with no evidence, towards 2 for sources the
    editor always keeps, towards 0 for sources always dropped (Laplace-smoothed).
    """
    rows = store.db.execute(
        "SELECT d.action, d.item_id FROM decisions d WHERE d.action IN "
        "('published:keep', 'published:edit', 'published:drop') AND d.item_id IS NOT NULL"
    ).fetchall()
    rows = [dict(r) for r in rows]
    # Stories dropped on the review board are gone from the file `publish` reads: count them from the board.
    from curator import decisions

    for (number,) in store.db.execute("SELECT number FROM issues WHERE state='published'").fetchall():
        rows += [{"action": "published:drop", "item_id": item_id} for item_id in decisions.dropped_items(store, number)]
    tallies: dict[tuple[str, str], list[int]] = {}
    for r in rows:
        kept = r["action"] != "published:drop"
        item = store.items(ids=[r["item_id"]])
        if not item:
            continue
        keys = [("source", s.source) for s in item[0].sources]
        if item[0].enrichment:
            keys += [("tag", t) for t in item[0].enrichment.tags]
        for key in keys:
            tally = tallies.setdefault(key, [0, 0])
            tally[0 if kept else 1] += 1
    now = now_utc().isoformat(timespec="seconds")
    weights = {}
    with store.transaction():
        for (kind, key), (kept, dropped) in tallies.items():
            w = (kept + 1) / (kept + dropped + 2) * 2
            weights[(kind, key)] = w
            store.db.execute(
                "INSERT INTO weights(kind, key, weight, kept, dropped, updated_at) VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(kind, key) DO UPDATE SET weight=excluded.weight, kept=excluded.kept, "
                "dropped=excluded.dropped, updated_at=excluded.updated_at",
                (kind, key, w, kept, dropped, now),
            )
    return weights


def load_weights(store: Store) -> dict[tuple[str, str], float]:
    return {(r["kind"], r["key"]): r["weight"] for r in store.db.execute("SELECT kind, key, weight FROM weights")}

