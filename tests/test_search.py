"""Library behaviour of `Index.search` on the sample index (and a few small ones)."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

import searchkit
from conftest import SAMPLES, write_post
from searchkit import QuerySyntaxError, normalize
from searchkit.analysis import segment
from searchkit.documents import Article
from searchkit.sources import discover, read_article

DATA = "2021-07-12-shenzhen-data-exchange.md"
SECURITY = "2018-04-15-national-security-education-day.md"
G20 = "2016-09-05-hangzhou-g20-summit.md"
C919 = "2023-05-28-c919-first-commercial-flight.md"
RAIN = "2021-07-20-zhengzhou-rainstorm.md"
OLYMPICS = "2022-02-04-beijing-winter-olympics-opening.md"
GARBAGE = "2019-05-20-shanghai-garbage-sorting.md"
BRIEFING = "news/2022-03-01-english-briefing.html"
A101, A102, A103, A104, A105, A106 = (f"article_{n}.md" for n in range(101, 107))
ALL = {DATA, SECURITY, G20, C919, RAIN, OLYMPICS, GARBAGE, BRIEFING, A101, A102, A103, A104, A105, A106}
JULY_2021 = {DATA, RAIN, A106}


def paths(res) -> list[str]:
    return [h.path for h in res.hits]


def found(ix, query: str, **kw) -> set[str]:
    res = ix.search(query, limit=1000, **kw)
    assert res.total == len(res.hits)
    return set(paths(res))


# --------------------------------------------------------------- oracle
# What the phrase contract says a search must find, computed from the posts
# as read (visible text) with plain `in` on normalized text.

@pytest.fixture(scope="module")
def articles() -> dict[str, Article]:
    out = {}
    for item in discover([SAMPLES]):
        article = read_article(item)
        assert isinstance(article, Article), article
        out[article.path] = article
    assert set(out) == ALL
    return out


def containing(articles: dict[str, Article], phrase: str, parts: str = "tb") -> set[str]:
    needle = normalize(phrase)
    out = set()
    for path, art in articles.items():
        texts = ([art.title] if "t" in parts else []) + ([art.body] if "b" in parts else [])
        if any(needle in normalize(t) for t in texts):
            out.add(path)
    return out


# ----------------------------------------------------------- exact phrases

def test_index_holds_the_fourteen_posts(sample_ix):
    assert sample_ix.stats().posts == 14
    assert found(sample_ix, "date:1900..2100") == ALL


def test_quoted_phrase_finds_exactly_the_post(sample_ix):
    res = sample_ix.search('"数据交易"')
    assert res.total == 1
    assert paths(res) == [DATA]


def test_unquoted_term_finds_the_post(sample_ix):
    res = sample_ix.search("数据交易")
    assert res.total == 1
    assert paths(res) == [DATA]


def test_cross_script_phrases_find_the_same_posts(sample_ix):
    trad = found(sample_ix, '"國家安全"')
    simp = found(sample_ix, '"国家安全"')
    assert trad == simp == {SECURITY, A104}


def test_phrase_across_word_boundary(sample_ix):
    assert paths(sample_ix.search('"民币"')) == [G20]
    assert paths(sample_ix.search('"人民币"')) == [G20]


@pytest.mark.parametrize("phrase", [
    "港", "鐵", "铁", "中", "的", "G", "9", "，", "%",
    "数据", "國家", "香港", "地铁", "港鐵", "公屋", "奧運", "C9", "5g",
    "数据交易", "民币", "新冠", "颱風", "屯馬綫",
])
def test_short_phrases_match_the_oracle(sample_ix, articles, phrase):
    expected = containing(articles, phrase)
    assert found(sample_ix, f'"{phrase}"') == expected


def test_random_substrings_match_the_oracle(sample_ix, articles):
    """Any piece of a post's normalized text, quoted, finds exactly the posts containing it."""
    import random

    rng = random.Random(20210712)
    texts = [normalize(t) for art in articles.values() for t in (art.title, art.body) if t]
    checked = 0
    while checked < 300:
        text = rng.choice(texts)
        size = rng.choice([1, 2, 3, 4, 6, 9, 15, 30])
        start = rng.randrange(max(1, len(text) - size))
        phrase = normalize(text[start:start + size])
        if not phrase or '"' in phrase:
            continue
        checked += 1
        assert found(sample_ix, f'"{phrase}"') == containing(articles, phrase), phrase


