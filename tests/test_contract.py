"""The phrase contract, checked against a brute-force substring scan.

Posts are generated (never real data) from a vocabulary that mixes
Simplified and Traditional Chinese, Latin words, digits, full-width forms and
punctuation; hypothesis then draws phrases — substrings of the posts, their
other-script, upper-case and full-width variants, and random strings — and
each quoted search must return exactly the posts whose normalized title or
body contains the phrase.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import searchkit
from searchkit.analysis import fold, irregular_spans, normalize

VOCAB = ("香港 國家安全 国家安全 人民幣 人民币 數據交易 数据交易 立法會 立法会 的 了 在 是 "
         "粵港澳大灣區 粤港澳大湾区 地鐵 地铁 天氣 天气 Hong Kong MTR COVID-19 5G 2021 "
         "ＡＢＣ １２３ 「引號」 《書名》 ， 。 、 ！ ？ - / a b 一 二 三 乾隆 乾燥").split()


# words whose folding depends on their neighbours or changes their length
# (回覆 → 回复 though 覆 alone stays; "…" → "..."), or a dropped control
# character: rare enough that some posts have none (where the index can
# rule a phrase out without normalizing the post, see analysis.irregular_spans)
RARE = ("回覆", "瞭解", "……", "Straße", "\x01", "彷彿")


def _sentence(rng: random.Random, words: int) -> str:
    out = []
    for _ in range(words):
        out.append(rng.choice(RARE if rng.random() < 0.02 else VOCAB))
        if rng.random() < 0.3:
            out.append(" ")
    return "".join(out)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[searchkit.Index, dict[str, tuple[str, str]]]:
    rng = random.Random(20261125)
    folder = tmp_path_factory.mktemp("generated")
    posts: dict[str, tuple[str, str]] = {}
    for i in range(60):
        title = _sentence(rng, rng.randint(2, 6))
        paragraphs = [_sentence(rng, rng.randint(5, 40)) for _ in range(rng.randint(1, 4))]
        name = f"post_{i:03d}.md"
        body_md = "\n\n".join(paragraphs)
        (folder / name).write_text(f'---\ntitle: "{title}"\n---\n\n{body_md}\n', encoding="utf-8")
        posts[name] = (normalize(title), "\n".join(normalize(p) for p in paragraphs))
        _RAW[name] = "\n\n".join(paragraphs)
    ix = searchkit.build_index([str(folder)], str(folder.parent / "index"))
    return ix, posts


_RAW: dict[str, str] = {}  # post name → its body as written


def _raw_body(name: str) -> str:
    return _RAW[name]


def _brute_force(posts: dict[str, tuple[str, str]], phrase: str) -> set[str]:
    q = normalize(phrase)
    return {name for name, (title, body) in posts.items() if q in title or q in body}


def _search(ix: searchkit.Index, phrase: str) -> set[str]:
    res = ix.search('"' + phrase.replace('"', "") + '"', limit=1000, snippets=False)
    return {Path(h.path).name for h in res.hits}


@st.composite
def phrases(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["substring", "variant", "random"]))
    if kind == "random":
        return draw(st.text(alphabet="".join(set("".join(VOCAB + list(RARE)))), min_size=1, max_size=6))
    words = draw(st.lists(st.sampled_from(VOCAB + list(RARE)), min_size=1, max_size=4))
    text = "".join(words)
    start = draw(st.integers(0, max(0, len(text) - 1)))
    end = draw(st.integers(start + 1, len(text)))
    piece = text[start:end]
    if kind == "variant":
        transform = draw(st.sampled_from(["upper", "fullwidth", "s2t"]))
        if transform == "upper":
            piece = piece.upper()
        elif transform == "fullwidth":
            piece = "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in piece)
        else:
            import opencc

            piece = opencc.OpenCC("s2t").convert(piece)
    return piece


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(phrase=phrases())
def test_quoted_phrase_is_exactly_the_substring_scan(corpus, phrase: str) -> None:
    ix, posts = corpus
    if not normalize(phrase.replace('"', "")):
        return
    assert _search(ix, phrase) == _brute_force(posts, phrase.replace('"', ""))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(phrase=phrases())
def test_unquoted_never_finds_less_than_quoted(corpus, phrase: str) -> None:
    ix, posts = corpus
    phrase = phrase.replace('"', "").strip()
    if not normalize(phrase) or any(t in phrase.split() for t in ("OR", "NOT")) or phrase.startswith("-"):
        return
    quoted = _search(ix, phrase)
    unquoted = {Path(h.path).name for h in ix.search(phrase, limit=1000, snippets=False).hits}
    assert quoted <= unquoted


def test_generated_corpus_is_not_trivial(corpus) -> None:
    ix, posts = corpus
    assert len(posts) == 60
    assert 0 < len(_search(ix, "國家安全")) < 60
    assert _search(ix, "國家安全") == _search(ix, "国家安全")
    # posts whose folding is irregular somewhere, and posts where it is not
    irregular = [bool(irregular_spans(body, fold(body))) for body in map(_raw_body, posts)]
    assert 10 < sum(irregular) < 50


@pytest.mark.parametrize("phrase", ["回复", "回复香港", "了解", "...", "strasse", "仿佛", "复", "覆香港"])
def test_phrases_whose_folding_depends_on_neighbours(corpus, phrase: str) -> None:
    ix, posts = corpus
    assert _search(ix, phrase) == _brute_force(posts, phrase)
