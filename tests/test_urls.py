"""Canonical URLs: a table of real URL shapes that must merge and must stay apart, and the helpers."""


import pytest

from curator.urls import RULES, absolutize, canonical_url, clean_link, redact, rule_for, tracking_keys

# Each group: URLs naming ONE document (must share a key). Different groups are different documents
# (no two may share a key). Shapes taken from real links seen in feeds, shares and editors' notes.
W = "https://mp.weixin.qq.com/s?__biz=MzA5MTIxNTY4MQ==&mid=2461139000&idx=1&sn=3f1c0a9b8d7e6f5a"
GROUPS: dict[str, list[str]] = {
    "generic news page": [
        "https://news.example.com/2026/11/gpu-shortage",
        "http://news.example.com/2026/11/gpu-shortage",
        "https://news.example.com/2026/11/gpu-shortage/",
        "https://news.example.com/2026/11/gpu-shortage?utm_source=rss&utm_medium=feed&utm_campaign=weekly",
        "https://NEWS.example.com:443/2026/11/gpu-shortage#comments",
        "https://m.news.example.com/2026/11/gpu-shortage?spm=a2c4g.11186623&fbclid=IwAR0x",
        "https://news.example.com/amp/2026/11/gpu-shortage",
        "https://www.news.example.com/2026/11/gpu-shortage/index.html",
        "https://news.example.com/2026/11/gpu-shortage?gclid=Cj0KCQ&mc_cid=ab12&mc_eid=cd34",
        "https://news.example.com/2026/11/gpu-shortage?amp=1",
        "https://news-example-com.cdn.ampproject.org/c/s/news.example.com/amp/2026/11/gpu-shortage",
        "https://www.google.com/amp/s/news.example.com/2026/11/gpu-shortage/amp?utm_source=x",
        "https://news.example.com/2026/11/gpu-shortage;jsessionid=0A1B2C3D4E",
    ],
    "aitnt 5046": ["https://www.aitnt.com/newDetail.html?newId=5046",
                   "http://aitnt.com/newDetail.html?newId=5046&from=timeline&isappinstalled=0"],
    "aitnt 5102": ["https://www.aitnt.com/newDetail.html?newId=5102"],
    "query id 1": ["https://ex.com/item?id=1", "https://ex.com/item?id=1&utm_content=buffer"],
    "query id 2": ["https://ex.com/item?id=2"],
    "wordpress p=10": ["https://blog.example.org/?p=10", "https://blog.example.org/?p=10&share_token=x"],
    "wordpress p=11": ["https://blog.example.org/?p=11"],
    "article_id 7": ["https://portal.example.cn/news.php?article_id=7&page=2",
                     "https://portal.example.cn/news.php?page=2&article_id=7&scene=1"],
    "article_id 8": ["https://portal.example.cn/news.php?article_id=8&page=2"],
    "article_id 7 page 3": ["https://portal.example.cn/news.php?article_id=7&page=3"],
    "wechat long 1": [
        W,
        W + "&chksm=8b2a1c3d4e5f&scene=21#wechat_redirect",
        W.replace("&", "&amp;") + "&amp;chksm=8b2a",  # copied from page source, HTML-escaped
        W.replace("https:", "http:") + "&sharer_sharetime=1700000000&sharer_shareid=abc&from=timeline",
        "https://mp.weixin.qq.com/s?sn=3f1c0a9b8d7e6f5a&idx=1&mid=2461139000&__biz=MzA5MTIxNTY4MQ%3D%3D",
        W + "&ascene=1&devicetype=iOS17&version=28002c51&nettype=WIFI&lang=zh_CN&exportkey=n_ChQ&pass_ticket=Zx",
    ],
    "wechat long other sn": [W.replace("sn=3f1c", "sn=9a8b")],
    "wechat long other mid": [W.replace("mid=2461139000", "mid=2461139123")],
    "wechat long second article": [W.replace("idx=1", "idx=2")],
    "wechat long other account": [W.replace("MzA5MTIxNTY4MQ", "MzI0NjU2MDcxNg")],
    "wechat short A": ["https://mp.weixin.qq.com/s/Xh3kPq9LmN2aB7cD",
                       "http://mp.weixin.qq.com/s/Xh3kPq9LmN2aB7cD?scene=1&click_id=2#rd"],
    "wechat short a (case)": ["https://mp.weixin.qq.com/s/xh3kPq9LmN2aB7cD"],
    "wechat temp link": ["https://mp.weixin.qq.com/s?src=11&timestamp=1732900000&ver=5&signature=Ab12"],
    "wechat temp link 2": ["https://mp.weixin.qq.com/s?src=11&timestamp=1732900999&ver=5&signature=Zz99"],
    "youtube video": [
        "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
        "https://youtube.com/watch?v=dQw4w9WgXcQ&t=42s&feature=share",
        "https://m.youtube.com/watch?feature=youtu.be&v=dQw4w9WgXcQ",
        "https://youtu.be/dQw4w9WgXcQ?si=Ab12Cd34",
        "https://www.youtube.com/shorts/dQw4w9WgXcQ",
        "https://www.youtube.com/live/dQw4w9WgXcQ?si=x",
        "https://www.youtube.com/embed/dQw4w9WgXcQ",
        "https://music.youtube.com/watch?v=dQw4w9WgXcQ&list=RDAMVM",
    ],
    "youtube other video": ["https://www.youtube.com/watch?v=9bZkp7q19f0", "https://youtu.be/9bZkp7q19f0"],
    "youtube playlist": ["https://www.youtube.com/playlist?list=PLabc123"],
    "youtube other playlist": ["https://www.youtube.com/playlist?list=PLxyz789&si=q"],
    "bilibili video": [
        "https://www.bilibili.com/video/BV1GJ411x7h7",
        "https://www.bilibili.com/video/BV1GJ411x7h7/?spm_id_from=333.1007.tianma.1-1-1.click&vd_source=0a1b2c",
        "https://m.bilibili.com/video/BV1GJ411x7h7?share_source=copy_web&share_medium=iphone&t=30",
        "http://bilibili.com/video/BV1GJ411x7h7/",
        "https://www.bilibili.com/video/BV1GJ411x7h7?p=1",
    ],
    "bilibili video part 2": ["https://www.bilibili.com/video/BV1GJ411x7h7?p=2",
                              "https://www.bilibili.com/video/BV1GJ411x7h7/?p=2&vd_source=0a1b2c"],
    "bilibili other video": ["https://www.bilibili.com/video/BV1uT4y1P7CX"],
    "bilibili column": ["https://www.bilibili.com/read/cv28123456", ("https://www.bilibili.com/read/cv28123456/?from=search"
                        "&spm_id_from=333.337&share_source=weixin&unique_k=Ab1&bbid=XY")],
    "bilibili other column": ["https://www.bilibili.com/read/cv28123457"],
    "b23 short A": ["https://b23.tv/AbC12de", "https://b23.tv/AbC12de?share_medium=android&share_source=weixin"],
    "b23 short B": ["https://b23.tv/XyZ98wv"],
    "zhihu answer": ["https://www.zhihu.com/question/123456/answer/7890123",
                     "https://www.zhihu.com/answer/7890123?utm_psn=1788&utm_id=0",
                     "https://zhihu.com/question/123456/answer/7890123/"],
    "zhihu other answer": ["https://www.zhihu.com/question/123456/answer/7890124"],
    "zhihu question": ["https://www.zhihu.com/question/123456", "https://www.zhihu.com/question/123456?share_code=Ab"],
    "zhihu column article": ["https://zhuanlan.zhihu.com/p/667788990", "https://zhuanlan.zhihu.com/p/667788990?utm_id=0"],
    "weibo post": ["https://m.weibo.cn/status/4890123456789012", "https://m.weibo.cn/detail/4890123456789012?wm=3333_2001",
                   "https://weibo.cn/status/4890123456789012"],
    "weibo post in two spellings": ["https://m.weibo.cn/status/3501756485200075", "https://m.weibo.cn/status/z0JH2lOMb",
                                    "https://weibo.com/1642634100/z0JH2lOMb?refer_flag=1001030103_"],
    "weibo follow page": ["https://weibo.com/1642634100/follow"],
    "weibo other user follow page": ["https://weibo.com/1642634101/follow"],
    "weibo other post": ["https://m.weibo.cn/status/4890123456789013"],
    "weibo.com post": ["https://weibo.com/1642634100/Ob1cDeFgH", ("https://weibo.com/1642634100/Ob1cDeFgH?refer_flag=1001030103_"
                       "&type=comment")],
    "weibo.com other post": ["https://weibo.com/1642634100/Ob1cDeFgI"],
    "weibo profile": ["https://weibo.com/u/1642634100", "https://weibo.com/u/1642634100?refer_flag=1005055013_&luicode=1"],
    "weibo profile hot only": ["https://weibo.com/u/1642634100?is_hot=1"],
    "weibo article": ["https://weibo.com/ttarticle/p/show?id=2309404890000000000001&luicode=10000011&lfid=1076"],
    "weibo other article": ["https://weibo.com/ttarticle/p/show?id=2309404890000000000002"],
    "toutiao article": ["https://www.toutiao.com/article/7301234567890123456/?log_from=1a2b&wid=1700",
                        "https://m.toutiao.com/a7301234567890123456/", "https://www.toutiao.com/group/7301234567890123456/",
                        "https://m.toutiao.com/i7301234567890123456/?tt_from=weixin&utm_campaign=client_share"],
    "toutiao micro post": ["https://www.toutiao.com/w/1780000000000000/?log_from=ab12&wid=1700",
                           "https://www.toutiao.com/w/1780000000000000/"],
    "toutiao other micro post": ["https://www.toutiao.com/w/1780000000000001/"],
    "csdn category": ["https://blog.csdn.net/qq_123/category_1234.html",
                      "https://blog.csdn.net/qq_123/category_1234.html?spm=1001.2014&ops_request_misc=x&request_id=9"],
    "juejin column": ["https://juejin.cn/column/7123456", "https://juejin.cn/column/7123456?searchId=20261130"],
    "juejin other column": ["https://juejin.cn/column/7123457"],
    "toutiao other": ["https://www.toutiao.com/article/7301234567890123457/"],
    "csdn post": ["https://blog.csdn.net/qq_123/article/details/134567890",
                  ("https://blog.csdn.net/qq_123/article/details/134567890?spm=1001.2014.3001.5501&ops_request_misc=%7B%7D"
                  "&request_id=170&biz_id=0&utm_medium=distribute.pc_search_result.none-task-blog-2"),
                  "https://qq_123.blog.csdn.net/article/details/134567890"],
    "csdn other post": ["https://blog.csdn.net/qq_123/article/details/134567891"],
    "36kr article": ["https://36kr.com/p/2512345678901234", "https://m.36kr.com/p/2512345678901234?channel=wechat"],
    "36kr newsflash": ["https://36kr.com/newsflashes/2512345678901299"],
    "sspai post": ["https://sspai.com/post/84567", "https://sspai.com/post/84567?utm_source=wechat_session&from=singlemessage"],
    "sspai other": ["https://sspai.com/post/84568"],
    "juejin post": ["https://juejin.cn/post/7301234567890123456", ("https://juejin.cn/post/7301234567890123456?searchId=2026"
                    "&from=search-suggest"), "https://juejin.im/post/7301234567890123456"],
    "juejin other": ["https://juejin.cn/post/7301234567890123457"],
    "infoq cn": ["https://www.infoq.cn/article/Ab1Cd2Ef3Gh4", "https://www.infoq.cn/article/Ab1Cd2Ef3Gh4?utm_source=rss&utm_medium=article"],
    "infoq cn (case)": ["https://www.infoq.cn/article/ab1Cd2Ef3Gh4"],
    "infoq com": ["https://www.infoq.com/news/2026/11/rust-borrow-checker/",
                  ("https://www.infoq.com/news/2026/11/rust-borrow-checker/?itm_source=infoq&itm_medium=popular_widget"
                  "&itm_campaign=popular_content_list&itm_content=&topicPageSponsorship=3b5")],
    "github repo": ["https://github.com/OpenAI/Whisper", "https://github.com/openai/whisper/",
                    "https://github.com/openai/whisper?tab=readme-ov-file", "https://github.com/openai/whisper.git",
                    "http://www.github.com/openai/whisper#readme"],
    "github file": ["https://github.com/openai/whisper/blob/main/README.md"],
    "github file (case)": ["https://github.com/openai/whisper/blob/main/readme.md"],
    "github amp repo": ["https://github.com/google/amp"],
    "github index.html": ["https://github.com/o/site/blob/main/docs/index.html"],
    "github docs dir": ["https://github.com/o/site/blob/main/docs"],
    "hn story": ["https://news.ycombinator.com/item?id=41234567", "https://news.ycombinator.com/item?id=41234567&p=2",
                 "http://news.ycombinator.com/item?id=41234567"],
    "hn other story": ["https://news.ycombinator.com/item?id=41234568"],
    "arxiv paper": ["https://arxiv.org/abs/2401.12345", "https://arxiv.org/abs/2401.12345v2", "https://arxiv.org/pdf/2401.12345",
                    "https://arxiv.org/pdf/2401.12345v3.pdf", "http://export.arxiv.org/abs/2401.12345v1",
                    "https://www.arxiv.org/html/2401.12345v2", "https://arxiv.org/abs/2401.12345/"],
    "arxiv other paper": ["https://arxiv.org/abs/2401.12346v1"],
    "arxiv old-style id": ["https://arxiv.org/abs/cs/0112017v1", "https://arxiv.org/pdf/cs/0112017"],
    "medium post": ["https://medium.com/@jane/why-rust-is-fast-1a2b3c4d5e6f",
                    "https://jane.medium.com/why-rust-is-fast-1a2b3c4d5e6f?source=rss-abc------2",
                    "https://medium.com/p/1a2b3c4d5e6f", "https://medium.com/towards-data-science/why-rust-is-fast-1a2b3c4d5e6f?sk=ab"],
    "medium other post": ["https://medium.com/@jane/why-rust-is-fast-2-0f9e8d7c6b5a"],
    "substack post": ["https://simonw.substack.com/p/llms-in-2026", ("https://simonw.substack.com/p/llms-in-2026?r=2abc&s=w"
                      "&utm_campaign=post&utm_medium=web&triedRedirect=true"),
                      "https://open.substack.com/pub/simonw/p/llms-in-2026?utm_source=share"],
    "substack other post": ["https://simonw.substack.com/p/llms-in-2025"],
    "x status": ["https://x.com/karpathy/status/1861234567890123456", "https://twitter.com/karpathy/status/1861234567890123456?s=20",
                 "https://mobile.twitter.com/Karpathy/status/1861234567890123456", "https://x.com/i/web/status/1861234567890123456",
                 "https://x.com/karpathy/status/1861234567890123456/photo/1?t=Ab12&s=19",
                 "https://fxtwitter.com/karpathy/status/1861234567890123456"],
    "x other status": ["https://x.com/karpathy/status/1861234567890123457"],
    "x profile": ["https://x.com/karpathy", "https://twitter.com/Karpathy"],
    "percent encoding": ["https://example.cn/tag/%E5%A4%A7%E6%A8%A1%E5%9E%8B", "https://example.cn/tag/%e5%a4%a7%e6%a8%a1%e5%9e%8b",
                         "https://example.cn/tag/大模型"],
    "search with query": ["https://example.cn/search?q=llm&page=2", "https://example.cn/search?page=2&q=llm&utm_term=x"],
    "search other query": ["https://example.cn/search?q=rust&page=2"],
}


