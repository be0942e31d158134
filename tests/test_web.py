"""The web interface (`searchkit serve`), through Starlette's TestClient."""

from __future__ import annotations

import json
import re
import socket
from html import unescape
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx2")

from starlette.testclient import TestClient

import searchkit
from conftest import write_post
from searchkit.web import create_app, mark_text, query_needles

DATA_TITLE = "广东支持深圳建设粤港澳大湾区数据交易平台"
HEX_LINK = re.compile(r'<h3><a href="(/post/([0-9a-f]{16})[^"]*)">([^<]*)</a></h3>')
SUMMARY = re.compile(r'<p class="summary" id="summary">\s*(?:(\d+)–(\d+) of )?(\d+) posts?')


@pytest.fixture(scope="module")
def client(sample_index: Path):
    with TestClient(create_app(sample_index)) as c:
        yield c


def hits(html: str) -> list[tuple[str, str, str]]:
    """(href, id, title) of each result, in order."""
    return [(unescape(h), i, unescape(t)) for h, i, t in HEX_LINK.findall(html)]


def summary(html: str) -> tuple[int, int, int]:
    match = SUMMARY.search(html)
    assert match, html
    first, last, total = match.groups()
    return int(first or 0), int(last or 0), int(total)


def dates(html: str) -> list[str]:
    section = html.split('<ol class="hits"', 1)[1].split("</ol>", 1)[0]
    return re.findall(r'<time datetime="([0-9-]+)">', section)


def facet_links(html: str, name: str) -> dict[str, tuple[str, bool]]:
    """label → (href, active) of one facet list in the sidebar."""
    block = re.search(rf'<ul class="facet-{name}">(.*?)</ul>', html, re.DOTALL)
    assert block, f"no {name} facet"
    links = re.findall(r'<li><a href="([^"]*)"( class="active")?[^>]*>([^<]*)</a>', block.group(1))
    return {unescape(label): (unescape(href), bool(active)) for href, active, label in links}


# ------------------------------------------------------------------ pages

def test_blank_page_is_just_the_search_box(client):
    res = client.get("/")
    assert res.status_code == 200
    assert res.headers["content-type"] == "text/html; charset=utf-8"
    assert '<meta charset="utf-8">' in res.text
    assert 'name="q"' in res.text
    assert 'name="sort"' not in res.text and 'class="summary"' not in res.text
    assert "script-src" not in res.headers["content-security-policy"]  # no scripts at all
    assert res.headers["x-content-type-options"] == "nosniff"


def test_search_page_marks_matches(client):
    res = client.get("/", params={"q": "数据交易"})
    assert res.status_code == 200
    found = hits(res.text)
    assert [t for _, _, t in found] == [DATA_TITLE]
    assert "<mark>数据交易</mark>" in res.text
    assert summary(res.text) == (1, 1, 1)
    assert re.search(r"\(\d+\.\d ms\)", res.text)
    href, pid, _ = found[0]
    assert href == f"/post/{pid}?q=%E6%95%B0%E6%8D%AE%E4%BA%A4%E6%98%93"
    assert "www.example.com" in res.text  # the source site
    assert 'value="数据交易"' in res.text  # the box keeps the query


def test_tag_facet_link_filters_and_toggles(client, sample_ix):
    res = client.get("/", params={"q": "数据"})
    tags = facet_links(res.text, "tag")
    href, active = tags["联合早报"]
    assert not active and parse_qs(urlsplit(href).query)["tag"] == ["联合早报"]
    narrowed = client.get(href)
    expected = sample_ix.search("数据", tags=["联合早报"], limit=100)
    assert summary(narrowed.text)[2] == expected.total < summary(res.text)[2]
    assert {t for _, _, t in hits(narrowed.text)} == {h.title for h in expected.hits}
    href, active = facet_links(narrowed.text, "tag")["联合早报"]
    assert active and "tag" not in parse_qs(urlsplit(href).query)  # clicking again removes it
    assert summary(client.get(href).text)[2] == summary(res.text)[2]
    # a hit's tag links add the same filter
    assert 'class="tag" href="/?q=%E6%95%B0%E6%8D%AE&amp;tag=%E8%81%94%E5%90%88%E6%97%A9%E6%8A%A5"' in res.text


