"""Segment merging: only small or mostly-deleted segments are rewritten."""

from __future__ import annotations

from pathlib import Path

import searchkit
from searchkit.indexer import build_index, open_whoosh
from searchkit.merging import MAX_SMALL, choose_merges
from tests.conftest import write_post


class Seg:
    def __init__(self, docs: int, deleted: int = 0) -> None:
        self.docs, self.deleted = docs, deleted

    def doc_count(self) -> int:
        return self.docs - self.deleted

    def doc_count_all(self) -> int:
        return self.docs

    def deleted_count(self) -> int:
        return self.deleted


def test_full_segments_are_never_merged() -> None:
    assert choose_merges([Seg(8000) for _ in range(12)]) == []


def test_small_segments_merge_once_there_are_too_many() -> None:
    few = [Seg(8000)] + [Seg(10 * i) for i in range(1, MAX_SMALL + 1)]
    assert choose_merges(few) == []
    many = few + [Seg(5)]
    chosen = choose_merges(many)
    assert len(chosen) == MAX_SMALL + 1 and all(s.docs < 100 for s in chosen)


def test_mostly_deleted_segment_is_rewritten() -> None:
    heavy = Seg(8000, deleted=5000)
    assert choose_merges([heavy, Seg(8000)]) == [heavy]


def test_incremental_runs_keep_few_segments_and_fresh_results(tmp_path: Path) -> None:
    posts, index = tmp_path / "posts", tmp_path / "ix"
    write_post(posts, "p0.md", "第零篇", "香港新聞 零")
    build_index([posts], index)
    for i in range(1, 9):
        write_post(posts, f"p{i}.md", f"第{i}篇", f"香港新聞 {i}")
        build_index([posts], index)
    segments = open_whoosh(index)._segments()
    assert len(segments) <= MAX_SMALL + 1
    fresh = tmp_path / "fresh"
    build_index([posts], fresh)
    ours = searchkit.open_index(index).search("香港新聞", limit=50, snippets=False)
    clean = searchkit.open_index(fresh).search("香港新聞", limit=50, snippets=False)
    assert ours.total == clean.total == 9
    assert sorted(h.path for h in ours.hits) == sorted(h.path for h in clean.hits)


def test_long_posts_end_a_segment_early(tmp_path: Path, monkeypatch, sample_ix) -> None:
    # a segment ends at SEGMENT_POSTINGS postings as well as at SEGMENT_DOCS
    # posts (what a worker holds in memory grows with postings); the
    # segments found the same posts as one segment does
    from searchkit import indexer, merging
    from tests.conftest import SAMPLES

    monkeypatch.setattr(indexer, "SEGMENT_POSTINGS", 4000)  # a few sample posts each
    monkeypatch.setattr(merging, "MAX_SMALL", 100)  # keep them apart
    build_index([str(SAMPLES)], str(tmp_path / "index"))
    segments = open_whoosh(tmp_path / "index")._segments()
    assert 3 <= len(segments) < 14 and sum(s.doc_count() for s in segments) == 14
    split = searchkit.open_index(tmp_path / "index")
    for query in ("香港", '"数据交易"', "数据交易", "國家安全", '"民币"', "tag:联合早报", "港 -地铁"):
        assert ({h.path for h in split.search(query, limit=20).hits}
                == {h.path for h in sample_ix.search(query, limit=20).hits}), query
