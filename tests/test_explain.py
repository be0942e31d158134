"""`explain`: why a post matches a query, or which clause fails."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import searchkit
from searchkit.explain import PostNotFoundError

POST = "2021-07-12-shenzhen-data-exchange.md"


def test_matching_post_lists_positions_and_score(sample_ix: searchkit.Index) -> None:
    info = sample_ix.explain('"数据交易" tag:联合早报', POST)
    assert info.matched and info.clauses.kind == "and"
    phrase, tag = info.clauses.children
    assert phrase.matched and "title at [14]" in phrase.detail
    assert tag.matched and tag.kind == "tag"
    assert info.score["exact '数据交易'"] == 1000.0
    assert any(k.startswith("bm25 body '数据'") for k in info.score)


def test_failing_clause_is_named(sample_ix: searchkit.Index) -> None:
    info = sample_ix.explain("数据交易 国家安全", POST)
    assert not info.matched
    ok, failing = info.clauses.children
    assert ok.matched and not failing.matched
    assert "'国家安全' does not occur" in failing.detail


def test_negation_and_date(sample_ix: searchkit.Index) -> None:
    info = sample_ix.explain("深圳 -香港 date:2021-07", POST)
    assert not info.matched
    assert [c.matched for c in info.clauses.children] == [True, False, True]
    assert "2021-07-12" in info.clauses.children[2].detail


def test_explain_agrees_with_search(sample_ix: searchkit.Index) -> None:
    for query in ["数据交易", '"民币"', "國家安全 OR 地鐵", "title:数据", "-香港"]:
        found = {h.path for h in sample_ix.search(query, limit=100).hits}
        for path in ["2021-07-12-shenzhen-data-exchange.md", "article_101.md",
                     "2016-09-05-hangzhou-g20-summit.md", "article_104.md"]:
            assert sample_ix.explain(query, path).matched == (path in found), (query, path)


def test_unknown_path(sample_ix: searchkit.Index) -> None:
    with pytest.raises(PostNotFoundError):
        sample_ix.explain("数据交易", "nope.md")


def test_cli_explain(sample_index: Path) -> None:
    cmd = [sys.executable, "-m", "searchkit", "explain"]
    done = subprocess.run([*cmd, "数据交易", POST, "--index", str(sample_index)], capture_output=True, text=True)
    assert done.returncode == 0 and "matches" in done.stdout and "exact '数据交易'" in done.stdout
    miss = subprocess.run([*cmd, "国家安全", POST, "--index", str(sample_index), "--json"],
                          capture_output=True, text=True)
    assert miss.returncode == 1 and json.loads(miss.stdout)["matched"] is False
    bad = subprocess.run([*cmd, "x", "nope.md", "--index", str(sample_index)], capture_output=True, text=True)
    assert bad.returncode == 2 and "no indexed post" in bad.stderr
