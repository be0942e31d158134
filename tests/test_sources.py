"""Finding and reading posts (`searchkit.sources`): extraction per format,
front-matter handling, and a matrix of bad inputs generated on the fly."""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pytest
from conftest import SAMPLES, write_post

import searchkit
from searchkit.dates import resolve_timezone
from searchkit.documents import Article, Problem
from searchkit.indexer import build_index, open_whoosh, read_manifest
from searchkit.sources import SourceFile, discover, extract_visible_text, read_article

GOLDEN_DIR = Path(__file__).resolve().parent / "golden" / "extract"
UPDATE_GOLDEN = os.environ.get("SEARCHKIT_UPDATE_GOLDEN") == "1"
JULY_1 = datetime(2021, 7, 1, tzinfo=timezone.utc)
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def source_for(path: Path) -> SourceFile:
    """The one SourceFile `discover` gives for a single file path."""
    items = list(discover([path]))
    assert len(items) == 1, items
    assert isinstance(items[0], SourceFile), items[0]
    return items[0]


def read(path: Path, tz=timezone.utc) -> Article:
    article = read_article(source_for(path), tz)
    assert isinstance(article, Article), article
    return article


# ------------------------------------------------------------ golden files

def extraction_record(article: Article) -> dict:
    """What the golden files hold: metadata plus the whole visible body
    (split into lines so the files can be reviewed; joining them with "\\n"
    gives the body back exactly)."""
    return {
        "path": article.path,
        "title": article.title,
        "date": article.date.isoformat() if article.date else None,
        "tags": list(article.tags),
        "categories": list(article.categories),
        "author": article.author,
        "url": article.url,
        "repairs": list(article.repairs),
        "body_lines": article.body.split("\n"),
    }


