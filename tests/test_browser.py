"""The web interface in a real browser: Playwright driving Debian's Chromium
against `searchkit serve`'s app run by uvicorn in a background thread.

Screenshots go to test-artifacts/ (git-ignored).  Skipped when
/usr/bin/chromium is missing (`apt-get install chromium fonts-noto-cjk`).
"""

from __future__ import annotations

import re
import socket
import threading
import time
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]

pytest.importorskip("uvicorn", reason="the web extra is not installed")
pytest.importorskip("playwright.sync_api", reason="playwright is not installed")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server(sample_index: Path):
    import uvicorn

    from searchkit.web import create_app

    port = free_port()
    config = uvicorn.Config(create_app(sample_index, allowed_hosts=["127.0.0.1"]), host="127.0.0.1",
                            port=port, log_level="warning", lifespan="off")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, name="searchkit-web", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the web server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: `apt-get install chromium fonts-noto-cjk` to run the browser test")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


def test_search_read_and_go_back(server, browser):
    from playwright.sync_api import expect

    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(viewport={"width": 1200, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        # type a query: the results mark it
        page.goto(server + "/")
        expect(page.locator("ol.hits")).to_have_count(0)
        page.locator("input[name=q]").fill("数据交易")
        page.locator("input[name=q]").press("Enter")
        expect(page.locator("ol.hits mark").first).to_have_text("数据交易")
        expect(page.locator("#summary")).to_contain_text("1 post")
        page.screenshot(path=str(ARTIFACTS / "web-1-search.png"), full_page=True)

        # a tag facet narrows the results and shows as active
        page.locator("input[name=q]").fill("数据")
        page.locator("input[name=q]").press("Enter")
        expect(page.locator("#summary")).to_contain_text("post")
        before = page.locator("#summary").inner_text()
        page.locator("ul.facet-tag a", has_text="联合早报").click()
        expect(page).to_have_url(re.compile(r"tag=%E8%81%94%E5%90%88%E6%97%A9%E6%8A%A5"))
        expect(page.locator("ul.facet-tag a.active")).to_have_text("联合早报")
        assert page.locator("#summary").inner_text() != before
        page.screenshot(path=str(ARTIFACTS / "web-2-facet.png"), full_page=True)

        # a broad search, then the next page
        page.locator("a.brand").click()
        expect(page.locator("#summary")).to_have_count(0)
        page.locator("input[name=q]").fill("date:>=1990-01-01")
        page.locator("input[name=q]").press("Enter")
        expect(page.locator("#summary")).to_contain_text("1–10 of")
        expect(page.locator("svg rect.bar").first).to_be_visible()
        page.locator("nav.pages a[rel=next]").click()
        expect(page).to_have_url(re.compile(r"page=2"))
        expect(page.locator("#summary")).to_contain_text("11–")
        page.screenshot(path=str(ARTIFACTS / "web-3-page2.png"), full_page=True)

        # open an article, then go back to the same page of results
        link = page.locator("ol.hits h3 a").first
        title = link.inner_text()
        link.click()
        expect(page.locator("article h1")).to_have_text(title)
        expect(page.locator("section.related h2")).to_have_text("Related stories")
        page.screenshot(path=str(ARTIFACTS / "web-4-article.png"), full_page=True)
        page.go_back()
        expect(page).to_have_url(re.compile(r"page=2"))
        expect(page.locator("#summary")).to_contain_text("11–")
    finally:
        context.close()
