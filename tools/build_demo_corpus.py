"""Build the demo corpus: `src/*.txt` (article texts) -> `sites/<host>/...` (pages, feeds) + `manifest.json`.

    python tools/build_demo_corpus.py      # rewrites curator/demo/corpus/{sites/,manifest.json,sources.toml}

The generated files are what ships (deterministic); this script stays in the repository, out of the wheel,
so the corpus can be changed and rebuilt.
All article texts, organisations, people and numbers are fictional, written for this corpus.

Source format (one file per host, `src/<host>.txt`): articles separated by lines `@@@ <slug>`, then
`key: value` header lines up to a line `---`, then the body: paragraphs separated by blank lines,
`## ` starts a subheading, `> ` a block quote, lines starting `- ` a bullet list.
"""

from __future__ import annotations

import html
import json
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

HERE = Path(__file__).resolve().parents[1] / "curator" / "demo" / "corpus"  # the corpus it writes
SRC = HERE / "src"
SITES = HERE / "sites"

CST = timezone(timedelta(hours=8))


@dataclass
class Art:
    host: str
    slug: str
    title: str
    date: datetime
    author: str
    section: str
    tags: list[str]
    summary: str
    body: str
    lang: str
    flags: list[str] = field(default_factory=list)
    num: int = 0

    @property
    def path(self) -> str:  # URL path as the site itself links it
        return SITE[self.host]["url"](self)

    @property
    def file(self) -> str:  # file under sites/<host>/
        return SITE[self.host]["file"](self)

    @property
    def scheme(self) -> str:
        return SITE[self.host]["scheme"]

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}{self.path}"


def _news_url(a: Art) -> str:
    return f"/tech/{a.date:%Y-%m-%d}/{a.slug}.html"


def _weekly_url(a: Art) -> str:
    return f"/p/{a.slug}/"


def _gbk_url(a: Art) -> str:
    return f"/tech/{a.date:%Y/%m%d}/{a.num}.html"


def _blog_url(a: Art) -> str:
    return f"/{a.date:%Y/%m}/{a.slug}"


def _devnotes_url(a: Art) -> str:
    return f"/notes/{a.slug}.html"


SITE: dict[str, dict] = {
    "news.demo.test": {
        "lang": "zh",
        "scheme": "https",
        "url": _news_url,
        "file": lambda a: _news_url(a).lstrip("/"),
        "name": "演示科技网",
    },
    "weekly-cn.demo.test": {
        "lang": "zh",
        "scheme": "http",
        "url": _weekly_url,
        "file": lambda a: f"p/{a.slug}/index.html",
        "name": "码农周刊社区",
    },
    "gbk-portal.demo.test": {
        "lang": "zh",
        "scheme": "http",
        "url": _gbk_url,
        "file": lambda a: _gbk_url(a).lstrip("/"),
        "name": "华信门户科技频道",
    },
    "blog.demo.test": {
        "lang": "en",
        "scheme": "https",
        "url": _blog_url,
        "file": lambda a: _blog_url(a).lstrip("/") + ".html",
        "name": "Northwind Engineering Blog",
    },
    "devnotes.demo.test": {
        "lang": "en",
        "scheme": "http",
        "url": _devnotes_url,
        "file": lambda a: _devnotes_url(a).lstrip("/"),
        "name": "devnotes",
    },
}


# ---------------------------------------------------------------------------------------------- parse


def parse(host: str) -> list[Art]:
    text = (SRC / f"{host}.txt").read_text(encoding="utf-8")
    arts = []
    for n, chunk in enumerate(("\n" + text).split("\n@@@ ")[1:]):
        slug, rest = chunk.split("\n", 1)
        head, body = rest.split("\n---\n", 1)
        meta = {}
        for line in head.strip().splitlines():
            k, _, v = line.partition(":")
            meta[k.strip()] = v.strip()
        tz = CST if SITE[host]["lang"] == "zh" else UTC
        arts.append(
            Art(
                host=host,
                slug=slug.strip(),
                title=meta["title"],
                date=datetime.strptime(meta["date"], "%Y-%m-%d %H:%M").replace(tzinfo=tz),
                author=meta.get("author", ""),
                section=meta["section"],
                tags=[t.strip() for t in meta.get("tags", "").split(",") if t.strip()],
                summary=meta["summary"],
                body=body.strip(),
                lang=SITE[host]["lang"],
                flags=[f.strip() for f in meta.get("flags", "").split(",") if f.strip()],
                num=int(meta.get("num", 0) or 0) or (880100 + 37 * n),
            )
        )
    return arts


def body_html(body: str, *, ad_after: int | None = None, ad_html: str = "", p_attr: str = "") -> str:
    out = []
    blocks = [b.strip() for b in body.split("\n\n") if b.strip()]
    for i, b in enumerate(blocks):
        if b.startswith("## "):
            out.append(f"<h2>{html.escape(b[3:])}</h2>")
        elif b.startswith("> "):
            inner = " ".join(line.removeprefix("> ").strip() for line in b.splitlines())
            out.append(f"<blockquote><p>{html.escape(inner)}</p></blockquote>")
        elif b.startswith("- "):
            items = "".join(f"<li>{html.escape(line[2:].strip())}</li>" for line in b.splitlines())
            out.append(f"<ul>{items}</ul>")
        else:
            out.append(f"<p{p_attr}>{html.escape(' '.join(b.splitlines()))}</p>")
        if ad_after is not None and i == ad_after:
            out.append(ad_html)
    return "\n".join(out)


def e(s: str) -> str:
    return html.escape(s, quote=True)


def related(arts: list[Art], a: Art, k: int = 5) -> list[Art]:
    others = [x for x in arts if x is not a]
    i = arts.index(a)
    return [others[(i + j) % len(others)] for j in range(k)]