def check_golden(name: str, record: dict) -> None:
    """Compare with tests/golden/extract/<name>.json; with
    SEARCHKIT_UPDATE_GOLDEN=1 (re)write the file first."""
    path = GOLDEN_DIR / f"{name}.json"
    if UPDATE_GOLDEN:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(record, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    if not path.exists():
        pytest.fail(f"golden file {path} is missing: run with SEARCHKIT_UPDATE_GOLDEN=1, then review it")
    expected = json.loads(path.read_text(encoding="utf-8"))
    assert record == expected


GOLDEN_SAMPLES = [
    "2021-07-12-shenzhen-data-exchange.md",   # Jekyll, HTML body, script, comment
    "article_101.md",                         # HK Markdown, figure + link
    "news/2022-03-01-english-briefing.html",  # full HTML page with front matter
]


@pytest.mark.parametrize("relpath", GOLDEN_SAMPLES)
def test_extraction_matches_golden(relpath: str) -> None:
    article = read(SAMPLES / relpath)
    check_golden(Path(relpath).stem, extraction_record(article))


# ----------------------------------------------- extraction: specific checks

def test_jekyll_html_body_drops_script_and_comment_keeps_link_text() -> None:
    article = read(SAMPLES / "2021-07-12-shenzhen-data-exchange.md")
    assert "广告脚本不应被搜索到" not in article.body    # <script> content
    assert "googletag" not in article.body
    assert "1626068049283" not in article.body          # <!--1626068049283-->
    assert "<" not in article.body and "https://" not in article.body
    # the title link's text (a setext heading) and the paragraphs are kept
    assert article.body.startswith("广东支持深圳建设粤港澳大湾区数据交易平台\n")
    assert "业界预计，相关平台最快可在明年挂牌运作。" in article.body


def test_markdown_keeps_link_text_heading_and_figcaption_not_image_url() -> None:
    article = read(SAMPLES / "article_101.md")
    assert article.body.startswith("港鐵沙中線屯馬綫通車首日\n")           # # heading
    assert "詳細路綫可參閱港鐵屯馬綫路綫圖。" in article.body              # [link](url)
    assert "鐵路迷在宋皇臺站月台拍攝首班屯馬綫列車" in article.body          # <figcaption>
    assert "tml-first-train" not in article.body and "example.org" not in article.body


def test_html_page_drops_head_style_script_comment_and_alt() -> None:
    body = read(SAMPLES / "news" / "2022-03-01-english-briefing.html").body
    for hidden in ("Morning Briefing 2022-03-01",            # <head><title>
                   "font-family", "stylesheet text must not be indexed",  # <style>
                   "dataLayer", "廣告追蹤",                  # <script>
                   "briefing template v2",                   # <!-- comment -->
                   "九龍檢測中心外的人龍", "Residents queue at a testing centre"):  # alt=
        assert hidden not in body, hidden
    assert "Hong Kong: fifth wave of COVID-19 (第五波疫情)\n" in body          # <h2>
    assert "Residents queue outside a community testing centre in Kowloon." in body  # figcaption
    assert "祝大家平安健康 — stay safe, and see you tomorrow." in body


HIDDEN_AND_VISIBLE = """\
<!-- 注释里的秘密 -->
<style>.secret {{ content: "样式里的秘密"; }}</style>
<script>var s = "脚本里的秘密";</script>
<p>可见的段落 <a href="https://example.com/链接地址" title="标题属性的秘密">链接的文字</a>
<img src="pic.jpg" alt="替代文字的秘密"> 段落结尾</p>

{extra}
"""


@pytest.mark.parametrize(
    ("suffix", "extra"),
    [
        (".md", "![图片替代文字的秘密](pic2.jpg)\n\n[Markdown 链接文字](https://example.com/md)"),
        (".html", "<h2>小标题文字</h2>"),
    ],
)
def test_hidden_content_never_in_body(tmp_path: Path, suffix: str, extra: str) -> None:
    path = tmp_path / f"post{suffix}"
    path.write_text("---\ntitle: 隐藏内容\n---\n" + HIDDEN_AND_VISIBLE.format(extra=extra), encoding="utf-8")
    body = read(path).body
    assert "秘密" not in body, body  # comment, style, script, alt=, title=
    assert "链接地址" not in body and "pic.jpg" not in body
    assert "可见的段落 链接的文字" in body
    assert "段落结尾" in body
    if suffix == ".md":
        assert "Markdown 链接文字" in body
    else:
        assert "小标题文字" in body


def test_noscript_inside_body_is_hidden() -> None:
    text = extract_visible_text("<p>前文</p><noscript>请启用脚本</noscript><p>后文</p>")
    assert "请启用脚本" not in text
    assert "前文" in text and "后文" in text


def test_noscript_at_start_of_html_post_is_hidden(tmp_path: Path) -> None:
    path = tmp_path / "post.html"
    path.write_text("---\ntitle: 无脚本\n---\n<noscript>请启用脚本</noscript>\n<p>正文</p>\n", encoding="utf-8")
    body = read(path).body
    assert "正文" in body
    assert "请启用脚本" not in body, body


# ----------------------------------------------------- tags and categories

@pytest.mark.parametrize(
    ("front", "expected"),
    [
        pytest.param({"tags": "[ 联合早报 ]"}, ("联合早报",), id="flow-list-spaced"),
        pytest.param({"tags": "[ 联合早报, 财经, G20 ]"}, ("联合早报", "财经", "G20"), id="flow-list"),
        pytest.param({"tags": "\n  - 港鐵\n  - 香港 地鐵\n  - 沙中線"}, ("港鐵", "香港 地鐵", "沙中線"),
                     id="block-list-multiword"),
        pytest.param({"tags": '"科技, 人工智能"'}, ("科技", "人工智能"), id="comma-string"),
        pytest.param({"tags": '"科技，人工智能、大数据"'}, ("科技", "人工智能", "大数据"), id="chinese-separators"),
        pytest.param({"tags": "[ 香港 地鐵, 港鐵 ]"}, ("香港 地鐵", "港鐵"), id="flow-list-multiword"),
        pytest.param({"tags": "[2021, 7]"}, ("2021", "7"), id="numbers"),
        pytest.param({"tags": "[甲, 乙, 甲]"}, ("甲", "乙"), id="duplicates-dropped"),
        pytest.param({}, (), id="no-tags"),
    ],
)
def test_tags_forms(tmp_path: Path, front: dict, expected: tuple) -> None:
    article = read(write_post(tmp_path, "post.md", "标签", "正文", **front))
    assert article.tags == expected


def test_sample_tags_from_lists_and_string() -> None:
    assert read(SAMPLES / "2021-07-12-shenzhen-data-exchange.md").tags == ("联合早报",)
    assert read(SAMPLES / "article_101.md").tags == ("港鐵", "香港 地鐵", "沙中線")
    assert read(SAMPLES / "article_105.md").tags == ("科技", "人工智能")


@pytest.mark.parametrize(
    ("front", "expected"),
    [
        pytest.param({"category": "港聞"}, ("港聞",), id="category-singular"),
        pytest.param({"categories": "[ 联合早报, 体育 ]"}, ("联合早报", "体育"), id="categories-list"),
        pytest.param({"categories": "[ 国际 ]", "category": "港聞"}, ("国际",), id="categories-wins"),
        pytest.param({"categories": "[]", "category": "港聞"}, ("港聞",), id="empty-categories-falls-back"),
        pytest.param({}, (), id="none"),
    ],
)
def test_category_vs_categories(tmp_path: Path, front: dict, expected: tuple) -> None:
    assert read(write_post(tmp_path, "post.md", "分类", "正文", **front)).categories == expected


URLS = {"from": "https://a.example/from", "url": "https://b.example/url",
        "original_url": "https://c.example/original", "source": "https://d.example/source"}


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        (("from", "url", "original_url", "source"), "from"),
        (("url", "original_url", "source"), "url"),
        (("original_url", "source"), "original_url"),
        (("source",), "source"),
        (("source", "url"), "url"),
        ((), None),
    ],
    ids=["all-four", "no-from", "original_url-and-source", "source-only", "url-beats-source", "none"],
)
def test_url_priority(tmp_path: Path, keys: tuple, expected: str | None) -> None:
    front = {k: URLS[k] for k in keys}
    article = read(write_post(tmp_path, "post.md", "网址", "正文", **front))
    assert article.url == (URLS[expected] if expected else "")