def test_category_facet_and_script_blind_toggle(client, sample_ix):
    res = client.get("/", params={"q": "香港"})
    categories = facet_links(res.text, "category")
    assert categories
    label, (href, _) = next(iter(categories.items()))
    narrowed = client.get(href)
    assert summary(narrowed.text)[2] == sample_ix.search("香港", categories=[label]).total
    assert facet_links(narrowed.text, "category")[label][1]


def test_pagination(client, sample_ix):
    total = sample_ix.search("", date_from="1990-01-01").total
    assert total > 10
    first = client.get("/", params={"from": "1990-01-01", "sort": "-date"})
    assert summary(first.text) == (1, 10, total)
    assert 'rel="prev"' not in first.text
    nxt = re.search(r'<a href="([^"]*)" rel="next">', first.text)
    assert nxt and "page=2" in nxt.group(1)
    second = client.get(unescape(nxt.group(1)))
    assert summary(second.text) == (11, total, total)
    assert 'rel="next"' not in second.text and 'rel="prev"' in second.text
    assert '<span aria-current="page">2</span>' in second.text
    assert not {i for _, i, _ in hits(first.text)} & {i for _, i, _ in hits(second.text)}
    assert len(hits(first.text)) + len(hits(second.text)) == total
    beyond = client.get("/", params={"from": "1990-01-01", "page": "9"})
    assert beyond.status_code == 200 and "Back to the first page" in beyond.text
    assert client.get("/", params={"q": "数据", "page": "0"}).status_code == 400
    assert client.get("/", params={"q": "数据", "page": "x"}).status_code == 400


def test_sort(client):
    newest = client.get("/", params={"from": "1990-01-01", "sort": "-date"})
    oldest = client.get("/", params={"from": "1990-01-01", "sort": "date"})
    assert dates(newest.text) == sorted(dates(newest.text), reverse=True)
    assert dates(oldest.text) == sorted(dates(oldest.text))
    assert dates(newest.text)[0] > dates(oldest.text)[0]
    assert '<option value="-date" selected>' in newest.text
    assert '<option value="date" selected>' in oldest.text
    bad = client.get("/", params={"q": "数据", "sort": "title"})
    assert bad.status_code == 400 and "unknown sort" in bad.text


def test_date_range(client, sample_ix):
    res = client.get("/", params={"q": "香港", "from": "2021-07-01", "to": "2021-07-31"})
    expected = sample_ix.search("香港", date_from="2021-07-01", date_to="2021-07-31")
    assert summary(res.text)[2] == expected.total > 0
    assert all("2021-07-01" <= d <= "2021-07-31" for d in dates(res.text))
    assert 'name="from" value="2021-07-01"' in res.text and 'name="to" value="2021-07-31"' in res.text
    # a month given in the URL shows as whole days in the date inputs
    res = client.get("/", params={"q": "香港", "from": "2021-07", "to": "2021-07"})
    assert 'name="from" value="2021-07-01"' in res.text and 'name="to" value="2021-07-31"' in res.text
    assert summary(res.text)[2] == expected.total
    bad = client.get("/", params={"q": "香港", "from": "July"})
    assert bad.status_code == 400 and "is not a date" in unescape(bad.text)


def test_month_histogram(client, sample_ix):
    res = client.get("/", params={"q": "香港"})
    months = dict(sample_ix.search("香港", facets=["month"]).facets["month"])
    svg = re.search(r"<svg .*?</svg>", res.text, re.DOTALL)
    assert svg
    bars = re.findall(r'<a href="([^"]*)" aria-label="(\d{4}-\d\d): (\d+) posts?"><rect class="bar',
                      svg.group(0))
    assert {m: int(n) for _, m, n in bars} == months
    href, month, count = bars[-1]
    query = parse_qs(urlsplit(unescape(href)).query)
    assert query["from"][0] == f"{month}-01" and query["to"][0].startswith(month)
    narrowed = client.get(unescape(href))
    assert summary(narrowed.text)[2] == int(count)
    assert 'rect class="bar active"' in narrowed.text