# ------------------------------------------------------------------------------------------ templates

HOT_ZH = [
    "双十一手机销量榜出炉",
    "某地推出算力券新政",
    "新能源车冬季续航实测",
    "国产游戏出海收入创新高",
    "大模型价格战再升级",
    "年终奖调查：程序员平均拿几个月",
    "卫星互联网终端开售",
    "智能眼镜还能火多久",
    "高校计算机专业扩招",
    "二手显卡价格回落",
]

NEWS_CSS = """body{margin:0;font:14px/1.7 "PingFang SC","Microsoft YaHei",sans-serif;color:#222}
.topbar{background:#f5f5f5;font-size:12px}.nav a{margin:0 8px}.wrap{width:1200px;margin:0 auto;display:flex}
.main-col{flex:1}.side-col{width:300px}.ad{background:#fafafa;border:1px dashed #ccc;text-align:center}"""


def page_news(a: Art, arts: list[Art]) -> str:
    rel = "".join(
        f'<li><a href="{e(r.path)}">{e(r.title)}</a><span class="t">{r.date:%m-%d}</span></li>'
        for r in related(arts, a)
    )
    hot = "".join(
        f'<li><em>{i + 1}</em><a href="/search?q={e(h)}">{e(h)}</a></li>' for i, h in enumerate(HOT_ZH)
    )
    tags = "".join(f'<a href="/tag/{e(t)}">{e(t)}</a>' for t in a.tags)
    ad_inline = (
        '<div class="ad ad-inline"><a href="https://ads.demo.test/c?id=8812">【广告】年底云服务器 2 核 4G 仅需 99 元/年，'
        "新用户再送代金券，立即抢购 &gt;&gt;</a></div>"
    )
    return f"""<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<title>{e(a.title)}_科技频道_{SITE[a.host]["name"]}</title>
<meta name="description" content="{e(a.summary)}">
<meta name="keywords" content="{e(",".join(a.tags))}">
<meta property="og:title" content="{e(a.title)}">
<meta property="og:type" content="article">
<meta property="og:site_name" content="{SITE[a.host]["name"]}">
<meta property="article:published_time" content="{a.date.isoformat()}">
<link rel="canonical" href="{e(a.url)}">
<style>{NEWS_CSS}</style>
</head>
<body>
<div id="cookie-banner" class="cookie-banner">本网站使用 Cookie 以提升您的浏览体验。继续浏览即表示您同意我们的《隐私政策》和《Cookie 政策》。<button>同意并关闭</button></div>
<div class="topbar"><div class="w">欢迎来到{SITE[a.host]["name"]}！ <a href="/login">登录</a> | <a href="/reg">注册</a> | <a href="/app">下载客户端</a> | <a href="/m">手机版</a></div></div>
<div class="header"><div class="logo"><a href="/">{SITE[a.host]["name"]}</a></div>
<div class="nav"><a href="/">首页</a><a href="/tech/">科技</a><a href="/ai/">人工智能</a><a href="/chip/">芯片</a><a href="/mobile/">手机</a><a href="/auto/">汽车</a><a href="/finance/">财经</a><a href="/video/">视频</a><a href="/live/">直播</a></div>
<div class="search"><form action="/search"><input name="q" placeholder="搜索感兴趣的内容"><button>搜索</button></form></div></div>
<div class="ad ad-banner"><a href="https://ads.demo.test/c?id=1001">【广告】年终大促 · 笔记本电脑满 5000 减 800，限时三天</a></div>
<div class="wrap">
<div class="main-col">
<div class="crumb"><a href="/">首页</a> &gt; <a href="/tech/">科技</a> &gt; <span>正文</span></div>
<div class="art-box">
<h1 class="art-title">{e(a.title)}</h1>
<div class="art-info"><span class="time">{a.date:%Y-%m-%d %H:%M}</span> <span class="source">来源：{SITE[a.host]["name"]}</span> <span class="author">作者：{e(a.author)}</span> <span class="read">阅读量：{3000 + a.num % 9000}</span></div>
<div class="share-bar">分享到：<a class="wx">微信</a><a class="wb">微博</a><a class="qz">QQ空间</a><a class="copy">复制链接</a></div>
<div class="art-content" id="artContent">
<div class="content-inner">
<div class="txt">
{body_html(a.body, ad_after=1, ad_html=ad_inline)}
</div>
</div>
</div>
<div class="editor">（责任编辑：{e(a.author)}）</div>
<div class="statement">声明：本文内容仅供参考，不构成任何投资建议。转载请注明出处。</div>
<div class="tags">标签：{tags}</div>
<div class="share-bar share-bottom">觉得不错？分享给朋友：<a>微信</a><a>微博</a><a>收藏</a><a>点赞 {a.num % 500}</a></div>
</div>
<div class="related"><h3>相关推荐</h3><ul>{rel}</ul></div>
<div class="comments"><h3>网友评论（{a.num % 97}）</h3>
<div class="comment"><span class="user">科技爱好者2019</span><p>写得不错，但是感觉还是要等实际产品出来再看。</p><span class="time">1小时前</span></div>
<div class="comment"><span class="user">路过的码农</span><p>收藏了，回头细看。楼上说得对。</p><span class="time">2小时前</span></div>
<div class="comment-form"><textarea placeholder="文明上网，理性发言"></textarea><button>发表评论</button></div>
</div>
</div>
<div class="side-col">
<div class="hot"><h3>热搜榜</h3><ol>{hot}</ol></div>
<div class="ad ad-side"><a href="https://ads.demo.test/c?id=2002">【广告】AI 绘画课程 7 天入门，扫码领取资料包</a></div>
<div class="tag-cloud"><h3>热门标签</h3><a>大模型</a> <a>芯片</a> <a>开源</a> <a>手机</a> <a>新能源</a> <a>算力</a> <a>机器人</a> <a>鸿蒙</a> <a>卫星互联网</a></div>
</div>
</div>
<div class="footer"><a href="/about">关于我们</a> | <a href="/contact">联系我们</a> | <a href="/ads">广告服务</a> | <a href="/jobs">招聘信息</a> | <a href="/privacy">隐私政策</a><br>
Copyright © 2026 {SITE[a.host]["name"]} 版权所有 · 演ICP备00000000号-1 · 违法和不良信息举报电话：000-00000000</div>
</body>
</html>
"""


