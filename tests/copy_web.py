"""A loopback web of the page shapes issue 14 met: LLM-written video notes full of Markdown and
chatter, meeting minutes mixing topics, a repost carrying the source's [1] markers, video pages
with no notes (with and without a meta description), video pages with no notes that carry a transcript
(a transcript panel, `itemprop="transcript"`, JSON-LD `VideoObject.transcript`, an embedded subtitle cue
list, a same-site WebVTT captions track), a Taiwan-usage article, a zh title with half-width
punctuation. One RSS feed lists them all."""

from __future__ import annotations

import json

from tests.sites import PageWeb

PLAYER = (
    "<div class='player'><p>如果播放没有很快开始，请尝试重启您的设备。</p>"
    "<p>您观看的视频可能会添加到电视的观看记录中，并影响电视推荐内容。</p></div>"
)


def _next_up(titles: list[str]) -> str:
    cells = "".join(f"<p>{t}</p><p>12万次观看 · 3天前</p>" for t in titles)
    return f"<div class='next-up'><p>接下来播放</p>{cells}</div>"


def _page(title: str, body: str, *, description: str = "", author: str = "") -> str:
    meta = f"<meta name='description' content='{description}'>" if description else ""
    meta += f"<meta name='author' content='{author}'>" if author else ""
    return (f"<html><head><meta charset='utf-8'><title>{title}</title>{meta}</head><body>"
            f"<nav><a href='/'>首页</a> <a href='/t'>频道</a></nav><main>{body}</main></body></html>")


def _paras(lines: list[str]) -> str:
    return "".join(f"<p>{ln}</p>" for ln in lines)


VIDEO_TITLE = ("【人工智能】OpenAI提案矛头直指DeepSeek | 锁死全球AI发展 | 指责DeepSeek有害 | 加强出口管制 | "
               "两类市场和三级国家 | 美国AI行动计划")
VIDEO_NOTES = [
    "28.1万次观看 · 2026年11月18日",
    VIDEO_TITLE,
    "**：**标题：OpenAI提案解读",
    "## 引言：",
    "本期视频解读了 OpenAI 向美国白宫科技政策办公室提交的一份政策提案，提案把矛头直接指向了 DeepSeek[1]。",
    "## 核心观点：",
    "*   **蒸馏技术*   OpenAI 声称 DeepSeek 通过蒸馏技术从更大的模型中学习，训练成本只有美国同类模型的二十分之一[2]。",
    "*   **出口管制*   提案建议把全球国家分为三级，对第二级和第三级国家加强芯片出口管制；",
    "*   **市场划分*   提案还把市场分为两类，要求盟友禁止使用来自中国的模型[12]。",
    "总结：这份提案一旦被采纳，将会深刻影响全球人工智能的发展格局。",
    "好的，希望以上内容对您有帮助！如果您还有其他问题，欢迎随时提问。",
]

MINUTES_TITLE = "人工智能治理工作组第七次会议纪要"
MINUTES = (
    "<h1>人工智能治理工作组第七次会议纪要</h1>"
    "<p>会议于11月20日在线上召开，共有来自十二家机构的三十位成员参加，由秘书处主持。</p>"
    "<h2>一、开源模型的安全评估</h2>"
    "<p>与会成员讨论了开源大模型发布前的安全评估流程，建议参照红队测试的做法建立统一清单。</p>"
    "<p>多家机构表示愿意共享评测数据集，并在下次会议前提交初稿。</p>"
    "<h2>二、算力资源的共享机制</h2>"
    "<p>工作组听取了国家超算中心关于算力共享平台建设进展的汇报，平台预计明年第一季度上线。</p>"
    "<p>成员建议对高校和初创企业给予优先排期，并公开资源分配规则。</p>"
    "<h2>三、数据跨境流动规则</h2>"
    "<p>与会专家介绍了数据出境安全评估的最新要求，讨论了训练数据跨境使用中的合规难点。</p>"
    "<h2>四、下一步工作安排</h2>"
    "<p>秘书处将在两周内汇总各方意见，形成书面建议提交主管部门，并于下月召开第八次会议。</p>"
)

REPOST_TITLE = "美国数据中心耗电量已达中国的5倍 | 能源 | AI | 电网"
REPOST = _paras([
    "本文转载自公众号“能源观察”。",
    "据海外媒体报道，美国的数据中心耗电量在过去五年增长了三倍，已经达到中国的5倍[1]。",
    "分析人士认为，人工智能大模型的训练需求是耗电量增长的主要原因[2][3]，这一趋势还将持续。",
    "多家电力公司表示，正在加快建设新的输电线路，以满足数据中心对 GPU 集群供电的需求【4】。",
    "研究机构预计，到2030年数据中心将占美国总用电量的百分之九以上[5]。",
]) + "<h3>参考资料</h3><ol><li>[1] 某研究报告</li><li>[2] 某媒体</li></ol>"