def test_article_page(client):
    res = client.get("/", params={"q": "数据交易"})
    href, pid, _ = hits(res.text)[0]
    page = client.get(href)
    assert page.status_code == 200
    assert f"<h1>{DATA_TITLE}</h1>" in page.text
    assert "<mark>数据交易</mark>" in page.text
    assert "联合早报" in page.text  # author and tag
    assert ('<a class="source" href="https://www.example.com/realtime/china/story20210712-0000001" '
            'rel="noopener noreferrer">') in page.text
    assert "广告脚本" not in page.text  # scripts are not visible text
    assert "Related stories" in page.text and page.text.count('<li><a href="/post/') >= 1
    assert f'href="/post/{pid}/explain?q=%E6%95%B0%E6%8D%AE%E4%BA%A4%E6%98%93"' in page.text
    plain = client.get(f"/post/{pid}")
    assert plain.status_code == 200 and "<mark>" not in plain.text and "/explain" not in plain.text


def test_related_marks_near_duplicates(tmp_path):
    posts = tmp_path / "posts"
    story = ("深圳市政府今日宣布，将在前海设立跨境数据交易试验区，首批二十家企业获准参与，"
             "涵盖金融、物流和医疗三个领域。当局表示，试验区将采用隐私计算技术，确保个人信息安全，"
             "并计划在明年底前把经验推广到大湾区其他城市。") * 2
    write_post(posts, "wire-a.md", "前海设跨境数据交易试验区", story, date="2021-08-01")
    write_post(posts, "wire-b.md", "前海跨境数据交易试验区启动", story + "（转载）", date="2021-08-02")
    write_post(posts, "other.md", "台风暴雨袭击华南", "台风带来暴雨，多地停课。数据显示雨量创新高。",
               date="2021-08-03")
    searchkit.build_index([str(posts)], str(tmp_path / "index"))
    with TestClient(create_app(tmp_path / "index")) as client:
        data = client.get("/api/search", params={"q": "前海"}).json()
        pid = next(h["id"] for h in data["hits"] if h["path"] == "wire-a.md")
        page = client.get(f"/post/{pid}")
        assert re.search(r'前海跨境数据交易试验区启动</a>.*?near-duplicate \(\d+%\)', page.text, re.DOTALL)
        related = client.get(f"/api/post/{pid}").json()["related"]
        assert [r["duplicate"] for r in related if r["path"] == "wire-b.md"] == [True]


def test_explain_page(client):
    pid = hits(client.get("/", params={"q": "数据交易"}).text)[0][1]
    res = client.get(f"/post/{pid}/explain", params={"q": '"数据交易" tag:联合早报'})
    assert res.status_code == 200
    assert "<strong class=\"verdict-ok\">matches</strong>" in res.text
    assert res.text.count('<li class="ok">') == 3  # and, phrase, tag
    assert "exact &#39;数据交易&#39;" in res.text and "total" in res.text
    miss = client.get(f"/post/{pid}/explain", params={"q": "奥运"})
    assert miss.status_code == 200 and "does not match" in miss.text and '<li class="no">' in miss.text
    assert client.get(f"/post/{pid}/explain").status_code == 400
    assert client.get(f"/post/{pid}/explain", params={"q": "foo:bar"}).status_code == 400


# -------------------------------------------------------------------- API

def test_api_search_matches_cli_json(client, sample_index):
    from typer.testing import CliRunner

    from searchkit.cli import app

    for query in ("数据交易", "香港"):
        cli = CliRunner().invoke(app, ["query", query, "--index", str(sample_index), "--json",
                                       "--facets", "tag,category,site,month"])
        assert cli.exit_code == 0, cli.output
        expected = json.loads(cli.stdout)
        res = client.get("/api/search", params={"q": query})
        assert res.status_code == 200 and res.headers["content-type"] == "application/json"
        got = res.json()
        ids = [h.pop("id") for h in got["hits"]]
        assert got == expected
        assert all(re.fullmatch(r"[0-9a-f]{16}", i) for i in ids)
    page2 = client.get("/api/search", params={"from": "1990-01-01", "page": 2, "sort": "date"}).json()
    cli = CliRunner().invoke(app, ["query", "", "--from", "1990-01-01", "--offset", "10", "--sort", "date",
                                   "--index", str(sample_index), "--json"])
    assert [h["path"] for h in page2["hits"]] == [h["path"] for h in json.loads(cli.stdout)["hits"]]