@pytest.mark.parametrize("phrase", ["c919", "C919", "Ｃ９１９", "ｃ９１９"])
def test_width_and_case_blind_c919(sample_ix, phrase):
    assert found(sample_ix, f'"{phrase}"') == {C919}


def test_hong_kong_case_blind(sample_ix, articles):
    upper = found(sample_ix, '"HONG KONG"')
    lower = found(sample_ix, '"hong kong"')
    wide = found(sample_ix, '"Ｈｏｎｇ Ｋｏｎｇ"')
    assert upper == lower == wide == {BRIEFING, A105}
    assert upper == containing(articles, "hong kong")


def test_whitespace_runs_in_phrase_fold(sample_ix):
    assert found(sample_ix, '"hong   kong"') == {BRIEFING, A105}


def test_latin_words(sample_ix):
    assert found(sample_ix, '"MTR"') == {A105}
    assert found(sample_ix, '"covid-19"') == {BRIEFING, A105}
    assert found(sample_ix, '"ＣＯＶＩＤ"') == {BRIEFING, A105}


@pytest.mark.parametrize("phrase, expected", [
    ("（26日）", {A106}),
    ("(26日)", {A106}),
    ("US$100", {BRIEFING}),
    ("“双奥之城”", {OLYMPICS}),
    ("4.7年", {A102}),
    ("30.2%", {A104}),
    ("Ukraine talks, oil", {BRIEFING}),
    ("数据交易平台，并", {DATA}),
])
def test_punctuation_inside_phrase(sample_ix, articles, phrase, expected):
    assert containing(articles, phrase) == expected
    assert found(sample_ix, f'"{phrase}"') == expected


def test_phrase_order_matters(sample_ix):
    assert found(sample_ix, '"交易数据"') == set()


@pytest.mark.parametrize("hidden", ["样式表", "stylesheet", "briefing template", "郑州街头积水严重",
                                    "story-photo", "example.org/images"])
def test_invisible_text_is_not_indexed(sample_ix, hidden):
    assert found(sample_ix, f'"{hidden}"') == set()


def test_figure_caption_is_indexed(sample_ix):
    assert found(sample_ix, '"市民在商場觀看"') == {A106}


def test_unquoted_term_never_finds_less_than_quoted(sample_ix):
    for term in ["数据交易", "国家安全", "港铁", "香港", "c919", "民币"]:
        assert found(sample_ix, f'"{term}"') <= found(sample_ix, term)


# ----------------------------------------------------------- text fields

@pytest.mark.parametrize("phrase", ["港铁", "国家安全", "数据交易", "hong kong", "奥运", "方案"])
def test_title_and_body_fields_restrict(sample_ix, articles, phrase):
    t = found(sample_ix, f'title:"{phrase}"')
    b = found(sample_ix, f'body:"{phrase}"')
    assert t == containing(articles, phrase, "t")
    assert b == containing(articles, phrase, "b")
    assert t | b == found(sample_ix, f'"{phrase}"')


def test_title_field_examples(sample_ix):
    assert found(sample_ix, "title:港铁") == {A101, A105}
    assert found(sample_ix, "body:港铁") == {A101, A103, A105}
    assert found(sample_ix, 'title:"国家安全"') == {SECURITY}
    assert found(sample_ix, 'body:"國家安全"') == {SECURITY, A104}
    assert found(sample_ix, "title:方案") == set()


# ----------------------------------------------------------- label fields

def test_tag_simplified_finds_traditional_tag(sample_ix):
    assert found(sample_ix, "tag:港铁") == {A101}
    assert found(sample_ix, "tag:港鐵") == {A101}


@pytest.mark.parametrize("query", ['tag:"香港 地鐵"', 'tag:"香港 地铁"', 'tag:"香港  地鐵"'])
def test_multi_word_tag(sample_ix, query):
    assert found(sample_ix, query) == {A101}


def test_tag_is_whole_label_not_substring(sample_ix):
    assert found(sample_ix, "tag:香港") == set()
    assert found(sample_ix, "tag:联合") == set()


def test_tag_case_blind(sample_ix):
    assert found(sample_ix, "tag:G20") == found(sample_ix, "tag:g20") == {G20}
    assert found(sample_ix, "tag:BRIEFING") == {BRIEFING}


