"""Lean term infos: inlined postings packed, everything else W3's layout."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from whoosh.codec.whoosh3 import W3TermInfo

from searchkit.terminfo import HAS_VALUES, LEAN, NO_LENGTHS, SINGLE_VALUES, LeanTermInfo

POSITIONS = st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x10FFFF), max_size=6)


def _inlined(cls, ids, weights, values, minlength=None, maxlength=0):
    info = cls()
    info._inlined = (tuple(ids), tuple(weights), tuple(values))
    info._df, info._minid, info._maxid = len(ids), ids[0], ids[-1]
    info._weight = float(sum(weights) if weights else len(ids))
    info._maxweight = float(max(weights) if weights else 1.0)
    info._minlength, info._maxlength = minlength, maxlength
    return info


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(0, 200_000), min_size=1, max_size=127, unique=True),
       st.booleans(), st.sampled_from(["none", "one character", "any"]), st.booleans(), st.data())
def test_inlined_postings_round_trip(ids, with_weights, values_kind, scored, data):
    ids = sorted(ids)
    weights = [data.draw(st.integers(1, 5000)) for _ in ids] if with_weights else []
    values = {"none": [], "one character": [data.draw(POSITIONS.filter(lambda v: len(v) == 1)) for _ in ids],
              "any": [data.draw(POSITIONS) for _ in ids]}[values_kind]
    # an unscored field's infos have no lengths (None, 0: both bytes 0)
    lengths = (data.draw(st.integers(1, 10_000)), data.draw(st.integers(10_000, 1_000_000))) \
        if scored else (None, 0)
    info = _inlined(LeanTermInfo, ids, weights, values, *lengths)
    packed = info.to_bytes()
    assert packed[0] & LEAN
    back = LeanTermInfo.from_bytes(packed)
    assert back.inlined_postings() == (tuple(ids), tuple(weights), tuple(values))
    w3 = W3TermInfo.from_bytes(_inlined(W3TermInfo, ids, weights, values, *lengths).to_bytes())
    for attr in ("doc_frequency", "weight", "max_weight", "min_id", "max_id", "min_length", "max_length"):
        assert getattr(back, attr)() == getattr(w3, attr)(), attr
    # posts sharing the body of the postings' documents count in the document frequency only
    info.copies = data.draw(st.integers(0, 70_000))
    shared = LeanTermInfo.from_bytes(info.to_bytes())
    assert shared.inlined_postings() == back.inlined_postings()
    assert shared.doc_frequency() == len(ids) + info.copies
    # W3's own postings pickle is several times larger
    assert len(packed) < len(_inlined(W3TermInfo, ids, weights, values, *lengths).to_bytes())


def test_heads_and_value_lengths_are_left_out_when_they_say_nothing():
    # a bigram found once in each of three posts of an unscored field:
    # flags, count, then the id deltas and one position each
    packed = _inlined(LeanTermInfo, [3, 8, 20], [], ["\x05", "\x07", "\x09"]).to_bytes()
    assert packed[0] & (NO_LENGTHS | SINGLE_VALUES) == NO_LENGTHS | SINGLE_VALUES
    assert packed[1:] == bytes((3, 3, 5, 12, 5, 7, 9))
    assert LeanTermInfo.from_bytes(packed).inlined_postings() == ((3, 8, 20), (), ("\x05", "\x07", "\x09"))


def test_reads_lean_term_infos_of_schema_4():
    # before NO_LENGTHS and SINGLE_VALUES: a 4-byte head and value lengths
    packed = bytes((LEAN | HAS_VALUES, 0, 0, 2)) + "\x03\x05\x01\x02\x07\x01\x04".encode()
    back = LeanTermInfo.from_bytes(packed)
    assert back.inlined_postings() == ((3, 8), (), ("\x07", "\x01\x04"))
    assert (back.min_length(), back.max_length(), back.doc_frequency()) == (0, 0, 2)


def test_what_cannot_be_packed_keeps_w3_layout():
    for ids, weights in (([5, 0x120000], []), ([1, 2], [1.5, 1])):
        info = _inlined(LeanTermInfo, ids, weights, [])
        packed = info.to_bytes()
        assert not packed[0] & LEAN
        assert LeanTermInfo.from_bytes(packed).inlined_postings() == (tuple(ids), tuple(weights), ())


def test_reads_w3_term_infos_of_older_indexes():
    block = W3TermInfo(weight=12.0, df=9, minlength=3, maxlength=70, maxweight=4.0, minid=2, maxid=800)
    block.set_extent(4096, 333)
    back = LeanTermInfo.from_bytes(block.to_bytes())
    assert back.extent() == W3TermInfo.from_bytes(block.to_bytes()).extent()
    assert back.extent()[0] == 4096 and back.doc_frequency() == 9 and not back.is_inlined()
    old = _inlined(W3TermInfo, [3, 8], [2, 1], ["\x03", "\x09"])
    assert LeanTermInfo.from_bytes(old.to_bytes()).inlined_postings() == ((3, 8), (2, 1), ("\x03", "\x09"))


@settings(max_examples=300, deadline=None)
@given(docs=st.lists(st.integers(0, 200_000), min_size=1, max_size=127, unique=True),
       kind=st.sampled_from(["presence", "count", "positions"]), data=st.data(),
       with_lengths=st.booleans())
def test_inline_shortcut_packs_what_the_postings_writer_packs(docs, kind, data, with_lengths):
    # terms with fewer than INLINE postings are packed from their documents and values directly
    from array import array

    from whoosh import formats
    from whoosh.filedb.filestore import RamStorage

    from searchkit import segments
    from searchkit.segments import LeanPostingsWriter, _inline_info, _write_postings

    docs = array("I", sorted(docs))
    code = {"presence": segments.PRESENCE, "count": segments.COUNTS, "positions": segments.POSITIONS}[kind]
    values = weights = None
    if kind == "count":
        values = array("I", [data.draw(st.integers(1, 5000)) for _ in docs])
        weights = array("f", values)
    elif kind == "positions":
        values = [data.draw(POSITIONS.filter(bool)) for _ in docs]
    lengths = None
    if with_lengths:
        lengths = array("I", [0] * (docs[-1] + 1))
        for d in docs:
            lengths[d] = data.draw(st.integers(0, 2_000_000))
    copies = data.draw(st.sampled_from([0, 0, 1, 300, 70_000]))
    writer = LeanPostingsWriter(RamStorage().create_file("p"), blocklimit=512, inlinelimit=segments.INLINE)
    writer.start_postings(formats.Existence(), LeanTermInfo())
    info = _write_postings(writer, docs, weights, None if kind == "count" else values, lengths)
    info.copies = copies
    general = info.to_bytes()
    assert _inline_info(docs, values, code, lengths, copies) == general
    assert LeanTermInfo.from_bytes(general).doc_frequency() == len(docs) + copies


TERMS = st.text(alphabet="甲乙丙丁ab", min_size=1, max_size=2)


@settings(max_examples=200, deadline=None)
@given(kind=st.sampled_from(["presence", "count", "positions"]), data=st.data(),
       docnums=st.lists(st.integers(0, 70_000), max_size=12, unique=True))
def test_columns_group_each_terms_postings_in_document_order(kind, data, docnums):
    # what a segment's columns hand the writer: per sorted term, its
    # documents in order with the values each document gave it
    from searchkit import segments

    code = {"presence": segments.PRESENCE, "count": segments.COUNTS, "positions": segments.POSITIONS}[kind]
    columns = segments._Columns(code)
    expected: dict[str, list[tuple[int, object]]] = {}
    for docnum in sorted(docnums):
        if kind == "presence":
            terms = data.draw(st.lists(TERMS, unique=True))
            values = [None] * len(terms)
        else:
            drawn = st.integers(1, 70_000) if kind == "count" else POSITIONS
            terms = data.draw(st.dictionaries(TERMS, drawn))
            values = list(terms.values())
        columns.add(docnum, terms)
        for term, value in zip(terms, values):
            expected.setdefault(term, []).append((docnum, value))
    # and how many copies (posts sharing their body) the term's documents have
    import numpy as np

    shares = {d: data.draw(st.integers(0, 3)) for d in docnums}
    copies = np.zeros(70_001, dtype=np.uint32)
    copies[list(shares)] = list(shares.values())
    grouped = [(term, list(docs), None if values is None else list(values), shared)
               for term, docs, values, shared in columns.grouped(copies if shares else None)]
    assert [term for term, *_ in grouped] == sorted(expected)
    for term, docs, values, shared in grouped:
        assert docs == [d for d, _ in expected[term]]
        assert values == (None if kind == "presence" else [v for _, v in expected[term]])
        assert shared == sum(shares[d] for d in docs)


@settings(max_examples=100, deadline=None)
@given(texts=st.lists(st.text(alphabet="甲乙丙丁ab ", max_size=30), max_size=8), data=st.data())
def test_columns_group_coded_terms_as_plain_ones(texts, data):
    # character fields hand the columns coded terms: grouped, they are the
    # terms, documents and positions of the plain analysis
    from searchkit import segments
    from searchkit.analysis import coded_bigrams, coded_chars, encoded_bigrams

    docnums = sorted(data.draw(st.lists(st.integers(0, 70_000), min_size=len(texts),
                                        max_size=len(texts), unique=True)))
    pairs, chars = segments._Columns(segments.POSITIONS), segments._Columns(segments.PRESENCE)
    expected_pairs: dict[str, list[tuple[int, str]]] = {}
    expected_chars: dict[str, list[int]] = {}
    for docnum, text in zip(docnums, texts):
        pairs.add(docnum, coded_bigrams(text))
        chars.add(docnum, coded_chars(text))
        for term, value in encoded_bigrams(text).items():
            expected_pairs.setdefault(term, []).append((docnum, value))
        for ch in sorted(set(text) - {" "}):
            expected_chars.setdefault(ch, []).append(docnum)
    assert [(t, list(d), v, c) for t, d, v, c in pairs.grouped()] == [
        (t, [d for d, _ in expected_pairs[t]], [v for _, v in expected_pairs[t]], 0) for t in sorted(expected_pairs)]
    assert [(t, list(d), v, c) for t, d, v, c in chars.grouped()] == [
        (t, expected_chars[t], None, 0) for t in sorted(expected_chars)]


@settings(max_examples=200, deadline=None)
@given(per_doc=st.lists(st.integers(0, 3), min_size=1, max_size=30), data=st.data(),
       chunk=st.sampled_from([1, 2, 7, 1 << 20]))
def test_prefix_sums_chunk_by_chunk_as_in_one_pass(per_doc, data, chunk):
    # the copies of a term's documents are counted from prefix sums over
    # all postings, computed a chunk at a time (segments._prefix_sums)
    from array import array

    import numpy as np

    from searchkit.segments import _prefix_sums

    docs = array("I", data.draw(st.lists(st.integers(0, len(per_doc) - 1), max_size=40)))
    points = data.draw(st.lists(st.integers(0, len(docs)), max_size=20))
    got = _prefix_sums(np, np.array(per_doc, dtype=np.uint32), docs, np.array(points, dtype=np.int64), chunk)
    assert got.tolist() == [sum(per_doc[d] for d in docs[:x]) for x in points]
