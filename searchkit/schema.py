"""The Whoosh schema of a searchkit index, and its custom field classes.

Whoosh pickles field and format objects into the index, so the classes here
must stay at this import path; any change to what they store bumps
`SCHEMA_VERSION`, which `open_index` checks before Whoosh unpickles anything.
"""

from __future__ import annotations

from whoosh import columns, fields, formats

from .analysis import decode_positions

# 2: word fields keep counts, not positions; 3: sorted term files; 4: zstd records;
# 5: shorter inlined term infos (terminfo.NO_LENGTHS, SINGLE_VALUES), records
# with the body's length events; 6: a post whose body repeats an earlier
# post's in its segment shares that post's body postings and stored text
# (segments.SegmentBuilder); 7: body bigrams with few postings keep no
# positions (segments.SPARSE_BIGRAMS), records with the body's irregular
# spans (analysis.irregular_spans)
SCHEMA_VERSION = 7
READABLE_VERSIONS = (2, 3, 4, 5, 6, 7)  # older segments still read (their codecs say how)

TITLE_WORD_BOOST = 3.0

# (prefix, part) → field names.  "t*" fields cover the title, "b*" the body.
CHAR_FIELDS = {"t": "tc", "b": "bc"}
UNIGRAM_FIELDS = {"t": "tu", "b": "bu"}
WORD_FIELDS = {"t": "tw", "b": "bw"}
BODY_FIELDS = frozenset({CHAR_FIELDS["b"], UNIGRAM_FIELDS["b"], WORD_FIELDS["b"]})
LABEL_FIELDS = ("tag", "category", "author")
NO_DATE = -(2**62)  # column value of posts without a date
SKETCH_KEYS = 4     # sketch values indexed as terms


class CompactPositions(formats.Format):
    """Positions stored as a string of deltas (see analysis.encode_positions).

    Posting values of this format are `str`, not `bytes`: Whoosh pickles
    them compactly as UTF-8, several times smaller and faster to decode
    than Whoosh's own pickled `Positions`, which matters for bigrams.
    """

    posting_size = -1

    def word_values(self, value, analyzer, **kwargs):  # type: ignore[no-untyped-def]
        raise NotImplementedError("searchkit fields are filled by searchkit.indexer")

    def decode_positions(self, valuestring: str | bytes) -> list[int]:
        return decode_positions(valuestring)

    def decode_frequency(self, valuestring: str | bytes) -> int:
        return len(decode_positions(valuestring))

    def decode_weight(self, valuestring: str | bytes) -> float:
        return float(self.decode_frequency(valuestring)) * self.field_boost

    def decode_position_boosts(self, valuestring: str | bytes) -> list[tuple[int, float]]:
        return [(pos, 1.0) for pos in decode_positions(valuestring)]


class PrecomputedField(fields.FieldType):
    """A field whose postings come ready-made from `searchkit.analysis`."""

    def __init__(self, positions: bool, scorable: bool) -> None:
        if positions:
            self.format: formats.Format = CompactPositions()
        else:  # scorable fields keep each term's count as its weight
            self.format = formats.Frequency() if scorable else formats.Existence()
        self.vector = None
        self.scorable = scorable
        self.stored = False
        self.unique = False
        self.column_type = None
        self.analyzer = None

    def index(self, value, **kwargs):  # type: ignore[no-untyped-def]
        """`value` is a `FieldPostings`; yields Whoosh's posting tuples."""
        for term, found in value.terms.items():
            if isinstance(found, int):  # a count
                yield term.encode("utf-8"), found, float(found), self.format.encode(found)
            else:
                freq = len(decode_positions(found)) if found else 1
                yield term.encode("utf-8"), freq, float(freq), found

    def to_bytes(self, value):  # type: ignore[no-untyped-def]
        return value.encode("utf-8") if isinstance(value, str) else value

    def from_bytes(self, bs):  # type: ignore[no-untyped-def]
        return bs.decode("utf-8")

    def self_parsing(self) -> bool:
        return True


def build_schema() -> fields.Schema:
    """The schema every searchkit index is created with."""
    schema = fields.Schema(
        key=fields.ID(unique=True, sortable=True),
        sig=fields.COLUMN(columns.VarBytesColumn()),
        date=fields.NUMERIC(bits=64, signed=True, sortable=True),
        meta=fields.STORED(),
        body=fields.STORED(),
        shifts=fields.STORED(),  # the body's length events (snippets.position_table)
        irregular=fields.STORED(),  # the body's analysis.irregular_spans
        sketch=fields.COLUMN(columns.VarBytesColumn()),
    )
    # "tagname": tags as written, to show them in statistics;
    # "mh": the smallest values of the body's MinHash sketch: posts that
    # share one are candidate near-duplicates (the whole sketch is a column)
    for name in LABEL_FIELDS + ("host", "tagname", "mh"):
        schema.add(name, PrecomputedField(positions=False, scorable=False))
    for name in CHAR_FIELDS.values():
        schema.add(name, PrecomputedField(positions=True, scorable=False))
    for name in UNIGRAM_FIELDS.values():
        schema.add(name, PrecomputedField(positions=False, scorable=False))
    for name in WORD_FIELDS.values():
        schema.add(name, PrecomputedField(positions=False, scorable=True))
    return schema