def test_tag_from_comma_separated_string(sample_ix):
    assert found(sample_ix, "tag:人工智能") == {A105}
    assert found(sample_ix, "tag:科技") == {A105, C919}


def test_tag_lianhe_zaobao(sample_ix):
    assert found(sample_ix, "tag:联合早报") == {DATA, SECURITY, G20, C919, RAIN, OLYMPICS, GARBAGE}


def test_category_filter(sample_ix):
    assert found(sample_ix, "category:港聞") == found(sample_ix, "category:港闻") == {A101, A102, A103, A104}
    assert found(sample_ix, "category:体育") == found(sample_ix, "category:體育") == {OLYMPICS, A106}
    assert found(sample_ix, "category:財經") == {A105}


def test_author_filter(sample_ix):
    assert found(sample_ix, "author:联合早报") == {DATA, SECURITY, G20, C919, RAIN, OLYMPICS, GARBAGE}
    assert found(sample_ix, "author:Newsdesk") == found(sample_ix, "author:newsdesk") == {BRIEFING}
    assert found(sample_ix, "author:记者陈大文") == found(sample_ix, "author:記者陳大文") == {A101}
    assert found(sample_ix, "author:记者") == set()


# ------------------------------------------------------------------ dates

@pytest.fixture(scope="module")
def post_dates(sample_ix) -> dict[str, datetime]:
    res = sample_ix.search("date:1900..2100", limit=100)
    dates = {h.path: h.date for h in res.hits}
    assert set(dates) == ALL and all(d is not None and d.tzinfo for d in dates.values())
    return dates


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def test_sample_dates(post_dates):
    assert post_dates[DATA].date().isoformat() == "2021-07-12"
    assert post_dates[A106] == utc(2021, 7, 26)
    assert post_dates[GARBAGE].date().isoformat() == "2019-05-20"  # empty date: from the file name


@pytest.mark.parametrize("value, lo, hi", [
    ("2021-07", utc(2021, 7, 1), utc(2021, 8, 1)),
    ("2021", utc(2021, 1, 1), utc(2022, 1, 1)),
    ("2021-07-01..2021-07-31", utc(2021, 7, 1), utc(2021, 8, 1)),
    ("2021-07-12", utc(2021, 7, 12), utc(2021, 7, 13)),
    ("2021-07-12..2021-07-20", utc(2021, 7, 12), utc(2021, 7, 21)),
    (">=2021-07-12", utc(2021, 7, 12), None),
    (">2021-07-12", utc(2021, 7, 13), None),
    ("<=2021-07-12", None, utc(2021, 7, 13)),
    ("<2021-07-12", None, utc(2021, 7, 12)),
    ("..2021-07-31", None, utc(2021, 8, 1)),
    ("2021-07-01..", utc(2021, 7, 1), None),
    ("2016..2017", utc(2016, 1, 1), utc(2018, 1, 1)),
    (">2023", utc(2024, 1, 1), None),
    ("<2016", None, utc(2016, 1, 1)),
])
def test_date_forms(sample_ix, post_dates, value, lo, hi):
    expected = {p for p, d in post_dates.items() if (lo is None or d >= lo) and (hi is None or d < hi)}
    assert found(sample_ix, f"date:{value}") == expected


def test_july_2021(sample_ix):
    assert found(sample_ix, "date:2021-07") == JULY_2021
    assert found(sample_ix, "date:2021-07-01..2021-07-31") == JULY_2021


# ------------------------------------------- keyword filters == query filters

EQUIVALENT = [
    ("港", dict(date_from="2021-07-01", date_to="2021-07-31"), "港 date:2021-07-01..2021-07-31"),
    ("港", dict(date_from="2021"), "港 date:2021.."),
    ("港", dict(date_to="2020-06"), "港 date:..2020-06"),
    ("", dict(date_from="2021-07", date_to="2021-07"), "date:2021-07"),
    ("", dict(date_from=datetime(2021, 7, 12), date_to=datetime(2021, 7, 20, 23, 59, 59)),
     "date:2021-07-12..2021-07-20"),
    ("港", dict(tags=["港铁"]), "港 tag:港铁"),
    ("", dict(tags=["香港 地鐵"]), 'tag:"香港 地鐵"'),
    ("", dict(tags=["联合早报", "科技"]), "tag:联合早报 tag:科技"),
    ("港", dict(categories=["港聞"]), "港 category:港聞"),
    ("", dict(categories=["体育"]), "category:体育"),
    ("中国", dict(authors=["联合早报"]), "中国 author:联合早报"),
    ("", dict(authors=["Newsdesk"]), "author:Newsdesk"),
    ('"中"', dict(categories=["联合早报"], date_from="2018", date_to="2021"),
     '"中" category:联合早报 date:2018..2021'),
    ("香港 OR 北京", dict(tags=["新冠"], date_from="2020"), "(香港 OR 北京) tag:新冠 date:2020.."),
]