@pytest.mark.parametrize(
    "variant",
    [
        "https://news.example.com/2026/11/gpu-shortage",
        "http://news.example.com/2026/11/gpu-shortage",
        "https://news.example.com/2026/11/gpu-shortage/",
        "https://news.example.com/2026/11/gpu-shortage?utm_source=rss&utm_medium=feed",
        "https://NEWS.example.com:443/2026/11/gpu-shortage#comments",
        "https://m.news.example.com/2026/11/gpu-shortage?spm=a2c4g.11186623&fbclid=xyz",
        "https://news.example.com/amp/2026/11/gpu-shortage",
        "https://www.news.example.com/2026/11/gpu-shortage/index.html",
    ],
)
def test_variants_of_one_page_share_one_canonical_url(variant):
    assert canonical_url(variant) == "https://news.example.com/2026/11/gpu-shortage"


def test_meaningful_query_parameters_are_kept_and_sorted():
    assert canonical_url("https://ex.com/item?id=42&page=2&utm_campaign=x") == "https://ex.com/item?id=42&page=2"
    assert canonical_url("https://ex.com/item?page=2&id=42") == canonical_url("https://ex.com/item?id=42&page=2")


def test_distinct_pages_stay_distinct():
    assert canonical_url("https://ex.com/a") != canonical_url("https://ex.com/b")
    assert canonical_url("https://ex.com/item?id=1") != canonical_url("https://ex.com/item?id=2")