TAIWAN_TITLE = "微軟新版 Windows 內建人工智慧助理"
TAIWAN = _paras([
    "微軟宣布新版 Windows 將內建人工智慧助理，可以自動整理影片和文件，並在本機執行大模型推理。",
    "這套軟體需要至少 16GB 記憶體，並由新的演算法在本機執行，不必把資料上傳到雲端。",
    "微軟表示，新功能將在明年上半年推送給所有使用者，企業版會先開放測試。",
])

EUROPE_TITLE = "欧洲人工智能,尴尬与焦虑笼罩"
EUROPE = _paras([
    "欧盟委员会本周公布了新的人工智能投资计划，准备在五年内投入两千亿欧元建设算力和大模型。",
    "但业界认为，欧洲在芯片和开源模型上的差距短期内难以弥补，多家初创公司已把总部迁往美国。",
    "法国和德国的官员表示，将简化审批流程，并为本土模型训练提供补贴。",
])

def _video(title: str, extra: str, *, head: str = "", views: str = "9.6万次观看 · 2026年11月19日") -> str:
    """A video page with no notes: the player's notices, a view count, a "next up" list, and `extra`."""
    page = _page(title, f"{PLAYER}<h1>{title}</h1><p>{views}</p>{extra}"
                 + _next_up(["【科技】苹果发布新款MacBook | M4芯片 | 续航 | 价格"]), author="科技频道")
    return page.replace("</head>", f"{head}</head>")


# Transcripts as the players carry them: timestamps, cue fragments without punctuation, repeats.
PANEL_TITLE = "【科技】谷歌发布新一代量子芯片 | 纠错 | 量子优越性"
PANEL = ("<div class='transcript-panel' hidden><div class='segment'><span>0:00</span><span>大家好 今天我们来聊一聊谷歌新发布的量子芯片</span></div>"
         "<div class='segment'><span>0:06</span><span>这颗芯片最大的突破在于量子纠错</span></div>"
         "<div class='segment'><span>0:06</span><span>这颗芯片最大的突破在于量子纠错</span></div>"
         "<div class='segment'><span>0:12</span><span>比特数量越多 错误率反而越低</span></div>"
         "<div class='segment'><span>0:19</span><span>研究团队用它完成了一项经典超级计算机需要极长时间才能算完的任务</span></div>"
         "<div class='segment'><span>0:27</span><span>不过距离真正实用的量子计算机还有很长的路要走</span></div>"
         "<div class='segment'><span>0:35</span><span>团队计划在下一代芯片上把逻辑比特的错误率再降低一个数量级</span></div>"
         "<div class='segment'><span>0:44</span><span>并开放云端接口让研究人员提前试用</span></div></div>")
ITEMPROP_TITLE = "电动汽车价格战再升级"
ITEMPROP = ("<section itemprop='transcript'><p>[00:00:03] 本周又有三家电动汽车公司宣布降价。</p>"
            "<p>[00:00:09] 其中一家把入门车型的售价降到了十万元以内。</p>"
            "<p>[00:00:17] 业内人士认为，价格战会加速市场普及，但也会压缩中小车企的利润空间。</p>"
            "<p>[00:00:26] 也有公司选择不跟进降价，转而强调续航和售后服务。</p>"
            "<p>[00:00:35] 有经销商表示，降价之后到店看车的顾客明显增多，但不少人仍在观望。</p></section>")
JSONLD_TITLE = "头显销量不及预期，厂商调整产品路线"
JSONLD = json.dumps({"@context": "https://schema.org", "@graph": [
    {"@type": "WebPage", "name": JSONLD_TITLE},
    {"@type": "VideoObject", "name": JSONLD_TITLE, "uploadDate": "2026-11-19",
     "transcript": "00:00:01 第三季度头显出货量同比下降了两成。\n00:00:08 主要原因是售价偏高，而且缺少杀手级应用。\n"
                   "00:00:15 多家厂商因此推迟了高端型号，转向更轻便、更便宜的眼镜形态。\n"
                   "00:00:24 分析师预计，明年轻量化设备的出货量将超过传统头显。\n"
                   "00:00:31 也有厂商认为，头显仍是专业用户的首选，会继续面向设计和医疗等行业推出新品。"}]}, ensure_ascii=False)