@pytest.mark.parametrize("query, filters, written", EQUIVALENT)
def test_keyword_filters_equal_query_filters(sample_ix, query, filters, written):
    a = sample_ix.search(query, limit=100, **filters)
    b = sample_ix.search(written, limit=100)
    assert a.total == b.total
    assert paths(a) == paths(b)
    assert [round(h.score, 6) for h in a.hits] == [round(h.score, 6) for h in b.hits]


def test_keyword_filters_alone_are_a_query(sample_ix):
    assert found(sample_ix, "", tags=["港铁"]) == {A101}


def test_bad_keyword_date_raises(sample_ix):
    with pytest.raises(QuerySyntaxError):
        sample_ix.search("港", date_from="2021-13")
    with pytest.raises(QuerySyntaxError):
        sample_ix.search("港", date_to="yesterday")


# -------------------------------------------------------------- operators

PAIRS = [("港", '"国家安全"'), ('"港铁"', "title:港铁"), ("tag:联合早报", '"数据交易"'),
         ("date:2021", "category:港聞"), ('"中国"', '"北京"'), ("香港", "tag:新冠")]


@pytest.mark.parametrize("a, b", PAIRS)
def test_or_and_not_semantics(sample_ix, a, b):
    A, B = found(sample_ix, a), found(sample_ix, b)
    assert A and B
    assert found(sample_ix, f"{a} OR {b}") == A | B
    assert found(sample_ix, f"{a} {b}") == A & B
    assert found(sample_ix, f"{a} NOT {b}") == A - B
    assert found(sample_ix, f"NOT {a}") == ALL - A
    assert found(sample_ix, f"-{a}") == ALL - A
    assert found(sample_ix, f"({a}) OR NOT ({b})") == A | (ALL - B)
    assert found(sample_ix, f"-({a} OR {b})") == ALL - (A | B)


@pytest.mark.parametrize("a, b", [p for p in PAIRS if not p[0].startswith(("tag:", "date:"))])
def test_minus_semantics(sample_ix, a, b):
    A, B = found(sample_ix, a), found(sample_ix, b)
    assert found(sample_ix, f"{a} -{b}") == A - B


@pytest.mark.parametrize("a, b", [p for p in PAIRS if p[0].startswith(("tag:", "date:"))])
def test_minus_after_field_semantics(sample_ix, a, b):
    A, B = found(sample_ix, a), found(sample_ix, b)
    assert found(sample_ix, f"{a} -{b}") == A - B


def test_or_with_negated_branch(sample_ix):
    assert found(sample_ix, '"数据交易" OR -港') == {DATA} | (ALL - found(sample_ix, "港"))


# ------------------------------------------------------------------ sorting

@pytest.fixture(scope="module")
def undated_ix(tmp_path_factory):
    """The sample posts plus two undated posts that mention 港."""
    import shutil

    root = tmp_path_factory.mktemp("undated")
    posts = root / "posts"
    shutil.copytree(SAMPLES, posts)
    write_post(posts, "undated-one.md", "无日期文章一", "这篇没有日期，提到港口。")
    write_post(posts, "undated-two.md", "无日期文章二", "这篇也没有日期，提到港口。")
    ix = searchkit.build_index([posts], root / "index")
    assert ix.report.added == 16
    return ix


@pytest.mark.parametrize("sort, reverse", [
    ("date", False),
    ("-date", True),
])
def test_sort_by_date_undated_last(undated_ix, sort, reverse):
    res = undated_ix.search("港", sort=sort, limit=100)
    dates = [h.date for h in res.hits]
    assert res.total == 8 and len(dates) == 8
    dated = [d for d in dates if d is not None]
    assert len(dated) == 6
    assert dates[:6] == dated, "undated posts must come last"
    assert dated == sorted(dated, reverse=reverse)


