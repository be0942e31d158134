"""Posting lists longer than one block: phrase, filter and ranking results
over an index whose common bigrams span several posting blocks must equal
brute force over the posts (block skipping must never lose a document)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

import searchkit
from searchkit import bulk
from searchkit.analysis import normalize, segment
from searchkit.segments import BLOCK
from tests.conftest import write_post

POSTS = 3 * BLOCK + 40
WORDS = ("香港", "新聞", "政府", "市民", "議會", "交通")
RARE = ("鐵路", "回覆", "鐵路回覆", "……")


@pytest.fixture(scope="module")
def block_archive(tmp_path_factory: pytest.TempPathFactory) -> tuple[searchkit.Index, dict[str, tuple[str, str, str]]]:
    root = tmp_path_factory.mktemp("blocks")
    rng = random.Random(5)
    posts: dict[str, tuple[str, str, str]] = {}
    for n in range(POSTS):
        body = "".join(rng.choice(WORDS) for _ in range(rng.randint(10, 30)))
        if n % 23 == 0:  # bigrams in too few posts to keep positions (SPARSE_BIGRAMS)
            at = rng.randint(0, len(body))
            body = body[:at] + rng.choice(RARE) + body[at:]
        day = f"2021-{1 + n % 12:02d}-{1 + n % 28:02d}"
        tag = f"t{n % 7}"
        name = f"p{n:04d}.md"
        write_post(root / "posts", name, f"第{n}篇", body, date=day, tags=f"[{tag}]")
        posts[name] = (body, day, tag)
    searchkit.build_index([str(root / "posts")], str(root / "index"))
    return searchkit.open_index(root / "index"), posts


@pytest.fixture(params=["per-document", "numpy"])
def alignment(request, monkeypatch):
    """Both ways of aligning phrase positions: one document at a time, and
    numpy's bulk alignment (used from FROM_DOCS candidates; here from one)."""
    if request.param == "numpy":
        monkeypatch.setattr(bulk, "FROM_DOCS", 1)
        monkeypatch.setattr(bulk, "warm", True)
    return request.param


def found(ix: searchkit.Index, query: str, **kwargs: object) -> set[str]:
    return {Path(h.path).name for h in ix.search(query, limit=10 * POSTS, snippets=False, **kwargs).hits}


@pytest.mark.parametrize("phrase", ["香港", "港新", "香港新聞", "市民議會交通", "交通交"])
def test_phrases_over_several_blocks(block_archive, phrase, alignment):
    ix, posts = block_archive
    expected = {name for name, (body, _, _) in posts.items() if phrase in body}
    assert len(expected) > BLOCK or phrase == "市民議會交通"
    assert found(ix, f'"{phrase}"') == expected
    assert found(ix, phrase) >= expected


@pytest.mark.parametrize("phrase", ["香港鐵路", "鐵路香港", "路香港", "港鐵路回", "回复新闻", "回覆交", "......"])
def test_phrases_of_bigrams_with_and_without_positions(block_archive, phrase, alignment):
    # 香港 keeps its positions, 港鐵 and 鐵路 do not: such phrases are
    # confirmed against the posts' text
    ix, posts = block_archive
    expected = {name for name, (body, _, _) in posts.items() if normalize(phrase) in normalize(body)}
    assert expected or phrase == "港鐵路回"
    assert found(ix, f'"{phrase}"') == expected
    assert found(ix, phrase) >= expected


def test_rare_body_bigrams_keep_no_positions(block_archive):
    from searchkit.substring import has_positions, term_info

    ix, _ = block_archive

    def check(searcher):
        leaves = searcher.reader().leaf_readers()
        for leaf, _ in leaves:
            assert has_positions(term_info(leaf, "bc", "香港"))
            assert not has_positions(term_info(leaf, "bc", "铁路"))
        return len(leaves)

    assert ix.read(check) > 0


@pytest.mark.parametrize("month", ["2021-01", "2021-06", "2021-12"])
@pytest.mark.parametrize("phrase", ["香港", "新聞政府"])
def test_date_filter_within_long_posting_lists(block_archive, phrase, month, alignment):
    ix, posts = block_archive
    expected = {name for name, (body, day, _) in posts.items() if phrase in body and day.startswith(month)}
    assert found(ix, f'"{phrase}" date:{month}') == expected


@pytest.mark.parametrize("tag", ["t0", "t6"])
def test_tag_filter_within_long_posting_lists(block_archive, tag):
    ix, posts = block_archive
    expected = {name for name, (body, _, t) in posts.items() if "議會" in body and t == tag}
    assert found(ix, '"議會"', tags=[tag]) == expected


