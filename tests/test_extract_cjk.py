"""CJK extraction rules (curator/extract_cjk.py) on small pages built here: a thread without forum
markup keeps its replies; a portal article keeps its reader-comment block (网友跟帖) out; a short
article followed by a stream of other stories keeps the stream out."""

from __future__ import annotations

from curator.charset import decode_html
from curator.extract import extract_article, extract_text, page_kind, prepared_tree
from curator.extract_cjk import readable_text, thread_chars, thread_wins, tighter
from curator.models import Page
from curator.settings import ExtractSettings

URL = "https://bbs.example.cn/topic/1024"

FIRST_POST = (
    "各位好，我们团队最近在内网部署开源大模型做代码补全，显卡是两张二十四显存的卡，"
    "用量化后的权重推理速度还可以，但是长上下文的时候显存经常不够，请问大家都是怎么做的？"
    "我们试过把上下文切成几段分别处理，效果不太理想，补全经常前后不一致，想听听有经验的朋友的建议。"
)
REPLIES = [
    "可以试试分页注意力的推理框架，显存利用率高很多，我们两张卡跑三十二千上下文没有问题。",
    "长上下文建议先做检索再补全，只把相关的文件片段放进提示词，速度和效果都会好一些。",
    "量化到四比特以后再开键值缓存量化，我们实测显存省了将近一半，补全质量基本没有下降。",
    "同问，我们也遇到了类似的问题，楼上说的分页注意力方案我们下周试一下，到时候来反馈结果。",
]


def _post(user: str, stamp: str, body: str) -> str:
    # class words of reader comments (comment-item), none of forum software's post/reply markup
    return (
        f'<div class="comment-item"><div class="meta"><a class="name" href="/u/{user}">{user}</a>'
        f'<span class="date">{stamp}</span></div><div class="content"><p>{body}</p></div></div>'
    )


def thread_page(replies: list[str] = REPLIES) -> str:
    posts = [_post("楼主小王", "2024-05-01 09:12", FIRST_POST)]
    posts += [_post(f"网友{i}", f"2024-05-01 1{i}:3{i}", r) for i, r in enumerate(replies)]
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>内网部署大模型做代码补全，显存不够怎么办</title>"
        "</head><body><div class='header'><a href='/'>首页</a><a href='/hot'>热门</a></div>"
        "<h1>内网部署大模型做代码补全，显存不够怎么办</h1>"
        f"<div class='comment-list'>{''.join(posts)}</div>"
        "<div class='footer'>关于我们 联系方式 京ICP备00000000号</div></body></html>"
    )


ARTICLE_PARAS = [
    (
        "新一代开源大模型在多项基准测试中取得了领先成绩，研究团队公开了训练数据的构成和评测方法，"
        "并说明了模型在长文本理解、代码生成和数学推理方面的改进。"
    ),
    (
        "研究团队表示，新模型采用了混合专家结构，推理时只激活一部分参数，因此在同样的硬件上"
        "可以处理更长的上下文，部署成本也比上一代模型低了不少。"
    ),
    (
        "多家云服务商当天宣布上线该模型的推理服务，开发者可以通过兼容的接口直接调用，"
        "部分厂商还提供了免费的试用额度，方便团队评估模型在自己业务上的效果。"
    ),
    (
        "业内人士认为，开源模型的能力正在快速接近闭源模型，这会改变企业选择模型的方式，"
        "越来越多的团队会考虑在自己的机房里部署模型，以满足数据合规的要求。"
    ),
]
COMMENTS = [
    "这个模型太厉害了，期待早日用上",
    "显卡又要涨价了吧",
    "国产模型加油，支持一下",
    "先收藏，回头再仔细看看",
    "评测方法靠谱吗，有没有第三方复现",
]


def portal_page() -> str:
    body = "".join(f"<p>{p}</p>" for p in ARTICLE_PARAS)
    # the reader comments use the thread page's very markup: only their place differs
    tie = "".join(_post(f"网友{i}", f"2024-05-0{i + 1} 08:1{i}", c) for i, c in enumerate(COMMENTS))
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>开源大模型发布</title></head><body>"
        "<h1>开源大模型发布</h1><div class='post_info'>2024-05-01 08:00 来源：示例网</div>"
        f"<div class='post_body'>{body}</div>"
        f"<div class='comment-list'><h3>网友跟帖</h3>{tie}</div>"
        "</body></html>"
    )


def test_thread_without_forum_markup_keeps_its_replies() -> None:
    html = thread_page()
    assert thread_chars(prepared_tree(html)) > 0  # the main text is one of the time-stamped posts
    assert page_kind(prepared_tree(html), html) == "cjk-discussion"
    text = extract_text(html, URL)
    assert FIRST_POST[:30] in text
    for reply in REPLIES:
        assert reply[:20] in text, reply
    assert "京ICP备" not in text


def test_portal_article_keeps_reader_comments_out() -> None:
    html = portal_page()
    assert thread_chars(prepared_tree(html)) == 0  # the comments are beside the article, not it
    assert page_kind(prepared_tree(html), html) == "cjk"
    text = extract_text(html, "https://news.example.cn/a/1.html")
    for para in ARTICLE_PARAS:
        assert para[:20] in text
    assert "网友跟帖" not in text
    for comment in COMMENTS:
        assert comment not in text


