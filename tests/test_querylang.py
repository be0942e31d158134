"""Unit tests of the query language: `parse_query` and `parse_date_filter`."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from searchkit.errors import QuerySyntaxError
from searchkit.querylang import (MAX_QUERY_CHARS, And, DateRange, Label, Not, Or, Text,
                                 parse_date_filter, parse_query)

UTC = timezone.utc
US = timedelta(microseconds=1)


def day(y: int, m: int, d: int) -> datetime:
    return datetime(y, m, d, tzinfo=UTC)


def end_of(y: int, m: int, d: int) -> datetime:
    """The last representable instant of a UTC day."""
    return day(y, m, d) + timedelta(days=1) - US


def T(text: str, quoted: bool = False, field: str | None = None) -> Text:
    return Text(text, quoted, field)


# ------------------------------------------------------------ text terms

def test_exact_phrase():
    assert parse_query('"exact phrase"') == T("exact phrase", quoted=True)


def test_phrase_keeps_inner_spaces_and_chinese():
    assert parse_query('"香港 地鐵"') == T("香港 地鐵", quoted=True)


def test_single_bare_term():
    assert parse_query("数据交易") == T("数据交易")


def test_bare_terms_are_anded():
    assert parse_query("香港 地铁 通车") == And((T("香港"), T("地铁"), T("通车")))


def test_extra_whitespace_is_ignored():
    assert parse_query("  香港 \t\n 地铁  ") == And((T("香港"), T("地铁")))


def test_phrase_and_bare_term_mixed():
    assert parse_query('"数据交易" 深圳') == And((T("数据交易", quoted=True), T("深圳")))


def test_phrase_glued_to_words_splits_tokens():
    assert parse_query('a"b c"d') == And((T("a"), T("b c", quoted=True), T("d")))


def test_empty_and_blank_queries_give_none():
    assert parse_query("") is None
    assert parse_query("   ") is None
    assert parse_query('""') is None
    assert parse_query('"   "') is None


# ------------------------------------------------------------- operators

def test_or():
    assert parse_query("香港 OR 澳门") == Or((T("香港"), T("澳门")))


def test_or_chain_is_flat():
    assert parse_query("a OR b OR c") == Or((T("a"), T("b"), T("c")))


def test_and_binds_tighter_than_or():
    assert parse_query("a b OR c") == Or((And((T("a"), T("b"))), T("c")))
    assert parse_query("a OR b c") == Or((T("a"), And((T("b"), T("c")))))


def test_lowercase_or_is_a_word():
    assert parse_query("a or b") == And((T("a"), T("or"), T("b")))


def test_not_keyword():
    assert parse_query("NOT 广告") == Not(T("广告"))


def test_not_inside_and():
    assert parse_query("香港 NOT 广告") == And((T("香港"), Not(T("广告"))))


def test_lowercase_not_is_a_word():
    assert parse_query("not x") == And((T("not"), T("x")))


def test_minus_prefix():
    assert parse_query("-广告") == Not(T("广告"))
    assert parse_query("香港 -广告") == And((T("香港"), Not(T("广告"))))


def test_minus_before_phrase_and_group():
    assert parse_query('-"a b"') == Not(T("a b", quoted=True))
    assert parse_query("-(a OR b)") == Not(Or((T("a"), T("b"))))


def test_minus_inside_a_word_is_text():
    assert parse_query("COVID-19") == T("COVID-19")
    assert parse_query("x-y") == T("x-y")


def test_lone_minus_is_text():
    assert parse_query("a - b") == And((T("a"), T("-"), T("b")))


def test_double_negation():
    assert parse_query("NOT NOT x") == T("x")  # negations cancel in pairs
    assert parse_query("--x") == T("--x")  # a leading "--" is text (e.g. --help)


def test_minus_before_field():
    assert parse_query("-tag:广告") == Not(Label("tag", "广告"))


@pytest.mark.parametrize("query, expected", [
    ("tag:联合早报 -数据交易", And((Label("tag", "联合早报"), Not(T("数据交易"))))),
    ("date:2021 -category:港聞", And((DateRange(day(2021, 1, 1), end_of(2021, 12, 31)),
                                      Not(Label("category", "港聞"))))),
    ("title:x -y", And((T("x", field="title"), Not(T("y"))))),
])
def test_minus_after_field_term_negates(query, expected):
    assert parse_query(query) == expected


def test_dangling_operators_are_dropped():
    assert parse_query("OR") is None
    assert parse_query("NOT") is None
    assert parse_query("a OR") == T("a")
    assert parse_query("OR a") == T("a")
    assert parse_query("a NOT") == T("a")
    assert parse_query("a OR OR b") == Or((T("a"), T("b")))


# ------------------------------------------------------------ parentheses

def test_parentheses_group():
    assert parse_query("(香港 OR 澳门) 旅游") == And((Or((T("香港"), T("澳门"))), T("旅游")))


def test_nested_parentheses():
    assert parse_query("((a OR b) c) OR d") == Or((And((Or((T("a"), T("b"))), T("c"))), T("d")))
    assert parse_query("(a (b OR (c -d)))") == And((T("a"), Or((T("b"), And((T("c"), Not(T("d"))))))))


def test_redundant_parentheses_vanish():
    assert parse_query("(((a)))") == T("a")


def test_empty_parentheses():
    assert parse_query("()") is None
    assert parse_query("a () b") == And((T("a"), T("b")))


def test_parentheses_touching_words():
    assert parse_query("(a)b") == And((T("a"), T("b")))


# ------------------------------------------------------------------ fields

def test_title_field():
    assert parse_query("title:数据") == T("数据", field="title")


def test_body_field_quoted():
    assert parse_query('body:"数据 交易"') == T("数据 交易", quoted=True, field="body")


def test_title_field_quoted():
    assert parse_query('title:"x y" z') == And((T("x y", quoted=True, field="title"), T("z")))


def test_field_names_are_case_insensitive():
    assert parse_query("Title:x") == T("x", field="title")
    assert parse_query("TAG:x") == Label("tag", "x")


def test_tag_field():
    assert parse_query("tag:联合早报") == Label("tag", "联合早报")


def test_tag_multi_word():
    assert parse_query('tag:"香港 地鐵"') == Label("tag", "香港 地鐵")


def test_tag_multi_word_is_stripped():
    assert parse_query('tag:"  香港 地鐵 "') == Label("tag", "香港 地鐵")


def test_category_field():
    assert parse_query("category:港聞") == Label("category", "港聞")


def test_author_field():
    assert parse_query("author:联合早报") == Label("author", "联合早报")


def test_fields_combine_with_operators():
    assert parse_query("tag:a OR (category:b NOT author:c)") == Or((
        Label("tag", "a"), And((Label("category", "b"), Not(Label("author", "c"))))))


@pytest.mark.parametrize("query", ["title:", "tag:", 'tag:""', 'body:"  "', "author: x"])
def test_field_without_value_is_an_error(query):
    with pytest.raises(QuerySyntaxError) as info:
        parse_query(query)
    assert query.split(":")[0] in str(info.value)


@pytest.mark.parametrize("query, name", [
    ("foo:bar", "foo"),
    ("香港 foo:bar", "foo"),
    ("Foo:bar", "Foo"),
    ("x:", "x"),
    ("(a OR colour:red)", "colour"),
])
def test_unknown_field_is_an_error_naming_it(query, name):
    with pytest.raises(QuerySyntaxError) as info:
        parse_query(query)
    assert repr(name) in str(info.value)


def test_quoted_unknown_field_is_text():
    assert parse_query('"foo:bar"') == T("foo:bar", quoted=True)


@pytest.mark.parametrize("url", [
    "https://example.com",
    "http://example.com/a?b=c",
    "ftp://example.com",
    "https://www.example.com/realtime/china/story20210712-0000001",
])
def test_urls_are_plain_text(url):
    assert parse_query(url) == T(url)


def test_url_among_terms():
    assert parse_query("see https://example.com now") == And(
        (T("see"), T("https://example.com"), T("now")))


def test_url_as_field_value():
    assert parse_query("body:https://example.com") == T("https://example.com", field="body")


def test_colon_at_start_is_text():
    assert parse_query(":x") == T(":x")


# ------------------------------------------------------------------- dates

DATE_CASES = [
    ("2021-07-01..2021-07-31", day(2021, 7, 1), end_of(2021, 7, 31)),
    ("2021-07", day(2021, 7, 1), end_of(2021, 7, 31)),
    ("2021-02", day(2021, 2, 1), end_of(2021, 2, 28)),
    ("2020-02", day(2020, 2, 1), end_of(2020, 2, 29)),
    ("2021-12", day(2021, 12, 1), end_of(2021, 12, 31)),
    ("2021", day(2021, 1, 1), end_of(2021, 12, 31)),
    ("2021-07-12", day(2021, 7, 12), end_of(2021, 7, 12)),
    ("2021-7-1", day(2021, 7, 1), end_of(2021, 7, 1)),
    (">=2021-07-01", day(2021, 7, 1), None),
    (">2021-07-01", day(2021, 7, 2), None),
    (">2021-07", day(2021, 8, 1), None),
    ("<=2021-07-31", None, end_of(2021, 7, 31)),
    ("<2021-07-31", None, end_of(2021, 7, 30)),
    ("<2021", None, end_of(2020, 12, 31)),
    ("..2021-07-31", None, end_of(2021, 7, 31)),
    ("2021-07-01..", day(2021, 7, 1), None),
    ("2021..2022", day(2021, 1, 1), end_of(2022, 12, 31)),
    ("2021-07..2021-08", day(2021, 7, 1), end_of(2021, 8, 31)),
    ("2021..2021", day(2021, 1, 1), end_of(2021, 12, 31)),
]


@pytest.mark.parametrize("value, start, end", DATE_CASES)
def test_parse_date_filter(value, start, end):
    assert parse_date_filter(value) == DateRange(start, end)


@pytest.mark.parametrize("value, start, end", DATE_CASES)
def test_date_field_in_query(value, start, end):
    assert parse_query(f"date:{value}") == DateRange(start, end)


def test_date_bounds_are_utc():
    rng = parse_date_filter("2021-07")
    assert rng.start.utcoffset() == timedelta(0)
    assert rng.end.utcoffset() == timedelta(0)


def test_date_filter_combines_with_terms():
    assert parse_query("数据 date:2021-07") == And(
        (T("数据"), DateRange(day(2021, 7, 1), end_of(2021, 7, 31))))


@pytest.mark.parametrize("value", [
    "2021-13", "abc", "2021-07-31..2021-07-01", "..", "2021-02-30", "2021-00", "21",
    "2021-07-01..abc", ">=", ">=abc", "2021..2022..2023", "", "２０２１-13",
])
def test_bad_date_raises_naming_the_value(value):
    with pytest.raises(QuerySyntaxError) as info:
        parse_query(f"date:{value}")
    assert f"date:{value}" in str(info.value)


@pytest.mark.parametrize("value", ["2021-13", "abc", "2021-07-31..2021-07-01", ".."])
def test_parse_date_filter_bad_value(value):
    with pytest.raises(QuerySyntaxError) as info:
        parse_date_filter(value)
    assert value in str(info.value)


@pytest.mark.parametrize("query", ["date:9999-12-31", "date:>=9999-12-31", "date:<0001-01-01"])
def test_date_out_of_range_is_a_syntax_error(query):
    with pytest.raises(QuerySyntaxError, match="date"):
        parse_query(query)


# --------------------------------------------------------------- leniency

def test_unbalanced_quote_runs_to_end():
    assert parse_query('"abc') == T("abc", quoted=True)
    assert parse_query('a "b c') == And((T("a"), T("b c", quoted=True)))


def test_unbalanced_quote_in_field_value():
    assert parse_query('tag:"香港 地鐵') == Label("tag", "香港 地鐵")
    assert parse_query('title:"x y') == T("x y", quoted=True, field="title")


def test_unbalanced_quote_swallows_operators():
    assert parse_query('a "OR b') == And((T("a"), T("OR b", quoted=True)))


def test_unclosed_parenthesis_is_closed_at_end():
    assert parse_query("(a b") == And((T("a"), T("b")))
    assert parse_query("((a OR b") == Or((T("a"), T("b")))
    assert parse_query("x (a OR b") == And((T("x"), Or((T("a"), T("b")))))


def test_stray_closing_parenthesis_is_ignored():
    assert parse_query("a ) b") == And((T("a"), T("b")))
    assert parse_query("a))") == T("a")
    assert parse_query(")a") == T("a")
    assert parse_query("a OR b) c") == And((Or((T("a"), T("b"))), T("c")))


def test_nul_is_whitespace():
    assert parse_query("a\x00b") == And((T("a"), T("b")))


# ------------------------------------------------------------------ limits

def test_query_at_length_limit_is_accepted():
    assert parse_query("a" * MAX_QUERY_CHARS) == T("a" * MAX_QUERY_CHARS)


@pytest.mark.parametrize("length", [MAX_QUERY_CHARS + 1, 10_000, 1_000_000])
def test_query_over_length_limit_is_an_error(length):
    with pytest.raises(QuerySyntaxError) as info:
        parse_query("国" * length)
    assert str(length) in str(info.value)


def test_too_many_terms_is_an_error():
    with pytest.raises(QuerySyntaxError):
        parse_query(" ".join(["a"] * 2000))


@pytest.mark.parametrize("query", ["(" * 300 + "a", "(" * 1000 + "a" + ")" * 1000,
                                   "-" * 1500 + "a", "NOT " * 1000 + "a"])
def test_deep_nesting_is_not_a_crash(query):
    assert len(query) <= MAX_QUERY_CHARS
    try:
        parse_query(query)
    except QuerySyntaxError:
        pass


# --------------------------------------------------------------- property

ALPHABET = [
    '"', '"', "(", ")", "(", ")", ":", "-", "-", " ", " ", " ", "  ", "\t", "\n",
    "OR", " OR ", "NOT", " NOT ", "date:", "tag:", "title:", "body:", "author:", "category:",
    "foo:", "date:2021", "date:2021-07", "..", ">=", ">", "<", "<=", "2021", "-07", "-31", "13",
    "数据", "交易", "国", "國", "家", "安全", "港", "鐵", "香港", "人民币", "Ｃ９１９",
    "😀", "👨‍👩‍👧", "שלום", "مرحبا", "\u200f", "\u202e", "\u200b", "\ufeff", "\x00", "\x01",
    "a", "Hong", "Kong", "https://example.com", "\u3000", "＂", "（", "）", "：", "ß", "İ", "ﬁ",
]

queries = st.one_of(
    st.lists(st.sampled_from(ALPHABET), max_size=40).map("".join),
    st.text(alphabet=st.sampled_from([c for token in ALPHABET for c in token]), max_size=80),
)

LONG_QUERY = ("国家安全 " * 2000)[:10_000]
OR_200 = " OR ".join(f"词{i}" for i in range(200))


@pytest.fixture(scope="module")
def warm_ix(sample_ix):
    sample_ix.search("预热 OR 数据")  # load jieba / OpenCC before timing anything
    return sample_ix


@settings(deadline=1000, max_examples=200)
@given(q=queries)
@example(q=LONG_QUERY)
@example(q=OR_200)
@example(q=" OR ".join(["港"] * 200))
@example(q='"' * 101)
@example(q="date:..")
@example(q="\x00" * 50)
def test_parse_and_search_only_raise_query_syntax_error(warm_ix, q):
    try:
        node = parse_query(q)
    except QuerySyntaxError:
        node = "error"
    else:
        assert node is None or isinstance(node, (Text, Label, DateRange, And, Or, Not))
    started = time.perf_counter()
    try:
        res = warm_ix.search(q)
    except QuerySyntaxError:
        pass
    else:
        assert node != "error", "search accepted a query that parse_query rejects"
        assert 0 <= len(res.hits) <= res.total
    assert time.perf_counter() - started < 1.0


def test_explicit_long_query_is_rejected(sample_ix):
    assert len(LONG_QUERY) == 10_000
    with pytest.raises(QuerySyntaxError):
        parse_query(LONG_QUERY)
    with pytest.raises(QuerySyntaxError):
        sample_ix.search(LONG_QUERY)


def test_explicit_200_or_terms(sample_ix):
    node = parse_query(OR_200)
    assert isinstance(node, Or) and len(node.children) == 200
    started = time.perf_counter()
    res = sample_ix.search(OR_200 + " OR 数据交易")
    assert time.perf_counter() - started < 1.0
    assert [h.path for h in res.hits] == ["2021-07-12-shenzhen-data-exchange.md"]