SUBTITLE_TITLE = "开源数据库项目宣布更换许可证"
SUBTITLE = "window.__INITIAL_STATE__=" + json.dumps({"videoData": {"title": SUBTITLE_TITLE}, "subtitle": {"body": [
    {"from": 0.0, "to": 3.2, "location": 2, "content": "一个流行的开源数据库项目本周宣布更换许可证"},
    {"from": 3.2, "to": 7.5, "location": 2, "content": "新许可证禁止云厂商直接把它作为托管服务出售"},
    {"from": 7.5, "to": 12.0, "location": 2, "content": "社区开发者对此意见不一"},
    {"from": 12.0, "to": 16.4, "location": 2, "content": "已经有人宣布分叉出一个继续沿用旧许可证的版本"},
    {"from": 16.4, "to": 21.0, "location": 2, "content": "项目方表示个人用户和企业自用不受影响"},
    {"from": 21.0, "to": 26.5, "location": 2, "content": "只有提供托管数据库服务的公司需要购买商业授权"},
]}}, ensure_ascii=False) + ";"
TRACK_TITLE = "人形机器人进厂打工，能干什么？"
TRACK_VTT = ("WEBVTT\n\n1\n00:00:00.000 --> 00:00:04.000\n<v 主持人>人形机器人开始进入汽车工厂试用。\n\n"
             "2\n00:00:04.000 --> 00:00:09.000\n目前它们主要负责搬运零件和质检这类重复性工作。\n\n"
             "3\n00:00:09.000 --> 00:00:15.000\n厂商表示，一台机器人每天可以连续工作二十个小时。\n\n"
             "4\n00:00:15.000 --> 00:00:21.000\n但工人和专家都认为，它们的效率还远不如熟练工人。\n\n"
             "5\n00:00:21.000 --> 00:00:27.000\n工厂计划明年扩大试用规模，让机器人承担更多装配环节。\n\n"
             "6\n00:00:27.000 --> 00:00:33.000\n<v 主持人>至于机器人会不会抢走工作，受访的工人们看法并不一致。\n")

PAGES: dict[str, tuple[str, str]] = {
    "/video/openai-proposal": (VIDEO_TITLE, _page(
        VIDEO_TITLE,
        f"{PLAYER}<h1>{VIDEO_TITLE}</h1><div class='description'>{_paras(VIDEO_NOTES)}</div>"
        + _next_up(["【人工智能】Claude 4指日可待 | 推理能力 | 编程能力 | 智能体"]),
        author="最佳拍档")),
    "/notes/ai-governance-7": (MINUTES_TITLE, _page(MINUTES_TITLE, MINUTES)),
    "/repost/datacenter-power": (REPOST_TITLE, _page(REPOST_TITLE, f"<h1>{REPOST_TITLE}</h1>{REPOST}")),
    "/video/claude-4-no-notes": ("【人工智能】Claude 4指日可待 | 推理能力 | 编程能力 | 智能体", _page(
        "【人工智能】Claude 4指日可待 | 推理能力 | 编程能力 | 智能体",
        f"{PLAYER}<p>28.1万次观看 · 2026年11月19日31.8万次观看【人工智能】Claude 4指日可待 | 推理能力 | 编程能力 | 智能体</p>"
        + _next_up(["【人工智能】GPT-5即将发布 | 性能对比 | 价格 | 上线时间", "【科技】苹果发布新款MacBook | M4芯片 | 续航 | 价格"]),
        description="本期视频介绍了 Anthropic 即将发布的 Claude 4 大模型，以及它在推理和编程上的改进。",
        author="最佳拍档")),
    "/video/gpt-5-no-notes": ("【人工智能】GPT-5即将发布 | 性能对比 | 价格 | 上线时间", _page(
        "【人工智能】GPT-5即将发布 | 性能对比 | 价格 | 上线时间",
        f"{PLAYER}<p>12万次观看 · 2026年11月20日</p>"
        + _next_up(["【人工智能】Claude 4指日可待 | 推理能力 | 编程能力 | 智能体", "【科技】苹果发布新款MacBook | M4芯片 | 续航 | 价格"]),
        author="最佳拍档")),
    "/video/quantum-chip": (PANEL_TITLE, _video(PANEL_TITLE, PANEL)),
    "/video/ev-prices": (ITEMPROP_TITLE, _video(ITEMPROP_TITLE, ITEMPROP)),
    "/video/headsets": (JSONLD_TITLE, _video(JSONLD_TITLE, "", head=f"<script type='application/ld+json'>{JSONLD}</script>")),
    "/video/db-license": (SUBTITLE_TITLE, _video(SUBTITLE_TITLE, f"<script>{SUBTITLE}</script>")),
    "/video/robots": (TRACK_TITLE, _video(TRACK_TITLE, "<video src='/media/robots.mp4'><track kind='captions' "
                                                      "srclang='zh' src='/media/robots.zh.vtt'></video>")),
    "/tw/windows-ai": (TAIWAN_TITLE, _page(TAIWAN_TITLE, f"<h1>{TAIWAN_TITLE}</h1>{TAIWAN}")),
    "/eu/ai-anxiety": (EUROPE_TITLE, _page(EUROPE_TITLE, f"<h1>{EUROPE_TITLE}</h1>{EUROPE}")),
}
DAYS = {path: 17 + i % 5 for i, path in enumerate(PAGES)}


class CopyWeb(PageWeb):
    def __init__(self) -> None:
        # The captions track is a file of the same site, not an item of the feed.
        super().__init__({**{path: page[1] for path, page in PAGES.items()}, "/media/robots.zh.vtt": TRACK_VTT})

    def feed(self) -> str:
        items = "".join(
            f"<item><title>{title}</title><link>{self.origin}{path}</link>"
            f"<pubDate>{['Tue', 'Wed', 'Thu', 'Fri', 'Sat'][DAYS[path] - 17]}, {DAYS[path]} Nov 2026 08:00:00 GMT</pubDate></item>"
            for path, (title, _) in PAGES.items()
        )
        return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>copy web</title>'
                f"{items}</channel></rss>")