@pytest.mark.parametrize("bad", ["javascript:alert(1)", "file:///etc/passwd", "data:text/html,hi", "ftp://x.com/a", ""])
def test_non_web_urls_are_refused(bad):
    with pytest.raises(ValueError):
        canonical_url(bad)
    assert absolutize(bad, "https://ex.com/feed") is None


def test_relative_and_protocol_relative_links_resolve_against_the_final_url():
    assert absolutize("/posts/1", "https://blog.ex.com/feed.xml") == "https://blog.ex.com/posts/1"
    assert absolutize("//cdn.ex.com/a", "https://blog.ex.com/feed.xml") == "https://cdn.ex.com/a"


def test_clean_link_drops_tracking_but_keeps_scheme():
    assert clean_link("http://ex.com/a?utm_source=x&id=3#top") == "http://ex.com/a?id=3"


def test_redact_hides_credentials_and_query():
    shown = redact("https://user:hunter2@ex.com/path?token=abc")
    assert "hunter2" not in shown and "abc" not in shown and "ex.com/path" in shown


def _merge_report() -> tuple[list[str], list[str], int]:
    """(wrong merges, missed merges, URL shapes): every pair inside a group must share a key, across must not."""
    keys = {name: [canonical_url(u) for u in urls] for name, urls in GROUPS.items()}
    missed = [f"{name}: {GROUPS[name][0]} -> {ks[0]} but {u} -> {k}"
              for name, ks in keys.items() for u, k in zip(GROUPS[name], ks, strict=True) if k != ks[0]]
    owner: dict[str, str] = {}
    wrong = []
    for name, ks in keys.items():
        for k in set(ks):
            if k in owner and owner[k] != name:
                wrong.append(f"{owner[k]} and {name} both -> {k}")
            owner.setdefault(k, name)
    return wrong, missed, sum(len(u) for u in GROUPS.values())