def page_weekly(a: Art, arts: list[Art]) -> str:
    rel = "".join(f'<li><a href="{e(r.path)}">{e(r.title)}</a></li>' for r in related(arts, a, 4))
    tags = " ".join(f'<a class="tag" href="/tags/{e(t)}/">#{e(t)}</a>' for t in a.tags)
    first = a.body.split("\n\n", 1)[0].strip()
    desc = first if "chatter-meta" in a.flags else a.summary
    return f"""<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{e(a.title)} - {SITE[a.host]["name"]}</title>
<meta name="description" content="{e(desc)}">
<meta name="author" content="{e(a.author)}">
<meta property="og:title" content="{e(a.title)}">
<meta property="og:description" content="{e(desc)}">
<link rel="alternate" type="application/rss+xml" title="RSS" href="/rss.xml">
<link rel="stylesheet" href="/static/site.css">
</head>
<body>
<header class="site-header"><a class="brand" href="/">{SITE[a.host]["name"]}</a>
<nav><a href="/">首页</a> <a href="/weekly/">周刊</a> <a href="/topics/">话题</a> <a href="/jobs/">招聘</a> <a href="/about/">关于</a> <a href="/login/">登录</a></nav></header>
<div class="cookie-consent" role="dialog">我们使用 Cookie 来统计访问量。<a href="/privacy/">了解更多</a> <button>知道了</button></div>
<main class="container">
<article class="post">
<header class="post-header">
<h1 class="post-title">{e(a.title)}</h1>
<div class="post-meta">由 <a class="author" href="/u/{e(a.author)}/">{e(a.author)}</a> 发布于 <time datetime="{a.date.isoformat()}">{a.date:%Y年%m月%d日 %H:%M}</time> · 阅读 {1200 + a.num % 4000} · 评论 {a.num % 40}</div>
</header>
<div class="post-body markdown-body">
{body_html(a.body)}
</div>
<footer class="post-footer">
<div class="post-tags">{tags}</div>
<div class="share">分享：<a>微信</a> <a>微博</a> <a>Twitter</a> <a>复制链接</a></div>
<div class="sponsor ad">本文由「云端开发者大会」赞助 · 12 月 6 日上海，早鸟票 8 折</div>
</footer>
</article>
<section class="related-posts"><h2>相关推荐</h2><ul>{rel}</ul></section>
<section class="comments" id="comments"><h2>评论</h2>
<div class="comment"><b>匿名用户</b><p>有没有人实际跑过？求个 benchmark。</p></div>
<div class="comment"><b>小明同学</b><p>感谢整理，周刊越来越好了。</p></div>
<form class="comment-form"><textarea placeholder="登录后参与讨论"></textarea></form>
</section>
</main>
<aside class="sidebar">
<div class="widget"><h3>本周热门</h3><ol><li>如何优雅地写周报</li><li>我用 30 天重写了公司的构建系统</li><li>面试官：说说你对大模型的理解</li><li>开源维护者的一天</li></ol></div>
<div class="widget tag-cloud"><h3>标签云</h3><a>AI</a> <a>Rust</a> <a>Python</a> <a>前端</a> <a>开源</a> <a>数据库</a> <a>云原生</a> <a>芯片</a> <a>论文</a> <a>安全</a></div>
<div class="widget ad"><a href="https://ads.demo.test/c?id=3003">广告：三个月转行数据分析，包就业</a></div>
<div class="widget"><h3>订阅周刊</h3><form><input placeholder="邮箱地址"><button>订阅</button></form></div>
</aside>
<footer class="site-footer">© 2026 {SITE[a.host]["name"]} · 内容采用 CC BY-NC-SA 4.0 许可 · <a href="/rss.xml">RSS</a> · <a href="/about/">联系我们</a></footer>
</body>
</html>
"""


