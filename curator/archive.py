"""Archive parsing: read published issues (footnotes or 科技爱好者周刊 list style) back into (url, title) entries.

Storage is the store's job; this module only turns Markdown files into `ParsedIssue`s, so past issues
(ours or an imported weekly's `docs/issue-*.md`) can be checked for repeats by URL or near-identical
title (`normalise_title`).
"""

from __future__ import annotations

import dataclasses
import logging
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from curator.errors import CuratorError
from curator.markdown import FOOTNOTE_DEF, FOOTNOTE_REF, Document, Line, Link, scan
from curator.models import ArchiveLink
from curator.text import normalise_for_match
from curator.urls import canonical_url, is_web_url

if TYPE_CHECKING:
    from curator.store import Store

log = logging.getLogger(__name__)

__all__ = ["Entry", "ImportReport", "ParsedIssue", "import_archive", "iter_issue_files", "normalise_title", "parse_issue",
           "record_issue", "survey", "web_link"]


class Entry(NamedTuple):
    url: str
    title: str


@dataclass
class ParsedIssue:
    path: str
    number: int | None
    date: date | None
    title: str
    entries: list[Entry] = field(default_factory=list)
    style: Literal["footnotes", "list", "other"] = "other"

    @property
    def headline(self) -> str:
        """The part of the title after the issue number: "科技爱好者周刊（第 296 期）：X" → "X"."""
        head, sep, tail = self.title.partition("：")
        return tail.strip() if sep and _NUMBER_IN_TITLE.search(head) else self.title


_NUMBER_IN_TITLE = re.compile(
    r"第\s*(\d+)\s*期|#\s*(\d+)|\b(?:issue|vol\.?|no\.?)\s*[-#]?\s*(\d+)", re.IGNORECASE
)
_NUMBER_IN_NAME = re.compile(r"(?:issue|weekly)[-_ ]?(\d+)|^(\d+)$", re.IGNORECASE)
_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_H1 = re.compile(r"^ {0,3}#\s+(.+?)\s*#*\s*$")
_SECTION = re.compile(r"^ {0,3}(#{2,6})\s+(.+?)\s*#*\s*$")
_BOLD_TITLE = re.compile(r"^\s*\*\*(?!\s)(.+?)\*\*")
_NUMBERED = re.compile(r"^\s*\d+、\s*")
_LABEL = re.compile(r"[(\[](?:英文|中文|日文|韩文|english)[)\]]", re.IGNORECASE)
_BACK_ISSUES = ("往年回顾", "往期回顾", "历史文章", "looking back")
# Links that point at the weekly itself rather than at what it recommends: back issues, the
# submission tracker, the weekly's own repository.
_OWN = re.compile(
    r"weekly[-_]?issue[-_]?\d+|/issues?[-_]\d+(?:\.html?)?/?$|github\.com/[^/]+/[^/?#]*weekly[^/?#]*(?:[/?#]|$)",
    re.IGNORECASE,
)
_SKIP_FILES = {"readme.md", "changelog.md", "contributing.md", "license.md", "index.md", "_index.md"}
# A link written without its scheme ("huggingface.co/papers/2411.01234", "//example.com/x"): a host
# with a letters-only top-level domain, then a path, port or nothing.
_SCHEMELESS = re.compile(r"^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,24}(?::\d{1,5})?(?:[/?#]|$)", re.IGNORECASE)
# The same in running text needs a path, so prose like "node.js" or "例如 a.com" is not taken for a link.
_BARE_SCHEMELESS = re.compile(
    r"(?<![\w@/.:-])(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,24}/[^\s<>\"'()\[\]（）【】「」，。；！？、]+",
    re.IGNORECASE,
)


def web_link(url: str) -> str | None:
    """An http(s) URL for a link as an issue wrote it: scheme-less and protocol-relative links become
    https (how the weekly's own site would resolve them for a reader); anything else is not a web link."""
    url = url.strip()
    if is_web_url(url):
        return url
    if url.startswith("//") and is_web_url("https:" + url):
        return "https:" + url
    if _SCHEMELESS.match(url) and is_web_url("https://" + url):
        return "https://" + url
    return None


