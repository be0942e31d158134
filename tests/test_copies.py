"""Posts whose body repeats an earlier post's share its body postings and
stored text (segments.SegmentBuilder): searches must answer exactly as if
every post were indexed on its own."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

import searchkit
from searchkit import segments

from tests.conftest import SAMPLES

QUERIES = ['"港鐵"', "港鐵", '"屯馬綫通車"', "屯馬綫 通車", "港", '"数据交易"', "数据交易 深圳",
           '"國家安全"', "国家安全 教育", "香港", '"的"', "垃圾分类", '"C919"', "c919 首航",
           "tag:港鐵 通車", '"鐵路" date:2021', "-港鐵 香港", '"独角兽穿越沙漠"']


def _with_copies(target: Path) -> list[Path]:
    """sample_posts/ with a second copy of every post (another title in the
    front matter, same body) next to it; returns the copies."""
    shutil.copytree(SAMPLES, target)
    made = []
    for path in sorted(target.rglob("*")):
        if path.suffix not in (".md", ".html") or path.name.startswith("copy-"):
            continue
        text = path.read_text(encoding="utf-8")
        copy = path.with_name("copy-" + path.name)
        copy.write_text(re.sub(r'^title: .*$', 'title: "另一個標題"', text, count=1, flags=re.M),
                        encoding="utf-8")
        made.append(copy)
    return made


def _answers(ix: searchkit.Index) -> list[object]:
    out: list[object] = []
    for query in QUERIES:
        res = ix.search(query, limit=100)
        out.append((query, res.total,
                    [(h.path, round(h.score, 9), h.snippet, h.highlights) for h in res.hits]))
    out.append(sorted((h.path, round(h.score, 9)) for h in ix.related("article_103.md", limit=50)))
    return out


def _build(posts: Path, index: Path, share: bool, monkeypatch: pytest.MonkeyPatch) -> searchkit.Index:
    with monkeypatch.context() as patch:
        if not share:
            patch.setattr(segments.SegmentBuilder, "_original", lambda self, body: None)
        searchkit.build_index([str(posts)], str(index))
    return searchkit.open_index(index)


def _copy_files(index: Path) -> list[Path]:
    return sorted(index.glob(f"*{segments.COPIES_EXT}"))


def test_copies_answer_as_separate_posts(tmp_path, monkeypatch):
    posts = tmp_path / "posts"
    copies = _with_copies(posts)
    shared = _build(posts, tmp_path / "shared", True, monkeypatch)
    plain = _build(posts, tmp_path / "plain", False, monkeypatch)
    assert len(segments.read_copies(*_storage_and_segment(tmp_path / "shared"))) == 2 * len(copies)
    assert not _copy_files(tmp_path / "plain")
    assert _answers(shared) == _answers(plain)
    hits = shared.search('"屯馬綫通車"', limit=10).hits
    assert {h.path for h in hits} >= {"article_101.md", "copy-article_101.md"}
    # records: the copy's body is its original's, its title its own
    copy = next(h for h in hits if h.path == "copy-article_101.md")
    assert copy.title == "另一個標題" and "屯馬綫" in copy.snippet


def test_copies_outlive_their_original(tmp_path, monkeypatch):
    # the original deleted or changed: its postings stay for its copy until
    # the segment is rewritten, and searches see the copy alone
    posts = tmp_path / "posts"
    _with_copies(posts)
    other = tmp_path / "other"
    _with_copies(other)
    _build(posts, tmp_path / "shared", True, monkeypatch)
    _build(other, tmp_path / "plain", False, monkeypatch)
    for folder in (posts, other):
        (folder / "article_101.md").unlink()
        changed = folder / "article_102.md"
        changed.write_text(changed.read_text(encoding="utf-8") + "\n\n独角兽穿越沙漠\n", encoding="utf-8")
    shared = _build(posts, tmp_path / "shared", True, monkeypatch)
    plain = _build(other, tmp_path / "plain", False, monkeypatch)
    assert _answers(shared) == _answers(plain)
    paths = {h.path for h in shared.search('"屯馬綫通車"', limit=10).hits}
    assert "copy-article_101.md" in paths and "article_101.md" not in paths
    paths = {h.path for h in shared.search('"独角兽穿越沙漠"', limit=10).hits}
    assert paths == {"article_102.md"}


def test_a_merge_keeps_the_shared_bodies(tmp_path, monkeypatch):
    # segments rewritten from their records (merging) give copies their bodies
    from searchkit import merging

    posts = tmp_path / "posts"
    _with_copies(posts)
    _build(posts, tmp_path / "shared", True, monkeypatch)
    first = _copy_files(tmp_path / "shared")
    for i in range(merging.MAX_SMALL + 1):  # small runs until a merge is due
        extra = posts / f"extra-{i}.md"
        extra.write_text(f"---\ntitle: Lorem {i}\n---\n\nLorem ipsum {i}\n", encoding="utf-8")
        searchkit.build_index([str(posts)], str(tmp_path / "shared"))
    after = _copy_files(tmp_path / "shared")
    assert len(first) == len(after) == 1 and first != after  # the segment was rewritten
    plain = _build(posts, tmp_path / "plain", False, monkeypatch)
    assert _answers(searchkit.open_index(tmp_path / "shared")) == _answers(plain)


def _storage_and_segment(index: Path):
    from whoosh import index as whoosh_index

    ix = whoosh_index.open_dir(str(index), indexname="MAIN")
    (segment,) = ix._segments()
    return ix.storage, segment


def test_a_damaged_copies_file_is_reported(tmp_path, monkeypatch):
    posts = tmp_path / "posts"
    _with_copies(posts)
    _build(posts, tmp_path / "shared", True, monkeypatch)
    (damaged,) = _copy_files(tmp_path / "shared")
    damaged.write_bytes(damaged.read_bytes()[:-3])
    with pytest.raises(searchkit.IndexCorruptError, match="not whole pairs"):
        searchkit.open_index(tmp_path / "shared").search('"港鐵"')


def test_copies_answer_as_separate_posts_in_bulk(tmp_path, monkeypatch):
    # the numpy paths (long posting lists, many posts to score) as well
    from searchkit import bulk

    posts = tmp_path / "posts"
    _with_copies(posts)
    shared = _build(posts, tmp_path / "shared", True, monkeypatch)
    plain = _build(posts, tmp_path / "plain", False, monkeypatch)
    monkeypatch.setattr(bulk, "SCORE_FROM", 1)
    monkeypatch.setattr(bulk, "FROM_DOCS", 1)
    monkeypatch.setattr(bulk, "warm", True)
    assert _answers(shared) == _answers(plain)


def test_raw_postings_of_body_fields_include_the_copies(tmp_path, monkeypatch):
    # (documents are numbered alike in both builds: one segment, same order)
    from whoosh import index as whoosh_index

    from searchkit.substring import raw_postings

    posts = tmp_path / "posts"
    _with_copies(posts)
    _build(posts, tmp_path / "shared", True, monkeypatch)
    _build(posts, tmp_path / "plain", False, monkeypatch)
    shared, plain = (whoosh_index.open_dir(str(tmp_path / name), indexname="MAIN").reader()
                     for name in ("shared", "plain"))
    for field, term in (("bw", "港铁"), ("bc", "港铁"), ("bu", "港"), ("bw", "数据")):
        for weights in (False, True):
            got = raw_postings(shared, field, term, with_weights=weights)
            assert got == raw_postings(plain, field, term, with_weights=weights) and got[0]