@pytest.mark.parametrize("sort, reverse", [("date", False), ("-date", True)])
def test_sort_by_date_on_sample(sample_ix, sort, reverse):
    res = sample_ix.search("date:1900..2100", sort=sort, limit=100)
    dates = [h.date for h in res.hits]
    assert len(dates) == 14 and None not in dates
    assert dates == sorted(dates, reverse=reverse)


def test_undated_posts_never_match_date_filters(undated_ix):
    assert found(undated_ix, "date:1900..2100") == ALL
    assert found(undated_ix, "NOT date:1900..2100") == {"undated-one.md", "undated-two.md"}


# ------------------------------------------------------------------ paging

PAGING = [("港", "relevance"), ('"中国"', "relevance"), ("date:2015..2030", "relevance"),
          ("国", "relevance"), ("中", "date"), ("在", "-date"), ("date:2015..2030", "-date"),
          ("中", "relevance"), ("在", "relevance"), ("中 OR 港", "relevance")]


@pytest.mark.parametrize("query, sort", PAGING)
@pytest.mark.parametrize("size", [1, 2, 3, 5])
def test_pages_are_consecutive_and_cover_the_result(sample_ix, query, sort, size):
    full = sample_ix.search(query, sort=sort, limit=1000)
    assert full.total == len(full.hits) > 1
    pages = []
    for offset in range(0, full.total + size, size):
        page = sample_ix.search(query, sort=sort, limit=size, offset=offset)
        assert len(page.hits) == min(size, max(0, full.total - offset))
        pages.append(paths(page))
    flat = [p for page in pages for p in page]
    assert len(flat) == len(set(flat)), "pages overlap"
    assert flat == paths(full)


TOTALS = ["港", '"中国"', "date:2021", "NOT 港", "tag:联合早报", "中", "在", "中 OR 港", "的"]


@pytest.mark.parametrize("query", TOTALS)
def test_total_is_independent_of_limit(sample_ix, query):
    expected = len(sample_ix.search(query, limit=1000).hits)
    for sort in ("relevance", "date", "-date"):
        totals = {limit: sample_ix.search(query, limit=limit, sort=sort).total for limit in range(0, 16)}
        assert set(totals.values()) == {expected}, (sort, totals)


def test_limit_zero_gives_no_hits_but_total(sample_ix):
    res = sample_ix.search("date:2021", limit=0)
    assert res.hits == [] and res.total == 5


def test_offset_past_end(sample_ix):
    res = sample_ix.search('"国家安全"', offset=5)
    assert res.hits == [] and res.total == 2


# ----------------------------------------------------------------- ranking

@pytest.mark.parametrize("query", ["港铁", '"港铁"', '"国家安全"', "国家安全", '"hong kong"', "奥运",
                                   "香港", '"北京"'])
def test_title_match_outranks_body_only_match(sample_ix, articles, query):
    phrase = query.strip('"')
    in_title = containing(articles, phrase, "t")
    res = sample_ix.search(query, limit=100)
    order = paths(res)
    assert in_title and set(order) - in_title, "need both kinds of hit"
    last_title = max(order.index(p) for p in in_title if p in order)
    first_body = min(order.index(p) for p in order if p not in in_title)
    assert last_title < first_body, order
    scores = [h.score for h in res.hits]
    assert scores == sorted(scores, reverse=True)


def test_exact_string_outranks_word_match(sample_ix):
    # "国家 安全" as one unquoted term would need both words; the exact string ranks first.
    res = sample_ix.search("全民国家安全", limit=100)
    assert paths(res)[0] == SECURITY


# ---------------------------------------------------------------- snippets

SNIPPET_QUERIES = ['"数据交易"', "数据交易", '"民币"', '"國家安全"', '"c919"', '"hong kong"',
                   '"港鐵"', "body:港铁", '"COVID-19"', '"MTR Corporation"']


@pytest.mark.parametrize("query", SNIPPET_QUERIES)
def test_snippet_contains_the_match(sample_ix, query):
    needle = normalize(query.split(":")[-1].strip('"'))
    res = sample_ix.search(query, limit=100)
    assert res.hits
    for hit in res.hits:
        assert needle in normalize(hit.snippet), (hit.path, hit.snippet)
        assert len(hit.snippet) <= 130


