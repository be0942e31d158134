"""Normalization, segmentation and the posting encodings."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import opencc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from searchkit import analysis
from searchkit.analysis import (analyze_text, bigram_positions, coded_bigrams, coded_chars,
                                decode_positions, encoded_bigrams, encode_positions, fold, frequency,
                                normalize, segment)
from searchkit.documents import Problem
from searchkit.sources import discover, read_article

SAMPLES = Path(__file__).resolve().parent.parent / "sample_posts"
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=60)


@pytest.mark.parametrize("raw, expected", [
    ("國家安全", "国家安全"),
    ("ＣＯＶＩＤ－１９", "covid-19"),
    ("Hong  Kong\n\tMTR", "hong kong mtr"),
    ("  香港　地鐵 ", "香港 地铁"),      # ideographic space folds to a plain space
    ("Straße", "strasse"),
    ("①②", "12"),
    ("a\x00b\x07c", "abc"),             # control characters are dropped
])
def test_normalize_examples(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


@settings(max_examples=300, deadline=None)
@given(TEXT)
def test_normalize_is_idempotent(text: str) -> None:
    once = normalize(text)
    assert normalize(once) == once


# characters NFKC changes or composes, mixed with plain CJK and ASCII
NFKC_TRICKY = st.text(alphabet=st.sampled_from(
    "Aa国國，。：（）！？\u3000\xa0\u2026\uff21\uff41\u0301\u0308e\u1100\u1161\u11a8"
    "\uac00\u2460\ufe30\uf9be\u212b\u00c5\ufb01ß\u0130İ\u03a3ς"), max_size=30)


@settings(max_examples=500, deadline=None)
@given(st.one_of(TEXT, NFKC_TRICKY))
def test_fast_nfkc_equals_plain_nfkc(text: str) -> None:
    """fold replaces full-width characters before NFKC's quick check; the
    result must be exactly NFKC, case folding, NFKC, t2s."""
    reference = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    assert fold(text) == opencc.OpenCC("t2s").convert(reference)


@settings(max_examples=200, deadline=None)
@given(TEXT)
def test_fold_keeps_length_for_cjk_and_width(text: str) -> None:
    cjk = "".join(ch for ch in text if "\u4e00" <= ch <= "\u9fff" or "\uff01" <= ch <= "\uff5e")
    assert len(fold(cjk)) == len(cjk)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=3_000_000), max_size=40))
def test_positions_round_trip(numbers: list[int]) -> None:
    positions = sorted(set(numbers))
    encoded = encode_positions(positions)
    assert decode_positions(encoded) == positions
    assert frequency(encoded) == len(positions)
    assert decode_positions(encoded.encode("utf-8", "surrogatepass")) == positions


@settings(max_examples=200, deadline=None)
@given(TEXT)
def test_bigram_offsets_slice_back_to_the_bigram(text: str) -> None:
    norm = normalize(text)
    for gram, positions in bigram_positions(norm).items():
        for pos in positions:
            assert norm[pos:pos + 2] == gram


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from("香港新聞港香 a"), max_size=60).map("".join))
def test_coded_bigrams_equal_encoded_positions(text: str) -> None:
    # the bulk encoding (positions grouped by numpy, pairs found once in one
    # step) gives what encoding every pair's positions gives, pairs in order
    expected = {gram: encode_positions(p) for gram, p in bigram_positions(text).items()}
    coded = coded_bigrams(text)
    assert [(gram, coded[gram]) for gram in coded] == sorted(expected.items())


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.lists(st.sampled_from("香港新聞港香 a"), max_size=60).map("".join),
                 st.text(st.characters(min_codepoint=0, max_codepoint=0x10FFFF), max_size=40)))
def test_coded_terms_hold_what_the_plain_analysis_gives(text: str) -> None:
    # the bulk form the segment writer takes: as a mapping it is the plain
    # term → encoded positions, and its codes sort as the terms do
    coded = coded_bigrams(text)
    assert dict(coded) == encoded_bigrams(text)
    assert list(coded) == sorted(encoded_bigrams(text))
    assert coded.sizes.tolist() == [len(coded[t]) for t in coded]
    chars = coded_chars(text)
    assert list(chars) == sorted(set(text) - {" "}) and set(chars.values()) <= {""}


def test_coded_bigrams_far_apart_and_past_the_escape() -> None:
    # deltas that are surrogate code points survive; positions that need
    # ESCAPE take the plain path
    text = "香港" + "x" * 56_000 + "香港" + "y" * 3000 + "香港"
    assert dict(coded_bigrams(text)) == encoded_bigrams(text)
    assert decode_positions(coded_bigrams(text)["香港"]) == [0, 56_002, 59_004]


def test_coded_bigrams_of_texts_longer_than_the_code_space(monkeypatch) -> None:
    monkeypatch.setattr(analysis, "ESCAPE", 5)  # "longer than the code space" at 6 characters
    for text in ("香港新聞港香港", "abababab", "a"):
        assert dict(coded_bigrams(text)) == encoded_bigrams(text)
        assert list(coded_bigrams(text)) == sorted(encoded_bigrams(text))


def _sample_bodies() -> list[str]:
    texts = []
    for item in discover([SAMPLES]):
        article = read_article(item) if not isinstance(item, Problem) else None
        if article is not None and not isinstance(article, Problem):
            texts.append(normalize(article.title + "\n" + article.body))
    return texts


def test_rjieba_matches_jieba_on_chinese_text() -> None:
    """rjieba is the fast path; jieba is the reference it must agree with."""
    jieba = pytest.importorskip("jieba")
    jieba.setLogLevel(60)
    compared = 0
    for text in _sample_bodies():
        for sentence in re.findall(r"[\u4e00-\u9fff]{2,}", text):
            reference = [w for w in jieba.cut_for_search(sentence)]
            assert segment(sentence) == reference, sentence
            compared += 1
    assert compared > 100


def test_word_fields_count_each_word_once_per_occurrence() -> None:
    """Word fields keep counts (BM25 term frequency); their sum is the field
    length BM25 normalizes by."""
    words = segment(normalize("支持深圳建设数据交易平台，数据交易"))
    fields = analyze_text("支持深圳建设数据交易平台，数据交易", "b")
    assert fields["bw"].terms == {w: words.count(w) for w in set(words)}
    assert max(fields["bw"].terms.values()) == 2  # the repeated 数据 / 交易
    assert sum(fields["bw"].terms.values()) == fields["bw"].length == len(words)


def test_latin_words_and_numbers_are_tokens_of_their_own() -> None:
    words = segment(normalize("港鐵MTR在2021年推出5G服務"))
    assert "mtr" in words and "2021" in words and "5g" in words


def test_analyze_text_fields() -> None:
    fields = analyze_text("國家安全 MTR", "t")
    assert set(fields) == {"tc", "tu", "tw"}
    assert "国家" in fields["tc"].terms and "全 " in fields["tc"].terms
    assert " " not in fields["tu"].terms and "国" in fields["tu"].terms
    assert fields["tc"].length == len("国家安全 mtr")


def test_characters_taken_to_keep_their_length_do():
    import re
    import unicodedata

    from searchkit import analysis
    from searchkit.analysis import _nfkc

    safe = re.compile(f"[{analysis._KEEPS_LENGTH}]")
    chars = [chr(c) for c in range(0x30000) if safe.match(chr(c)) and not 0xD800 <= c < 0xE000]
    assert len(chars) > 60000
    for ch in chars:
        folded = _nfkc(_nfkc(ch).casefold())
        assert len(folded) == 1, ch
        assert unicodedata.combining(ch) == 0 and not 0x1100 <= ord(ch) < 0x1200, ch



# --------------------------------------- finding needles in text not yet folded

# pieces that fold one to one on their own (國 → 国, Ａ → a), in context
# only (回覆 → 回复, 乾隆 stays), longer ("…", "ﬁ"), or are dropped (\x01)
RAW_PIECES = [*"國国家安全香港AaＡ1１乾 \n\t，。", "回覆", "回复", "乾隆", "乾燥", "…", "ﬁ", "\x01", "  "]


def test_raw_starts_finds_each_variant_in_order() -> None:
    from searchkit.analysis import raw_starts

    text = "髮展发展發展 Ａｂ\tc ab c"
    assert list(raw_starts(text, "发展")) == [0, 2, 4]
    assert list(raw_starts(text, "ab c")) == [7, 12]  # one whitespace character for the space
    assert list(raw_starts(text, "b c", start=9)) == [13]
    assert list(raw_starts(text, "展", start=2)) == [3, 5]
    assert list(raw_starts("回覆", "回复")) == []      # a fold that depends on the neighbour


def test_irregular_spans_mark_what_raw_starts_can_miss() -> None:
    from searchkit.analysis import irregular_spans, unpack_spans

    def spans(text: str) -> list[tuple[int, int]]:
        return unpack_spans(irregular_spans(text, fold(text)))

    assert spans("香港國家安全 ＡＢＣ 乾隆 乾燥") == []
    assert spans("他回覆說") == [(2, 3)]                    # 覆 alone stays 覆
    assert spans("甲\x01乙") == [(1, 2)]                     # dropped by normalizing
    assert spans("第一行\n他說……好\n第三行") == [(4, 9)]    # "…" → "...": the whole line
    long_line = "甲" + " " * 0x110000 + "……"
    assert irregular_spans(long_line, fold(long_line)) is None  # too long to pack: unknown


@settings(max_examples=300, deadline=None)
@given(text=st.lists(st.sampled_from(RAW_PIECES), max_size=80).map("".join),
       pick=st.tuples(st.integers(0, 200), st.integers(1, 6)), other=st.sampled_from(["国家", "复", "干", "..."]))
def test_body_holds_is_substring_of_the_normalized_text(text: str, pick: tuple[int, int], other: str) -> None:
    # what the index confirms a phrase with, where its bigrams keep no
    # positions: raw candidates, then the stretches around irregular spans
    from searchkit.analysis import irregular_spans
    from searchkit.substring import body_holds

    norm = normalize(text)
    irregular = irregular_spans(text, fold(text))
    for needle in {norm[pick[0]:pick[0] + pick[1]].strip(), other}:
        if needle:
            assert body_holds(text, irregular, needle) == (needle in norm), needle
            assert body_holds(text, None, needle) == (needle in norm), needle
            anchor = pick[0] % len(needle)  # (looking for another character first)
            assert body_holds(text, irregular, needle, anchor) == (needle in norm), (needle, anchor)