def _front_matter(doc: Document) -> dict[str, Any]:
    front = [ln.raw for ln in doc.lines if ln.kind == "front"]
    if len(front) < 2:
        return {}
    body = "\n".join(front[1:-1])
    import yaml  # only reading a past issue's front matter needs the YAML parser: `draft` matches titles, never parses

    try:
        meta = yaml.safe_load(body)
    except (yaml.YAMLError, ValueError) as exc:  # ValueError: a date like 2026-13-45
        log.debug("front matter is not valid YAML (%s); reading title/date by line", exc)
        meta = None
    meta = meta if isinstance(meta, dict) else {}
    # An unquoted `title: Weekly #42：…` is a YAML comment after "Weekly": take the raw line.
    if m := re.search(r"^title:\s*(.+?)\s*$", body, re.MULTILINE):
        raw = m.group(1)
        if raw[0] not in "\"'":
            meta["title"] = raw
        elif not isinstance(meta.get("title"), str):  # YAML failed elsewhere: unquote by hand
            meta["title"] = raw[1:-1] if len(raw) > 1 and raw[-1] == raw[0] else raw[1:]
    if "date" not in meta and (m := re.search(r"^date:\s*(.+?)\s*$", body, re.MULTILINE)):
        meta["date"] = m.group(1)
    return meta


def _as_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str) and (m := _DATE.search(value)):
        try:
            return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:
            return None
    return None


def _number(*candidates: str) -> int | None:
    for text in candidates:
        if text and (m := _NUMBER_IN_TITLE.search(text)):
            return int(next(g for g in m.groups() if g))
    return None


def _number_from_path(path: str) -> int | None:
    stem = Path(path).stem
    m = _NUMBER_IN_NAME.search(stem)
    return int(next(g for g in m.groups() if g)) if m else None


def _clean_title(text: str) -> str:
    text = FOOTNOTE_REF.sub("", text).replace("**", "")
    text = re.sub(r"\s*[（(](?:英文|中文|日文|韩文|English)[）)]\s*$", "", text.strip())
    return re.sub(r"\s+", " ", text).strip()


def _wanted(link: Link) -> bool:
    label = link.label.strip().lower()
    if link.image or label.startswith("@") or label.endswith("讨论") or label in {"via", "来源"}:
        return False
    url = web_link(link.url)
    return url is not None and not _OWN.search(url)


def _links(line: Line) -> list[Link]:
    """The line's wanted links, scheme-less ones made https, plus scheme-less URLs in its prose."""
    found = [dataclasses.replace(x, url=web_link(x.url) or x.url) for x in line.links if _wanted(x)]
    for m in _BARE_SCHEMELESS.finditer(line.prose):
        url = "https://" + m.group(0).rstrip(".,;:!?")
        if not _OWN.search(url):
            found.append(Link("", url, m.start(), m.end()))
    return sorted(found, key=lambda x: x.start)



def _skipped_lines(doc: Document) -> set[int]:
    """Lines of back-issue sections ("## 往年回顾"): links to the weekly itself, not entries."""
    skipped: set[int] = set()
    level = 0
    for line in doc.text_lines():
        if m := _SECTION.match(line.masked) or _H1.match(line.masked):
            depth = len(m.group(1)) if m.re is _SECTION else 1
            if level and depth <= level:
                level = 0
            if not level and m.re is _SECTION and any(k in m.group(2).lower() for k in _BACK_ISSUES):
                level = depth
        if level:
            skipped.add(line.no)
    return skipped