def test_the_url_table_has_no_wrong_merge_and_no_missed_merge():
    wrong, missed, shapes = _merge_report()
    assert shapes >= 60 and len(GROUPS) >= 40
    assert wrong == [] and missed == []


@pytest.mark.parametrize("name", sorted(GROUPS))
def test_each_documents_variants_share_one_key(name):
    assert len({canonical_url(u) for u in GROUPS[name]}) == 1


@pytest.mark.parametrize("a,b", [
    ("aitnt 5046", "aitnt 5102"), ("query id 1", "query id 2"), ("wordpress p=10", "wordpress p=11"),
    ("article_id 7", "article_id 8"), ("wechat long 1", "wechat long other sn"), ("wechat long 1", "wechat long other mid"),
    ("wechat long 1", "wechat long second article"), ("wechat temp link", "wechat temp link 2"),
    ("bilibili video", "bilibili video part 2"), ("arxiv paper", "arxiv other paper"),
])
def test_the_issues_cases_stay_apart(a, b):
    assert {canonical_url(u) for u in GROUPS[a]}.isdisjoint(canonical_url(u) for u in GROUPS[b])


def test_identity_keys_are_what_is_left_of_a_wechat_long_link():
    key = canonical_url(GROUPS["wechat long 1"][1])
    assert key == "https://mp.weixin.qq.com/s?__biz=MzA5MTIxNTY4MQ%3D%3D&idx=1&mid=2461139000&sn=3f1c0a9b8d7e6f5a"


