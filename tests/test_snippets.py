"""Snippets fold a long post a piece at a time; the result must be the one
that folding the whole post at once gives."""

from __future__ import annotations

from unittest import mock

from hypothesis import given, settings
from hypothesis import strategies as st

from searchkit import snippets
from searchkit.analysis import fold, irregular_spans, normalize
from searchkit.snippets import _spaces_to_blank, _window, fold_with_map, make_snippet

# characters whose folding keeps, grows ("…", "ﬁ") or converts ("國") them,
# and words that OpenCC converts as a whole ("回覆" → "回复", though "覆" alone stays)
PIECES = [*"國国家安全香港AaＡ1１…ﬁ \n\t", "回覆", "乾隆", "打坏", "大目乾連冥間救母變文"]


def whole_text_snippet(text: str, needles: list[str], width: int) -> tuple[str, tuple]:
    folded, owners = fold_with_map(text)
    return _window(text, _spaces_to_blank(folded), owners, needles, width)


def texts(*extra: str, most: int = 300) -> st.SearchStrategy[str]:
    """Posts of up to `most` PIECES and `extra` pieces."""
    return st.lists(st.sampled_from(PIECES + list(extra)), min_size=1, max_size=most).map("".join)


def picks(shortest: int) -> st.SearchStrategy[list[tuple[int, int]]]:
    """Where needles are cut from a post: (start, length) pairs."""
    return st.lists(st.tuples(st.integers(0, 299), st.integers(shortest, 4)), min_size=1, max_size=3)


@settings(max_examples=300, deadline=None)
@given(text=texts(most=200), picks=picks(1),
       quick=st.integers(1, 120), prefix=st.integers(1, 40), width=st.integers(4, 30))
def test_piecewise_folding_gives_the_whole_text_snippet(text, picks, quick, prefix, width):
    needles = [n for n in (normalize(text[i:i + k]) for i, k in picks) if n] or ["香港"]
    with mock.patch.object(snippets, "QUICK", quick), mock.patch.object(snippets, "PREFIX", prefix):
        assert make_snippet(text, needles, width) == whole_text_snippet(text, needles, width)


def test_match_after_lines_that_fold_longer():
    # the first pieces fold 1:1, a later one grows ("…" → "..."), the match comes after it
    text = "甲" * 450 + "\n" + "…ﬁ" * 20 + "乙" * 600 + "\n" + "丙" * 700 + "國家安全" + "丁" * 900
    snippet, spans = make_snippet(text, ["国家安全"])
    assert [snippet[s:e] for s, e in spans] == ["國家安全"]
    assert snippet.startswith("…丙") and snippet.endswith("丁…")


def test_only_matches_inside_the_window_are_marked():
    text = "香港" + "乙" * 200 + "\n" + "香港" * 300
    snippet, spans = make_snippet(text, ["香港"], width=40)
    assert [snippet[s:e] for s, e in spans] == ["香港"]
    assert len(snippet) <= 41


def brute_first(text: str, needles: list[str]) -> int:
    """Where the first needle starts in the normalized text (-1: nowhere),
    as the index's positions tell."""
    norm = normalize(text)
    return min((i for i in map(norm.find, needles) if i >= 0), default=-1)


@settings(max_examples=300, deadline=None)
@given(text=texts("\n\n", "  ", "\x01", "香港", "，", "。"), picks=picks(2),
       quick=st.integers(1, 60), width=st.integers(4, 30), reach=st.integers(0, 200))
def test_located_window_gives_the_whole_text_snippet(text, picks, quick, width, reach):
    # the first match's position in the normalized text (from the index)
    # leads to the same snippet as folding the whole post
    needles = [n for n in (normalize(text[i:i + k]) for i, k in picks) if len(n) >= 2] or ["香港"]
    calls = []

    def locate() -> int:
        calls.append(1)
        return brute_first(text, needles)

    with mock.patch.object(snippets, "QUICK", quick), mock.patch.object(snippets, "LINE_REACH", reach):
        assert make_snippet(text, needles, width, locate=locate) == whole_text_snippet(text, needles, width)