def test_ranking_reads_term_counts_from_every_block(block_archive):
    ix, posts = block_archive
    res = ix.search("市民", limit=10 * POSTS, snippets=False, tags=["t3"])
    expected = {name for name, (body, _, t) in posts.items() if "市民" in body and t == "t3"}
    assert {Path(h.path).name for h in res.hits} == expected
    # BM25 grows with the word's count and shrinks with the body's length in
    # words: a post with at least the count of another and at most its length
    # never scores lower (so every post's count was read from its block)
    counts = {h.path: posts[Path(h.path).name][0].count("市民") for h in res.hits}
    words = {h.path: len(segment(normalize(posts[Path(h.path).name][0]))) for h in res.hits}
    scores = {h.path: h.score for h in res.hits}
    assert len(set(counts.values())) > 1
    for a in scores:
        for b in scores:
            if counts[a] >= counts[b] and words[a] <= words[b]:
                assert scores[a] >= scores[b], (a, b)


def test_every_single_document_is_found_among_blocks(block_archive, alignment):
    # asking for one document at a time hits every block edge
    from searchkit.substring import raw_postings, segment_docs, weights_of

    ix, _ = block_archive

    def check(searcher):
        lists = 0
        for leaf, _ in searcher.reader().leaf_readers():
            ids, weights = raw_postings(leaf, "bw", "香港", with_weights=True)
            lists += len(ids) > BLOCK
            bigram = set(raw_postings(leaf, "bc", "香港")[0])
            phrase = segment_docs(leaf, "b", "香港新聞")  # > BLOCK posts in all (see above)
            for d in range(leaf.doc_count_all()):
                assert segment_docs(leaf, "b", "香港", [d]) == ({d} & bigram)
                assert segment_docs(leaf, "b", "香港新聞", [d]) == ({d} & phrase)
            assert weights_of(leaf, "bw", "香港", ids) == dict(zip(ids, weights))
            for d, w in zip(ids, weights):
                assert weights_of(leaf, "bw", "香港", [d]) == {d: w}
            # a few wanted documents of each block (looked up or walked), and most
            for step in (3, 11, 40, 150, 600):
                some = list(range(0, leaf.doc_count_all(), step))
                assert segment_docs(leaf, "b", "香港新聞", some) == phrase & set(some)
                assert weights_of(leaf, "bw", "香港", some) == {
                    d: w for d, w in zip(ids, weights) if d in set(some)}
        return lists

    assert ix.read(check) > 0


@pytest.mark.parametrize("query", ["市民", "香港新聞", '"議會交通"', "政府 OR 交通", "title:第1 市民"])
def test_numpy_ranking_gives_the_same_scores(block_archive, monkeypatch, query):
    ix, _ = block_archive

    monkeypatch.setattr(bulk, "warm", True)

    def ranked(score_from: int) -> list[tuple[str, float]]:
        monkeypatch.setattr(bulk, "SCORE_FROM", score_from)
        res = ix.search(query, limit=10 * POSTS, snippets=False)
        return [(h.path, h.score) for h in res.hits]

    per_document = ranked(10**9)
    assert per_document and per_document == ranked(1)
    res = ix.search(query, limit=7, snippets=False)  # the best 7 by numpy's top()
    assert [(h.path, h.score) for h in res.hits] == per_document[:7]


def test_first_position_of_a_phrase_in_every_body(block_archive, monkeypatch):
    # the index's positions give where snippets start: for every post, the
    # first occurrence in its normalized body (-1: none)
    from searchkit import ranking
    from searchkit.ranking import Evaluator

    monkeypatch.setattr(ranking, "LOCATE_LISTS", 10)
    ix, posts = block_archive
    needles = ["香港新聞", "議會交", "新聞"]

    def check(searcher):
        evaluator = Evaluator(searcher, ix.columns(searcher), 1.0)
        keys = ix.columns(searcher).keys
        checked = 0
        for doc in sorted(ix.columns(searcher).live):
            body = normalize(posts[Path(keys[doc]).name][0])
            expected = min((i for i in map(body.find, needles) if i >= 0), default=-1)
            assert evaluator.first_in_body(doc, Evaluator.locatable(needles)) == expected
            # 通交 is in fewer than SPARSE_BIGRAMS posts: no positions, and 交通
            # alone does not cover 交通交's last character; the answer is
            # "cannot tell" (None) or right
            assert evaluator.first_in_body(doc, Evaluator.locatable(["交通交"])) in (None, body.find("交通交"))
            checked += 1
        assert Evaluator.locatable(["香港", "港"]) is None  # one character: no positions
        monkeypatch.setattr(ranking, "LOCATE_LISTS", 4)  # more lists than that: not worth it
        assert Evaluator.locatable(needles) is None
        assert Evaluator.locatable(["香港新聞", "新聞", "香港"]) == {"新聞", "香港"}  # 香港 starts 香港新聞
        return checked

    assert ix.read(check) == POSTS