def test_url_empty_from_falls_through(tmp_path: Path) -> None:
    path = write_post(tmp_path, "post.md", "网址", "正文", **{"from": '""', "url": URLS["url"]})
    assert read(path).url == URLS["url"]


# ---------------------------------------------------- dates from file names

@pytest.mark.parametrize("date_line", [{"date": '""'}, {"date": ""}, {}], ids=["quoted-empty", "blank", "absent"])
@pytest.mark.parametrize(
    ("name", "expected"),
    [("2021-07-12-jekyll-post.md", datetime(2021, 7, 12, tzinfo=timezone.utc)), ("plain-post.md", None)],
    ids=["jekyll-name", "plain-name"],
)
def test_empty_date_uses_jekyll_file_name(tmp_path: Path, date_line: dict, name: str,
                                          expected: datetime | None) -> None:
    article = read(write_post(tmp_path, name, "日期", "正文", **date_line))
    assert article.date == expected
    assert article.repairs == ()


def test_empty_date_file_name_in_timezone(tmp_path: Path) -> None:
    path = write_post(tmp_path, "2021-07-12-jekyll-post.md", "日期", "正文", date='""')
    article = read(path, resolve_timezone("Asia/Hong_Kong"))
    assert article.date == datetime(2021, 7, 11, 16, tzinfo=timezone.utc)


def test_sample_with_empty_date_takes_file_name_date() -> None:
    article = read(SAMPLES / "2019-05-20-shanghai-garbage-sorting.md")
    assert article.date.isoformat() == "2019-05-20T00:00:00+00:00"


def test_front_matter_date_beats_file_name(tmp_path: Path) -> None:
    path = write_post(tmp_path, "2021-07-12-jekyll-post.md", "日期", "正文", date="2021-07-01")
    assert read(path).date == JULY_1


# ------------------------------------------------------------------ discover

def test_discover_single_file_root() -> None:
    path = SAMPLES / "article_101.md"
    item = source_for(path)
    assert item.path == path
    assert item.root == SAMPLES
    assert item.relpath == "article_101.md"
    assert item.key == str(path)
    assert item.signature == f"{path.stat().st_size}:{path.stat().st_mtime_ns}"