def test_unknown_keys_are_kept_only_known_tracking_goes():
    # Keys courlan's strict mode dropped (newId, sn, cid …) are part of the key; tracking keys are not.
    key = canonical_url("https://ex.cn/a?newId=5&cid=3&uid=9&zz=1&utm_source=x&share_token=t&sharer_shareid=s")
    assert key == "https://ex.cn/a?cid=3&newId=5&uid=9&zz=1"


def test_every_host_rule_is_exercised_by_the_table():
    """A rule no shape reaches is a rule nobody checked: the table must grow with the rules."""
    used = {id(rule_for(u)) for urls in GROUPS.values() for u in urls}
    assert [r for r in RULES if id(r) not in used] == []


def test_a_watch_entrys_anchor_is_kept_but_never_a_wechat_redirect_marker():
    assert canonical_url("https://notes.ex.com/ai#2026-11-30", keep_fragment=True) == "https://notes.ex.com/ai#2026-11-30"
    assert canonical_url("https://notes.ex.com/ai#:~:text=hi", keep_fragment=True) == "https://notes.ex.com/ai"
    wechat = GROUPS["wechat long 1"]
    assert canonical_url(wechat[1], keep_fragment=True) == canonical_url(wechat[0], keep_fragment=True)


def test_lint_and_drafts_see_the_same_tracking_list():
    url = "https://www.bilibili.com/video/BV1GJ411x7h7/?p=2&spm_id_from=333&vd_source=ab&t=30"
    assert tracking_keys(url) == ["spm_id_from", "vd_source"]
    assert clean_link(url) == "https://www.bilibili.com/video/BV1GJ411x7h7/?p=2&t=30"
    assert clean_link("https://youtu.be/dQw4w9WgXcQ?si=abc&t=42") == "https://youtu.be/dQw4w9WgXcQ?t=42"


