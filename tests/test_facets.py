"""Facet counts: library and CLI, checked against counts from the hits."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import searchkit
from searchkit import bulk
from searchkit.analysis import normalize_label
from tests.conftest import write_post

ALL = 10_000


@pytest.mark.parametrize("query", ["的", "香港", "tag:联合早报", "date:2021"])
def test_facets_equal_counts_over_all_hits(sample_ix: searchkit.Index, query: str) -> None:
    res = sample_ix.search(query, limit=ALL, snippets=False, facets=["tag", "category", "month"])
    hits = res.hits
    assert len(hits) == res.total
    months = Counter(h.date.strftime("%Y-%m") for h in hits if h.date)
    assert dict(res.facets["month"]) == dict(months)
    assert [m for m, _ in res.facets["month"]] == sorted(months)
    tags = Counter(normalize_label(t) for h in hits for t in set(h.tags))
    assert len(res.facets["tag"]) == min(20, len(tags))
    assert all(tags[normalize_label(v)] == n for v, n in res.facets["tag"])
    cats = Counter(normalize_label(c) for h in hits for c in set(h.categories))
    assert all(cats[normalize_label(v)] == n for v, n in res.facets["category"])


def test_tag_facet_merges_scripts_and_keeps_a_written_spelling(tmp_path: Path) -> None:
    posts = tmp_path / "posts"
    write_post(posts, "a.md", "天氣一", "今日天晴", tags='["天氣"]')
    write_post(posts, "b.md", "天气二", "今日天晴", tags='["天气"]')
    write_post(posts, "c.md", "交通", "今日天晴", tags='["交通"]')
    ix = searchkit.build_index([str(posts)], str(tmp_path / "ix"))
    res = ix.search("天晴", facets=["tag"])
    values = dict(res.facets["tag"])
    assert len(values) == 2 and values.get("交通") == 1
    merged = [v for v in values if v != "交通"]
    assert merged[0] in ("天氣", "天气") and values[merged[0]] == 2


def test_site_facet_uses_the_archived_site(tmp_path: Path) -> None:
    posts = tmp_path / "posts"
    write_post(posts, "a.md", "一", "內容", url='"https://web.archive.org/web/2021/https://news.example.hk/a"')
    write_post(posts, "b.md", "二", "內容", url='"https://www.example.cn/b"')
    ix = searchkit.build_index([str(posts)], str(tmp_path / "ix"))
    assert dict(ix.search("內容", facets=["site"]).facets["site"]) == {
        "news.example.hk": 1, "www.example.cn": 1}


def test_unknown_facet_is_a_query_error(sample_ix: searchkit.Index) -> None:
    with pytest.raises(searchkit.QuerySyntaxError, match="bogus"):
        sample_ix.search("的", facets=["bogus"])


def test_cli_facets_json_and_table(sample_index: Path) -> None:
    cmd = [sys.executable, "-m", "searchkit", "query", "的", "--index", str(sample_index)]
    done = subprocess.run([*cmd, "--facets", "tag,month", "--json"], capture_output=True, text=True)
    assert done.returncode == 0
    data = json.loads(done.stdout)
    assert set(data["facets"]) == {"tag", "month"}
    assert sum(f["count"] for f in data["facets"]["month"]) == data["total"]  # all these posts are dated
    table = subprocess.run([*cmd, "--facets", "month"], capture_output=True, text=True)
    assert table.returncode == 0 and "2021-07" in table.stdout and "█" in table.stdout
    bad = subprocess.run([*cmd, "--facets", "bogus"], capture_output=True, text=True)
    assert bad.returncode == 2 and "unknown facet" in bad.stderr and bad.stdout == ""


@settings(max_examples=200, deadline=None)
@given(per_doc=st.lists(st.lists(st.sampled_from(["天氣", "交通", "政治", "2021-01", "b", "a"]),
                                 max_size=4, unique=True).map(tuple), min_size=1, max_size=60),
       data=st.data())
def test_array_counts_equal_counter_counts(per_doc, data) -> None:
    # large result sets are counted with numpy (bulk.count_labels)
    docs = data.draw(st.sets(st.integers(0, len(per_doc) - 1)))
    expected = sorted(Counter(label for d in docs for label in per_doc[d]).items())
    assert bulk.count_labels(bulk.LabelLists(per_doc), docs) == expected
