"""User dictionary: changing it re-segments exactly the posts that contain
an added or removed word, and the result equals a fresh build."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import searchkit
from searchkit.analysis import normalize, use_dictionary
from searchkit.config import Settings
from searchkit.documents import Problem
from searchkit.indexer import build_index, open_whoosh
from searchkit.sources import discover, read_article

SAMPLES = Path(__file__).resolve().parent.parent / "sample_posts"


@pytest.fixture(autouse=True)
def _reset_dictionary():
    yield
    use_dictionary(())


def _words_by_post(index_dir: Path) -> dict[str, set[str]]:
    """post key → its body and title words, read from the index."""
    ix = open_whoosh(index_dir)
    out: dict[str, set[str]] = {}
    with ix.searcher() as searcher:
        reader = searcher.reader()
        keys = reader.column_reader("key")
        for field in ("tw", "bw"):
            for term in reader.lexicon(field):
                for docnum in searcher.docs_for_query(__import__("whoosh.query", fromlist=["Term"]).Term(field, term)):
                    if not reader.is_deleted(docnum):
                        out.setdefault(keys[docnum], set()).add(f"{field}:{term.decode()}")
    return out


def _posts_containing(words: list[str]) -> int:
    count = 0
    for item in discover([SAMPLES]):
        article = read_article(item)
        if isinstance(article, Problem):
            continue
        text = normalize(article.title) + "\n" + normalize(article.body)
        count += any(normalize(w) in text for w in words)
    return count


def test_adding_and_removing_words(tmp_path: Path) -> None:
    posts = tmp_path / "posts"
    shutil.copytree(SAMPLES, posts)
    words = tmp_path / "words.txt"
    words.write_text("湾区数据 10\n屯馬綫\n", encoding="utf-8")
    index = tmp_path / "ix"
    build_index([posts], index)
    before = _words_by_post(index)
    report = build_index([posts], index, settings=Settings(userdict=words))
    assert report.resegmented == _posts_containing(["湾区数据", "屯馬綫"]) == 2
    after = _words_by_post(index)
    fresh = tmp_path / "fresh"
    build_index([posts], fresh, settings=Settings(userdict=words))
    assert after == _words_by_post(fresh)            # no stale segmentation
    assert after != before
    assert sum(after[k] != before[k] for k in before) <= 2
    assert build_index([posts], index, settings=Settings(userdict=words)).resegmented == 0
    removed = build_index([posts], index)              # back to jieba's own words
    assert removed.resegmented == 2
    assert _words_by_post(index) == before


def test_queries_use_the_index_dictionary(tmp_path: Path) -> None:
    words = tmp_path / "words.txt"
    words.write_text("湾区数据\n", encoding="utf-8")
    index = tmp_path / "ix"
    build_index([SAMPLES], index, settings=Settings(userdict=words))
    use_dictionary(())
    ix = searchkit.open_index(index)
    info = ix.explain("大湾区数据交易", "2021-07-12-shenzhen-data-exchange.md")
    assert "湾区数据" in info.clauses.detail
    assert ix.stats().user_words == 1


def test_cli_userdict_and_errors(tmp_path: Path) -> None:
    words = tmp_path / "words.txt"
    words.write_text("湾区数据 10\n", encoding="utf-8")
    cmd = [sys.executable, "-m", "searchkit"]
    index = str(tmp_path / "ix")
    done = subprocess.run([*cmd, "index", str(SAMPLES), "--index", index, "--userdict", str(words)],
                          capture_output=True, text=True)
    assert done.returncode == 0
    stats = subprocess.run([*cmd, "stats", "--index", index], capture_output=True, text=True)
    assert "1 user words" in stats.stdout
    words.write_text("湾区数据 1x\n", encoding="utf-8")
    bad = subprocess.run([*cmd, "index", str(SAMPLES), "--index", index, "--userdict", str(words)],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "line 1" in bad.stderr and "Traceback" not in bad.stderr
    missing = subprocess.run([*cmd, "index", str(SAMPLES), "--index", index, "--userdict",
                              str(tmp_path / "nope.txt")], capture_output=True, text=True)
    assert missing.returncode == 2 and "user dictionary" in missing.stderr


def test_config_file_supplies_userdict_and_sources(tmp_path: Path) -> None:
    shutil.copytree(SAMPLES, tmp_path / "archive")
    (tmp_path / "words.txt").write_text("湾区数据\n", encoding="utf-8")
    (tmp_path / "searchkit.toml").write_text(
        'sources = ["archive"]\nindex = "ix"\nuserdict = "words.txt"\ntitle_boost = 2.0\n', encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "searchkit", "index"], cwd=tmp_path,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "ix" / "userdict.txt").read_text(encoding="utf-8").count("湾区数据") == 1
    query = subprocess.run([sys.executable, "-m", "searchkit", "query", "数据交易"], cwd=tmp_path,
                           capture_output=True, text=True)
    assert query.returncode == 0 and "2021-07-12-shenzhen-data-exchange.md" in query.stdout