def test_api_post(client):
    pid = client.get("/api/search", params={"q": "数据交易"}).json()["hits"][0]["id"]
    data = client.get(f"/api/post/{pid}").json()
    assert data["id"] == pid and data["title"] == DATA_TITLE
    assert data["path"] == "2021-07-12-shenzhen-data-exchange.md"
    assert data["date"].startswith("2021-07-12T") and data["date"].endswith("Z")
    assert data["tags"] == ["联合早报"] and data["site"] == "www.example.com"
    assert "数据交易" in data["text"]
    assert data["related"] and all({"id", "path", "title", "duplicate"} <= set(r) for r in data["related"])
    for r in data["related"]:
        assert client.get(f"/api/post/{r['id']}").status_code == 200


def test_bad_query_is_a_friendly_400(client):
    res = client.get("/", params={"q": "foo:bar"})
    assert res.status_code == 400
    assert "foo" in res.text and 'class="error"' in res.text and "Traceback" not in res.text
    assert 'value="foo:bar"' in res.text  # the form stays filled in
    api = client.get("/api/search", params={"q": "foo:bar"})
    assert api.status_code == 400 and "foo" in api.json()["error"]
    assert client.get("/api/search").status_code == 400  # empty query, no filters


def test_unknown_post_is_404(client):
    for path in ("/post/0123456789abcdef", "/post/..%2F..%2Fetc%2Fpasswd", "/post/ABC",
                 "/post/0123456789abcdef/explain?q=x", "/nowhere"):
        res = client.get(path)
        assert res.status_code == 404, path
        assert "text/html" in res.headers["content-type"] and "Not found" in res.text
    api = client.get("/api/post/0123456789abcdef")
    assert api.status_code == 404 and api.json() == {"error": "no such post"}


def test_read_only(client):
    assert client.post("/", data={"q": "x"}).status_code == 405
    assert client.delete("/api/post/0123456789abcdef").status_code == 405


def test_markup_in_posts_is_escaped(tmp_path):
    posts = tmp_path / "posts"
    write_post(posts, "evil.md", "<script>alert(1)</script>",
               "有人在文章里写 `<img src=x onerror=alert(2)>` 测试转义。",
               tags='["<b>粗</b>"]', url='"javascript:alert(3)"', date="2021-01-02")
    write_post(posts, "fine.md", "普通文章", "普通的内容 测试转义。", date="2021-01-03")
    searchkit.build_index([str(posts)], str(tmp_path / "index"))
    with TestClient(create_app(tmp_path / "index")) as client:
        res = client.get("/", params={"q": "测试转义"})
        assert res.status_code == 200
        assert "<script>" not in res.text and "<b>粗</b>" not in res.text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in res.text
        assert "&lt;b&gt;粗&lt;/b&gt;" in res.text
        href = next(h for h, _, t in hits(res.text) if t == "<script>alert(1)</script>")
        page = client.get(href)
        assert "<h1>&lt;script&gt;alert(1)&lt;/script&gt;</h1>" in page.text
        assert "<img" not in page.text and "&lt;img src=x onerror=alert(2)&gt;" in page.text
        assert 'href="javascript:' not in page.text  # a non-web source URL is shown, not linked
        q = client.get("/", params={"q": '"<script>"'})
        assert "<script>" not in q.text


# ----------------------------------------------------------------- pieces

def test_marking_is_script_blind():
    needles = query_needles('"国家安全" -广告 数据交易')
    assert {"国家安全", "数据交易", "数据", "交易"} <= set(needles) and "广告" not in needles
    text = "維護國家安全。\n\n國家\n  安全，ＤＡＴＡ"
    marked = mark_text(text, ["国家安全", "国家 安全", "data"])
    assert [t for t, m in marked if m] == ["國家安全", "國家\n  安全", "ＤＡＴＡ"]
    assert "".join(t for t, _ in marked) == text
    assert query_needles("") == [] and mark_text("", ["x"]) == []