def parse_issue(text: str, path: str) -> ParsedIssue:
    """Number, date, title and linked entries of one issue in either house style.

    The number comes from the front-matter title, the H1, or the file name (`issue-123.md`,
    `weekly-123.md`); the date from the front matter only. Images, credit and discussion links,
    back-issue sections and links to the weekly's own issues are left out; every URL once.
    """
    doc = scan(text)
    meta = _front_matter(doc)
    h1 = next((m.group(1) for ln in doc.text_lines() if (m := _H1.match(ln.masked))), "")
    title = str(meta.get("title") or h1 or "").strip()
    number = _number(str(meta.get("title") or ""), h1)
    if number is None:
        number = _number_from_path(path)
    issue = ParsedIssue(path=path, number=number, date=_as_date(meta.get("date")), title=title)

    skipped = _skipped_lines(doc)
    lines = [ln for ln in doc.text_lines() if ln.no not in skipped]
    # Footnotes style: a story's title is the bold text of the paragraph citing the footnote.
    cited_by: dict[str, str] = {}
    for line in lines:
        if (m := _BOLD_TITLE.match(line.masked)) and not FOOTNOTE_DEF.match(line.masked):
            for ref in FOOTNOTE_REF.finditer(line.masked):
                cited_by.setdefault(ref.group(1), _clean_title(m.group(1)))
    numbered = footnoted = 0
    found: list[tuple[Line, Entry]] = []
    for line in lines:
        links = _links(line)
        if (m := FOOTNOTE_DEF.match(line.masked)) and links:
            footnoted += 1
            first, *rest = links
            found.append((line, Entry(first.url, cited_by.get(m.group(1)) or _clean_title(first.label))))
            found.extend((line, Entry(x.url, _clean_title(x.label))) for x in rest)
            continue
        if _NUMBERED.match(line.masked) and links:
            numbered += 1
        found.extend((line, Entry(x.url, _clean_title(x.label))) for x in links)
    seen: set[str] = set()
    for _, entry in found:
        try:
            key = canonical_url(entry.url)
        except ValueError:
            continue
        if key not in seen:
            seen.add(key)
            issue.entries.append(entry)
    issue.style = "footnotes" if footnoted > numbered else "list" if numbered else "other"
    return issue


def _natural_key(path: Path) -> list[tuple[int, int | str]]:
    return [(0, int(part)) if part.isdigit() else (1, part) for part in re.split(r"(\d+)", str(path).lower())]


def iter_issue_files(directory: Path | str) -> Iterator[Path]:
    """Markdown files under `directory`, recursively, in natural order (issue-9 before issue-10).
    Hidden folders and README/CHANGELOG/index pages are skipped: they are never issues."""
    root = Path(directory)
    paths = [
        p
        for p in root.rglob("*.md")
        if p.is_file()
        and p.name.lower() not in _SKIP_FILES
        and not any(part.startswith(".") for part in p.relative_to(root).parts)
    ]
    yield from sorted(paths, key=_natural_key)


def survey(directory: Path | str) -> tuple[list[Path], list[tuple[Path, str]]]:
    """(Markdown files to read, [(file, why it is skipped)]) under `directory`, so an import can say
    what it read and why it left the rest. Hidden folders (.git …) are left out without a word."""
    root = Path(directory)
    wanted = set(iter_issue_files(root))
    skipped: list[tuple[Path, str]] = []
    for p in sorted(root.rglob("*"), key=_natural_key):
        if not p.is_file() or p in wanted or any(part.startswith(".") for part in p.relative_to(root).parts):
            continue
        if p.name.lower() in _SKIP_FILES:
            skipped.append((p, "a README / index page, not an issue"))
        else:
            skipped.append((p, f"not Markdown ({p.suffix or 'no extension'}): past issues are read from .md files"))
    return sorted(wanted, key=_natural_key), skipped


def normalise_title(title: str) -> str:
    """A key for near-identical titles: Simplified, NFKC, lower-case, no （英文） label, no
    punctuation, symbols or whitespace ("OpenAI 發布 GPT-6（英文）" → "openai发布gpt6")."""
    return _LABEL.sub("", normalise_for_match(title)).translate(_TITLE_DROPS)


class _Drops(dict[int, int | None]):
    """str.translate table dropping punctuation, symbols, separators and other (control) characters,
    filled as characters are met: one C-level pass a title instead of a category look-up per character."""

    def __missing__(self, code: int) -> int | None:
        self[code] = None if unicodedata.category(chr(code))[0] in "PSZC" else code
        return self[code]


_TITLE_DROPS = _Drops()


# ---- importing past issues into the store (`curator archive import`, and `publish`) ---------------
def record_issue(store: Store, parsed: ParsedIssue, source_file: str) -> int:
    """Remember an issue's links and titles in the archive; how many links were new."""
    links = []
    for entry in parsed.entries:
        try:
            key = canonical_url(entry.url)
        except ValueError:
            continue
        links.append(ArchiveLink(key, entry.url, entry.title, normalise_title(entry.title) if entry.title else "",
                                 parsed.number, parsed.date.isoformat() if parsed.date else None, source_file))
    return store.add_archive_links(links)


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
    files, skipped = survey(directory)
    report.skipped = [(str(p), why) for p, why in skipped]
    for path in files:
        try:
            parsed = parse_issue(path.read_text(encoding="utf-8"), str(path))
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