GBK_HEAD_CSS = """
/* portal base styles v3.2.7 -- generated, do not edit */
html,body,div,span,table,tr,td,th,ul,ol,li,dl,dt,dd,h1,h2,h3,h4,p,form,input,img{margin:0;padding:0;border:0}
body{font-size:12px;font-family:"SimSun",serif;color:#333;background:#fff}
a{color:#1f3a93;text-decoration:none}a:hover{color:#c00;text-decoration:underline}
.w1000{width:1000px;margin:0 auto}.fl{float:left}.fr{float:right}.clear{clear:both;height:0;overflow:hidden}
#topnav{height:28px;line-height:28px;background:#f2f2f2;border-bottom:1px solid #ddd}
#topnav a{padding:0 6px;color:#555}
#logo{height:80px;background:url(/img/logo.gif) no-repeat 0 10px}
#mainnav{height:36px;line-height:36px;background:#0b5ea8}#mainnav a{color:#fff;font-size:14px;padding:0 12px}
#subnav{height:30px;line-height:30px;border-bottom:2px solid #0b5ea8}
.position{height:30px;line-height:30px;color:#666}
#endText{font-size:14px;line-height:26px;padding:10px 0}#endText p{text-indent:2em;margin:0 0 14px 0}
.ep-time-soure{color:#888;padding:6px 0;border-bottom:1px dotted #ccc}
.rank li{height:24px;line-height:24px;overflow:hidden}.rank em{display:inline-block;width:16px;color:#fff;background:#999}
.rank .top3 em{background:#c00}
.tieba{border:1px solid #e5e5e5;padding:8px;margin-top:12px}.tieba .reply{border-bottom:1px dashed #eee;padding:4px 0}
.links a{margin-right:10px}.copyright{color:#999;text-align:center;padding:16px 0;border-top:1px solid #ddd}
.adbox,.ad{margin:8px 0;text-align:center}.adbox img{display:block}
.sharebox a{display:inline-block;width:24px;height:24px;margin-right:4px;background:url(/img/share.png)}
.sharebox .s-wb{background-position:0 0}.sharebox .s-wx{background-position:-24px 0}.sharebox .s-qz{background-position:-48px 0}
.col-left{width:680px}.col-right{width:300px}
.hot-pic li{width:140px;height:120px;float:left;margin:0 5px 5px 0;overflow:hidden}
.hot-pic li img{width:140px;height:96px}.hot-pic li span{display:block;height:24px;line-height:24px}
.page-nav{text-align:center;padding:10px 0}.page-nav a{border:1px solid #ccc;padding:2px 6px;margin:0 2px}
""".strip()

GBK_HEAD_JS = """
var _portal = window._portal || {};
_portal.channel = "tech"; _portal.template = "article_v3"; _portal.version = "3.2.7";
_portal.ads = [{slot: "top_banner", w: 1000, h: 90}, {slot: "right_1", w: 300, h: 250}, {slot: "in_text", w: 640, h: 60}];
(function () {
  var cookieName = "portal_uid", uid = null, m = document.cookie.match(new RegExp("(^| )" + cookieName + "=([^;]*)"));
  if (m) { uid = m[2]; } else { uid = String(Math.random()).slice(2, 12); document.cookie = cookieName + "=" + uid + "; path=/"; }
  _portal.uid = uid;
  function track(evt, data) { var img = new Image(); img.src = "/stat/t.gif?e=" + evt + "&u=" + uid + "&r=" + Math.random(); }
  window.addEventListener && window.addEventListener("load", function () { track("pv", {}); });
  _portal.track = track;
})();
function fontZoom(size) { var el = document.getElementById("endText"); if (el) { el.style.fontSize = size + "px"; } }
function copyLink() { try { navigator.clipboard.writeText(location.href); } catch (e) { /* old browsers */ } }
""".strip()


def page_gbk(a: Art, arts: list[Art]) -> str:
    rank = "".join(
        f'<li{" class=top3" if i < 3 else ""}><em>{i + 1}</em><a href="{e(r.path)}">{e(r.title)}</a></li>'
        for i, r in enumerate(related(arts, a, 6))
    )
    return f"""<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml">
<head>
<style type="text/css">
{GBK_HEAD_CSS}
</style>
<script type="text/javascript">
{GBK_HEAD_JS}
</script>
<meta http-equiv="Content-Type" content="text/html; charset=gbk" />
<title>{e(a.title)}_科技频道_{SITE[a.host]["name"].removesuffix("科技频道")}</title>
<meta name="keywords" content="{e(",".join(a.tags))}" />
<meta name="description" content="{e(a.summary)}" />
</head>
<body>
<div id="topnav"><div class="w1000"><a href="/">首页</a>|<a href="/news/">新闻</a>|<a href="/tech/">科技</a>|<a href="/sports/">体育</a>|<a href="/ent/">娱乐</a>|<a href="/money/">财经</a>|<a href="/bbs/">论坛</a>|<a href="/blog/">博客</a>|<a href="/mail/">免费邮箱</a></div></div>
<div class="w1000"><div id="logo"></div>
<div id="mainnav"><a href="/tech/">科技首页</a><a href="/tech/it/">互联网</a><a href="/tech/telecom/">通信</a><a href="/tech/digi/">数码</a><a href="/tech/sci/">科学</a><a href="/tech/ai/">智能</a></div>
<div class="adbox"><a href="https://ads.demo.test/c?id=5005"><img src="/ad/banner_1000x90.gif" alt="【广告】买家电上商城，以旧换新补贴最高 2000 元" /></a></div>
<table class="layout" width="1000" cellpadding="0" cellspacing="0" border="0"><tr>
<td class="col-left" valign="top">
<div class="position">您现在的位置：<a href="/">首页</a> &gt; <a href="/tech/">科技</a> &gt; 正文</div>
<h1 id="h1title">{e(a.title)}</h1>
<div class="ep-time-soure">{a.date:%Y-%m-%d %H:%M:%S}　来源：{SITE[a.host]["name"]}　作者：{e(a.author)}　<a href="#tieba">参与评论</a>　<a href="javascript:fontZoom(16)">大</a> <a href="javascript:fontZoom(14)">中</a> <a href="javascript:fontZoom(12)">小</a></div>
<div class="sharebox">分享到：<a class="s-wb" title="微博"></a><a class="s-wx" title="微信"></a><a class="s-qz" title="QQ空间"></a></div>
<!-- 正文开始 -->
<div id="endText">
<div class="inner">
{body_html(a.body, ad_after=2, ad_html='<div class="ad"><a href="https://ads.demo.test/c?id=5006">【推广】炒股软件免费领 Level-2 行情</a></div>')}
</div>
<p class="ep-editor">（本文来源：{SITE[a.host]["name"]}　责任编辑：{e(a.author)}）</p>
</div>
<!-- 正文结束 -->
<div class="page-nav"><a href="/tech/">返回科技首页</a><a href="javascript:copyLink()">复制本文链接</a><a href="javascript:window.print()">打印</a></div>
<div class="tieba" id="tieba"><h3>网友跟帖（{a.num % 300}条）</h3>
<div class="reply"><span>华信网友 [北京市] ：</span>国产加油，希望早日追上国际水平。</div>
<div class="reply"><span>华信网友 [广东省深圳市] ：</span>标题党，内容和标题关系不大。</div>
<div class="reply"><span>华信网友 [浙江省杭州市] ：</span>顶一下。</div>
<p>跟帖须遵守法律法规，文明发言。</p></div>
</td>
<td class="col-right" valign="top">
<div class="rank"><h3>科技频道 24 小时点击排行</h3><ul>{rank}</ul></div>
<div class="ad"><a href="https://ads.demo.test/c?id=5007"><img src="/ad/300x250.gif" alt="【广告】网游新区今日开服" /></a></div>
<div class="hotwords"><h3>热点专题</h3><a href="/special/5g/">5G 商用五周年</a> <a href="/special/chip/">芯片突围</a> <a href="/special/ai/">AI 大模型观察</a> <a href="/special/cars/">智能汽车</a></div>
</td></tr></table>
<div class="links">友情链接：<a href="/">华信新闻</a><a href="/">华信财经</a><a href="/">华信汽车</a><a href="/">华信游戏</a><a href="/">华信房产</a></div>
<div class="copyright">关于华信 - 广告服务 - 联系我们 - 招聘信息 - 网站地图<br />华信门户 版权所有 Copyright &copy; 1999-2026 演ICP证000000号</div>
</div>
</body>
</html>
"""