def located_snippet(text: str, needles: list[str], width: int = snippets.WIDTH) -> tuple[tuple, int]:
    """The snippet with the first match located as the index does, and how
    many characters were folded to make it."""
    folded_lengths = []
    real_fold = snippets.fold_with_map

    def counting(part: str):
        folded_lengths.append(len(part))
        return real_fold(part)

    with mock.patch.object(snippets, "fold_with_map", counting):
        found = make_snippet(text, needles, width, locate=lambda: brute_first(text, needles))
    return found, sum(folded_lengths)


def test_a_late_match_is_found_from_its_position():
    text = "甲乙\n" * 400 + "丙 丁  戊" + "國家安全" + "己" * 300
    (snippet, spans), folded = located_snippet(text, ["国家安全"])
    assert [snippet[s:e] for s, e in spans] == ["國家安全"]
    assert folded < 500  # the first QUICK characters and the window's line
    assert (snippet, spans) == whole_text_snippet(text, ["国家安全"], snippets.WIDTH)


@settings(max_examples=300, deadline=None)
@given(text=st.lists(st.sampled_from([*"國国家安全香港AaＡ1１ \n\t\x01…ﬁ︰", "\n\n", "  "]), min_size=1,
                     max_size=120).map("".join))
def test_normalized_positions_map_back_to_the_text(text):
    # where each character's folding starts in the normalized text; a
    # position inside a longer folding ("…" → "...") or on a space maps nowhere
    norm = normalize(text)
    starts = {len(normalize(text[:i] + "一")) - 1: i for i, ch in enumerate(text) if not ch.isspace()
              and ch != "\x01"}
    table = snippets.position_table(text)
    for p, ch in enumerate(norm):
        expected = starts.get(p) if ch != " " else None
        assert snippets._original_offset(text, p) == expected
        assert snippets._original_offset(text, p, table) == expected  # as a record stores it


def test_a_text_whose_length_events_cannot_be_packed_has_no_table():
    text = "甲" + " " * 0x110000 + "乙"
    assert snippets.position_table(text) is None
    assert snippets._original_offset(text, 2) == len(text) - 1  # found by scanning instead


def test_a_late_match_after_characters_that_fold_longer():
    # "…" folds to "...": the normalized position of the first 香港 (330)
    # is not its index in the text (210); the text holds 香港 at 330 too
    text = "…" * 60 + "甲" * 150 + "香港" + "乙香港" * 400
    located, folded = located_snippet(text, ["香港"], 20)
    assert located == whole_text_snippet(text, ["香港"], 20)
    assert located[0].startswith("…甲") and folded < 500


@settings(max_examples=300, deadline=None)
@given(text=texts("回复", "乾燥", "，", "。", "\x01", "香港"), picks=picks(1),
       quick=st.integers(1, 60), width=st.integers(4, 30), tries=st.integers(1, 4))
def test_window_found_in_the_raw_text_gives_the_whole_text_snippet(text, picks, quick, width, tries):
    # with the text's irregular spans (as its record keeps them), the first
    # match is looked for in the text as it is; it must be the same one
    needles = [n for n in (normalize(text[i:i + k]).replace(" ", "") for i, k in picks) if n] or ["香港"]
    irregular = irregular_spans(text, fold(text))
    with mock.patch.object(snippets, "QUICK", quick), mock.patch.object(snippets, "RAW_TRIES", tries):
        assert make_snippet(text, needles, width, irregular=irregular) == whole_text_snippet(text, needles, width)


def test_a_late_match_is_found_in_the_raw_text():
    text = "甲乙\n" * 400 + "回覆" + "丙" * 50 + "。" + "國家安全" + "己" * 300
    irregular = irregular_spans(text, fold(text))
    folded_lengths = []
    real_fold = snippets.fold_with_map
    with mock.patch.object(snippets, "fold_with_map", lambda part: folded_lengths.append(len(part))
                           or real_fold(part)):
        found = make_snippet(text, ["国家安全"], irregular=irregular)
    assert found == whole_text_snippet(text, ["国家安全"], snippets.WIDTH)
    assert sum(folded_lengths) < 400  # the window, and the stretch around 回覆
    # a match where only folding in context finds it comes first
    snippet, spans = make_snippet(text, ["回复", "国家安全"], irregular=irregular)
    assert [snippet[s:e] for s, e in spans][0] == "回覆"