def test_gbk_thread_through_collect_path_keeps_replies() -> None:
    # collect's path: bytes without a charset header → decode → extract_article
    raw = thread_page().replace("charset='utf-8'", "charset='gbk'").encode("gbk")
    html, encoding = decode_html(raw, None)
    assert encoding.lower().replace("-", "") in {"gbk", "gb18030", "gb2312"}
    page = Page(url=URL, final_url=URL, status=200, text=html, encoding=encoding)
    article = extract_article(page, ExtractSettings())
    assert article.lang == "zh"
    assert all(reply[:20] in article.text for reply in REPLIES)


def test_two_time_stamped_blocks_are_not_a_thread() -> None:
    # a post and one answer below it: fewer than THREAD_MIN_POSTS blocks of one shape
    assert thread_chars(prepared_tree(thread_page(REPLIES[:1]))) == 0
    assert thread_chars(prepared_tree(thread_page(REPLIES[:2]))) > 0


def test_resiliparse_replaces_a_measured_thread_only_when_trafilatura_missed_its_posts() -> None:
    posts, gain = 1000, 1.5
    kept, missed, thread = "帖" * 600, "帖" * 300, "帖" * 950
    # trafilatura kept most of the posts: its text stays, though resiliparse's is 1.5 times longer
    assert not thread_wins(kept, thread, posts, gain)
    assert thread_wins(missed, thread, posts, gain)
    assert not thread_wins(missed, "帖" * 200, posts, gain)  # never for a shorter text
    # posts not measured (thread markup only): the length ratio decides, as before
    assert thread_wins(kept, thread, 0, gain)
    assert not thread_wins(kept, "帖" * 800, 0, gain)
    # on a CJK page resiliparse's text must be longer still (it keeps more chrome there)
    assert not thread_wins(kept, "帖" * 1000, 0, gain, cjk=True)
    assert thread_wins(kept, "帖" * 1200, 0, gain, cjk=True)


def test_legal_footer_lines_inside_the_article_container_are_dropped() -> None:
    body = "".join(f"<p>{p}</p>" for p in ARTICLE_PARAS)
    mention = "<p>记者注意到，该模型的许可证规定，使用者须保留版权所有声明并注明来源，商业使用另需授权。</p>"
    legal = (
        "<p>Copyright © 2000 - 2024 NEWS.EXAMPLE.CN All Rights Reserved.</p>"
        "<p>制作单位：示例网河北分公司 版权所有：示例网股份有限公司</p><p>京ICP备00000000号-1</p>"
    )
    html = (
        "<!doctype html><html><head><meta charset='utf-8'><title>开源大模型发布</title></head><body>"
        f"<h1>开源大模型发布</h1><div class='detail'>{mention}{body}{legal}</div></body></html>"
    )
    text = extract_text(html, "https://news.example.cn/a/1.html")
    assert all(p[:20] in text for p in ARTICLE_PARAS)
    assert "须保留版权所有声明" in text  # a paragraph of the article that mentions copyright stays
    for line in ("All Rights Reserved", "制作单位", "ICP备"):
        assert line not in text


STREAM = [
    f"第{i}条：{place}今天发生了一起引人关注的{what}，当地有关部门已经介入调查，具体情况仍在进一步核实，"
    f"本网记者将持续跟进报道事件的最新进展，请读者留意{place}发布的官方通报。据现场目击者介绍，"
    f"事发时周围有不少市民，{what}发生后救援人员很快赶到，目前现场秩序已经基本恢复正常，交通也已恢复。"
    for i, (place, what) in enumerate(
        [("北京", "交通事故"), ("上海", "火灾"), ("广州", "暴雨内涝"), ("深圳", "停电事件"),
         ("杭州", "食品安全事件"), ("成都", "山体滑坡"), ("武汉", "管道爆裂"), ("西安", "文物盗窃案")]
    )
]  # fmt: skip


def stream_page() -> str:
    # a short article, then the site's endless stream of other stories: no class/id says "related"
    body = "".join(f"<p>{p}</p>" for p in ARTICLE_PARAS[:2])
    feed = "".join(
        f"<div class='item'><h3><a href='/n/{i}'>第{i}条新闻</a></h3><p>{s}</p></div>" for i, s in enumerate(STREAM)
    )
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>开源大模型发布</title></head><body>"
        f"<div class='wrap'><h1>开源大模型发布</h1><div class='body'>{body}</div>{feed}</div></body></html>"
    )


def test_short_article_keeps_the_story_stream_after_it_out() -> None:
    html = stream_page()
    assert page_kind(prepared_tree(html), html) == "cjk"
    text = extract_text(html, "https://news.example.cn/a/1.html")
    assert all(p[:20] in text for p in ARTICLE_PARAS[:2])
    for story in STREAM:
        assert story[:12] not in text
    # readability's block is the article, one line per paragraph
    assert readable_text(prepared_tree(html)).split("\n")[-2:] == ARTICLE_PARAS[:2]


def test_readability_block_replaces_the_text_only_when_it_is_inside_it_and_shorter() -> None:
    article = "\n".join(ARTICLE_PARAS)
    with_stream = article + "\n" + "\n".join(STREAM)
    assert tighter(with_stream, article, 120)
    assert not tighter(article, article, 120)  # the same text: nothing to trim
    assert not tighter(with_stream, article, len(article) + 1)  # under the length collect needs
    # readability picked another block (a teaser list, a sidebar): not inside the text, it loses
    assert not tighter(article + "\n" + STREAM[0], "\n".join(STREAM[1:]), 120)
    assert not tighter(with_stream, ARTICLE_PARAS[0] + "\n" + COMMENTS[0] * 10, 40)
