"""Snippets fold a long post a piece at a time; the result must be the one
that folding the whole post at once gives."""

from __future__ import annotations

from unittest import mock

from hypothesis import given, settings
from hypothesis import strategies as st

from searchkit import snippets
from searchkit.analysis import normalize
from searchkit.snippets import _spaces_to_blank, _window, fold_with_map, make_snippet

# characters whose folding keeps, grows ("…", "ﬁ") or converts ("國") them,
# and words that OpenCC converts as a whole ("回覆" → "回复", though "覆" alone stays)
PIECES = [*"國国家安全香港AaＡ1１…ﬁ \n\t", "回覆", "乾隆", "打坏", "大目乾連冥間救母變文"]


def whole_text_snippet(text: str, needles: list[str], width: int) -> tuple[str, tuple]:
    folded, owners = fold_with_map(text)
    return _window(text, _spaces_to_blank(folded), owners, needles, width)


@settings(max_examples=300, deadline=None)
@given(text=st.lists(st.sampled_from(PIECES), min_size=1, max_size=200).map("".join),
       picks=st.lists(st.tuples(st.integers(0, 299), st.integers(1, 4)), min_size=1, max_size=3),
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