@pytest.mark.parametrize("query", SNIPPET_QUERIES + ['"（26日）"'])
def test_highlights_slice_to_the_query(sample_ix, query):
    q = normalize(query.split(":")[-1].strip('"'))
    allowed = {q} | set(segment(q))
    res = sample_ix.search(query, limit=100)
    assert res.hits
    for hit in res.hits:
        spans = list(hit.highlights)
        assert spans, hit.path
        pieces = [normalize(hit.snippet[s:e]) for s, e in spans]
        assert all(0 <= s < e <= len(hit.snippet) for s, e in spans)
        assert spans == sorted(spans) and all(a[1] <= b[0] for a, b in zip(spans, spans[1:]))
        assert q in pieces, (hit.path, pieces)
        assert set(pieces) <= allowed, (hit.path, pieces)


def test_snippet_of_cross_script_match(sample_ix):
    hit = next(h for h in sample_ix.search('"国家安全"').hits if h.path == A104)
    assert [hit.snippet[s:e] for s, e in hit.highlights] == ["國家安全"]


def test_snippet_of_fullwidth_match(sample_ix):
    hit = sample_ix.search('"c919"').hits[0]
    assert "Ｃ９１９" in [hit.snippet[s:e] for s, e in hit.highlights]


# ------------------------------------------------------------------ errors

@pytest.mark.parametrize("sort", ["score", "DATE", "", "+date", "title"])
def test_unknown_sort_raises(sample_ix, sort):
    with pytest.raises(QuerySyntaxError) as info:
        sample_ix.search("港", sort=sort)
    assert repr(sort) in str(info.value)


@pytest.mark.parametrize("kw", [dict(limit=-1), dict(offset=-1), dict(limit=-10, offset=3)])
def test_negative_limit_or_offset_raises(sample_ix, kw):
    with pytest.raises(QuerySyntaxError):
        sample_ix.search("港", **kw)


@pytest.mark.parametrize("query", ["", "   ", '""', "OR", "NOT", "()"])
def test_empty_query_raises(sample_ix, query):
    with pytest.raises(QuerySyntaxError):
        sample_ix.search(query)


def test_query_syntax_error_is_a_searchkit_error(sample_ix):
    with pytest.raises(searchkit.SearchkitError) as info:
        sample_ix.search("foo:bar")
    assert isinstance(info.value, QuerySyntaxError) and info.value.exit_code == 2


@pytest.mark.parametrize("query", [
    " ".join(["a"] * 1024),
    " ".join(chr(0x4E00 + i) for i in range(1024)),
    " ".join("-" + chr(0x4E00 + i) for i in range(1000)),
    " OR ".join(chr(0x4E00 + i) for i in range(800)),
])
def test_many_terms_do_not_crash(sample_ix, query):
    """Up to MAX_CLAUSES terms: results (or QuerySyntaxError), never RecursionError."""
    import time

    started = time.perf_counter()
    try:
        res = sample_ix.search(query)
    except QuerySyntaxError:
        pass
    else:
        assert res.total >= len(res.hits)
    assert time.perf_counter() - started < 3.0


# -------------------------------------------------------------------- Hit

def test_hit_to_dict_keys_and_values(sample_ix):
    hit = sample_ix.search('"数据交易"').hits[0]
    d = hit.to_dict()
    assert set(d) == {"path", "title", "date", "tags", "categories", "author", "url", "score",
                      "snippet", "highlights"}
    assert d["path"] == DATA
    assert d["title"] == "广东支持深圳建设粤港澳大湾区数据交易平台"
    assert d["date"].startswith("2021-07-12T05:34:09") and d["date"].endswith("Z")
    assert d["tags"] == ["联合早报"] and d["categories"] == ["联合早报"]
    assert d["author"] == "联合早报"
    assert d["url"] == "https://www.example.com/realtime/china/story20210712-0000001"
    assert isinstance(d["score"], float) and d["score"] > 0
    assert d["highlights"] and all(isinstance(s, list) and len(s) == 2 for s in d["highlights"])


def test_results_to_dict(sample_ix):
    d = sample_ix.search('"国家安全"').to_dict()
    assert set(d) == {"total", "hits"} and d["total"] == 2 and len(d["hits"]) == 2


def test_hit_path_is_relative_to_source(sample_ix):
    for hit in sample_ix.search("date:1900..2100", limit=100).hits:
        assert not Path(hit.path).is_absolute()
        assert (SAMPLES / hit.path).is_file()
