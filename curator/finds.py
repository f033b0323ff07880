"""The editor's own finds (`curator add`, the board's add form): never lost when their page cannot be read.

A feed's item whose page fails is an outcome with a reason; a link the editor chose by hand is a
decision. So when its page cannot be fetched or read (timeout, 403, DNS, robots, an anti-bot or
"verify you are human" page, WeChat's 环境异常 wall) it still becomes a candidate: a stand-in
article and enrichment built from what the editor gave (`--title`, `--note`, else the URL), ranked
with the week's best so it is drafted, and flagged `not_fetched:<reason>` for the reviewer (board
badge, provenance comment, issue-N.json).
"""

from __future__ import annotations

import logging
import re
from urllib.parse import unquote, urlsplit

from curator.enrich import content_hash
from curator.errors import LLMError
from curator.models import Article, Enrichment, EnrichRequest, Item, WorkItem
from curator.settings import Settings
from curator.store import Store
from curator.urls import redact

log = logging.getLogger(__name__)

EDITOR_SOURCE = "manual"  # the internal source name of the editor's finds; never printed in a draft
NOT_FETCHED = "not_fetched"  # flag prefix: not_fetched:<reason>
# The editor picked it: rank it with the week's best so the draft carries it (the reviewer sees why).
EDITOR_FIND_SCORE = 90
NO_NOTE = "（页面未能抓取，请编辑补充摘要）"
# Why a page could not be read that may pass by itself (a server or network down for a while): such a
# stand-in is fetched again by later runs, up to the store's RETRY_CAP attempts. A wall, a 403 or a
# deleted article is not retried on its own; the editor adds the URL again to try (Pipeline.retry_stand_in).
_TRANSIENT = re.compile(r"timeout|connect|protocol|dns|rate_limited|deadline|internal_error|http_(?:5\d\d|408|429)")

# Challenge / verification pages that answer 200 in place of the article. Matched on the page's
# <title> or on a short body, so an article that merely discusses captchas is not caught.
_CHALLENGE_TITLE = re.compile(
    r"just a moment|attention required|access denied|access to this page has been denied|are you a robot|"
    r"robot check|verify you are (?:a )?human|human verification|security check|checking your browser|"
    r"pardon our interruption|ddos protection|captcha|request unsuccessful|"
    r"安全验证|安全检查|环境异常|访问验证|人机验证|请完成验证|验证码|访问过于频繁|请稍后再试|滑动验证|访问受限",
    re.IGNORECASE,
)
# Markers of walls from Cloudflare, reCAPTCHA/hCaptcha, GeeTest, DataDome, Imperva, PerimeterX, AWS
# WAF, Baidu, and WeChat's own (verification, deleted or blocked articles, "open in WeChat").
_CHALLENGE_BODY = re.compile(
    r"cf-chl-|cf_chl_opt|cf-browser-verification|challenge-platform|g-recaptcha|h-captcha|geetest|_waf_|"
    r"captcha-delivery\.com|incapsula incident|_incapsula_resource|px-captcha|awswaf|wappass\.baidu\.com|"
    r"enable javascript and cookies to continue|verify you are (?:a )?human|"
    r"完成验证后即可继续访问|当前环境异常|请在微信客户端打开|网络环境存在风险|访问行为异常|请完成下方验证",
    re.IGNORECASE,
)
# A page that answers 200 to say the article is gone (WeChat: deleted by its author, or blocked).
_GONE_BODY = re.compile(r"该内容已被发布者删除|此内容因违规无法查看|此内容因涉嫌违反相关法律法规|该公众号已迁移")
_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
# Tags, and scripts and styles whole: as `<script.*?</script>|<style.*?</style>|<[^>]+>` reads them (up
# to the first closing tag), written so the engine runs through a script at C speed, not a step a character.
_TAGS = re.compile(
    r"<script[^<]*+(?:<(?!/script>)[^<]*+)*+</script>|<style[^<]*+(?:<(?!/style>)[^<]*+)*+</style>|<[^>]+>",
    re.IGNORECASE,
)


def is_editor_find(item: Item) -> bool:
    return any(ref.source == EDITOR_SOURCE for ref in item.sources)