def test_serve_command(monkeypatch, sample_index):
    import uvicorn
    from typer.testing import CliRunner

    from searchkit import cli
    from searchkit.cli import app

    from searchkit.web import SERVE_SETTINGS, app_from_environment

    calls = []
    monkeypatch.setattr(uvicorn, "run", lambda app_, **kw: calls.append((app_, kw)))
    monkeypatch.delenv(SERVE_SETTINGS, raising=False)
    result = CliRunner().invoke(app, ["serve", "--index", str(sample_index), "--port", "9123",
                                      "--workers", "3"])
    assert result.exit_code == 0, result.output
    assert calls == [("searchkit.web:app_from_environment",
                      {"factory": True, "workers": 3, "host": "127.0.0.1", "port": 9123,
                       "log_level": "warning", "server_header": False})]
    assert "http://127.0.0.1:9123/ with 3 processes" in result.stderr and "warning" not in result.stderr
    # what each worker process builds from the settings serve left in the environment
    worker_app = app_from_environment()
    # warmed up before serving: the facet tables of the first search are built
    assert worker_app.state.archive.ix._facet_tables is not None
    with TestClient(worker_app, base_url="http://127.0.0.1") as worker:
        assert "数据交易" in worker.get("/api/search", params={"q": "数据交易"}).text
        assert worker.get("/", headers={"host": "evil.example"}).status_code == 400
    with socket.socket() as busy:  # a port in use: exit 2 before serving
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = str(busy.getsockname()[1])
        result = CliRunner().invoke(app, ["serve", "--index", str(sample_index), "--port", port])
    assert result.exit_code == 2 and "cannot listen" in result.stderr and len(calls) == 1
    monkeypatch.setattr(cli, "_check_port", lambda host, port: None)  # bind nothing but loopback here
    result = CliRunner().invoke(app, ["serve", "--index", str(sample_index), "--host", "0.0.0.0"])
    assert result.exit_code == 0 and "warning" in result.stderr and calls[-1][1]["host"] == "0.0.0.0"
    result = CliRunner().invoke(app, ["serve", "--index", str(sample_index / "missing")])
    assert result.exit_code == 2 and result.stderr.startswith("searchkit: error:")


def test_cached_responses_follow_the_index(tmp_path, posts_copy):
    """A repeated search is answered from the response and result caches,
    but never with the results of an older index generation."""
    index = tmp_path / "index"
    searchkit.build_index([posts_copy], index)
    with TestClient(create_app(index, cache=8), base_url="http://127.0.0.1") as c:
        first = c.get("/", params={"q": "缓存测试词"})
        api = c.get("/api/search", params={"q": "缓存测试词"}).json()
        assert summary(first.text)[2] == 0 and api["total"] == 0
        again = c.get("/", params={"q": "缓存测试词"})
        assert again.text == first.text and again.headers["content-type"] == "text/html; charset=utf-8"
        assert "content-security-policy" in again.headers
        write_post(posts_copy, "cache-probe.md", "缓存测试词出现了", "正文也有缓存测试词。")
        searchkit.build_index([posts_copy], index)
        assert summary(c.get("/", params={"q": "缓存测试词"}).text)[2] == 1
        assert c.get("/api/search", params={"q": "缓存测试词"}).json()["total"] == 1


def test_library_result_cache_follows_the_index(tmp_path, posts_copy):
    index = tmp_path / "index"
    searchkit.build_index([posts_copy], index)
    ix = searchkit.open_index(index, cache=4)
    assert ix.search("缓存测试词").total == 0
    assert ix.search("缓存测试词").total == 0
    write_post(posts_copy, "cache-probe.md", "缓存测试词出现了", "正文也有缓存测试词。")
    searchkit.build_index([posts_copy], index)
    res = ix.search('"缓存测试词"')
    assert res.total == 1 and ix.search("缓存测试词").total == 1
    assert ix.search('"缓存测试词"').hits == res.hits  # answered again from the cache
    for n in range(6):  # more distinct searches than the cache holds
        ix.search(f"词{n}")
    assert ix.search("缓存测试词", limit=1).total == 1