def test_discover_suffixes_and_hidden(tmp_path: Path) -> None:
    wanted = ["a.md", "b.markdown", "c.html", "d.htm", "UPPER.MD", "sub/e.md"]
    ignored = ["notes.txt", "data.json", "readme.rst", "f.md.bak", "md", "g.mdx",
               ".hidden.md", ".drafts/h.md", "sub/.secret/i.md", "sub/.j.html"]
    for rel in wanted + ignored:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("---\ntitle: x\n---\ny\n", encoding="utf-8")
    items = list(discover([tmp_path]))
    assert all(isinstance(i, SourceFile) for i in items), items
    assert sorted(i.relpath for i in items) == sorted(wanted)


def test_discover_sample_posts() -> None:
    items = list(discover([SAMPLES]))
    assert all(isinstance(i, SourceFile) for i in items)
    relpaths = [i.relpath for i in items]
    assert len(relpaths) == 14
    assert "news/2022-03-01-english-briefing.html" in relpaths


# ===================================================== bad-input matrix

ANY = object()   # repairs not checked
SOME = object()  # at least one repair, wording not checked

GB_TITLE = "广东数据交易平台方案"
GB_BODY = "广东省政府近日公布数据要素市场化配置改革行动方案，支持深圳建设粤港澳大湾区数据交易平台。"
GB_PHRASE = "粤港澳大湾区数据交易平台"
BIG5_TITLE = "港鐵屯馬線全線通車"
BIG5_BODY = "港鐵屯馬線今日全線通車，這條由屯門至烏溪沙的鐵路線全長約五十六公里。"
BIG5_PHRASE = "由屯門至烏溪沙的鐵路線"
BAD_NAME = b"bad-\xff\xfe-name.md"
BAD_NAME_DISPLAY = "bad-\\xff\\xfe-name.md"
HUGE_NAME = "huge.md"
HUGE_END = "超大文件的独一无二结尾标记"


def _yaml(front: str, body: str) -> bytes:
    return f"---\n{front}\n---\n\n{body}\n".encode()


@dataclass
class Case:
    id: str
    filename: str
    data: bytes
    skipped: str | None = None        # regex on Problem.reason when the file is skipped
    title: str | None = None
    body: tuple[str, ...] = ()        # substrings of the body
    repair: object = None             # regex on some repair; None: no repairs; ANY; SOME
    date: object = ANY                # expected datetime (or None); ANY: not checked
    tags: tuple[str, ...] | None = None