def challenge_page(html: str) -> str | None:
    """Why a 200 answer is not the page asked for: "anti_bot" (a verification wall), "page_gone"
    (a notice that the article was deleted or blocked), else None."""
    head = html[:200_000]
    visible = " ".join(_TAGS.sub(" ", head).split())  # whitespace runs collapsed, as `\s+` reads them
    if len(visible) > 3000:  # a wall says little; an article that discusses captchas says a lot
        return None
    if len(visible) < 1500 and _GONE_BODY.search(visible):
        return "page_gone"
    title = _TITLE.search(head)
    if title and len(title.group(1)) < 120 and _CHALLENGE_TITLE.search(title.group(1)):
        return "anti_bot"
    return "anti_bot" if len(visible) < 1500 and _CHALLENGE_BODY.search(head) else None


def editor_find(store: Store, item_id: int) -> Item | None:
    """The item if the editor added it by hand, else None (a feed's item fails with its reason)."""
    found = store.items(ids=[item_id])
    return found[0] if found and is_editor_find(found[0]) else None


def is_stand_in(item: Item) -> bool:
    """Whether the item is a stand-in for an editor's find whose page was not read (it may be retried)."""
    return item.enrichment is not None and any(f.startswith(NOT_FETCHED) for f in item.enrichment.flags)


def transient(reason: str) -> bool:
    return _TRANSIENT.fullmatch(reason) is not None


def due_for_retry(store: Store) -> list[WorkItem]:
    """Stand-ins whose page failed for a reason that may pass, not yet tried RETRY_CAP times: fetched
    again by this run. They stay drafted-able stand-ins until a fetch succeeds."""
    due = []
    for row in store.stand_ins():
        flags = row.stand_in.flags if row.stand_in else []
        if any(f.startswith(NOT_FETCHED + ":") and transient(f.partition(":")[2]) for f in flags):
            due.append(row)
    return due


def keep_editors_words(store: Store, replaced: list[WorkItem]) -> int:
    """Once the real page of a stand-in is read and enriched, the editor's `--title` / `--note`, where
    they wrote one, still win over the page's (the board and the draft showed them); returns how many."""
    done = 0
    for row in replaced:
        found = store.items(ids=[row.id])
        enr = found[0].enrichment if found else None
        if enr is None or enr.backend == "editor":  # not enriched yet (budget, stop): the next run does it
            continue
        words = {k: v for k, v in (("title", row.title.strip()), ("summary", row.snippet.strip())) if v}
        if words:
            store.update_enrichment(row.id, enr.model_copy(update=words))
        done += 1
    return done


def _readable(url: str) -> str:
    """The URL as a title of last resort: host and path, decoded, without query or scheme."""
    parts = urlsplit(url)
    return (parts.hostname or "") + unquote(parts.path).rstrip("/")


def keep_unfetched(settings: Settings, store: Store, item: Item, reason: str, note: str = "") -> str:
    """Store the stand-in for an editor's find whose page could not be read; returns the flag.

    `note` is the editor's `--note` (kept as the candidate's snippet); their words are used as given."""
    title = item.title.strip() or _readable(item.url)
    note = note.strip()
    flag = f"{NOT_FETCHED}:{reason}"
    article = Article(url=item.url, title=title, text=note, description=note or None)
    section, tags = _place(settings, item, title, note)
    enrichment = Enrichment(
        title=title, summary=note or NO_NOTE,
        tags=tags, section=section, score=EDITOR_FIND_SCORE,
        reason=f"编辑推荐；页面未能抓取（{reason}），标题与摘要来自编辑", backend="editor", flags=[flag],
    )
    digest = content_hash(title, note)
    store.save_article(item.id, article, digest)
    store.save_enrichment(item.id, enrichment, digest)
    log.warning("the editor's find %s could not be fetched (%s): kept as a candidate, flagged %s",
                redact(item.url), reason, flag)
    return flag


def _place(settings: Settings, item: Item, title: str, note: str) -> tuple[str, list[str]]:
    """Section and tags from the editor's words, by the offline backend's keyword rules."""
    fallback = settings.sections[0].id if settings.sections else "general"
    req = EnrichRequest(item_id=item.id, url=item.url, title=title, text=note or title, source=EDITOR_SOURCE)
    from curator.enrich.offline import OfflineBackend  # numpy and the worker pool: only when a find needs it

    try:
        enr = OfflineBackend(settings).enrich(req)
    except LLMError:
        return fallback, []
    return enr.section, enr.tags