def test_a_loopback_ipv6_key_is_still_a_url():
    assert canonical_url("http://[::1]:8080/a/?x=1&utm_source=t") == "https://[::1]:8080/a?x=1"
    assert canonical_url("http://[::1]:8080/a") != canonical_url("http://[::1]:8081/a")


def _eval_set_urls() -> list[str]:
    import json

    from tests.conftest import SHARED_DATA

    root = SHARED_DATA / "extraction"
    if not root.is_dir():
        pytest.skip(f"shared/data/extraction not found beside the repo: {root}")
    urls = [v["url"] for s in ("article", "forum")
            for v in json.loads((root / "magic-html" / s / "base.json").read_text()).values()]
    urls += [v["url"] for v in json.loads((root / "scrapinghub-aeb" / "ground-truth.json").read_text()).values()]
    urls += [json.loads(f.read_text()).get("url") or "" for f in sorted((root / "wcxb-dev" / "ground-truth").glob("*.json"))]
    return sorted({u.strip() for u in urls if u.startswith("http")})


def test_real_pages_of_the_eval_sets_share_a_key_only_when_they_are_one_page():
    """~1,900 URLs of real, distinct pages (WeChat, CSDN, Zhihu, forums, news): none merge with another.

    Courlan's strict mode merged forum threads (`viewtopic.php?t=…`, `forum.php?…&tid=…`) and news
    (`news_view.html?idx=…`); the only shared keys left are one page spelled twice (slash, anchor)."""
    from collections import defaultdict
    from urllib.parse import urlsplit, urlunsplit

    urls = _eval_set_urls()
    by_key = defaultdict(set)
    for url in urls:
        by_key[canonical_url(url)].add(url)
    spelled_twice = [u for u in by_key.values() if len(u) > 1]
    assert len(urls) > 1500

    def bare(u: str) -> str:
        p = urlsplit(u)
        return urlunsplit((p.scheme, p.netloc, p.path.rstrip("/"), p.query, ""))

    assert [sorted(u) for u in spelled_twice if len({bare(x) for x in u}) > 1] == []


def test_curator_add_of_a_second_wechat_article_is_a_new_item(workspace):
    from typer.testing import CliRunner

    from curator.cli import app

    def add(url):
        return CliRunner().invoke(app, ["add", url, "--home", str(workspace), "--no-process"]).output

    first, second, repeat = GROUPS["wechat long 1"][0], GROUPS["wechat long other sn"][0], GROUPS["wechat long 1"][2]
    assert "added: item 1" in add(first)
    assert "added: item 2" in add(second)  # the old keys answered "already known: item 1"
    assert "already known: item 1" in add(repeat)  # the same article shared with tracking keys
    assert "added: item 3" in add("https://www.aitnt.com/newDetail.html?newId=5102")
    assert "added: item 4" in add("https://www.aitnt.com/newDetail.html?newId=5046")