CASES = [
    Case("control-chars", "control_chars.md",
         "---\ntitle: 控制\x01字符\x1b标题\nauthor: 记\x7f者\ntags: [甲\x08]\n---\n\n正文\x07含有\x0b控制\x0c字符\x85。\n".encode(),
         title="控制字符标题", body=("正文含有控制字符。",), repair=r"control character", tags=("甲",)),
    Case("invalid-yaml", "invalid_yaml.md",
         _yaml('title: "无效的 YAML 标题\nauthor: 记者\ntags:\n  - 甲\n  - 乙', "无效前言的正文。"),
         title="无效的 YAML 标题", body=("无效前言的正文。",), repair=r"invalid YAML", tags=("甲", "乙")),
    Case("front-matter-only", "front_matter_only.md", b"---\ntitle: Only front matter\ndate: 2021-07-01\n---\n",
         title="Only front matter", date=JULY_1),
    Case("no-front-matter", "no_front_matter.md", "# 没有前言的标题\n\n没有前言的正文。\n".encode(),
         title="", body=("没有前言的标题", "没有前言的正文。"), date=None),
    Case("toml", "toml.md",
         '+++\ntitle = "TOML 前言标题"\ndate = 2021-07-01\ntags = ["甲", "乙"]\n+++\n\nTOML 前言的正文。\n'.encode(),
         title="TOML 前言标题", body=("TOML 前言的正文。",), date=JULY_1, tags=("甲", "乙")),
    Case("utf8-bom", "bom.md", b"\xef\xbb\xbf" + _yaml("title: 带BOM的标题\ntags: [甲]", "BOM 正文。"),
         title="带BOM的标题", body=("BOM 正文。",), tags=("甲",)),
    Case("crlf", "crlf.md",
         "---\r\ntitle: CRLF 标题\r\ntags:\r\n  - 甲\r\n  - 乙\r\n---\r\n\r\n第一行\r\n\r\n第二段\r\n".encode(),
         title="CRLF 标题", body=("第一行\n", "第二段"), tags=("甲", "乙")),
    Case("gb18030", "gb18030.md",
         f"---\ntitle: {GB_TITLE}\ntags: [科技, 经济]\n---\n\n{GB_BODY}\n".encode("gb18030"),
         title=GB_TITLE, body=(GB_BODY,), repair=r"(?i)gb18030", tags=("科技", "经济")),
    Case("big5", "big5.md",
         f"---\ntitle: {BIG5_TITLE}\ntags: [港鐵, 交通]\n---\n\n{BIG5_BODY}\n".encode("big5"),
         title=BIG5_TITLE, body=(BIG5_BODY,), repair=r"(?i)big5|cp950", tags=("港鐵", "交通")),
    Case("latin1-junk", "latin1_junk.md",
         "---\ntitle: 拉丁字节\n---\n\n".encode() + b"Caf\xe9 cr\xe8me \xff\xfe " + "中文正文仍可读。\n".encode(),
         title="拉丁字节", body=("Caf", "中文正文仍可读。"), repair=r"UTF-8"),
    Case("empty", "empty.md", b"", skipped=r"empty"),
    Case("binary", "binary.md", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8, skipped=r"binary"),
    Case("duplicate-title-a", "duplicate_a.md", _yaml("title: 重复的标题", "第一篇重复标题的正文。"),
         title="重复的标题", body=("第一篇",)),
    Case("duplicate-title-b", "duplicate_b.md", _yaml("title: 重复的标题", "第二篇重复标题的正文。"),
         title="重复的标题", body=("第二篇",)),
    Case("date-empty", "date_empty.md", _yaml('title: 空日期\ndate: ""', "正文"), title="空日期", date=None),
    Case("date-slashes", "date_slashes.md", _yaml("title: 斜线日期\ndate: 2021/7/1", "正文"), date=JULY_1),
    Case("date-offset", "date_offset.md", _yaml("title: 时区日期\ndate: 2021-07-01 08:00:00 +0800", "正文"),
         date=JULY_1),
    Case("date-english", "date_english.md", _yaml("title: 英文日期\ndate: July 1, 2021", "正文"), date=JULY_1),
    Case("date-epoch", "date_epoch.md", _yaml("title: 纪元日期\ndate: 1625097600", "正文"), date=JULY_1),
    Case("date-invalid-quoted", "date_invalid_quoted.md",
         _yaml('title: 无效日期\ndate: "2021-13-45"\ntags: [甲]', "正文"),
         title="无效日期", date=None, repair=r"2021-13-45", tags=("甲",)),
    # unquoted, YAML itself chokes on the date: see test_unquoted_invalid_date_keeps_other_front_matter
    Case("date-invalid-unquoted", "date_invalid_unquoted.md",
         _yaml("title: 无效日期未加引号\ndate: 2021-13-45\ntags: [甲]", "未加引号的正文。"),
         body=("未加引号的正文。",), date=None, repair=SOME),
    Case("tags-block-list", "tags_block.md", _yaml("title: 块列表\ntags:\n  - 港鐵\n  - 香港 地鐵", "正文"),
         tags=("港鐵", "香港 地鐵")),
    Case("tags-flow-list", "tags_flow.md", _yaml("title: 流列表\ntags: [ 联合早报 ]", "正文"), tags=("联合早报",)),
    Case("tags-string", "tags_string.md", _yaml('title: 字符串标签\ntags: "科技, 人工智能"', "正文"),
         tags=("科技", "人工智能")),
    Case("tags-numbers", "tags_numbers.md", _yaml("title: 数字标签\ntags: [2021, 7]\ncategories: 42", "正文"),
         tags=("2021", "7")),
    Case("title-list", "title_list.md", _yaml("title: [港鐵, 通車]", "标题是列表的正文。"),
         title="港鐵 通車", body=("标题是列表的正文。",)),
    # dropped silently: see test_ignored_front_matter_values_are_reported
    Case("title-dict", "title_dict.md", _yaml("title: {zh: 标题, en: Title}", "标题是字典的正文。"),
         title="", body=("标题是字典的正文。",), repair=ANY),
    Case("tags-dict", "tags_dict.md", _yaml("title: 标签是字典\ntags: {港鐵: 1, 通車: 2}", "正文"),
         title="标签是字典", tags=(), repair=ANY),
    Case("nested-yaml", "nested_yaml.md",
         _yaml("title: 嵌套\nauthor: [记者甲, 记者乙]\ntags: [[甲, 乙], 丙, {丁: 1}]\nurl: {href: x}", "正文"),
         title="嵌套", tags=("丙",)),
]
CASE_IDS = [c.id for c in CASES]
SKIPPED_FILES = {c.filename for c in CASES if c.skipped}