def page_blog(a: Art, arts: list[Art]) -> str:
    rel = "".join(f'<li><a href="{e(r.path)}">{e(r.title)}</a></li>' for r in related(arts, a, 3))
    tags = "".join(f'<li><a href="/tags/{e(t.lower().replace(" ", "-"))}">{e(t)}</a></li>' for t in a.tags)
    newsletter = (
        '<aside class="newsletter-cta"><p>Enjoying this post? Get the Northwind Engineering newsletter: one email a '
        'month, no spam.</p><form><input type="email" placeholder="you@example.org"><button>Subscribe</button></form></aside>'
    )
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{e(a.title)} | {SITE[a.host]["name"]}</title>
<meta name="description" content="{e(a.summary)}">
<meta name="author" content="{e(a.author)}">
<meta property="og:type" content="article">
<meta property="og:title" content="{e(a.title)}">
<meta property="og:description" content="{e(a.summary)}">
<meta property="og:url" content="{e(a.url)}">
<meta property="og:site_name" content="{SITE[a.host]["name"]}">
<meta property="article:published_time" content="{a.date.isoformat().replace("+00:00", "Z")}">
<link rel="canonical" href="{e(a.url)}">
<link rel="alternate" type="application/atom+xml" href="/atom.xml">
<script type="application/ld+json">{json.dumps({"@context": "https://schema.org", "@type": "BlogPosting", "headline": a.title, "datePublished": a.date.isoformat(), "author": {"@type": "Person", "name": a.author}}, ensure_ascii=False)}</script>
</head>
<body class="post-template">
<div class="cookie-banner" id="cookies"><p>We use cookies to understand how our blog is used. <a href="/privacy">Privacy policy</a></p><button>Accept all</button><button>Reject non-essential</button></div>
<header class="site-header">
<a class="logo" href="/">Northwind</a>
<nav aria-label="Main"><ul><li><a href="/">Blog</a></li><li><a href="/tags/ai">AI</a></li><li><a href="/tags/infrastructure">Infrastructure</a></li><li><a href="/careers">Careers</a></li><li><a href="/about">About</a></li></ul></nav>
</header>
<main id="main">
<nav class="breadcrumbs" aria-label="Breadcrumb"><a href="/">Home</a> › <a href="/{a.date:%Y}/">{a.date:%Y}</a> › <span>{e(a.title)}</span></nav>
<article class="post h-entry">
<header>
<h1 class="post-title p-name">{e(a.title)}</h1>
<p class="byline">By <a class="p-author" href="/authors/{e(a.author.lower().replace(" ", "-"))}">{e(a.author)}</a> · <time class="dt-published" datetime="{a.date.isoformat()}">{a.date:%B %d, %Y}</time> · {max(2, len(a.body.split()) // 220)} min read</p>
</header>
<div class="post-content e-content">
{body_html(a.body, ad_after=2, ad_html=newsletter)}
</div>
<footer class="post-footer">
<ul class="tags">{tags}</ul>
<div class="share"><span>Share:</span> <a href="#">Twitter</a> <a href="#">LinkedIn</a> <a href="#">Hacker News</a> <a href="#">Copy link</a></div>
</footer>
</article>
<section class="related"><h2>Related articles</h2><ul>{rel}</ul></section>
<section id="comments" class="comments"><h2>3 comments</h2>
<div class="comment"><p class="who">jdoe</p><p>Great write-up. Would love to see the numbers for the smaller configuration too.</p></div>
<div class="comment"><p class="who">m_k</p><p>We tried something similar last year and hit the same wall. Thanks for sharing.</p></div>
<div class="comment"><p class="who">anon</p><p>First!</p></div>
</section>
</main>
<aside class="sidebar">
<div class="ad"><span class="label">Sponsored</span><a href="https://ads.demo.test/c?id=7007">Ship faster with CloudCI: 10,000 free build minutes for open source.</a></div>
<div class="popular"><h3>Popular this week</h3><ol><li><a href="/">Our on-call handbook, open-sourced</a></li><li><a href="/">How we cut build times in half</a></li><li><a href="/">Hiring: staff engineers in Lisbon</a></li></ol></div>
</aside>
<footer class="site-footer"><p>© 2026 Northwind Labs, Inc. · <a href="/privacy">Privacy</a> · <a href="/terms">Terms</a> · <a href="/atom.xml">Atom feed</a></p></footer>
</body>
</html>
"""


def page_devnotes(a: Art, arts: list[Art]) -> str:
    pop = "".join(f'<li><a href="{e(r.path)}">{e(r.title)}</a></li>' for r in related(arts, a, 5))
    tags = ", ".join(f'<a href="/tag/{e(t)}.html" rel="tag">{e(t)}</a>' for t in a.tags)
    return f"""<!DOCTYPE html>
<html>
<head>
<meta http-equiv="Content-Type" content="text/html; charset=utf-8">
<title>{e(a.title)} — devnotes</title>
<link rel="alternate" type="application/rdf+xml" title="devnotes (RSS 1.0)" href="/index.rdf">
<link rel="stylesheet" href="/style.css">
</head>
<body>
<div id="page">
<div id="header"><div class="site-title"><a href="/">devnotes</a></div><div class="site-desc">notes on tools, compilers and the occasional paper</div>
<div id="menu"><a href="/">home</a> · <a href="/archive.html">archive</a> · <a href="/tags.html">tags</a> · <a href="/now.html">now</a> · <a href="/index.rdf">rss</a></div></div>
<div id="container">
<div id="content">
<div class="post" id="post-{a.num}">
<div class="post-header">
<div class="post-title"><h2>{e(a.title)}</h2></div>
<div class="post-date">posted {a.date:%Y-%m-%d} by {e(a.author)} in <a href="/tag/{e(a.section)}.html">{e(a.section)}</a></div>
</div>
<div class="post-body">
<div class="entry">
{body_html(a.body)}
</div>
</div>
<div class="post-footer">Tags: {tags} | <a href="#respond">Leave a comment</a> | <a href="/notes/{e(a.slug)}.html">Permalink</a></div>
</div>
<div class="navigation"><div class="prev"><a href="/archive.html">« older notes</a></div><div class="next"><a href="/">newer notes »</a></div></div>
<div id="respond"><h3>2 Responses</h3>
<div class="response"><div class="author">Pat</div><div class="text">Nice note. Small typo in the second paragraph, though.</div></div>
<div class="response"><div class="author">kr</div><div class="text">Bookmarked. Do you have a repo with the scripts?</div></div>
<div class="response-form">Comments are moderated. <textarea></textarea></div></div>
</div>
<div id="sidebar">
<div class="widget"><h3>About</h3><div>devnotes is a personal notebook kept by a handful of compiler and tooling people.</div></div>
<div class="widget"><h3>Popular notes</h3><ul>{pop}</ul></div>
<div class="widget tagcloud"><h3>Tags</h3><a style="font-size:18px">rust</a> <a style="font-size:12px">python</a> <a style="font-size:15px">build</a> <a style="font-size:11px">llvm</a> <a style="font-size:14px">papers</a> <a style="font-size:10px">git</a></div>
<div class="widget ad"><div class="ad">Advertisement: Learn Kubernetes in a weekend. Use code DEVNOTES for 30% off.</div></div>
<div class="widget"><h3>Subscribe</h3><div>Get new notes by email: <input type="text" value="email"> <input type="submit" value="Go"></div></div>
</div>
</div>
<div id="footer">devnotes · text CC BY 4.0 · powered by a shell script and too much coffee</div>
</div>
</body>
</html>
"""


RENDER = {
    "news.demo.test": page_news,
    "weekly-cn.demo.test": page_weekly,
    "gbk-portal.demo.test": page_gbk,
    "blog.demo.test": page_blog,
    "devnotes.demo.test": page_devnotes,
}


def index_page(host: str, arts: list[Art]) -> str:
    lang = SITE[host]["lang"]
    items = "".join(
        f'<li><a href="{e(a.path)}">{e(a.title)}</a> <span class="date">{a.date:%Y-%m-%d}</span></li>'
        for a in sorted(arts, key=lambda x: x.date, reverse=True)
    )
    charset = (
        '<meta http-equiv="Content-Type" content="text/html; charset=gbk">'
        if host.startswith("gbk")
        else '<meta charset="utf-8">'
    )
    return f"""<!DOCTYPE html>
<html lang="{"zh-CN" if lang == "zh" else "en"}">
<head>{charset}<title>{e(SITE[host]["name"])}</title></head>
<body><h1>{e(SITE[host]["name"])}</h1><ul class="latest">{items}</ul></body>
</html>
"""


# -------------------------------------------------------------------------------------------- feeds


def rss2(
    title: str, link: str, desc: str, entries: list[tuple[str, str, datetime, str, str]], lang: str
) -> str:
    items = []
    for t, url, dt, summary, author in entries:
        items.append(
            f"""  <item>
    <title>{e(t)}</title>
    <link>{e(url)}</link>
    <guid isPermaLink="false">{e(url.split("?")[0].rstrip("/"))}#{int(dt.timestamp())}</guid>
    <pubDate>{format_datetime(dt)}</pubDate>
    <dc:creator>{e(author)}</dc:creator>
    <description><![CDATA[<p>{html.escape(summary)}</p>]]></description>
  </item>"""
        )
    newest = max(x[2] for x in entries)
    return f"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:atom="http://www.w3.org/2005/Atom">
<channel>
  <title>{e(title)}</title>
  <link>{e(link)}</link>
  <description>{e(desc)}</description>
  <language>{lang}</language>
  <lastBuildDate>{format_datetime(newest)}</lastBuildDate>
  <ttl>60</ttl>
{chr(10).join(items)}
</channel>
</rss>
"""


def atom(title: str, link: str, feed_url: str, entries: list[Art]) -> str:
    items = []
    for a in entries:
        ts = a.date.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        items.append(
            f"""  <entry>
    <title>{e(a.title)}</title>
    <link rel="alternate" type="text/html" href="{e(a.url)}"/>
    <id>tag:blog.demo.test,2026:{a.slug}</id>
    <published>{ts}</published>
    <updated>{ts}</updated>
    <author><name>{e(a.author)}</name></author>
    {"".join(f'<category term="{e(t)}"/>' for t in a.tags)}
    <summary type="text">{e(a.summary)}</summary>
  </entry>"""
        )
    newest = max(a.date for a in entries).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en">
  <title>{e(title)}</title>
  <subtitle>Engineering notes from Northwind Labs</subtitle>
  <link rel="alternate" type="text/html" href="{e(link)}"/>
  <link rel="self" type="application/atom+xml" href="{e(feed_url)}"/>
  <id>{e(feed_url)}</id>
  <updated>{newest}</updated>
{chr(10).join(items)}
</feed>
"""


def rdf(title: str, link: str, feed_url: str, entries: list[Art]) -> str:
    seq = "".join(f'\n        <rdf:li rdf:resource="{e(a.url)}"/>' for a in entries)
    items = []
    for a in entries:
        items.append(
            f"""  <item rdf:about="{e(a.url)}">
    <title>{e(a.title)}</title>
    <link>{e(a.url)}</link>
    <description>{e(a.summary)}</description>
    <dc:date>{a.date.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}</dc:date>
    <dc:creator>{e(a.author)}</dc:creator>
    <dc:subject>{e(", ".join(a.tags))}</dc:subject>
  </item>"""
        )
    return f"""<?xml version="1.0" encoding="utf-8"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel rdf:about="{e(feed_url)}">
    <title>{e(title)}</title>
    <link>{e(link)}</link>
    <description>notes on tools, compilers and the occasional paper</description>
    <items>
      <rdf:Seq>{seq}
      </rdf:Seq>
    </items>
  </channel>
{chr(10).join(items)}
</rdf:RDF>
"""


FEEDS = {
    # host: (feed path, kind, source name, weight, section hint)
    "news.demo.test": ("/feed.xml", "rss2", "demo-news", 1.0, None),
    "weekly-cn.demo.test": ("/rss.xml", "rss2", "demo-weekly-cn", 0.8, None),
    "gbk-portal.demo.test": ("/rss/tech.xml", "rss2", "demo-gbk-portal", 0.7, None),
    "blog.demo.test": ("/atom.xml", "atom", "demo-northwind-blog", 1.2, None),
    "devnotes.demo.test": ("/index.rdf", "rdf", "demo-devnotes", 1.0, "dev"),
}

UTM = "?utm_source=weekly-cn&utm_medium=rss&utm_campaign=issue-47"


def build() -> dict:
    by_host = {h: parse(h) for h in SITE}
    if SITES.exists():
        shutil.rmtree(SITES)
    pages = []
    for host, arts in by_host.items():
        root = SITES / host
        for a in arts:
            out = root / a.file
            out.parent.mkdir(parents=True, exist_ok=True)
            text = RENDER[host](a, arts)
            if host.startswith("gbk"):
                out.write_bytes(text.encode("gbk"))  # strict: every character must exist in GBK
            else:
                out.write_text(text, encoding="utf-8")
        idx = index_page(host, arts)
        (root / "index.html").write_bytes(idx.encode("gbk" if host.startswith("gbk") else "utf-8"))
        (root / "robots.txt").write_text("User-agent: *\nAllow: /\n", encoding="utf-8")

    news, weekly, gbk = (
        by_host["news.demo.test"],
        by_host["weekly-cn.demo.test"],
        by_host["gbk-portal.demo.test"],
    )
    blog, dev = by_host["blog.demo.test"], by_host["devnotes.demo.test"]

    def find(arts: list[Art], flag: str) -> Art:
        return next(a for a in arts if flag in a.flags)

    dup_scheme = find(news, "dup-scheme")  # news lists https://, weekly-cn lists http://
    dup_utm = find(blog, "dup-utm")  # blog lists /2026/11/x, weekly-cn lists /2026/11/x/?utm_...
    extra_gbk = find(news, "also-in-gbk")  # gbk-portal also links a news story (same URL)

    # Every feed entry: (title, url as listed, date, summary, author)
    feed_entries: dict[str, list[tuple[str, str, datetime, str, str]]] = {}
    feed_entries["news.demo.test"] = [(a.title, a.url, a.date, a.summary, a.author) for a in news]
    feed_entries["weekly-cn.demo.test"] = [(a.title, a.url, a.date, a.summary, a.author) for a in weekly] + [
        (
            "转载｜" + dup_scheme.title,
            dup_scheme.url.replace("https://", "http://", 1),
            dup_scheme.date + timedelta(hours=5),
            dup_scheme.summary,
            "周刊编辑部",
        ),
        (
            "【英文好文】" + dup_utm.title,
            dup_utm.url + "/" + UTM,
            dup_utm.date + timedelta(hours=20),
            "推荐阅读：" + dup_utm.summary,
            "周刊编辑部",
        ),
    ]
    feed_entries["gbk-portal.demo.test"] = [(a.title, a.url, a.date, a.summary, a.author) for a in gbk] + [
        (extra_gbk.title, extra_gbk.url, extra_gbk.date, extra_gbk.summary, extra_gbk.author)
    ]
    for host in ("news.demo.test", "weekly-cn.demo.test", "gbk-portal.demo.test"):
        path, *_ = FEEDS[host]
        ents = sorted(feed_entries[host], key=lambda x: x[2], reverse=True)
        xml = rss2(
            SITE[host]["name"],
            f"{SITE[host]['scheme']}://{host}/",
            f"{SITE[host]['name']} 最新文章",
            ents,
            "zh-cn",
        )
        (SITES / host / path.lstrip("/")).parent.mkdir(parents=True, exist_ok=True)
        (SITES / host / path.lstrip("/")).write_text(xml, encoding="utf-8")
    blog_sorted = sorted(blog, key=lambda x: x.date, reverse=True)
    (SITES / "blog.demo.test/atom.xml").write_text(
        atom(
            SITE["blog.demo.test"]["name"],
            "https://blog.demo.test/",
            "https://blog.demo.test/atom.xml",
            blog_sorted,
        ),
        encoding="utf-8",
    )
    dev_sorted = sorted(dev, key=lambda x: x.date, reverse=True)
    (SITES / "devnotes.demo.test/index.rdf").write_text(
        rdf("devnotes", "http://devnotes.demo.test/", "http://devnotes.demo.test/index.rdf", dev_sorted),
        encoding="utf-8",
    )
    (SITES / "gbk-portal.demo.test/_headers.json").write_text(
        json.dumps(
            {
                "/": {"Content-Type": "text/html"},
                "/index.html": {"Content-Type": "text/html"},
                "/tech/*": {"Content-Type": "text/html"},
            },
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )

    listed: dict[str, list[dict]] = {}
    for host, ents in feed_entries.items():
        for t, url, *_ in ents:
            listed.setdefault(url.split("?")[0].rstrip("/").replace("http://", "https://"), []).append(
                {"feed": FEEDS[host][2], "url": url}
            )
    for a in blog:
        listed.setdefault(a.url.replace("http://", "https://"), []).append(
            {"feed": "demo-northwind-blog", "url": a.url}
        )
    for a in dev:
        listed.setdefault(a.url.replace("http://", "https://"), []).append(
            {"feed": "demo-devnotes", "url": a.url}
        )

    for host, arts in by_host.items():
        for a in arts:
            text_len = len("".join(a.body.split())) if a.lang == "zh" else len(a.body.split())
            pages.append(
                {
                    "url": a.url,
                    "host": host,
                    "file": f"{host}/{a.file}",
                    "lang": a.lang,
                    "section": a.section,
                    "title": a.title,
                    "published": a.date.isoformat(),
                    "encoding": "gbk" if host.startswith("gbk") else "utf-8",
                    "flags": a.flags,
                    "length": text_len,
                    "length_unit": "chars" if a.lang == "zh" else "words",
                    "listed_as": listed.get(a.url.replace("http://", "https://"), []),
                }
            )

    sources = []
    for host, (path, kind, name, weight, section) in FEEDS.items():
        sources.append(
            {
                "name": name,
                "url": f"{SITE[host]['scheme']}://{host}{path}",
                "weight": weight,
                "section": section,
                "format": kind,
            }
        )
    lines = [
        "# Demo sources: the feeds of the bundled demo corpus (curator/demo/corpus/sites), served on loopback by",
        "# curator.demo.server.DemoServer. Generated by tools/build_demo_corpus.py.",
        "",
    ]
    for s in sources:
        lines += [
            "[[sources]]",
            f'name = "{s["name"]}"',
            'kind = "rss"',
            f'url = "{s["url"]}"',
            f"weight = {s['weight']}",
        ]
        if s["section"]:
            lines.append(f'section = "{s["section"]}"')
        lines.append("")
    (HERE / "sources.toml").write_text("\n".join(lines), encoding="utf-8")

    manifest = {
        "about": "Demo corpus manifest, generated by tools/build_demo_corpus.py. All texts are fictional.",
        "week": ["2026-11-16", "2026-11-22"],
        "feeds": sources,
        "duplicates": [
            {
                "kind": "scheme",
                "urls": [dup_scheme.url, dup_scheme.url.replace("https://", "http://", 1)],
                "file": f"{dup_scheme.host}/{dup_scheme.file}",
            },
            {
                "kind": "utm+trailing-slash",
                "urls": [dup_utm.url, dup_utm.url + "/" + UTM],
                "file": f"{dup_utm.host}/{dup_utm.file}",
            },
            {
                "kind": "same-url-two-feeds",
                "urls": [extra_gbk.url],
                "file": f"{extra_gbk.host}/{extra_gbk.file}",
            },
        ],
        # Different pages (often different languages) about one event: story clustering should join them.
        "same_event": [
            [a.url for h in by_host.values() for a in h if a.slug in group]
            for group in (
                {"qiming-4-open-weights", "qiming-4-hands-on"},
                {"hengxin-h30-training-card", "h30-inference-benchmark"},
                {"sparse-attention-paper-notes", "sparse-attention-reproduction"},
            )
        ],
        "pages": pages,
    }
    (HERE / "manifest.json").write_text(
        json.dumps(manifest, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )
    return manifest


if __name__ == "__main__":
    m = build()
    langs = {lang: sum(p["lang"] == lang for p in m["pages"]) for lang in ("zh", "en")}
    secs: dict[str, int] = {}
    for p in m["pages"]:
        secs[p["section"]] = secs.get(p["section"], 0) + 1
    print(f"{len(m['pages'])} pages {langs} sections {secs}")
    for p in m["pages"]:
        lo, hi = (300, 1200) if p["lang"] == "zh" else (200, 600)
        if not lo <= p["length"] <= hi:
            print(f"  length out of range: {p['file']} {p['length']} {p['length_unit']}")
