"""Charset decoding (RELIABILITY.md rows 26–27)."""

from __future__ import annotations

from curator.charset import decode_html, normalize_label

ZH = "人工智能模型发布后，开发者社区迅速跟进，开源工具链日趋成熟。镕铖堃喆"


def _fffd_ratio(text: str) -> float:
    return text.count("\ufffd") / max(1, len(text))


def test_gbk_page_with_long_ascii_head_and_late_meta() -> None:
    head = "<html><head><title>t</title><!-- " + "padding " * 400 + " -->"
    assert len(head) > 2048
    html = head + '<meta charset="gbk"></head><body><p>' + ZH * 20 + "</p></body></html>"
    text, enc = decode_html(html.encode("gbk"), None)
    assert enc == "gb18030"
    assert ZH in text
    assert _fffd_ratio(text) < 0.005


def test_gbk_without_any_declaration_falls_back_to_gb18030() -> None:
    text, enc = decode_html(("<p>" + ZH * 10 + "</p>").encode("gbk"), None)
    assert enc == "gb18030" and ZH in text


def test_misdeclared_latin1_header_on_utf8_bytes() -> None:
    body = ("<html><body><p>" + ZH + " café</p></body></html>").encode("utf-8")
    text, enc = decode_html(body, "text/html; charset=ISO-8859-1")
    assert enc == "utf-8"
    assert ZH in text and "café" in text


def test_bom_wins_over_header() -> None:
    body = b"\xef\xbb\xbf<p>" + "中文".encode() + b"</p>"
    text, enc = decode_html(body, "text/html; charset=gbk")
    assert enc == "utf-8"
    assert text == "<p>中文</p>"


def test_gb2312_label_with_gbk_only_character() -> None:
    # 镕 is in GBK but not GB2312: a narrow gb2312 codec would fail on it.
    body = '<meta http-equiv="Content-Type" content="text/html; charset=gb2312"><p>朱镕基</p>'.encode("gbk")
    text, enc = decode_html(body, None)
    assert enc == "gb18030"
    assert "朱镕基" in text


def test_header_label_widened() -> None:
    text, enc = decode_html("<p>朱镕基</p>".encode("gbk"), "text/html; charset=GB2312")
    assert enc == "gb18030" and "朱镕基" in text


def test_declared_charset_used_when_bytes_are_not_utf8() -> None:
    body = "<p>café crème</p>".encode("cp1252")
    text, enc = decode_html(body, "text/html; charset=windows-1252")
    assert enc == "cp1252" and "café crème" in text


def test_normalize_label() -> None:
    assert normalize_label("GBK") == "gb18030"
    assert normalize_label("x-gbk") == "gb18030"
    assert normalize_label("big5") == "big5hkscs"
    assert normalize_label("UTF8") == "utf-8"
    assert normalize_label("no-such-charset") is None


def _one_bad_byte(html: str) -> bytes:
    body = html.encode("gbk")
    i = body.index("跟".encode("gbk"))
    return body[:i] + b"\xff" + body[i + 1 :]  # an invalid lead byte where a character was


def test_declared_gb2312_with_one_bad_byte_decodes_as_gb18030_with_replacement() -> None:
    html = '<meta http-equiv="Content-Type" content="text/html; charset=gb2312"><p>' + ZH * 30 + "</p>"
    text, enc = decode_html(_one_bad_byte(html), None)
    assert enc == "gb18030"
    assert text.count("\ufffd") == 1
    assert ZH in text  # every other copy of the sentence is intact


def test_undeclared_gbk_with_one_bad_byte_is_not_left_to_the_detector() -> None:
    text, enc = decode_html(_one_bad_byte("<html><body><p>" + ZH * 30 + "</p></body></html>"), None)
    assert enc == "gb18030"
    assert text.count("\ufffd") == 1 and ZH in text


def test_latin1_bytes_are_not_read_as_gb18030_with_replacement() -> None:
    # undeclared cp1252 French: GB18030 with replacement fails on nearly every accented letter
    body = ("<p>" + "Le café crème coûte très cher à Genève. " * 20 + "</p>").encode("cp1252")
    text, enc = decode_html(body, None)
    assert enc != "gb18030"
    assert "\u4e00" > max(text)  # no Han characters invented from latin-1 bytes