def _write_matrix(folder: Path) -> bool:
    """Write the matrix into `folder`; returns whether the chmod-000 file is
    really unreadable (it is not when running as root)."""
    for case in CASES:
        (folder / case.filename).write_bytes(case.data)
    # a post whose file name is not valid UTF-8
    fd = os.open(os.fsencode(folder) + b"/" + BAD_NAME, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(fd, _yaml("title: 坏文件名", "文件名不是合法的UTF-8。"))
    finally:
        os.close(fd)
    # a ~20 MB post
    para = ("广东省政府近日公布一份数据要素市场化配置改革行动方案，提出支持深圳建设数据交易平台。"
            "Hong Kong reported more than 30,000 new infections today.\n\n")
    count = 20_000_000 // len(para.encode())
    (folder / HUGE_NAME).write_bytes(_yaml("title: 超大文件", para * count + HUGE_END))
    # a folder with a symlink back to its parent (a loop)
    (folder / "nested").mkdir()
    (folder / "nested" / "deep.md").write_bytes(_yaml("title: 深层", "嵌套文件夹里的正文。"))
    os.symlink("..", folder / "nested" / "loop")
    # an unreadable file
    unreadable = folder / "unreadable.md"
    unreadable.write_bytes(_yaml("title: 不可读", "不可读的正文。"))
    unreadable.chmod(0)
    return not os.access(unreadable, os.R_OK)


@pytest.fixture(scope="module")
def matrix(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("matrix") / "posts"
    folder.mkdir()
    unreadable = _write_matrix(folder)
    yield folder, unreadable
    (folder / "unreadable.md").chmod(0o644)


@pytest.fixture(scope="module")
def matrix_build(matrix, tmp_path_factory: pytest.TempPathFactory):
    folder, unreadable = matrix
    index_dir = tmp_path_factory.mktemp("matrix-index") / "ix"
    started = time.monotonic()
    report = build_index([folder], index_dir)
    return report, index_dir, time.monotonic() - started


def _check_repairs(case: Case, repairs: tuple[str, ...]) -> None:
    if case.repair is ANY:
        return
    if case.repair is SOME:
        assert repairs, "expected a repair to be reported"
    elif case.repair is None:
        assert repairs == ()
    else:
        assert any(re.search(case.repair, r) for r in repairs), repairs


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_matrix_read_article(matrix, case: Case) -> None:
    folder, _ = matrix
    result = read_article(source_for(folder / case.filename))  # must never raise
    if case.skipped:
        assert isinstance(result, Problem), result
        assert result.skipped is True
        assert result.path == case.filename
        assert re.search(case.skipped, result.reason), result.reason
        return
    assert isinstance(result, Article), result
    assert result.path == case.filename
    if case.title is not None:
        assert result.title == case.title
    for text in case.body:
        assert text in result.body, (text, result.body)
    if case.date is not ANY:
        assert result.date == case.date
    if case.tags is not None:
        assert result.tags == case.tags
    assert not CONTROL.search(result.title + result.body), "control characters left in the text"
    assert "\r" not in result.body and "\ufeff" not in result.title + result.body
    _check_repairs(case, result.repairs)


def test_matrix_control_chars_in_author_removed(matrix) -> None:
    folder, _ = matrix
    assert read(folder / "control_chars.md").author == "记者"


def test_matrix_nested_yaml_values(matrix) -> None:
    folder, _ = matrix
    article = read(folder / "nested_yaml.md")
    assert article.author == "记者甲 记者乙"
    assert article.url == ""


def test_matrix_tags_numbers_category_number(matrix) -> None:
    folder, _ = matrix
    assert read(folder / "tags_numbers.md").categories == ("42",)


def test_matrix_unreadable_file(matrix) -> None:
    folder, unreadable = matrix
    if not unreadable:
        pytest.skip("chmod 000 does not stop this user (root) from reading")
    result = read_article(source_for(folder / "unreadable.md"))
    assert isinstance(result, Problem) and result.skipped
    assert result.path == "unreadable.md"
    assert "cannot read" in result.reason


def test_file_gone_after_discover_is_a_problem(tmp_path: Path) -> None:
    """The same 'cannot read' path as an unreadable file, reachable as root."""
    path = write_post(tmp_path, "gone.md", "消失", "正文")
    source = source_for(path)
    path.unlink()
    result = read_article(source)
    assert isinstance(result, Problem) and result.skipped
    assert result.path == "gone.md"
    assert result.reason.startswith("cannot read")


def test_matrix_non_utf8_file_name(matrix) -> None:
    folder, _ = matrix
    path = Path(os.fsdecode(os.fsencode(folder) + b"/" + BAD_NAME))
    source = source_for(path)
    assert source.relpath == BAD_NAME_DISPLAY
    source.relpath.encode("utf-8")  # valid UTF-8 text
    source.key.encode("utf-8")
    article = read_article(source)
    assert isinstance(article, Article)
    assert article.title == "坏文件名"
    assert "文件名不是合法的UTF-8。" in article.body


def test_matrix_huge_post_read(matrix) -> None:
    folder, _ = matrix
    path = folder / HUGE_NAME
    assert path.stat().st_size > 19_000_000
    started = time.monotonic()
    article = read(path)
    assert time.monotonic() - started < 30
    assert article.title == "超大文件"
    assert len(article.body) > 9_000_000
    assert article.body.rstrip().endswith(HUGE_END)


def test_matrix_symlink_loop_discover_terminates(matrix) -> None:
    folder, _ = matrix
    items = list(discover([folder]))
    files = [i for i in items if isinstance(i, SourceFile)]
    problems = [i for i in items if isinstance(i, Problem)]
    keys = [f.key for f in files]
    assert len(keys) == len(set(keys)), "a file was found twice through the loop"
    assert "nested/deep.md" in [f.relpath for f in files]
    assert not any("loop" in f.relpath for f in files)
    assert len(problems) == 1
    assert problems[0].skipped and "symlink loop" in problems[0].reason
    assert problems[0].path.endswith("nested/loop")


# ------------------------------------------------- the matrix through build_index

def _expected_indexed(folder: Path, unreadable: bool) -> set[str]:
    rels = {c.filename for c in CASES if not c.skipped}
    rels |= {BAD_NAME_DISPLAY, HUGE_NAME, "nested/deep.md"}
    if not unreadable:
        rels.add("unreadable.md")
    return {f"{folder}/{rel}" for rel in rels}


def test_matrix_build_indexes_everything_else(matrix, matrix_build) -> None:
    folder, unreadable = matrix
    report, index_dir, _ = matrix_build
    expected = _expected_indexed(folder, unreadable)
    assert report.added == len(expected)
    assert report.updated == report.removed == report.unchanged == 0
    ix = open_whoosh(index_dir)
    try:
        keys = set(read_manifest(ix))  # keys of all live documents
    finally:
        ix.close()
    assert keys == expected


def test_matrix_build_skips_exactly_the_bad_files(matrix, matrix_build) -> None:
    folder, unreadable = matrix
    report, _, _ = matrix_build
    expected = set(SKIPPED_FILES) | ({"unreadable.md"} if unreadable else set())
    loops = [p for p in report.skipped if "symlink loop" in p.reason]
    files = [p for p in report.skipped if p not in loops]
    assert sorted(p.path for p in files) == sorted(expected)
    assert all(p.skipped and p.reason for p in report.skipped)
    reasons = {p.path: p.reason for p in files}
    assert "empty" in reasons["empty.md"]
    assert "binary" in reasons["binary.md"]
    # the loop folder is reported once, not as a post
    assert [p.path for p in loops] == [f"{folder}/nested/loop"]


def test_matrix_build_reports_repairs(matrix_build) -> None:
    report, _, _ = matrix_build
    repaired = {p.path for p in report.repaired}
    must = {c.filename for c in CASES if c.repair is SOME or isinstance(c.repair, str)}
    clean = {c.filename for c in CASES if c.repair is None and not c.skipped}
    assert must <= repaired
    assert not (clean & repaired)
    assert all(not p.skipped and p.reason for p in report.repaired)


def test_matrix_build_is_reasonably_fast(matrix_build) -> None:
    report, _, elapsed = matrix_build
    assert elapsed < 120, f"indexing the matrix (with a 20 MB post) took {elapsed:.1f}s"
    assert report.elapsed <= elapsed


@pytest.mark.parametrize(
    ("query", "path"),
    [
        (f'"{GB_PHRASE}"', "gb18030.md"),
        (f'"{BIG5_PHRASE}"', "big5.md"),
        (f'"{HUGE_END}"', HUGE_NAME),
        ('"文件名不是合法的UTF-8"', BAD_NAME_DISPLAY),
        ('"控制字符标题"', "control_chars.md"),
    ],
    ids=["gb18030", "big5", "huge", "bad-file-name", "control-chars"],
)
def test_matrix_posts_findable(matrix_build, query: str, path: str) -> None:
    _, index_dir, _ = matrix_build
    with searchkit.open_index(index_dir) as ix:
        results = ix.search(query)
    assert [h.path for h in results.hits] == [path]


def test_matrix_gb18030_and_big5_titles_stored(matrix_build) -> None:
    _, index_dir, _ = matrix_build
    with searchkit.open_index(index_dir) as ix:
        gb = ix.search(f'"{GB_PHRASE}"').hits[0]
        big5 = ix.search(f'"{BIG5_PHRASE}"').hits[0]
    assert (gb.title, gb.tags) == (GB_TITLE, ("科技", "经济"))
    assert (big5.title, big5.tags) == (BIG5_TITLE, ("港鐵", "交通"))


def test_matrix_duplicate_titles_both_indexed(matrix_build) -> None:
    _, index_dir, _ = matrix_build
    with searchkit.open_index(index_dir) as ix:
        results = ix.search('"重复的标题"', limit=10)
    assert sorted(h.path for h in results.hits) == ["duplicate_a.md", "duplicate_b.md"]


# ===================================================== former bugs (regression tests)

def test_unquoted_invalid_date_keeps_other_front_matter(tmp_path: Path) -> None:
    path = tmp_path / "post.md"
    path.write_bytes(_yaml("title: 无效日期未加引号\ndate: 2021-13-45\ntags: [甲]", "正文"))
    article = read(path)
    assert article.title == "无效日期未加引号"
    assert article.tags == ("甲",)
    assert article.date is None
    assert any("date" in r for r in article.repairs), article.repairs


def test_adjacent_blocks_are_separated() -> None:
    text = extract_visible_text("<p>Hong Kong</p><p>Macau</p><ul><li>one</li><li>two</li></ul>line<br>break")
    words = text.split()
    assert words == ["Hong", "Kong", "Macau", "one", "two", "line", "break"], text


def test_phrase_does_not_match_across_paragraphs(tmp_path: Path) -> None:
    posts = tmp_path / "posts"
    posts.mkdir()
    (posts / "p.html").write_text("---\ntitle: 段落\n---\n<p>Hong Kong</p><p>Macau</p>", encoding="utf-8")
    build_index([posts], tmp_path / "ix")
    with searchkit.open_index(tmp_path / "ix") as ix:
        assert ix.search('"Macau"').total == 1       # sanity: the post is indexed
        assert ix.search('"KongMacau"').total == 0


def test_utf16_post_is_decoded(tmp_path: Path) -> None:
    path = tmp_path / "utf16.md"
    path.write_bytes("---\ntitle: 港鐵通車\n---\n\n屯馬線通車。\n".encode("utf-16"))
    result = read_article(source_for(path))
    assert isinstance(result, Article), result
    assert result.title == "港鐵通車"
    assert "屯馬線通車。" in result.body


@pytest.mark.parametrize("front", ["title: {zh: 标题, en: Title}", "title: 标签\ntags: {港鐵: 1}"],
                         ids=["title-dict", "tags-dict"])
def test_ignored_front_matter_values_are_reported(tmp_path: Path, front: str) -> None:
    path = tmp_path / "post.md"
    path.write_bytes(_yaml(front, "正文"))
    assert read(path).repairs != ()
